"""fio command lines as argv lists (never a shell string): lay-out writes and read points."""
import math
import re
import sys

from ..points import LATENCY_PERCENTILES

LAYOUT_MAX_BS = 1 << 20
_PERCENTILE_LIST = ":".join(f"{q:g}" for q in LATENCY_PERCENTILES.values())  # 50:99:99.9
_DATA_FILE_RE = re.compile(r"vt-[1-9][0-9]{0,18}\.dat", re.ASCII)


def data_name(size_bytes):
    """The name (no folder) of the file holding exactly `size_bytes` of laid-out data."""
    return f"vt-{int(size_bytes)}.dat"


def data_file(workdir, size_bytes):
    """The file holding exactly `size_bytes` of laid-out data."""
    return f"{workdir}/{data_name(size_bytes)}"


def is_data_file(name):
    """True for a file name data_file gives: the only files voltools writes in a working folder."""
    return bool(_DATA_FILE_RE.fullmatch(name))


READERS = ("fio", "python")  # what reads the points: fio, or voltools' own python reader
PYFIO = [sys.executable, "-m", "voltools.measuring.pyfio"]


def layout_argv(workdir, sizes, reader="fio", direct=False):
    """One fio call writing one file per size, each fsynced at its end.

    The jobs run side by side: fio pays its ~0.27 s job start-up once instead of once per file
    (0.39 s against 2.79 s for nine files up to 256 MiB here), and fio preallocates each file
    (fallocate) before writing it, so the files come out as contiguous as when written one by one
    (3 extents for 256 MiB on ext4 either way, filefrag). `direct`: written with O_DIRECT at queue
    depth 8 (for a sweep whose reads are all O_DIRECT, so the medium takes it): make report's
    1.33 GiB of files on this disk took 1.06-1.18 s against 1.16-2.96 s written through the
    page cache and fsynced (3 each, alternating, 2026-12-06).
    """
    if reader == "python":
        return PYFIO + ["write"] + [a for size in sorted(sizes) for a in (data_file(workdir, size), str(size))]
    engine = ["--ioengine=libaio", "--iodepth=8", "--direct=1"] if direct else ["--ioengine=psync"]
    argv = ["fio", "--output-format=json", *engine, "--rw=write", "--end_fsync=1"]
    for size in sorted(sizes):
        argv += [f"--name=layout-{size}", f"--filename={data_file(workdir, size)}",
                 f"--size={size}", f"--bs={math.gcd(size, LAYOUT_MAX_BS)}"]
    return argv


def ioengine(iodepth):
    """psync at queue depth 1 (one syscall per block); libaio above, where depth is real."""
    return "psync" if iodepth == 1 else "libaio"


def read_argv(workdir, points, reader="fio", fio_opts=()):
    """One fio call reading each point's file once, cold, one job per point, in order.

    A point of `numjobs` K > 1 is K jobs each reading the file, reported as one (group_reporting);
    `fio_opts`, (key, value) pairs of fioopts.ALLOWED, replace the job's own value of a key or add it."""
    if reader == "python":
        return PYFIO + ["read"] + [f"--job={data_file(workdir, p.size_bytes)},{p.rw},{p.bs_bytes},"
                                   f"{p.blocks},{p.direct}" for p in points]
    # clock_gettime: fio skips its CPU clock calibration (about 66 ms a call here, latencies unchanged)
    argv = ["fio", "--output-format=json", "--readonly", "--clocksource=clock_gettime"]
    for index, point in enumerate(points):
        argv += [f"--name=p{index}", f"--filename={data_file(workdir, point.size_bytes)}",
                 f"--rw={point.rw}", f"--bs={point.bs_bytes}", f"--size={point.size_bytes}",
                 f"--direct={point.direct}", f"--iodepth={point.iodepth}"]
        argv += [f"--{k}={v}" for k, v in _job_options(point, fio_opts).items()]
        argv += ["--lat_percentiles=1", f"--percentile_list={_PERCENTILE_LIST}", "--stonewall"]
    return argv


def _job_options(point, fio_opts):
    """A job's tunable options: voltools' own, then the user's `fio_opts` over them."""
    own = {"ioengine": ioengine(point.iodepth), "invalidate": "1", "randrepeat": "1"}
    if point.numjobs > 1:
        own.update(numjobs=str(point.numjobs), group_reporting="1")
    return {**own, **dict(fio_opts)}

