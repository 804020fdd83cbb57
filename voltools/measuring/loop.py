"""Loop devices for `loop` targets: a sized image file, formatted, attached; detached after.

Images live only in config.loop_dir(), named voltools_<run>_<target>.img, and are created there
(exclusively) before mkfs and losetup run: a run killed at any point leaves an image or a device
that `voltools clean --run-id RUN` finds. A device counts as voltools' only when its backing file
is such an image in that folder; a file of that name anywhere else is not voltools'.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

from ..config import loop_dir
from ..errors import TargetError
from ..naming import run_of
from .exclusive import created

MKFS = {"ext4": ["mkfs.ext4", "-q", "-F"], "xfs": ["mkfs.xfs", "-q", "-f"]}
PACKAGES = {"ext4": "e2fsprogs", "xfs": "xfsprogs"}
DELETED = " (deleted)"  # losetup's note on a backing file that was unlinked while attached
SUFFIX = ".img"


def check_usable(filesystems):
    """Raise TargetError unless this host can make loop targets of these filesystems."""
    if os.geteuid() != 0:
        raise TargetError("loop targets need root (losetup and mkfs): run as root or drop the loop target")
    for fs in sorted(filesystems):
        if not shutil.which(MKFS[fs][0]):
            raise TargetError(f"{MKFS[fs][0]} is not installed: apt-get install {PACKAGES[fs]}, or use another fs")
    if not shutil.which("losetup"):
        raise TargetError("losetup is not installed: apt-get install util-linux")


def image_path(name):
    """Where the image of object `name` lives: <loop_dir>/<name>.img."""
    return loop_dir() / f"{name}{SUFFIX}"


def create_image(name, size_bytes):
    """Create <loop_dir>/<name>.img, sparse, of size_bytes, exclusively; return its path."""
    image = image_path(name)
    taken = f"loop image {image} exists already: run 'voltools clean --run-id {run_of(name) or '...'}' first"
    with created(image, 0o600, taken) as fd:
        try:
            os.ftruncate(fd, size_bytes)
        except OSError as exc:
            image.unlink(missing_ok=True)
            raise TargetError(f"cannot size loop image {image} to {size_bytes} bytes: {exc.strerror}") from None
    return image


def attach(name, size_bytes, fs):
    """Create <loop_dir>/<name>.img of size_bytes, make `fs` on it, attach it; return /dev/loopN."""
    check_usable({fs})
    image = create_image(name, size_bytes)
    try:
        _run(MKFS[fs] + [str(image)], f"mkfs.{fs}")
        # direct-io: the loop device reads its backing file with O_DIRECT, so reads reach the disk
        # instead of the host page cache that holds the freshly written image.
        return _run(["losetup", "--find", "--show", "--direct-io=on", str(image)], "losetup").strip()
    except BaseException:
        _release(image)
        raise


def _release(image):
    """Detach any device holding `image` (losetup may have run before an interrupt), delete it."""
    for device in attached():
        if os.path.realpath(_backing_path(device.get("back-file"))) == os.path.realpath(image):
            subprocess.run(["losetup", "-d", device["name"]], capture_output=True, check=False)
    image.unlink(missing_ok=True)


def detach(device):
    """Detach `device` and delete its backing image if it is one of voltools' (see image_run)."""
    backing = {d["name"]: d.get("back-file") for d in attached()}.get(device)
    _run(["losetup", "-d", device], "losetup -d")
    if image_run(backing):
        Path(_backing_path(backing)).unlink(missing_ok=True)


def attached():
    """Every attached loop device as losetup's JSON rows (name, back-file, ...)."""
    try:
        out = subprocess.run(["losetup", "-J", "-l"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return []
    if out.returncode != 0 or not out.stdout.strip():
        return []
    return json.loads(out.stdout).get("loopdevices", [])


def image_run(backing):
    """The run id of a voltools image (in the loop folder, named voltools_<run>_<target>.img), else None."""
    path = _backing_path(backing)
    folder, name = os.path.split(path)
    if not name.endswith(SUFFIX) or os.path.realpath(folder or ".") != os.path.realpath(loop_dir()):
        return None
    return run_of(name[:-len(SUFFIX)])


def devices(wanted=lambda run: True):
    """[(device, run id)] of attached devices backed by a voltools image whose run is wanted."""
    found = [(d["name"], image_run(d.get("back-file"))) for d in attached()]
    return [(device, run) for device, run in found if run and wanted(run)]


def ours(run_id=None):
    """Loop devices backed by a voltools image in the loop folder (of one run, if given)."""
    return [device for device, _ in devices(lambda run: run_id is None or run == run_id)]


def leftover_images(wanted=lambda run: True):
    """[(image, run id)] of voltools images in the loop folder that no device holds, run wanted."""
    folder = loop_dir()
    if not folder.is_dir():
        return []
    held = {os.path.realpath(_backing_path(d.get("back-file"))) for d in attached()}
    found = [(path, image_run(str(path))) for path in sorted(folder.glob(f"voltools_*{SUFFIX}"))]
    return [(path, run) for path, run in found if run and wanted(run) and os.path.realpath(path) not in held
            and path.is_file() and not path.is_symlink()]


def _backing_path(backing):
    """A backing file's path without losetup's ' (deleted)' note."""
    path = str(backing or "")
    return path[:-len(DELETED)] if path.endswith(DELETED) else path


def _run(argv, what):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise TargetError(f"{argv[0]} is not installed: install it (e2fsprogs, xfsprogs, util-linux)") from None
    if out.returncode != 0:
        raise TargetError(f"{what} failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
    return out.stdout
