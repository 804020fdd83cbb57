"""The cost of a point: the default sweep with one fio process a point (before, `--no-pack`) and
with the small points of a round replayed in one fio call (after, the default), side by side.

The sweep is `make report`'s targets (local, tmpfs:size=512m, loop:fs=ext4,size=1g, host; loop
only as root) with voltools' default grid (plan.SweepRequest: B = 4k..1m x N = 1, 16, 64, 256,
read and randread, O_DIRECT, queue depth 1, 3 rounds: 120 points a target), no question. Both
modes run in each repeat, in alternating order. Per sweep:

- wall time of `voltools.api.start_sweep(...).measure()` (set-up, lay-out, reads, clean-up);
- the all-in cost of a point = (wall time - the I/O itself, the sum of the points' read_time_s) /
  points: fio's start-up, docker exec, lay-out, set-up and clean-up shared out;
- voltools' own share = the all-in cost less fio's start-up (a bare host fio process reading one
  4 KiB block, timed here, once per fio call of the sweep);
- fio calls (raw files) and points.

The fits of the two modes are compared as `voltools compare` does (analysis.compare, the ratio of
expected times of the question 1 GiB @ 64 KiB, 95% interval): packing must not change the answer.
Bars: the all-in cost of a point at most 60 ms; the default sweep at least 3x faster than with one
fio process a point, and than the 2 min 18 s the issue measured before.

    .venv/bin/python benchmarks/bench_pointcost.py [--quick] [--json PATH]
"""
import statistics
import sys
import tempfile

import _common as c
from voltools.analysis.compare import compare_runs
from voltools.api import start_sweep
from voltools.measuring import engine, jobs
from voltools.measuring.plan import Point

BEFORE_S = 138.0  # the default sweep before this change: 2 min 18 s for 480 points
COST_BAR_MS, SPEEDUP_BAR = 60.0, 3.0
MODES = {"one fio process a point (--no-pack)": False, "small points replayed together (default)": True}
QUESTION = (1 << 30, 64 << 10)


def targets(quick):
    """make report's targets (no loop unless root); host and tmpfs alone with --quick."""
    return c.report_targets(["tmpfs:size=512m", "host"] if quick else c.REPORT_TARGETS)


def sweep(specs, pack, data_dir):
    """One default-grid sweep; returns (its figures, its points)."""
    rid = c.run_id("cost-pack" if pack else "cost-nopack")
    start = c.clock()
    points = start_sweep(specs, run_id=rid, data_dir=data_dir, pack=pack).measure()
    wall = (c.clock() - start) / 1e9
    io = float(points["read_time_s"].sum())
    return {"wall_s": wall, "io_s": io, "points": len(points), "calls": int(points["raw_file"].nunique()),
            "errors": int((points["error"] != 0).sum()), "run_id": rid}, points


def fio_startup_s(repeats=15):
    """A bare host fio process reading one 4 KiB block (O_DIRECT): fio's own start-up, median."""
    point = Point("x", "read", 1, 1, 4096, 1, 0)
    with c.scratch_dir() as folder:
        c.timed_run(jobs.layout_argv(str(folder), [point.size_bytes]))
        return statistics.median(c.timed_run(jobs.read_argv(str(folder), [point]))[0]
                                 for _ in range(repeats))


def main(argv=None):
    args = c.parser(__doc__).parse_args(argv)
    client, specs, repeats = engine.connect(), targets(args.quick), 1 if args.quick else 2
    runs, pairs = {name: [] for name in MODES}, []
    try:
        startup = fio_startup_s()
        with tempfile.TemporaryDirectory(dir=c.DISK_PARENT) as data_dir:
            for turn in range(repeats):
                order = list(MODES) if turn % 2 == 0 else list(MODES)[::-1]
                got = {}
                for name in order:
                    figures, got[name] = sweep(specs, MODES[name], data_dir)
                    runs[name].append(figures)
                pairs.append(compare_runs(*(got[name] for name in MODES), *QUESTION))
    finally:
        left = c.finish(client)
    result = summarize(runs, startup, pairs[-1], specs)
    result.update(leftovers=left, load_avg_1m=c.cpu_load(), targets=specs)
    c.write(result, args.json)
    return 0 if left == 0 else 1


