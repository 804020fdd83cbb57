"""Where fio runs for one target: long-lived probe containers (points go through exec) or the host.

Docker targets get two containers. The holder mounts the volume read-write, lays the data out and
keeps a tmpfs volume alive; the reader mounts it read-only and runs every read point as uid 65534,
with no network, no capabilities, no new privileges and a read-only root filesystem. The `layer`
target has one container: its data lives in that container's own writable layer.
"""
import subprocess
from dataclasses import dataclass

from .. import interrupts
from ..config import DATA_MOUNT, NOBODY_UID
from ..errors import EngineError, TargetError, first_line
from ..naming import labels, object_name
from .engine import engine_errors

SLEEP = ["sleep", "2147483647"]
HARDENING = dict(network_mode="none", cap_drop=["ALL"], security_opt=["no-new-privileges"])


@dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


class HostSession:
    """fio as a host process: the `host` baseline."""

    def __init__(self, prepared):
        self.root = prepared.host_root

    def run(self, argv, role="reader"):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
        except FileNotFoundError:
            raise TargetError(f"{argv[0]} is not installed on the host: apt-get install fio") from None
        return ExecResult(out.returncode, out.stdout, out.stderr)

    def close(self):
        """Nothing to stop: the target's teardown removes the files."""


class ContainerSession:
    """A holder and a reader container (or one container for `layer`) for one target."""

    def __init__(self, client, image, prepared, memory_bytes=None):
        self.client, self.image, self.prepared = client, image, prepared
        self.memory_bytes = memory_bytes
        self.root = DATA_MOUNT
        self.containers = {}
        try:
            self._start()
        except BaseException as exc:  # an interrupt while a container starts must not leak the others
            try:
                self.close()
            except Exception as error:
                exc.add_note(str(error))
            raise

    def _start(self):
        kind = self.prepared.spec.target_kind
        self._start_one("holder", user="0", read_only=not kind.data_in_layer,
                        mounts=self.prepared.mounts(read_only=False), cap_add=["DAC_OVERRIDE"])
        if kind.has_reader:
            self._start_one("reader", user=f"{NOBODY_UID}:{NOBODY_UID}", read_only=True,
                            mounts=self.prepared.mounts(read_only=True))

    def _start_one(self, role, **kwargs):
        name = object_name(self.prepared.run_id, f"{self.prepared.spec.name}-{role}")
        with interrupts.creating():
            try:
                self.containers[role] = self.client.containers.run(
                    self.image, SLEEP, detach=True, name=name, tmpfs={"/tmp": "size=64m"},
                    labels=labels(self.prepared.run_id, role), mem_limit=self.memory_bytes,
                    **HARDENING, **kwargs)
            except engine_errors() as exc:
                raise EngineError(f"starting the {role} container for {self.prepared.spec.name} failed: "
                                  f"{first_line(exc)}") from None

    def run(self, argv, role="reader"):
        """Run argv in the reader (or the holder), return its exit code and output."""
        return exec_in(self.containers.get(role) or self.containers["holder"], argv)

    def close(self):
        """Remove the containers, reader first; ignore ones already gone; raise the first failure."""
        failed = [f for f in (remove_container(self.containers.pop(r, None)) for r in ("reader", "holder")) if f]
        if failed:
            raise EngineError(f"could not remove {failed[0]}; run 'voltools clean' once the engine answers")


def remove_container(container):
    """Remove a container (None, or gone already, is fine); '' or what failed, as '<name>: <error>'."""
    from docker.errors import NotFound
    try:
        if container is not None:
            container.remove(force=True)
    except NotFound:
        pass
    except engine_errors() as exc:
        return f"{container.name}: {first_line(exc, 160)}"
    return ""


def exec_in(container, argv):
    """Run argv in a running container: its exit code and output (EngineError if the engine fails)."""
    try:
        code, (out, err) = container.exec_run(argv, demux=True)
    except engine_errors() as exc:
        raise EngineError(f"exec in {container.name} failed: {first_line(exc)}") from None
    return ExecResult(code, _text(out), _text(err))


def open_session(client, image, prepared, memory_bytes=None):
    """A session for the prepared target: on the host, or in probe containers."""
    if not prepared.spec.in_docker:
        return HostSession(prepared)
    return ContainerSession(client, image, prepared, memory_bytes)


def _text(data):
    return (data or b"").decode("utf-8", errors="replace")
