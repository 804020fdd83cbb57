"""Benchmark the analysis side on a large synthetic points table.

Generates POINTS synthetic points over 4 targets x 2 rw (5 block sizes x 6 block counts, the
rest repeats), then times fit_groups + fits_table + fit_size_groups + every plot function
(each drawn with fig.canvas.draw()), REPEATS times. Prints the median and spread per stage and
in total, and the peak memory. Target: total <= 3 s for 1,000,000 points.

    .venv/bin/python benchmarks/bench_analysis.py [--points 1000000] [--repeats 5] [--json PATH]
"""
import argparse
import json
import platform
import resource
import statistics
import time
import tracemalloc

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from voltools.analysis import models, plots  # noqa: E402

TARGETS = {"host": (1.5e-4, 6e-5, 3.0e9), "local": (2.5e-4, 9e-5, 1.2e9),
           "loop-ext4": (3e-4, 1.1e-4, 9e8), "tmpfs": (1e-4, 2e-5, 6e9)}
RWS = {"read": 0.6, "randread": 1.0}  # sequential reads pay less per-op latency
NS = np.array([1, 4, 16, 64, 256, 1024])
BS = np.array([4096, 16384, 65536, 262144, 1048576])
TARGET_SIZE = 8 * 1024**3
BUDGET_S = 3.0


def make_points(n_points, seed=0):
    """A points table of n_points rows with the columns the store writes."""
    rng = np.random.default_rng(seed)
    cells = [(t, rw, n, b) for t in TARGETS for rw in RWS for n in NS for b in BS]
    reps = -(-n_points // len(cells))
    idx = np.repeat(np.arange(len(cells)), reps)[:n_points]
    target = np.array([c[0] for c in cells])[idx]
    rw = np.array([c[1] for c in cells])[idx]
    n = np.array([c[2] for c in cells], dtype=np.int64)[idx]
    b = np.array([c[3] for c in cells], dtype=np.int64)[idx]
    par = np.array([TARGETS[c[0]] for c in cells])[idx]
    alpha = par[:, 1] * np.array([RWS[c[1]] for c in cells])[idx]
    t = (par[:, 0] + n * (alpha + b / par[:, 2])) * (1 + 0.03 * rng.standard_normal(n_points))
    lat = (alpha + b / par[:, 2]) * 1e9
    sized = np.isin(target, ["tmpfs", "loop-ext4"])
    return pd.DataFrame({
        "run_id": "bench", "target": target, "target_kind": target, "rw": rw, "direct": 1,
        "iodepth": 1, "numjobs": 1, "bs_bytes": b, "blocks": n, "size_bytes": n * b,
        "allocated_bytes": n * b + 4096,
        "target_size_bytes": np.where(sized, TARGET_SIZE, np.nan),
        "fs_total_bytes": np.where(sized, TARGET_SIZE * 0.95, np.nan),
        "fs_avail_bytes": np.where(sized, TARGET_SIZE * 0.9, np.nan),
        "memory_limit_bytes": np.nan, "repeat": np.arange(n_points) % reps,
        "read_time_s": t, "read_time_source": "lat_sum", "runtime_s": np.round(t, 3),
        "bw_bytes": n * b / t, "iops": n / t, "lat_mean_ns": lat, "lat_p50_ns": lat,
        "lat_p99_ns": 2 * lat, "lat_p999_ns": 3 * lat, "fio_version": "fio-3.33", "error": 0,
    })


def _draw(fn, *args, **kwargs):
    fig, ax = plt.subplots()
    fn(*args, ax=ax, **kwargs)
    fig.canvas.draw()
    plt.close(fig)


def run_once(df):
    """One analysis pass; returns {stage: seconds}."""
    times, clock = {}, time.perf_counter_ns

    def stage(name, fn, *args, **kwargs):
        start = clock()
        out = fn(*args, **kwargs)
        times[name] = (clock() - start) / 1e9
        return out

    fits = stage("fit_groups", models.fit_groups, df)
    stage("fits_table", models.fits_table, fits)
    size_fits = stage("fit_size_groups", models.fit_size_groups, df)
    stage("plot.read_time_vs_blocks", _draw, plots.read_time_vs_blocks, df, fits)
    stage("plot.per_block_time_vs_bs", _draw, plots.per_block_time_vs_bs, df, fits)
    stage("plot.throughput_vs_bs", _draw, plots.throughput_vs_bs, df, fits)
    stage("plot.latency_percentiles_vs_bs", _draw, plots.latency_percentiles_vs_bs, df)
    stage("plot.allocated_vs_size", _draw, plots.allocated_vs_size, df, size_fits=size_fits)
    stage("plot.residuals", _draw, plots.residuals, fits)
    times["total"] = sum(times.values())
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    args = parser.parse_args(argv)

    start = time.perf_counter_ns()
    df = make_points(args.points, args.seed)
    gen_s = (time.perf_counter_ns() - start) / 1e9
    rss_after_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    _draw(plots.residuals, {})  # warm matplotlib's font cache outside the timings
    runs = [run_once(df) for _ in range(args.repeats)]

    tracemalloc.start()
    run_once(df)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    stages = {name: {"median_s": statistics.median(r[name] for r in runs),
                     "min_s": min(r[name] for r in runs), "max_s": max(r[name] for r in runs)}
              for name in runs[0]}
    total = stages["total"]
    print(f"points: {len(df):,}  groups: 8  generate: {gen_s:.2f} s  repeats: {args.repeats}")
    print(f"{'stage':34} {'median s':>9} {'min s':>8} {'max s':>8}")
    for name, s in stages.items():
        print(f"{name:34} {s['median_s']:9.3f} {s['min_s']:8.3f} {s['max_s']:8.3f}")
    print(f"peak RSS {maxrss / 2**20:.0f} MiB (after generating the table: "
          f"{rss_after_generate / 2**20:.0f} MiB); traced peak during one pass "
          f"{traced_peak / 2**20:.0f} MiB; table {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB")
    verdict = "within" if total["median_s"] <= BUDGET_S else "OVER"
    print(f"total median {total['median_s']:.3f} s ({verdict} the {BUDGET_S:.0f} s budget)")
    if args.json:
        result = {"points": len(df), "repeats": args.repeats, "generate_s": gen_s,
                  "stages": stages, "runs": runs, "peak_rss_bytes": maxrss,
                  "peak_rss_after_generate_bytes": rss_after_generate,
                  "traced_peak_bytes": traced_peak, "budget_s": BUDGET_S,
                  "python": platform.python_version(), "numpy": np.__version__,
                  "pandas": pd.__version__, "matplotlib": matplotlib.__version__,
                  "machine": platform.machine(), "cpus": __import__("os").cpu_count()}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
