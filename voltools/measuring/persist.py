"""Persistence checks: does data written through a target outlive the containers that wrote it?

Each check writes the data set (fio with verify headers, `verify.py`) through a new writer
container, changes what holds the target, and verifies the data set in a new reader container:

- container_replaced: a reader mounts the target, then the writer is removed, then the reader verifies;
- shared: a reader and the writer mount it at once; the reader verifies the data set while the
  writer writes a second file (half the size), then the reader verifies that file too;
- no_holder: the writer removed (no container of the run uses the target), then a new reader
  mounts it and verifies;
- engine_restarted: the writer stays while dockerd restarts (which stops it), then a new reader
  mounts the target and verifies (`restart.py`; every target is written before the one restart).

Every container is locked down as the sweep's reader is: no network, no capabilities, no new
privileges, a read-only root. The reader runs as uid 65534 with the target mounted read-only. The
writer holds no capability either: it runs as the owner of the folder it writes in (root for a
volume, the working folder's owner for a bind folder), with the target mounted read-write; only
the `layer` writer has a writable root, since its data lives in its own layer. A check's
`seconds` is its whole wall time: writing, starting and removing containers, verifying.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from .. import interrupts
from ..config import DATA_MOUNT, NOBODY_UID
from ..errors import EngineError, TargetError, first_line
from ..naming import labels, object_name
from . import jobs, verify
from .engine import engine_errors
from .layout import checked, workdir_of
from .sessions import HARDENING, SLEEP, exec_in, remove_container

CHECKS = ("container_replaced", "shared", "no_holder", "engine_restarted")
ROLES = {"container_replaced": "replaced", "shared": "shared", "no_holder": "noholder",
         "engine_restarted": "restart"}


class MountFailed(EngineError):
    """A container mounting the target could not start."""


def container_roles(check):
    """The roles of the containers a check starts (their names: voltools_<run>_<target>-<role>)."""
    return [f"{ROLES[check]}-w", f"{ROLES[check]}-r"]


@dataclass(frozen=True)
class Outcome:
    """One check on one target: the row persist.parquet stores."""

    target: str
    kind: str
    check: str
    passed: bool
    blocks_ok: int
    blocks_bad: int
    seconds: float
    reason: str
    detail: str
    raw: tuple = ()


class Bench:
    """One prepared target's containers: start, write, verify, remove."""

    def __init__(self, client, image, prepared, size_bytes):
        self.client, self.image, self.prepared = client, image, prepared
        self.spec, self.size = prepared.spec, int(size_bytes)
        self.workdir = workdir_of(DATA_MOUNT, prepared.run_id, self.spec.name)
        self.data_set = jobs.data_file(self.workdir, self.size)
        self.second = jobs.data_file(self.workdir, self.size // 2)
        self.containers = {}

    def start(self, role, write=False, mounts=None, user=None):
        """A locked-down container mounting the target (read-write for the writer), sleeping;
        `mounts` and `user`, if given, instead of the target's own."""
        name = object_name(self.prepared.run_id, f"{self.spec.name}-{role}")
        mounts = self.prepared.mounts(read_only=not write) if mounts is None else mounts
        user = (self.writer_user() if write else f"{NOBODY_UID}:{NOBODY_UID}") if user is None else user
        with interrupts.creating():
            try:  # stop_signal SIGKILL: `sleep` as pid 1 ignores SIGTERM; a stopping engine would wait 10 s for it
                container = self.client.containers.run(
                    self.image, SLEEP, detach=True, name=name, tmpfs={"/tmp": "size=16m"}, stop_signal="SIGKILL",
                    labels=labels(self.prepared.run_id, f"persist-{role}"), user=user,
                    read_only=not (write and self.spec.target_kind.data_in_layer), mounts=mounts, **HARDENING)
            except engine_errors() as exc:
                raise MountFailed(f"starting {name} failed: {first_line(exc)}") from None
            self.containers[role] = container
        return container

    def writer_user(self):
        """uid:gid of a writer: the owner of the folder it writes in."""
        if self.prepared.workdir:  # a bind folder: write as the owner of the folder voltools made
            info = os.stat(self.prepared.workdir)
            return f"{info.st_uid}:{info.st_gid}"
        return "0:0"

    def run(self, container, argv):
        """Run argv in one of the bench's containers."""
        return exec_in(container, argv)

    def write(self, container, path, size_bytes):
        """Write a file of the data set with verify headers; TargetError if fio fails."""
        checked(self.run(container, ["mkdir", "-p", self.workdir]), self.spec, "mkdir")
        checked(self.run(container, verify.write_argv(path, size_bytes)), self.spec, "fio write with verify headers")

    def written(self, role):
        """A new writer that has written the data set."""
        writer = self.start(role, write=True)
        self.write(writer, self.data_set, self.size)
        return writer

    def verify(self, container, path, size_bytes=None):
        """Verify one file in `container`: good and bad blocks, and why it failed."""
        size_bytes = self.size if size_bytes is None else size_bytes
        found = self.run(container, verify.size_argv(path))
        if found.exit_code != 0:
            return verify.missing(size_bytes, f"{os.path.basename(path)} is not there")
        readable = verify.readable_bytes(size_bytes, int(found.stdout.split()[0]))
        if not readable:
            return verify.missing(size_bytes, f"{os.path.basename(path)} holds {found.stdout.strip()} bytes, "
                                  "not one whole block")
        result = self.run(container, verify.verify_argv(path, readable))
        return verify.counted(size_bytes, int(found.stdout.split()[0]), result.stdout, result.stderr)

    def remove(self, role):
        """Remove one container of the bench (gone already is fine)."""
        failed = remove_container(self.containers.pop(role, None))
        if failed:
            raise EngineError(f"could not remove {failed}")

    def remove_all(self):
        for role in list(self.containers):
            self.remove(role)

    def users(self):
        """Names of the containers that mount the target's volume (none for a bind folder or layer)."""
        volume = self.prepared.volume
        if volume is None:
            return []
        found = self.client.containers.list(all=True, filters={"volume": volume.name}, ignore_removed=True)
        return [c.name for c in found]


def container_replaced(bench):
    bench.written("replaced-w")
    reader = bench.start("replaced-r")
    bench.remove("replaced-w")
    return bench.verify(reader, bench.data_set)


def shared(bench):
    writer = bench.written("shared-w")
    reader = bench.start("shared-r")
    with ThreadPoolExecutor(1) as pool:
        writing = pool.submit(_timed, bench.write, writer, bench.second, bench.size // 2)
        began = time.monotonic()
        first = bench.verify(reader, bench.data_set)
        verified_until = time.monotonic()
        write_span = writing.result()
    second = bench.verify(reader, bench.second, bench.size // 2)
    overlap = max(0.0, min(verified_until, write_span[1]) - max(began, write_span[0]))
    return joined(first, second, f"the second file was written alongside the first verify for {overlap:.3f} s")


def no_holder(bench):
    bench.written("noholder-w")
    bench.remove("noholder-w")
    users = bench.users()
    if users:
        raise TargetError(f"target {bench.spec.name}: no_holder needs no container on its volume, "
                          f"but {users[0]} uses it")
    return bench.verify(bench.start("noholder-r"), bench.data_set)


def joined(first, second, note=""):
    """Two verifications as one: blocks added, the first reason, both details."""
    details = [f"data set: {first.detail}" if first.detail else "",
               f"second file: {second.detail}" if second.detail else "", note]
    return verify.Verified(first.blocks_ok + second.blocks_ok, first.blocks_bad + second.blocks_bad,
                           first.reason or second.reason, "; ".join(filter(None, details)),
                           first.raw + second.raw)


def _timed(step, *args):
    began = time.monotonic()
    step(*args)
    return began, time.monotonic()


STEPS = {"container_replaced": container_replaced, "shared": shared, "no_holder": no_holder}


def run_check(bench, check, step=None):
    """Run one check on a bench; a container that cannot mount the target fails it ("mount error")."""
    began = time.monotonic()
    try:
        found = (step or STEPS[check])(bench)
    except MountFailed as exc:
        found = verify.Verified(0, verify.blocks(bench.size), verify.MOUNT, str(exc))
    finally:
        bench.remove_all()
    return outcome(bench, check, found, time.monotonic() - began)


def outcome(bench, check, found, seconds):
    return Outcome(bench.spec.name, bench.spec.kind, check, found.passed, found.blocks_ok, found.blocks_bad,
                   round(seconds, 4), found.reason, found.detail, found.raw)


def engine_restarted(benches, restart):
    """The data set written on every target (each writer left in place), the engine restarted once
    by `restart()` (which returns a new client), then each target verified by a new reader. A
    target's seconds: its write, the restart, its verify."""
    spent, failed = {}, {}
    for bench in benches:
        began = time.monotonic()
        try:
            bench.written("restart-w")
        except MountFailed as exc:
            failed[bench.spec.name] = verify.Verified(0, verify.blocks(bench.size), verify.MOUNT, str(exc))
        spent[bench.spec.name] = time.monotonic() - began
    began = time.monotonic()
    client = restart()
    restart_s = time.monotonic() - began
    outcomes = []
    for bench in benches:
        bench.client = client
        step = (lambda b: failed[b.spec.name]) if bench.spec.name in failed else _verify_anew
        done = run_check(bench, "engine_restarted", step)
        outcomes.append(replace(done, seconds=round(done.seconds + spent[bench.spec.name] + restart_s, 4)))
    return outcomes


def _verify_anew(bench):
    return bench.verify(bench.start("restart-r"), bench.data_set)