def summarize(runs, startup, comparison, specs):
    """Figures (per mode: wall, all-in cost, own share, calls) and the bars."""
    figures, med = [], {}
    for name, sweeps in runs.items():
        cost = [(s["wall_s"] - s["io_s"]) / s["points"] * 1e3 for s in sweeps]
        own = [(s["wall_s"] - s["io_s"] - s["calls"] * startup) / s["points"] * 1e3 for s in sweeps]
        figures += [c.figure(f"{name}: default sweep wall time", [s["wall_s"] for s in sweeps], "s"),
                    c.figure(f"{name}: all-in cost per point (I/O excluded)", cost, "ms"),
                    c.figure(f"{name}: voltools' own share per point (fio's start-up also excluded)", own, "ms"),
                    c.figure(f"{name}: the I/O itself (sum of read_time_s)", [s["io_s"] for s in sweeps], "s"),
                    c.figure(f"{name}: fio calls", [s["calls"] for s in sweeps], "calls"),
                    c.figure(f"{name}: points (errors)", [s["points"] for s in sweeps], "points",
                             note=f"errors: {sum(s['errors'] for s in sweeps)}")]
        med[name] = {"wall": statistics.median(s["wall_s"] for s in sweeps), "cost": statistics.median(cost),
                     "own": statistics.median(own)}
    figures.append(c.figure("bare fio process reading one 4 KiB block (fio's start-up)", [startup * 1e3], "ms"))
    before, after = (med[name] for name in MODES)
    speedup = before["wall"] / after["wall"]
    figures += [c.figure("speed-up of the default sweep, measured side by side", [speedup], "x"),
                *comparison_figures(comparison)]
    bars = [c.bar("all-in cost per point of the default sweep (I/O excluded) at most 60 ms", after["cost"], None,
                  COST_BAR_MS, unit="ms", why=f"{after['cost']:.0f} ms; fio's start-up {startup * 1e3:.0f} ms a call"),
            c.bar("voltools' own share per point (fio's start-up excluded) at most 25 ms", after["own"], None, 25.0,
                  unit="ms", why=f"{after['own']:.0f} ms"),
            c.bar("default sweep at least 3x faster than one fio process a point (same run)", speedup,
                  SPEEDUP_BAR, None, unit="x", why=f"{before['wall']:.0f} s -> {after['wall']:.0f} s"),
            c.bar("default sweep at least 3x faster than the issue's 2 min 18 s (at most 46 s)", after["wall"],
                  None, BEFORE_S / SPEEDUP_BAR, unit="s", why=f"{after['wall']:.0f} s on {len(specs)} targets")]
    return {"name": "pointcost", "figures": figures, "bars": bars, "findings": findings(before, after, speedup)}


def comparison_figures(table):
    """The last repeat's packed / unpacked ratio of expected 1 GiB @ 64 KiB read times, per group."""
    out = []
    for row in table.itertuples():
        if row.ratio == row.ratio:
            out.append(c.figure(f"packed / one process a point: {row.target} {row.rw}, expected 1 GiB @ 64 KiB",
                                [row.ratio], "ratio", note=f"95% interval {row.ratio_low:.3f}-{row.ratio_high:.3f}; "
                                                          f"{row.verdict}"))
    return out


def findings(before, after, speedup):
    return [f"Replaying the small points of a round in one fio call takes the default sweep from "
            f"{before['wall']:.0f} s to {after['wall']:.0f} s ({speedup:.1f}x): the all-in cost of a point (I/O "
            f"excluded) from {before['cost']:.0f} ms to {after['cost']:.0f} ms."]


if __name__ == "__main__":
    sys.exit(main())
