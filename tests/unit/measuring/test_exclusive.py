"""Files voltools makes for itself are created exclusively: never over a file, never through a link."""
import os

import pytest

from voltools.errors import TargetError
from voltools.measuring.exclusive import created


def test_a_new_file_is_made_with_its_mode_and_parents(tmp_path):
    path = tmp_path / "a" / "b" / "marker"
    with created(path, 0o640, "taken") as fd:
        os.write(fd, b"x")
    assert path.read_bytes() == b"x"
    assert path.stat().st_mode & 0o777 == 0o640 & ~_umask()


@pytest.mark.parametrize("what", ["file", "symlink", "dangling symlink"])
def test_what_is_there_already_is_refused_and_left_alone(tmp_path, what):
    victim = tmp_path / "victim"
    victim.write_bytes(b"user data")
    path = tmp_path / "marker"
    if what == "file":
        path.write_bytes(b"user data")
    else:
        path.symlink_to(victim if what == "symlink" else tmp_path / "nowhere")
    with pytest.raises(TargetError, match="^taken$"):
        with created(path, 0o600, "taken"):
            pass
    assert victim.read_bytes() == b"user data"
    assert not (tmp_path / "nowhere").exists()
    if what == "file":
        assert path.read_bytes() == b"user data"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
