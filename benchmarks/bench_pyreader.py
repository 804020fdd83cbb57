"""The built-in python reader against fio: throughput on the same file, and its per-operation cost.

For B = 64 KiB, 256 KiB and 1 MiB (direct=1, read, queue depth 1),
`voltools.measuring.pyreader.read_blocks` and bare host fio (`voltools.measuring.jobs.read_argv`,
psync) read the same 256 MiB file, in pairs whose order alternates, on the root filesystem (disk)
and on /dev/shm (tmpfs), after one untimed read. Throughput is N x B / T_d with T_d the sum of
per-block times on both sides (the engine's read_time_ns_sum; fio's lat_sum through
`voltools.measuring.rows.read_time`). At B = 4 KiB on tmpfs, where a read costs about a microsecond,
the per-operation overhead is the engine's mean per-block time minus fio's, and the wall time per
operation of each (fio's runtime is in whole ms) is shown too, with the cost of one
`time.perf_counter_ns` pair alone.

    .venv/bin/python benchmarks/bench_pyreader.py [--quick] [--json PATH]
"""
import sys
import time

import _common as c
from voltools.measuring import jobs, pyreader
from voltools.measuring.rows import read_time
from voltools.measuring.plan import Point

FILE_BYTES = 256 << 20
SIZES = (64 << 10, 256 << 10, 1 << 20)
SMALL = 4 << 10
BAR = (0.90, 1.10)


def fio_point(folder, bs, blocks):
    """(throughput B/s from lat_sum, fio's row) of bare fio reading the laid-out file."""
    point = Point("x", "read", 1, 1, bs, blocks, 0)
    argv = jobs.read_argv(str(folder), [point])
    argv = [a.replace(f"vt-{bs * blocks}.dat", f"vt-{FILE_BYTES}.dat") for a in argv]
    _, out = c.timed_run(argv)
    job = c.fio_rows(out.stdout).iloc[0].to_dict()
    return bs * blocks / read_time(job, point)[0], job


def py_point(folder, bs, blocks):
    """(throughput B/s from read_time_ns_sum, the engine's row) reading the same file."""
    row = pyreader.read_blocks(jobs.data_file(str(folder), FILE_BYTES), bs, blocks, direct=1)
    if row["error"] or row["direct_fallback"]:
        raise RuntimeError(f"python reader: error {row['error']}, fall-back {row['fallback_reason']}")
    return bs * blocks / (row["read_time_ns_sum"] / 1e9), row


def pairs(folder, bs, blocks, count):
    """`count` interleaved pairs, order alternating; returns ratios and both sides' rows."""
    py, fi = [], []
    for i in range(count):
        steps = [lambda: py.append(py_point(folder, bs, blocks)), lambda: fi.append(fio_point(folder, bs, blocks))]
        for step in steps if i % 2 == 0 else steps[::-1]:
            step()
    return [a[0] / b[0] for a, b in zip(py, fi)], py, fi


def clock_pair_ns(n=200_000):
    """Mean ns of one perf_counter_ns pair with nothing between (the timing's own floor)."""
    clock, best = time.perf_counter_ns, []
    for _ in range(5):
        start = clock()
        for _ in range(n):
            clock()
            clock()
        best.append((clock() - start) / n)
    return min(best)


def why_missed(ratios, fio_fig):
    """Noise of the medium (the median's 95% interval holds 1) or the engine's own cost (it does not)."""
    lo, hi = c.median_ci(ratios) or (float("nan"), float("nan"))
    noise = f"single fio reads ranged {fio_fig['min']:.2f}-{fio_fig['max']:.2f} GB/s"
    if len(ratios) < 5:
        return f"too few pairs ({len(ratios)}) to tell noise from a cost; {noise}"
    if lo <= 1 <= hi:
        return f"noise: the 95% interval of the median ({lo:.3f}-{hi:.3f}) holds 1; {noise}"
    return (f"the 95% interval of the median ({lo:.3f}-{hi:.3f}) excludes 1: the Python loop's per-block cost "
            f"(see the {SMALL >> 10} KiB figures); {noise}")


