"""The answers by the old method and the new, on the same files in the same minutes (issue 13).

bench_reportsweep compares whole sweeps made minutes apart, each laying out its own files: the
run's level (the disk's drift, where the files lie) enters every pair by 5-15%, as much as the
methods might differ. Here both methods read the same files, turn about: make report's sweep
(REPORT_TARGETS, --question 4g@64k, 5 rounds) is planned twice, as one fio process a point
(`--no-pack`: how the committed sample was first measured, the issue's "before") and as this
checkout plans it (a round's points replayed in one fio call, the sequential points of a block
size cut from one read of the largest). Each target is set up once, under the old run; each round
reads every target by one method and then the other, the order swapped every round. Each
method's points go to a run of its own, fitted as voltools fits a run. It drives the Docker
backend's own steps (set-up, one fio call, teardown), as `DockerOrchestrator.measure` does.

Figures, per (target, rw): each method's expected 4 GiB @ 64 KiB read time with its 95% interval
(answers.predict_table), new / old as `voltools compare` gives it, and the new / old ratio of each
point's two figures (same round, same block size and count).
Bar (issue 13: "the fitted answers move by less than their own 95% intervals"): no group whose
new / old ratio differs from 1 by compare's test, Holm-adjusted over the groups. (Whether new lies
inside old's own interval is counted too, but two estimates of one answer with alike intervals do
so only 83% of the time each: for 8 groups all 8 would hold in about a quarter of runs.)

    .venv/bin/python benchmarks/bench_samefiles.py [--quick] [--json PATH] [--target SPEC ...]

--target (repeatable) reads those targets instead of make report's, e.g. a tmpfs large enough for
the question's 1 GiB reads beside make report's 512 MiB one (`tmpfs:size=2g,name=t2g`).
"""
import tempfile

import numpy as np
from statsmodels.stats.multitest import multipletests

import _common as c
from voltools.analysis.answers import predict_table
from voltools.analysis.compare import compare_runs
from voltools.api import start_sweep
from voltools.measuring import engine
from voltools.orchestrators.docker import Teardown, _read, calls, round_order
from voltools.points import FIT_KEY, POINT_KEY
from voltools.units import format_bytes, parse_size

QUESTION = "4g@64k"
SIDES = ("old", "new")


def main(argv=None):
    p = c.parser(__doc__)
    p.add_argument("--no-prefix", dest="prefix", action="store_false",
                   help="plan the new side with --no-prefix (every replayed point reads its own file)")
    p.add_argument("--target", action="append", dest="targets", metavar="SPEC",
                   help="a target to read instead of make report's (repeatable)")
    p.add_argument("--tables", metavar="DIR", help="also write each method's points table to DIR/<side>.parquet")
    args = p.parse_args(argv)
    client, rounds = engine.connect(), 2 if args.quick else 5
    targets = c.report_targets(args.targets or c.REPORT_TARGETS)
    try:
        with tempfile.TemporaryDirectory(dir=c.DISK_PARENT) as data_dir:
            start = c.clock()
            tables = interleaved(targets, rounds, data_dir, args.prefix)
            wall = (c.clock() - start) / 1e9
    finally:
        left = c.finish(client)
    if args.tables:
        for side, table in tables.items():
            table.to_parquet(f"{args.tables}/{side}.parquet")
    result = summarize(tables)
    result.update(prefix=args.prefix, leftovers=left, load_avg_1m=c.cpu_load(), targets=targets, rounds=rounds, wall_s=wall)
    c.write(result, args.json)
    return 0 if left == 0 else 1


def interleaved(targets, rounds, data_dir, prefix=True):
    """Both runs measured on one set-up, turn about; returns {side: points table}."""
    runs = {}
    try:
        for side in SIDES:
            runs[side] = start_sweep(targets, question=QUESTION, repeat=rounds, pack=side == "new",
                                     prefix=prefix or side == "old", run_id=c.run_id(f"sf-{side}"), data_dir=data_dir)
        _measure(runs, rounds)
    except BaseException as exc:
        for run in runs.values():
            run._end(exc)
        raise
    return {side: run._end(None) for side, run in runs.items()}


def _measure(runs, rounds):
    old = runs["old"]
    seqs = {side: run.store.next_seq() for side, run in runs.items()}
    with Teardown(old.problems) as undo:
        ready = [old.orchestrator._set_up(old, spec, undo) for spec in old.plan.targets]
        for round_ in range(rounds):
            order = SIDES if round_ % 2 == 0 else SIDES[::-1]
            for target in round_order(ready, old.plan.seed, round_):
                for side in order:
                    for call in calls(runs[side], target.spec.name, round_):
                        seqs[side] = _read(runs[side], target, call, seqs[side], None)


