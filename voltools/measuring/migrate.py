"""Move times: copy a file of each size from a source target to a destination target and time it.

One mover container mounts the source read-only at /data and the destination read-write at /dest
(locked down as every persist container is; it runs as the destination's writer). Each size is
written once on the source (fio, through a writer), then copied `repeat` times with busybox dd in
fixed 1 MiB blocks, `conv=fsync` (the time includes getting the copy onto the destination's
storage). Before each copy the source file's clean pages are dropped from the page cache (a fio
read of one 4 KiB block with `invalidate=1` over the whole file, `posix_fadvise(DONTNEED)`), so
the copy reads the source's storage, not memory; a tmpfs source is memory either way. A copy's
`seconds` is the wall time of the `docker exec` running dd: the exec's own cost, tens of ms, is
part of the fixed cost T_0 the fit finds.
"""
import time
from dataclasses import dataclass

from ..errors import TargetError, first_line
from . import jobs, verify
from .layout import checked, workdir_of

DEST_MOUNT = "/dest"
COPY_BS = 1 << 20
MOVER = "move"


@dataclass(frozen=True)
class Move:
    """One timed copy."""

    source: str
    destination: str
    size_bytes: int
    repeat: int
    seconds: float


def copy_argv(source, destination):
    return ["busybox", "dd", f"if={source}", f"of={destination}", f"bs={COPY_BS}", "conv=fsync"]


def drop_cache_argv(path, size_bytes):
    """Drop a file's clean pages from the page cache: fio invalidates the whole file before it reads 4 KiB."""
    return ["fio", "--name=drop-cache", f"--filename={path}", "--rw=read", "--bs=4k", f"--size={int(size_bytes)}",
            "--io_size=4k", "--invalidate=1", "--readonly", "--ioengine=psync"]


def mounts(source, destination):
    """The source at /data read-only, the destination at /dest read-write."""
    dest = destination.prepared.mounts(read_only=False)
    for mount in dest:
        mount["Target"] = DEST_MOUNT
    return source.prepared.mounts(read_only=True) + dest


def move_times(source, destination, sizes, repeat):
    """Time `repeat` copies of a file of each size from the source bench to the destination bench."""
    writer = source.start(f"{MOVER}-w", write=True)
    mover = source.start(MOVER, write=True, mounts=mounts(source, destination), user=destination.writer_user())
    dest_dir = workdir_of(DEST_MOUNT, destination.prepared.run_id, destination.spec.name)
    checked(source.run(mover, ["mkdir", "-p", dest_dir]), destination.spec, "mkdir")
    moves = []
    try:
        for size in sizes:
            moves += _moves_of(source, destination, writer, mover, dest_dir, size, repeat)
    finally:
        source.remove_all()
    return moves


def _moves_of(source, destination, writer, mover, dest_dir, size, repeat):
    path = jobs.data_file(source.workdir, size)
    copy = jobs.data_file(dest_dir, size)
    source.write(writer, path, size)
    moves = []
    for index in range(repeat):
        checked(source.run(mover, drop_cache_argv(path, size)), source.spec, "dropping the page cache")
        began = time.monotonic()
        result = source.run(mover, copy_argv(path, copy))
        seconds = time.monotonic() - began
        if result.exit_code != 0:
            raise TargetError(f"copying {size} bytes from {source.spec.name} to {destination.spec.name} failed: "
                              f"{first_line(result.stderr or result.stdout)}")
        moves.append(Move(source.spec.name, destination.spec.name, size, index, round(seconds, 5)))
        if index == repeat - 1:
            _check_copy(source, destination, mover, copy, size)
        checked(source.run(mover, ["rm", "-f", copy]), destination.spec, "rm")
    checked(source.run(writer, ["rm", "-f", path]), source.spec, "rm")
    return moves


def _check_copy(source, destination, mover, copy, size):
    """The last copy of each size must verify block by block: a move that loses data is no move."""
    found = source.verify(mover, copy, size)
    if not found.passed:
        raise TargetError(f"the copy of {size} bytes from {source.spec.name} on {destination.spec.name} does not "
                          f"verify: {found.reason}: {found.detail} ({found.blocks_bad} of {verify.blocks(size)} "
                          "blocks bad)")