def findings(m):
    """What the figures say, in sentences."""
    over, py = m["4 KiB tmpfs: per-operation overhead, python reader minus fio"], "python reader"
    per_block = SIZES[0] / m[f"fio throughput, tmpfs {SIZES[0] >> 10} KiB direct=1"]  # ns (GB/s = B/ns)
    on_disk = SIZES[0] / m[f"fio throughput, disk {SIZES[0] >> 10} KiB direct=1"]
    return [
        f"Per-operation overhead at 4 KiB: the {py} spends {m[f'4 KiB tmpfs: {py} mean time per block']:.0f} ns per "
        f"block inside its timing, fio {m['4 KiB tmpfs: fio mean latency per block']:.0f} ns: {over:.0f} ns more per "
        f"read (one os.preadv call through the interpreter, and the clock: a perf_counter_ns pair alone costs "
        f"{m['cost of one perf_counter_ns pair']:.0f} ns). In wall time per operation "
        f"{m[f'4 KiB tmpfs: {py} wall time per operation']:.0f} ns against fio's "
        f"{m['4 KiB tmpfs: fio wall time per operation (runtime in whole ms)']:.0f} ns.",
        f"At {SIZES[0] >> 10} KiB a read takes about {per_block / 1e3:.1f} us on tmpfs and {on_disk / 1e3:.0f} us on "
        f"this disk, so the {over:.0f} ns are {over / per_block:.1%} of it on tmpfs and {over / on_disk:.2%} on disk: "
        "what is left in the ratios is the noise of the medium.",
    ]


def main(argv=None):
    args = c.parser(__doc__).parse_args(argv)
    count = 3 if args.quick else 9
    figures, bars = [], []
    for fs, parent in (("disk", c.DISK_PARENT), ("tmpfs", c.TMPFS)):
        with c.scratch_dir(parent) as folder:
            c.timed_run(jobs.layout_argv(str(folder), [FILE_BYTES]))
            fio_point(folder, 1 << 20, FILE_BYTES >> 20)  # warm-up: the first read after the write is not timed
            for bs in SIZES:
                ratios, py, fi = pairs(folder, bs, FILE_BYTES // bs, count)
                name = f"{fs} {bs >> 10} KiB direct=1"
                figures.append(c.figure(f"python reader / fio throughput, {name}", ratios, "ratio"))
                figures.append(c.figure(f"python reader throughput, {name}", [p[0] / 1e9 for p in py], "GB/s"))
                figures.append(c.figure(f"fio throughput, {name}", [f[0] / 1e9 for f in fi], "GB/s"))
                bars.append(c.bar(f"python reader within 10% of fio, {name}", figures[-3]["median"], *BAR,
                                  unit="ratio", why=why_missed(ratios, figures[-1])))
            if fs == "tmpfs":
                _, py, fi = pairs(folder, SMALL, FILE_BYTES // SMALL, count)
                over = [p[1]["lat_mean_ns"] - f[1]["lat_mean_ns"] for p, f in zip(py, fi)]
                ios = FILE_BYTES // SMALL
                figures += [
                    c.figure("4 KiB tmpfs: python reader mean time per block",
                             [p[1]["lat_mean_ns"] for p in py], "ns"),
                    c.figure("4 KiB tmpfs: fio mean latency per block", [f[1]["lat_mean_ns"] for f in fi], "ns"),
                    c.figure("4 KiB tmpfs: per-operation overhead, python reader minus fio", over, "ns",
                             "inside the timed region of each block"),
                    c.figure("4 KiB tmpfs: python reader wall time per operation",
                             [p[1]["runtime_ms"] * 1e6 / ios for p in py], "ns"),
                    c.figure("4 KiB tmpfs: fio wall time per operation (runtime in whole ms)",
                             [f[1]["runtime_ms"] * 1e6 / ios for f in fi], "ns"),
                    c.figure("cost of one perf_counter_ns pair", [clock_pair_ns() for _ in range(3)], "ns")]
    result = {"name": "pyreader", "pairs": count, "figures": figures, "bars": bars, "load_avg_1m": c.cpu_load(),
              "findings": findings({f["name"]: f["median"] for f in figures})}
    c.write(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
