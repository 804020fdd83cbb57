"""One process per run: an exclusive flock on <state>/locks/<run_id>.lock while the run is live.

A second writer of the same run (a second --resume, the same --run-id twice) fails at once, and
`voltools clean` leaves a live run's objects alone. The holder unlinks the file before it lets go;
whoever gets a lock checks that it holds the file the path names, so an unlinked file never counts.
"""
import fcntl
import os

from .config import state_dir
from .errors import StoreError


def lock_path(run_id):
    return state_dir() / "locks" / f"{run_id}.lock"


class RunLock:
    """Held from acquire() to release(); release() is safe to call twice."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.path = lock_path(run_id)
        self._fd = None

    def acquire(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StoreError(f"run {self.run_id} is being measured by another voltools process "
                                 f"({_holder(self.path)}): wait for it to end, or stop it first") from None
            if _same_file(fd, self.path):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
            else:  # the holder unlinked it as we opened it: try the new file
                os.close(fd)
        return self

    def release(self):
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None


def is_live(run_id):
    """True while some process holds the run's lock."""
    try:
        fd = os.open(lock_path(run_id), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _same_file(fd, path):
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _holder(path):
    try:
        return f"pid {path.read_text().strip()}"
    except OSError:
        return "pid unknown"
