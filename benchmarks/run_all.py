"""Run every benchmark, one after another; rewrite benchmarks/RESULTS.md (and RESULTS.json, every value).

Each script runs alone as its own process with `--json`; this driver only collects and renders.
A script that fails is reported in RESULTS.md with the end of its output, and makes the exit
status 1; a missed bar does not (it is a result).

    .venv/bin/python benchmarks/run_all.py [--quick] [--only fidelity,overhead,...] [--out PATH]
"""
import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import _common as c

HERE = Path(__file__).resolve().parent
BENCHES = {  # name: (script, title)
    "fidelity": ("bench_fidelity.py", "Fidelity: voltools in its probe container against bare fio"),
    "pointcost": ("bench_pointcost.py", "The cost of a point: one fio process a point against small points replayed together"),
    "overhead": ("bench_overhead.py", "Orchestration overhead per point"),
    "pyreader": ("bench_pyreader.py", "Built-in python reader against fio"),
    "analysis": ("bench_analysis.py", "Analysis: fitting and plotting 1,000,000 points"),
    "physical": ("bench_physical.py", "The physical limit: memory and disk"),
    "prediction": ("bench_prediction.py", "The answer against reality: 4 GiB predicted from reads of at most 1 GiB, then read"),
    "coverage": ("bench_coverage.py", "Read-time fit on simulated sweeps: bias, coverage, regime changes, outliers"),
    "reportsweep": ("bench_reportsweep.py", "make report's sweep, before and after whole rounds in one fio call"),
    "samefiles": ("bench_samefiles.py", "The answers by one fio process a point and by whole rounds in one call, on the same files, turn about"),
}
TIMEOUT_S = 360
TIMEOUTS = {"coverage": 1800, "prediction": 1200, "pointcost": 1500, "reportsweep": 900, "samefiles": 900}  # 500 simulated sweeps x 23 cases: about 8 minutes on 2 cores
BUDGET_S = 600
STOP_GRACE_S = 60  # a timed-out script's teardown after SIGINT


def run_one(name, quick, folder):
    """Run one script; returns (result dict or None, wall s, error text)."""
    script, _ = BENCHES[name]
    out = Path(folder) / f"{name}.json"
    argv = [sys.executable, str(HERE / script), "--json", str(out)]
    if quick:
        argv += ["--repeats", "2"] if name == "analysis" else ["--quick"]
    start = time.perf_counter_ns()
    code, text, timed_out = _run(argv, TIMEOUTS.get(name, TIMEOUT_S))
    error = f"timed out after {TIMEOUTS.get(name, TIMEOUT_S)} s" if timed_out else \
        "" if code == 0 and out.exists() else f"exit {code}: {text.strip()[-1500:]}"
    wall = (time.perf_counter_ns() - start) / 1e9
    result = json.loads(out.read_text()) if out.exists() else None
    if result is not None and name == "analysis":
        result = from_analysis(result)
    if result is not None and result.get("leftovers"):
        error = (error + "; " if error else "") + f"{result['leftovers']} Docker objects left behind"
    return result, wall, error


def _run(argv, timeout):
    """Run a script; past its timeout stop it with SIGINT (KeyboardInterrupt: voltools removes what
    it made), and only if it is still there STOP_GRACE_S later with SIGKILL. Returns (exit status,
    stderr or stdout, timed out)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parent)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, err or out, False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, err or out, True


def from_analysis(raw):
    """bench_analysis.py's own JSON as figures and a bar."""
    figures = [{"name": f"stage {k}" if k != "total" else "total: fits + 6 plots drawn", "unit": "s",
                "note": "", "median": v["median_s"], "min": v["min_s"], "max": v["max_s"],
                "n": raw["repeats"], "q1": None, "q3": None}
               for k, v in sorted(raw["stages"].items(), key=lambda kv: kv[0] != "total")]
    figures.append({"name": "peak resident memory", "unit": "MiB", "note": "", "n": 1, "q1": None, "q3": None,
                    **{k: raw["peak_rss_bytes"] / 2**20 for k in ("median", "min", "max")}})
    total = raw["stages"]["total"]["median_s"]
    return {"name": "analysis", "figures": figures,
            "bars": [c.bar(f"fit + plot {raw['points']:,} points in at most {raw['budget_s']:.0f} s", total,
                           None, raw["budget_s"], unit="s", why="see the stages")],
            "findings": [f"{raw['points']:,} synthetic points, {raw['repeats']} repeats; generating the table "
                         f"({raw['generate_s']:.1f} s) is not timed. numpy {raw['numpy']}, pandas "
                         f"{raw['pandas']}, matplotlib {raw['matplotlib']}."]}


def num(x, digits=3):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"


