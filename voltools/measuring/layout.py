"""Lay-out: write one file per distinct N x B on a target, then measure what it allocated.

`layout_steps` is the one list of commands; `lay_out` runs it through a session (docker exec, a
host process, or the replay of a swarm/k8s task that ran the same list).
"""
from dataclasses import dataclass

from ..errors import TargetError
from ..formatting import format_bytes
from ..naming import object_name
from . import jobs

ENOSPC_TEXT = "No space left on device"
# Prints each argument the current user cannot open for reading; the script is fixed, files are "$@".
UNREADABLE_SCRIPT = 'for f do [ -r "$f" ] || echo "$f"; done'


@dataclass
class Layout:
    """What lay-out left on a target: the folder, bytes allocated per size, filesystem totals."""

    workdir: str
    allocated: dict
    fs_total_bytes: int
    fs_avail_bytes: int


def workdir_of(root, run_id, target):
    """The folder a run works in for one target, below the target's root: voltools_<run>_<target>."""
    return f"{root}/{object_name(run_id, target)}"


def has_reader(spec):
    """Whether a separate reader opens the files (its kind says): not for `layer`, whose one
    container both writes and reads, nor `host`, whose files are written and read by one user."""
    return spec.has_reader


def unreadable_argv(files):
    """A command printing each of `files` that the user running it cannot open."""
    return ["sh", "-c", UNREADABLE_SCRIPT, "sh", *files]


def layout_steps(workdir, sizes, reader="fio", reader_check=True, direct=False):
    """mkdir, free space, the fio writes (O_DIRECT if `direct`), the files' stat, the
    filesystem's stat, and (in the reader) which files it cannot open: in this order."""
    statfs = ["stat", "-f", "-c", "%S %b %a", workdir]
    files = [jobs.data_file(workdir, size) for size in sizes]
    steps = [["mkdir", "-p", workdir], statfs, jobs.layout_argv(workdir, sizes, reader, direct),
             ["stat", "-c", "%s %b %B", *files], statfs]
    return steps + [unreadable_argv(files)] if reader_check else steps


def lay_out(session, spec, sizes, run_id, reader="fio", direct=False):
    """Run the lay-out steps in the holder (read-write); refuse early when the data cannot fit;
    then check that the reader can open every file. A `direct` lay-out that fio cannot write
    (not for want of space) is written again through the page cache."""
    workdir = workdir_of(session.root, run_id, spec.name)
    steps = layout_steps(workdir, sizes, reader, has_reader(spec), direct)
    mkdir, statfs, write, stat_files = steps[:4]
    checked(session.run(mkdir, "holder"), spec, "mkdir")
    _, avail = _fs_bytes(checked(session.run(statfs, "holder"), spec, "stat -f"))
    if sum(sizes) > avail:
        raise TargetError(f"target {spec.name} has {format_bytes(avail)} free but the sweep lays out "
                          f"{format_bytes(sum(sizes))}: raise its size= or lower --bs/--blocks")
    result = session.run(write, "holder")
    if direct and result.exit_code != 0 and ENOSPC_TEXT not in result.stdout + result.stderr:
        # the medium refused O_DIRECT writes (some FUSE, 9p, older tmpfs): through the page cache
        result = session.run(jobs.layout_argv(workdir, sizes, reader), "holder")
    if ENOSPC_TEXT in result.stdout + result.stderr:
        raise TargetError(f"target {spec.name} ran out of space laying out {len(sizes)} files: "
                          "raise its size= or lower --bs/--blocks")
    checked(result, spec, "fio lay-out")
    stats = checked(session.run(stat_files, "holder"), spec, "stat").split()
    allocated = {int(stats[i]): int(stats[i + 1]) * int(stats[i + 2]) for i in range(0, len(stats), 3)}
    fs = _fs_bytes(checked(session.run(statfs, "holder"), spec, "stat -f"))
    if len(steps) > 5:
        _check_readable(session.run(steps[5], "reader"), spec)
    return Layout(workdir, allocated, *fs)


def _check_readable(result, spec):
    """TargetError naming the first laid-out file the reader cannot open."""
    unreadable = checked(result, spec, "the reader's check of the files").splitlines()
    if unreadable:
        raise TargetError(f"target {spec.name}: the reader (uid 65534) cannot open {unreadable[0]} "
                          f"({len(unreadable)} file(s) unreadable): every folder on the way needs o+x "
                          "and the files o+r")


def remove_workdir(session, spec, run_id):
    """Delete the laid-out files from inside the holder, on storage voltools made (a volume, the
    container's layer). A bind or host folder is emptied on the host by the target's teardown,
    which removes only the files voltools wrote."""
    if spec.target_kind.host_folder:
        return
    try:
        session.run(["rm", "-rf", workdir_of(session.root, run_id, spec.name)], "holder")
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
