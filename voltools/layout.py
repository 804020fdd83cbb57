"""Lay-out: write one file per distinct N x B on a target, then measure what it allocated.

`layout_steps` is the one list of commands; `lay_out` runs it through a session (docker exec, a
host process, or the replay of a swarm/k8s task that ran the same list).
"""
from dataclasses import dataclass

from . import jobs
from .errors import TargetError
from .units import format_bytes

ENOSPC_TEXT = "No space left on device"


@dataclass
class Layout:
    """What lay-out left on a target: the folder, bytes allocated per size, filesystem totals."""

    workdir: str
    allocated: dict
    fs_total_bytes: int
    fs_avail_bytes: int


def workdir_of(root, run_id):
    """The folder a run works in, below the target's root."""
    return f"{root}/voltools-{run_id}"


def layout_steps(workdir, sizes, engine="fio"):
    """mkdir, free space, the fio writes, the files' stat, the filesystem's stat: in this order."""
    statfs = ["stat", "-f", "-c", "%S %b %a", workdir]
    files = [jobs.data_file(workdir, size) for size in sizes]
    return [["mkdir", "-p", workdir], statfs, jobs.layout_argv(workdir, sizes, engine),
            ["stat", "-c", "%s %b %B", *files], statfs]


def lay_out(session, spec, sizes, run_id, engine="fio"):
    """Run the lay-out steps in the holder (read-write); refuse early when the data cannot fit."""
    workdir = workdir_of(session.root, run_id)
    mkdir, statfs, write, stat_files, _ = layout_steps(workdir, sizes, engine)
    checked(session.run(mkdir, "holder"), spec, "mkdir")
    _, avail = _fs_bytes(checked(session.run(statfs, "holder"), spec, "stat -f"))
    if sum(sizes) > avail:
        raise TargetError(f"target {spec.name} has {format_bytes(avail)} free but the sweep lays out "
                          f"{format_bytes(sum(sizes))}: raise its size= or lower --bs/--blocks")
    result = session.run(write, "holder")
    if ENOSPC_TEXT in result.stdout + result.stderr:
        raise TargetError(f"target {spec.name} ran out of space laying out {len(sizes)} files: "
                          "raise its size= or lower --bs/--blocks")
    checked(result, spec, "fio lay-out")
    stats = checked(session.run(stat_files, "holder"), spec, "stat").split()
    allocated = {int(stats[i]): int(stats[i + 1]) * int(stats[i + 2]) for i in range(0, len(stats), 3)}
    fs = _fs_bytes(checked(session.run(statfs, "holder"), spec, "stat -f"))
    return Layout(workdir, allocated, *fs)


def remove_workdir(session, spec, run_id):
    """Delete the laid-out files from inside the holder (a host target's teardown removes its own)."""
    if spec.kind == "host":
        return
    try:
        session.run(["rm", "-rf", workdir_of(session.root, run_id)], "holder")
    except Exception:  # the container may be gone; teardown removes the volume anyway
        pass


def checked(result, spec, what):
    """stdout of a command that must succeed, or TargetError with its last line of output."""
    if result.exit_code != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise TargetError(f"{what} on target {spec.name} failed (exit {result.exit_code}): {detail[0][:200]}")
    return result.stdout


def _fs_bytes(statfs_output):
    """(total, available) bytes from `stat -f -c '%S %b %a'`."""
    block, total, avail = (int(v) for v in statfs_output.split())
    return block * total, block * avail