def render(machine, results, quick, total_s, started, rerun=None):
    """RESULTS.md as text; `rerun`: the benchmarks this run measured when the others were kept."""
    lines = ["# voltools benchmarks", "",
             f"Written by `benchmarks/run_all.py{' --quick' if quick else ''}` (`make bench`), "
             f"{started:%Y-%m-%d %H:%M} UTC: "
             f"{'QUICK run (fewer repeats: proves it runs, not a result)' if quick else 'full run'}, "
             f"{total_s:.0f} s of wall time in all (budget {BUDGET_S} s)"
             + (f"; this run re-measured {', '.join(rerun)} and kept the others from the previous run "
                "(each says when)" if rerun else "") + ".", "",
             "Every figure is the median of its repeats, with the spread (min-max, and the "
             "interquartile range where there are enough repeats) and n. Every ratio is paired: both "
             "sides were measured in the same run, interleaved, and the ratio is taken per pair. "
             "Times are `time.perf_counter_ns` or the tools' own clocks (fio's per-I/O latencies, dd's).",
             "", "## Machine", "", "| | |", "| --- | --- |"]
    for key, label in (("cpu", "CPU"), ("cpu_count", "cores"), ("memory_bytes", "memory"), ("kernel", "kernel"),
                       ("os", "OS"), ("docker_engine", "Docker Engine"), ("fio", "fio"), ("python", "Python"),
                       ("voltools_version", "voltools"), ("load", "load average (1 min) start / end")):
        value = machine.get(key)
        if key == "memory_bytes" and value:
            value = f"{value / 2**30:.1f} GiB"
        lines.append(f"| {label} | {value} |")
    lines += ["", "The machine was shared: other work ran during the benchmarks (see the load average), "
              "which is why every figure is a median over interleaved repeats.", "",
              "## Bars", "", "| benchmark | bar | measured | result | why, when missed |",
              "| --- | --- | --- | --- | --- |"]
    for name, (result, _, error) in results.items():
        if result is None:
            lines.append(f"| {name} | (did not run) | | FAILED | {error[:200]} |")
            continue
        for b in result.get("bars", []):
            lines.append(f"| {name} | {b['name']} ({bar_range(b)}) | {num(b['value'])} {b['unit']} | "
                         f"{'met' if b['met'] else '**missed**'} | {b['why']} |")
    for name, (result, wall, error) in results.items():
        lines += ["", f"## {BENCHES[name][1]}", "", f"`benchmarks/{BENCHES[name][0]}`, {wall:.0f} s."]
        if error:
            lines += ["", f"**Failed**: `{error[-600:]}`" if result is None else f"**Problem**: {error}"]
        if result is None:
            continue
        lines += ["", "| figure | median | min - max | IQR | n | unit | note |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for f in result["figures"]:
            iqr = f"{num(f['q1'])} - {num(f['q3'])}" if f.get("q1") is not None and f["n"] >= 4 else ""
            lines.append(f"| {f['name']} | {num(f['median'])} | {num(f['min'])} - {num(f['max'])} | {iqr} | "
                         f"{f['n']} | {f['unit']} | {f.get('note', '')} |")
        if result.get("findings"):
            lines += ["", "What it shows:", ""] + [f"- {x}" for x in result["findings"]]
    return "\n".join(lines) + "\n"


def bar_range(b):
    if b["low"] is not None and b["high"] is not None:
        return f"{b['low']} to {b['high']}"
    return f">= {b['low']}" if b["low"] is not None else f"<= {b['high']}"


KEPT = "Kept from the run started"


def kept(path, rerun):
    """Results of the benchmarks not in `rerun` from an earlier RESULTS.json, their wall time and
    error as they were, each saying when it ran."""
    if not path.exists():
        return {}
    earlier = json.loads(path.read_text())
    out = {}
    for name, entry in earlier["benchmarks"].items():
        if name in BENCHES and name not in rerun and entry["result"] is not None:
            findings = entry["result"].get("findings", [])
            if not any(f.startswith(KEPT) for f in findings):  # kept before: that line names its run
                findings = [f"{KEPT} {earlier['started'][:16]} UTC."] + findings
            result = dict(entry["result"], findings=findings)
            out[name] = (result, entry["wall_s"], entry["error"])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats in every script")
    p.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset of " + ", ".join(BENCHES))
    p.add_argument("--out", default=str(HERE / "RESULTS.md"))
    p.add_argument("--keep", action="store_true",
                   help="with --only: keep the other benchmarks' results from the existing RESULTS.json")
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        p.error(f"unknown benchmark {unknown[0]!r}: use {', '.join(BENCHES)}")
    started, start = datetime.now(timezone.utc), time.perf_counter_ns()
    machine, load0 = c.machine(), c.cpu_load()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print(f"== {name}", flush=True)
            results[name] = run_one(name, args.quick, folder)
            result, wall, error = results[name]
            print(f"   {wall:.0f} s{' FAILED: ' + error[-300:] if error else ''}", flush=True)
            for b in (result or {}).get("bars", []):
                print(f"   {'met   ' if b['met'] else 'MISSED'} {b['name']}: {num(b['value'])} {b['unit']}")
    total = (time.perf_counter_ns() - start) / 1e9
    if args.keep:
        results = {**kept(Path(args.out).with_suffix(".json"), names), **results}
        results = {n: results[n] for n in BENCHES if n in results}
    machine["load"] = f"{load0:.2f} / {c.cpu_load():.2f}"
    Path(args.out).write_text(render(machine, results, args.quick, total, started, names if args.keep else None))
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {"machine": machine, "quick": args.quick, "started": started.isoformat(), "total_s": total,
         "benchmarks": {n: {"result": r, "wall_s": w, "error": e} for n, (r, w, e) in results.items()}},
        indent=1, default=str) + "\n")
    print(f"wrote {args.out} and its .json, every repeat's value ({total:.0f} s)")
    return 1 if any(error for _, _, error in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
