"""Files voltools makes for itself (loop images, folder markers), created exclusively: never over a
file already there, never through a symlink."""
import os
from contextlib import contextmanager

from ..errors import TargetError


@contextmanager
def created(path, mode, taken):
    """The open descriptor of a new file at `path` (permissions `mode`, parent folders made),
    closed on exit; TargetError(`taken`) if something is there already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise TargetError(taken) from None
    try:
        yield fd
    finally:
        os.close(fd)
