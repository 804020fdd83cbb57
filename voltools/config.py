"""Paths and fixed names, in one place; environment variables override the defaults."""
import os
from pathlib import Path

LABEL = "voltools.run"
ROLE_LABEL = "voltools.role"
IMAGE_LABEL = "voltools.image"
PROBE_REPO = "voltools-probe"
COPY_REPO = "voltools-copy"  # tag of an image a run loaded onto a node: voltools-copy:<run id>
DATA_MOUNT = "/data"
NOBODY_UID = 65534
SYSTEM_PATHS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32",
                "/lib64", "/run", "/var/run", "/var/lib/docker")  # voltools writes in none of them


def data_dir():
    """Root of data/ (raw runs under raw/): $VOLTOOLS_DATA_DIR, else ./data of the working folder
    (the checkout's, when run from it; never the installed package's folder)."""
    return Path(os.environ.get("VOLTOOLS_DATA_DIR") or "data")


def raw_dir():
    """Where runs are written, one write-once folder per run id."""
    return data_dir() / "raw"


def state_dir():
    """Machine state voltools owns: dockerd log and pid, loop images, host-target files."""
    default = "/var/lib/voltools" if os.geteuid() == 0 else Path.home() / ".local/state/voltools"
    return Path(os.environ.get("VOLTOOLS_STATE_DIR", default))


def loop_dir():
    """Backing files of loop targets; `voltools clean` detaches anything backed from here."""
    return state_dir() / "loop"


def host_dir():
    """Default parent of the files a `host` target reads."""
    return state_dir() / "host"


def marker_dir():
    """One small file per host folder voltools made (bind, host targets), holding its path."""
    return state_dir() / "paths"


def system_folder(real):
    """The system folder (SYSTEM_PATHS, voltools' state) a resolved path is or lies below ('/'
    only itself), else None."""
    if real == "/":
        return "/"
    roots = {*SYSTEM_PATHS, *map(os.path.realpath, SYSTEM_PATHS), os.path.realpath(state_dir())}
    for root in sorted(roots):
        if real == root or real.startswith(root.rstrip("/") + "/"):
            return root
    return None
