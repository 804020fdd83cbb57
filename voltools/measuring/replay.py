"""Many small points in one fio process: fio replays an I/O log of their reads, one after another.

fio's start-up costs about 0.25 s a process here (process start, set-up, and a fixed 100 ms sleep
in its job loop), a hundred times the I/O of a 4 KiB x 16 point. So the points of one round of a
target (both access patterns) go into one call: voltools writes the exact reads of each point (its file, in
order for `read`, in a seeded random order for `randread`) as a fio I/O log (version 2), fio
replays it with `replay_no_stall` on `psync` at queue depth 1 and O_DIRECT, and its per-I/O
latency log (`log_avg_msec=0`) is cut back into points: a point's T_d is the sum of its own I/Os'
latencies, the same figure a one-point job gives (`lat_mean x total_ios`).

A call holds at most CALL_IOS reads and CALL_BYTES bytes: a kill loses that call (make report's
largest, a round of one disk target with the question's 1 GiB read, is 2.2 GiB: about 2.5 s of
reading here); a point larger than that is a call of its own, as before. The points of a round
go into as few calls as fit (first fit, each call keeping their order): fio's start-up (about
0.25 s a process) is then paid once per round and target. The I/O log names the
files relative to the working folder (fio runs there), so its size does not grow with the
folder's path. Every call's output (fio's JSON, then its latency log) is kept as the raw file.

Prefixes (`prefixed` calls, the default): the sequential points of one block size in a call are
one read, of the largest one's file from its start; each smaller point is its first N reads, and
its figure the sum of their latencies, as if its own file had been read (`reads`). make report's
question reads 1 GiB, 256 MiB and 64 MiB a round at 64 KiB: the two smaller cost no reading. The
points share reads, so they are not independent: the fit takes a read apart into disjoint
stretches (analysis.models). Random reads are not cut: the first reads of a shuffle over a large
file are not a random read of a small one.
"""
import io
import random

import numpy as np
import pandas as pd

from ..errors import FioParseError
from .jobs import data_name

CALL_IOS = 32768       # reads in one replayed call at most (and the largest point replayed)
CALL_BYTES = 4 << 30   # bytes read in one replayed call at most (and the largest point replayed)
ARG_BYTES = 96 << 10   # the I/O log goes in as arguments of at most this size (Linux: 128 KiB each)
LOG_MARK = "--- voltools: fio per-I/O latency log (ms, lat ns, dir, bs, offset) ---"
LOG_COLUMNS = ("time_ms", "lat_ns", "direction", "bs_bytes", "offset")

# The call: in the working folder (the first argument), write the I/O log from the other
# arguments into a private folder, replay it, print fio's JSON, the mark, and the latency log.
# The private folder is removed whatever happens.
SCRIPT = f"""cd "$1" || exit 125
shift
d=$(mktemp -d) || exit 125
trap 'rm -rf "$d"' EXIT
printf '%s' "$@" > "$d/io.log" || exit 125
fio --output-format=json --readonly --clocksource=clock_gettime --name=replay --ioengine=psync \\
  --iodepth=1 --direct=1 --read_iolog="$d/io.log" --replay_no_stall=1 \\
  --write_lat_log="$d/vt" --log_avg_msec=0 --log_offset=1 > "$d/out.json"
status=$?
cat "$d/out.json"
echo '{LOG_MARK}'
cat "$d/vt_lat.1.log" 2>/dev/null
exit $status
"""


def replayable(point, reader):
    """Points fio can replay exactly: fio reader, O_DIRECT, queue depth 1, one job, at most
    CALL_IOS reads and CALL_BYTES bytes."""
    return (reader == "fio" and point.direct == 1 and point.iodepth == 1 and point.numjobs == 1
            and point.blocks <= CALL_IOS and point.size_bytes <= CALL_BYTES)


def pack(points, ios=CALL_IOS, size=CALL_BYTES):
    """The points in calls of at most `ios` reads and `size` bytes each: each point goes into the
    first call it fits (first fit), so each call keeps the points' order."""
    calls, room = [], []  # room: [reads, bytes] left in each call
    for point in points:
        at = next((i for i, (r, b) in enumerate(room) if point.blocks <= r and point.size_bytes <= b), None)
        if at is None:
            calls.append([])
            room.append([ios, size])
            at = len(calls) - 1
        calls[at].append(point)
        room[at][0] -= point.blocks
        room[at][1] -= point.size_bytes
    return calls


def reads(points, prefixed):
    """The points as reads: lists of indices into `points`, the point read first and then those
    cut from its first reads (with `prefixed`, every other sequential point of its block size and
    settings; a list of one where a point is read on its own), in the order the reads are made."""
    if not prefixed:
        return [[i] for i in range(len(points))]
    largest = {}
    for i, point in enumerate(points):
        if point.rw == "read":
            shape = _shape(point)
            if shape not in largest or point.blocks > points[largest[shape]].blocks:
                largest[shape] = i
    groups = {}
    for i, point in enumerate(points):
        lead = largest.get(_shape(point), i) if point.rw == "read" else i
        groups.setdefault(lead, [lead])
        if i != lead:
            groups[lead].append(i)
    return list(groups.values())


