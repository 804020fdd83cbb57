"""The probe image, built offline: FROM scratch with the host's fio, its libraries and busybox.

No registry is needed. The image is tagged by a hash of what it holds, so it is rebuilt only when
the host's fio or a library changes.
"""
import hashlib
import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from ..config import IMAGE_LABEL, PROBE_REPO
from ..errors import ProbeError

BUSYBOX_APPLETS = ("sh", "sleep", "mkdir", "mktemp", "rm", "stat", "cat", "ls", "df", "du", "sync", "true",
                   "printf", "echo")
DOCKERFILE = b"""FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["/bin/sleep", "2147483647"]
"""
_LDD_PATH = re.compile(r"(/\S+)")


def host_fio():
    """Path of the host's fio, or raise ProbeError saying how to get one."""
    path = shutil.which("fio")
    if not path:
        raise ProbeError("no fio on this host: install it (apt-get install fio) or pass --image NAME with fio on its PATH")
    return Path(path)


def host_busybox():
    """Path of a statically linked busybox, or raise ProbeError."""
    for name in ("busybox.static", "busybox"):
        path = shutil.which(name) or (f"/bin/{name}" if Path(f"/bin/{name}").exists() else None)
        if path and _is_static(path):
            return Path(path)
    raise ProbeError("no static busybox on this host: install busybox-static (apt-get install busybox-static)")


def shared_libraries(binary):
    """Absolute paths of the libraries and loader `ldd` lists for `binary`."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ProbeError(f"ldd {binary} failed: {out.stderr.strip() or out.stdout.strip()}")
    paths = []
    for line in out.stdout.splitlines():
        found = _LDD_PATH.findall(line.split("=>")[-1])
        if found and Path(found[0]).exists():
            paths.append(Path(found[0]))
    return sorted(set(paths))


def rootfs_files():
    """Map of in-image path -> host file for fio, its libraries and busybox."""
    fio = host_fio()
    files = {"/usr/bin/fio": fio, "/bin/busybox": host_busybox()}
    files.update({str(lib): lib for lib in shared_libraries(fio)})
    return files


def image_tag(files):
    """voltools-probe:<12 hex digits of a hash over every path and file content>."""
    digest = hashlib.sha256(DOCKERFILE)
    for inside in sorted(files):
        digest.update(inside.encode())
        digest.update(Path(files[inside]).resolve().read_bytes())
    return f"{PROBE_REPO}:{digest.hexdigest()[:12]}"


def build_context(files):
    """A deterministic tar build context holding the Dockerfile and rootfs/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", DOCKERFILE, 0o644)
        _add_dir(tar, "rootfs/tmp", 0o1777)
        for inside in sorted(files):
            data = Path(files[inside]).resolve().read_bytes()
            _add_bytes(tar, "rootfs" + inside, data, 0o755)
        for applet in BUSYBOX_APPLETS:
            _add_link(tar, f"rootfs/bin/{applet}", "busybox")
    buffer.seek(0)
    return buffer


def ensure_image(client, image=None):
    """Return the tag of a usable probe image, building voltools' own when needed."""
    from docker.errors import BuildError, ImageNotFound

    if image:
        try:
            client.images.get(image)
        except ImageNotFound:
            raise ProbeError(f"image {image!r} is not on this engine: load it (docker load) or drop --image") from None
        return image
    files = rootfs_files()
    tag = image_tag(files)
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    try:
        client.images.build(fileobj=build_context(files), custom_context=True, tag=tag,
                            labels={IMAGE_LABEL: "probe"}, rm=True, forcerm=True)
    except BuildError as exc:
        raise ProbeError(f"building the probe image failed: {exc.msg}") from None
    return tag


def _is_static(path):
    """True if `ldd` says the binary is not dynamic."""
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False)
    return out.returncode != 0 or "not a dynamic" in (out.stdout + out.stderr)


def _add_bytes(tar, name, data, mode):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar, name, mode):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
    tar.addfile(info)


def _add_link(tar, name, target):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, 0
    tar.addfile(info)


def fio_version_text():
    """`fio --version` of the host's fio (the one the probe image carries), or None."""
    path = shutil.which("fio")
    if not path:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None
