"""`voltools doctor`: what is here, which targets can run, and what to do about what is missing."""
import os
import shutil
from dataclasses import dataclass

from ..errors import VoltoolsError
from . import engine, kinds, loop, probe
from .targets import TargetSpec


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def checks():
    """Every check, in the order a user would fix them."""
    found = [_fio(), _busybox()]
    client, engine_check = _engine()
    found.append(engine_check)
    found.append(_image(client))
    found.append(_loop())
    found.append(_targets(client, found))
    return found


def _fio():
    try:
        return Check("fio", True, f"{probe.fio_version_text()} at {probe.host_fio()}")
    except VoltoolsError as exc:
        return Check("fio", False, str(exc), "apt-get install fio")


def _busybox():
    try:
        return Check("busybox", True, f"static busybox at {probe.host_busybox()}")
    except VoltoolsError as exc:
        return Check("busybox", False, str(exc), "apt-get install busybox-static")


def _engine():
    try:
        client = engine.connect(timeout=10)
    except VoltoolsError as exc:
        return None, Check("docker engine", False, str(exc), "make engine (as root), or start Docker")
    return client, Check("docker engine", True, f"Docker Engine {engine.engine_version(client)}")


def _image(client):
    if client is None:
        return Check("probe image", False, "needs the engine", "start the engine first")
    try:
        tag = probe.image_tag(probe.rootfs_files())
    except VoltoolsError as exc:
        return Check("probe image", False, str(exc), "install fio and busybox-static")
    present = bool(client.images.list(name=tag))
    return Check("probe image", True, f"{tag} {'built' if present else 'will be built on first sweep (offline)'}")


def _loop():
    if os.geteuid() != 0:
        return Check("loop devices", False, "not root: losetup and mount need root", "run as root")
    missing = [t for t in ("losetup", "mkfs.ext4", "mkfs.xfs") if not shutil.which(t)]
    if missing:
        return Check("loop devices", False, f"missing {', '.join(missing)}", "apt-get install util-linux e2fsprogs xfsprogs")
    attached = len(loop.ours())
    return Check("loop devices", True, f"losetup and mkfs here; {attached} voltools loop device(s) attached")


def _targets(client, found):
    ok = {c.name: c.ok for c in found}
    docker = client is not None and ok["fio"] and ok["busybox"]  # the probe image can be built and run
    can = [k.name for k in kinds.every() if (docker or not k.in_docker) and _host_has(k)]
    return Check("targets", bool(can), "can run: " + (", ".join(can) or "none"),
                 "" if can else "install fio, then the engine")


def _host_has(kind):
    """Whether this host has what a target of `kind`, with its default options, needs."""
    try:
        kind.preflight([TargetSpec(kind.name, name=kind.name)], "fio")
    except VoltoolsError:
        return False
    return True


def check_records(found):
    """The checks as JSON-ready dicts: check, ok, detail, fix (`voltools doctor --json`)."""
    return [{"check": c.name, "ok": bool(c.ok), "detail": c.detail, "fix": c.fix} for c in found]
