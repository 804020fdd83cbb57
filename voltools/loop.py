"""Loop devices for `loop` targets: a sized image file, formatted, attached; detached after."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from .config import loop_dir
from .errors import TargetError

MKFS = {"ext4": ["mkfs.ext4", "-q", "-F"], "xfs": ["mkfs.xfs", "-q", "-f"]}
PACKAGES = {"ext4": "e2fsprogs", "xfs": "xfsprogs"}


def check_usable(filesystems):
    """Raise TargetError unless this host can make loop targets of these filesystems."""
    if os.geteuid() != 0:
        raise TargetError("loop targets need root (losetup and mkfs): run as root or drop the loop target")
    for fs in sorted(filesystems):
        if not shutil.which(MKFS[fs][0]):
            raise TargetError(f"{MKFS[fs][0]} is not installed: apt-get install {PACKAGES[fs]}, or use another fs")
    if not shutil.which("losetup"):
        raise TargetError("losetup is not installed: apt-get install util-linux")


def attach(name, size_bytes, fs):
    """Create <loop_dir>/<name>.img of size_bytes, make `fs` on it, attach it; return /dev/loopN."""
    check_usable({fs})
    image = loop_dir() / f"{name}.img"
    image.parent.mkdir(parents=True, exist_ok=True)
    if image.exists():
        raise TargetError(f"loop image {image} exists already: run 'voltools clean' first")
    with open(image, "wb") as handle:
        handle.truncate(size_bytes)
    try:
        _run(MKFS[fs] + [str(image)], f"mkfs.{fs}")
        # direct-io: the loop device reads its backing file with O_DIRECT, so reads reach the disk
        # instead of the host page cache that holds the freshly written image.
        return _run(["losetup", "--find", "--show", "--direct-io=on", str(image)], "losetup").strip()
    except TargetError:
        image.unlink(missing_ok=True)
        raise


def detach(device):
    """Detach `device` and delete its backing image if it is one of ours."""
    backing = {d["name"]: d.get("back-file") for d in attached()}.get(device)
    _run(["losetup", "-d", device], "losetup -d")
    if backing and _is_ours(backing):
        Path(backing.split(" (deleted)")[0]).unlink(missing_ok=True)


def attached():
    """Every attached loop device as losetup's JSON rows (name, back-file, ...)."""
    try:
        out = subprocess.run(["losetup", "-J", "-l"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return []
    if out.returncode != 0 or not out.stdout.strip():
        return []
    return json.loads(out.stdout).get("loopdevices", [])


def ours(run_id=None):
    """Loop devices backed by a voltools image (of one run, if given), wherever the image lies."""
    prefix = f"voltools-{run_id}-" if run_id else "voltools-"
    return [d["name"] for d in attached() if _is_ours(d.get("back-file") or "", prefix)]


def leftover_images():
    """Backing images in the loop folder that no device holds any more."""
    held = {(d.get("back-file") or "").split(" (deleted)")[0] for d in attached()}
    folder = loop_dir()
    return [p for p in sorted(folder.glob("voltools-*.img")) if str(p) not in held] if folder.exists() else []


def _is_ours(backing, prefix="voltools-"):
    """True for a backing file named voltools-*.img (losetup may append ' (deleted)')."""
    name = Path(str(backing).split(" (deleted)")[0]).name
    return name.startswith(prefix) and name.endswith(".img")


def _run(argv, what):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise TargetError(f"{argv[0]} is not installed: install it (e2fsprogs, xfsprogs, util-linux)") from None
    if out.returncode != 0:
        raise TargetError(f"{what} failed: {(out.stderr or out.stdout).strip().splitlines()[-1:]}")
    return out.stdout
