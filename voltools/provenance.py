"""Provenance for run.json: the machine, kernel, CPU, memory and tool versions, and the storage
each target read (device, file system, mount options, Docker root dir and storage driver)."""
import os
import platform
import socket
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version


def utc_now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def voltools_version():
    try:
        return version("voltools")
    except PackageNotFoundError:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def host_facts():
    """What the run ran on, without anything secret (no environment, no paths of the user)."""
    return {
        "hostname": socket.gethostname(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "python": platform.python_version(),
        "voltools_version": voltools_version(),
    }


# ---------------------------------------------------------------- the measured storage

def docker_storage(client):
    """The engine's storage (docker info): root dir, storage driver and the driver's status."""
    info = client.info()
    return {"docker_root_dir": info.get("DockerRootDir"), "storage_driver": info.get("Driver"),
            "storage_driver_status": {str(k): str(v) for k, v in info.get("DriverStatus") or []}}


def storage_facts(targets, docker=None):
    """Which storage each target read, where this machine can tell: the Docker engine's root dir
    and storage driver (`docker` from docker_storage), and per target the file system, its mount
    options and the device with its model (mount_facts) of the folder its data lives in."""
    docker = docker or {}
    places = {t.name: _place(t, docker.get("docker_root_dir")) for t in targets}
    return {**docker, "targets": {name: place for name, place in places.items() if place}}


def _place(spec, docker_root):
    """What holds one target's data: a mount (mount_facts), or memory for a tmpfs."""
    from .config import loop_dir
    from .measuring.targets import checked_root
    if spec.kind == "tmpfs":
        return {"fs_type": "tmpfs", "device": "memory"}
    if spec.kind in ("host", "bind"):
        return mount_facts(checked_root(spec))
    if spec.kind == "loop":
        return {**mount_facts(loop_dir()), "image_fs_type": spec.option("fs")}
    if docker_root:  # local volumes and the container layer live below the engine's root dir
        return mount_facts(os.path.join(docker_root, "volumes" if spec.kind == "local" else ""))
    return {}


def mount_facts(path):
    """The mount holding `path` (or its nearest existing parent), from /proc/mounts: mount point,
    source, file system type and options; and its block device, model and whether it spins
    (/sys) where those can be read. {} when /proc/mounts cannot be read."""
    real = _existing(os.path.realpath(path))
    try:
        mounts = [line.split()[:4] for line in open("/proc/mounts", encoding="utf-8")]
    except OSError:
        return {}
    inside = [m for m in mounts if real == _unescape(m[1]) or real.startswith(_unescape(m[1]).rstrip("/") + "/")]
    if not inside:
        return {}
    source, point, fs_type, options = max(inside, key=lambda m: len(_unescape(m[1])))
    return {"path": real, "mount_point": _unescape(point), "source": source, "fs_type": fs_type,
            "mount_options": options, **block_device(real)}


def block_device(path):
    """The whole disk under `path` (sysfs: the parent of a partition), its model and vendor and
    whether it is rotational; {} for a file system with no block device (overlay, tmpfs)."""
    try:
        st = os.stat(path)
        node = os.path.realpath(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
    except OSError:
        return {}
    if not os.path.isdir(node):
        return {}
    disk = os.path.dirname(node) if os.path.exists(os.path.join(node, "partition")) else node
    facts = {"device": "/dev/" + os.path.basename(node), "disk": os.path.basename(disk)}
    for key, rel in (("model", "device/model"), ("vendor", "device/vendor"), ("rotational", "queue/rotational")):
        text = _read(os.path.join(disk, rel))
        if text:
            facts[key] = text if key != "rotational" else text == "1"
    driver = os.path.join(disk, "device", "driver")
    if os.path.exists(driver):
        facts["driver"] = os.path.basename(os.path.realpath(driver))
    return facts


def _existing(path):
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    return path or "/"


def _unescape(field):
    """/proc/mounts writes a space in a path as \\040 (tab \\011, newline \\012, backslash \\134)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return ""