def summarize(tables):
    """Per group: both answers with their intervals, compare's ratio, the points' ratios; the bar."""
    size, bs = (parse_size(x) for x in QUESTION.split("@"))
    key = list(FIT_KEY)
    own = {side: predict_table(t, size, bs).set_index(key) for side, t in tables.items()}
    ratios = compare_runs(tables["old"], tables["new"], size, bs).set_index(key)
    ratios = ratios[np.isfinite(ratios["ratio_p"].astype(float))]
    holm = multipletests(ratios["ratio_p"].astype(float), method="holm")[1] if len(ratios) else []
    points = _point_ratios(tables)
    figures, moved, found, inside = [], [], [], 0
    for group, p in zip(ratios.index, holm):
        old, new, r = own["old"].loc[group], own["new"].loc[group], ratios.loc[group]
        within = bool(old.mean_low_s <= new.mean_s <= old.mean_high_s)
        inside += within
        name = f"{group[0]} {group[1]}"
        if p < 0.05:
            moved.append(f"{name} x{r.ratio:.3f} [{r.ratio_low:.3f}, {r.ratio_high:.3f}], Holm p = {p:.3f}")
        figures += _figures(name, old, new, r, p, points[(points["target"] == group[0]) & (points["rw"] == group[1])])
        found.append(f"{name}: old {old.mean_s:.2f} s [{old.mean_low_s:.2f}, {old.mean_high_s:.2f}], new "
                     f"{new.mean_s:.2f} s [{new.mean_low_s:.2f}, {new.mean_high_s:.2f}]; new / old x{r.ratio:.3f} "
                     f"[{r.ratio_low:.3f}, {r.ratio_high:.3f}] (Holm p {p:.3f}).")
    found.append(f"New inside old's own 95% interval of the expected time in {inside} of {len(ratios)} groups: two "
                 "estimates of one answer with alike intervals do so 83% of the time each (|Z| < 1.96 / sqrt 2), so "
                 "the bar tests the ratio instead.")
    bar = c.bar("the answers do not move: no (target, rw) whose new / old ratio (voltools compare) differs from 1, "
                "Holm-adjusted p < 0.05", None if not len(ratios) else len(moved), None, 0, unit="groups",
                why="; ".join(moved) or "no group could be compared")
    return {"name": "samefiles", "figures": figures, "bars": [bar], "findings": found}


def _figures(name, old, new, r, holm, points):
    """One group's figures: both answers, compare's ratio (beta's, alpha's), each point's ratio."""
    question = QUESTION.replace("@", " @ ")
    within = bool(old.mean_low_s <= new.mean_s <= old.mean_high_s)
    return [c.figure(f"{name}: expected {question}, old then new", [old.mean_s, new.mean_s], "s",
                     note=f"old [{old.mean_low_s:.3f}, {old.mean_high_s:.3f}], new [{new.mean_low_s:.3f}, "
                          f"{new.mean_high_s:.3f}]; new inside old's: {within}"),
            c.figure(f"{name}: new / old (voltools compare)", [r.ratio], "ratio",
                     note=f"[{r.ratio_low:.3f}, {r.ratio_high:.3f}] {r.verdict}, p = {r.ratio_p:.3f} (Holm {holm:.3f}); "
                          f"beta x{r.beta_ratio:.3f} [{r.beta_ratio_low:.3f}, {r.beta_ratio_high:.3f}], "
                          f"alpha x{r.alpha_ratio:.3f} [{r.alpha_ratio_low:.3f}, {r.alpha_ratio_high:.3f}]"),
            c.figure(f"{name}: each point's new / old figure", list(points["ratio"]), "ratio",
                     note=f"geometric mean {_geomean(points['ratio']):.3f} over {len(points)} points; {_by_size(points)}")]


def _by_size(rows):
    """'by bytes read: 4 KiB x0.25, ...': each size's geometric mean new / old ratio."""
    sizes = rows.assign(size=rows["bs_bytes"] * rows["blocks"]).groupby("size")["ratio"]
    return "by bytes read: " + ", ".join(f"{format_bytes(size)} x{_geomean(r):.2f}" for size, r in sizes)


def _point_ratios(tables):
    """new / old read time of each point both runs measured (same key, round included)."""
    key = [k for k in POINT_KEY if k != "run_id"]
    both = tables["old"].merge(tables["new"], on=key, suffixes=("_old", "_new"))
    both = both[(both["error_old"] == 0) & (both["error_new"] == 0)]
    return both.assign(ratio=both["read_time_s_new"] / both["read_time_s_old"])


def _geomean(values):
    return float(np.exp(np.mean(np.log(np.asarray(values, dtype=float))))) if len(values) else float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
