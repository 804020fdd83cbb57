"""The built-in python reader: read N blocks of B bytes of a file, timing each block; no fio needed.

Blocks are read with `os.preadv` into one page-aligned buffer (an anonymous mmap), in file order
(`read`) or in a seeded random permutation (`randread`), one at a time (queue depth 1), each timed
with `time.perf_counter_ns`. With direct=1 the file is opened with O_DIRECT; where the filesystem
refuses it (EINVAL on open or on the first read; tmpfs before Linux 6.6, some FUSE and network
filesystems) the reader drops the file's cached pages (`posix_fadvise(POSIX_FADV_DONTNEED)`), reads
buffered and records the fall-back in the row. The result is one row shaped like a row of
`voltools.measuring.fio.parse`, plus `read_time_ns_sum` (T_d at nanosecond resolution) and how it read.
"""
import errno
import math
import mmap
import os
import random
import time
from array import array

from ..errors import TargetError, UsageError
from ..points import LATENCY_PERCENTILES
from .plan import DIRECT_ALIGN, RW_MODES


def read_blocks(path, bs_bytes, blocks, rw="read", direct=1, seed=0, allow_direct=True):
    """Read `blocks` blocks of `bs_bytes` from the start of `path`; return one fio-like row (a dict).

    `allow_direct=False` makes the reader behave as on a filesystem that refuses O_DIRECT: it takes
    the buffered fall-back and records it (for tests, and for users who want it).
    """
    _check(path, bs_bytes, blocks, rw, direct)
    try:
        fd, used, reason = _open(path, bool(direct) and allow_direct, bool(direct))
    except OSError as exc:
        raise TargetError(f"cannot open {path} for reading: {exc.strerror}") from None
    buf = mmap.mmap(-1, bs_bytes)
    try:
        try:
            lat, wall, err = _timed_reads(fd, buf, bs_bytes, _offsets(blocks, bs_bytes, rw, seed), used)
        except OSError as exc:  # only an O_DIRECT refusal on the very first read gets here
            os.close(fd)
            fd, used, reason = _open(path, False, True, f"O_DIRECT read refused ({exc.strerror})")
            lat, wall, err = _timed_reads(fd, buf, bs_bytes, _offsets(blocks, bs_bytes, rw, seed))
    finally:
        os.close(fd)
        buf.close()
    return _row(lat, wall, err, bs_bytes, rw, used, bool(direct) and not used, reason)


def _check(path, bs_bytes, blocks, rw, direct):
    """Refuse bad input with a UsageError that says what is accepted."""
    for name, value in (("block size", bs_bytes), ("blocks", blocks)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"{name} {value!r} must be a whole number >= 1")
    if rw not in RW_MODES:
        raise UsageError(f"rw {rw!r} is not accepted: use {' or '.join(RW_MODES)}")
    if direct not in (0, 1):
        raise UsageError(f"direct {direct!r} is not accepted: use 0 (buffered) or 1 (O_DIRECT)")
    if direct and bs_bytes % DIRECT_ALIGN:
        raise UsageError(f"block size {bs_bytes} is not a multiple of {DIRECT_ALIGN}, which direct=1 needs")
    if not os.path.isfile(path):
        raise UsageError(f"{path} is not an existing regular file")
    size = os.path.getsize(path)
    if size < bs_bytes * blocks:
        raise UsageError(f"{path} holds {size} bytes, fewer than {blocks} blocks of {bs_bytes} "
                         f"({bs_bytes * blocks} bytes): lay out a larger file or read fewer blocks")


def _open(path, try_direct, wanted_direct, reason=""):
    """(fd, O_DIRECT in use, fall-back reason); buffered opens drop the file's cached pages first."""
    if try_direct:
        try:
            return os.open(path, os.O_RDONLY | os.O_DIRECT), True, ""
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            reason = f"O_DIRECT open refused ({exc.strerror})"
    elif wanted_direct and not reason:
        reason = "O_DIRECT not tried (allow_direct=False)"
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    return fd, False, reason


def _offsets(blocks, bs_bytes, rw, seed):
    order = list(range(blocks))
    if rw == "randread":
        random.Random(seed).shuffle(order)
    return [i * bs_bytes for i in order]


def _timed_reads(fd, buf, bs_bytes, offsets, direct=False):
    """Per-block latencies (ns, array), wall ns of the loop, errno of a failure (0 if none).

    EINVAL on the first read of an O_DIRECT file is raised (the filesystem refuses O_DIRECT).
    """
    lat, bufs, clock, pread = array("q"), [buf], time.perf_counter_ns, os.preadv
    start = clock()
    for offset in offsets:
        t0 = clock()
        try:
            got = pread(fd, bufs, offset)
        except OSError as exc:
            if direct and not lat and exc.errno == errno.EINVAL:
                raise
            lat.append(clock() - t0)
            return lat, clock() - start, exc.errno or errno.EIO
        lat.append(clock() - t0)
        if got != bs_bytes:
            return lat, clock() - start, errno.EIO
    return lat, clock() - start, 0


def _row(lat, wall_ns, err, bs_bytes, rw, used, fell_back, reason):
    """One row with the columns of `voltools.measuring.fio.parse`, plus how the reader read."""
    from ..provenance import voltools_version
    ios = len(lat) - (1 if err else 0)
    io_bytes, ordered = ios * bs_bytes, sorted(lat[:ios])
    mean = sum(ordered) / ios if ios else None
    pct = {k: _nearest_rank(ordered, q) for k, q in LATENCY_PERCENTILES.items()}
    row = {"fio_version": f"python-{voltools_version()}", "jobname": "python", "job_index": 0,
           "direction": "read", "rw": rw, "bs_bytes": bs_bytes, "ioengine": "python-preadv",
           "iodepth": 1, "numjobs": 1, "io_bytes": io_bytes,
           "bw_bytes": round(io_bytes * 1e9 / wall_ns) if wall_ns else None,
           "iops": ios * 1e9 / wall_ns if wall_ns else None, "total_ios": ios,
           "runtime_ms": round(wall_ns / 1e6), "error": err}
    for kind in ("clat", "lat"):  # a synchronous read has no submission step: lat == clat
        row[f"{kind}_mean_ns"] = mean
        row.update({f"{kind}_{k}_ns": v for k, v in pct.items()})
    row.update(read_time_ns_sum=sum(ordered), direct=int(used), direct_fallback=fell_back,
               fallback_reason=reason)
    return row


def _nearest_rank(ordered, q):
    """Nearest-rank percentile of a sorted list, None when empty."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