def _shape(point):
    """What points must share to be cut from one read: everything but their block count."""
    key = point.key()
    return key[:6] + key[7:]


def read_bytes(points, prefixed):
    """Bytes a call of `points` reads."""
    return sum(points[group[0]].size_bytes for group in reads(points, prefixed))


def offsets(point, seed):
    """Byte offsets of a point's reads in the order they are issued (randread: seeded shuffle)."""
    order = list(range(point.blocks))
    if point.rw == "randread":
        random.Random(f"{seed}-{point.key()}").shuffle(order)
    return [i * point.bs_bytes for i in order]


def iolog(points, seed, prefixed=False):
    """fio I/O log (version 2) reading the file of each read (`reads`) once, one after another;
    the files named relative to the working folder fio runs in."""
    points = [points[group[0]] for group in reads(points, prefixed)]
    files = list(dict.fromkeys(data_name(p.size_bytes) for p in points))
    lines = ["fio version 2 iolog"] + [f"{f} add" for f in files] + [f"{f} open" for f in files]
    for point in points:
        name = data_name(point.size_bytes)
        lines += [f"{name} read {offset} {point.bs_bytes}" for offset in offsets(point, seed)]
    lines += [f"{f} close" for f in files]
    return "\n".join(lines) + "\n"


def argv(workdir, points, seed, prefixed=False):
    """The call as one argv (no shell text is built from data): sh, the script, the working
    folder, the log in pieces."""
    text = iolog(points, seed, prefixed)
    pieces = [text[i:i + ARG_BYTES] for i in range(0, len(text), ARG_BYTES)]
    return ["sh", "-c", SCRIPT, "voltools-replay", workdir, *pieces]


def split(output):
    """(fio's JSON text, the latency log text) of a call's output; raise FioParseError without the mark."""
    head, mark, tail = output.partition(LOG_MARK)
    if not mark:
        raise FioParseError("no latency log in the replay call's output")
    return head, tail


def latencies(log_text):
    """The latency log as a frame of LOG_COLUMNS (fio 3: time ms, latency ns, direction, bs, offset)."""
    if not log_text.strip():
        return pd.DataFrame(columns=LOG_COLUMNS, dtype="int64")
    try:
        frame = pd.read_csv(io.StringIO(log_text), header=None, usecols=range(5), dtype="int64",
                            skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise FioParseError(f"fio's latency log is not readable: {str(exc).splitlines()[0]}") from None
    frame.columns = LOG_COLUMNS
    return frame


def cut(points, log, seed, prefixed=False):
    """(slices, leads): each point's slice of the latency log (None where the log stops before
    its last read), checked read by read against what it was to read, and the index of the point
    whose read it was cut from (None for a point read on its own or first).

    Raises FioParseError when the log holds a read other than the next one planned (wrong count,
    block size or offset): a point's figure is then unknown, never guessed."""
    groups = reads(points, prefixed)
    expected = [(points[g[0]].bs_bytes, o) for g in groups for o in offsets(points[g[0]], seed)]
    found = list(zip(log["bs_bytes"].tolist(), log["offset"].tolist()))
    if found != expected[:len(found)]:
        raise FioParseError("fio's latency log does not match the I/O log it replayed")
    slices, leads, start = [None] * len(points), [None] * len(points), 0
    for group in groups:
        part = log.iloc[start:start + points[group[0]].blocks]
        for i in group:
            n = points[i].blocks
            slices[i] = part.iloc[:n] if len(part) >= n else None
            leads[i] = group[0] if i != group[0] else None
        start += points[group[0]].blocks
    return slices, leads


def figures(part):
    """A point's figures from its own reads: T_d (sum of latencies), mean and percentiles, rates."""
    lat = part["lat_ns"].to_numpy(dtype=float)
    time_s = lat.sum() / 1e9
    p50, p99, p999 = np.percentile(lat, [50, 99, 99.9], method="inverted_cdf")
    first, last = part.iloc[0], part.iloc[-1]
    size = float(part["bs_bytes"].sum())
    return dict(read_time_s=time_s, read_time_source="lat_log",
                runtime_s=(last["time_ms"] - first["time_ms"]) / 1000 + first["lat_ns"] / 1e9,
                bw_bytes=size / time_s if time_s > 0 else None,
                iops=len(lat) / time_s if time_s > 0 else None, lat_mean_ns=float(lat.mean()),
                lat_p50_ns=int(p50), lat_p99_ns=int(p99), lat_p999_ns=int(p999))
