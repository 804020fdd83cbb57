"""Short Markdown prose for the notebooks and the capacity report, generated from the numbers of
voltools.analysis.findings and voltools.analysis.answers. Pure: strings in, strings out; nothing is
printed."""
from __future__ import annotations

import math

import pandas as pd

from ..formatting import (count_text, duration, duration_ci, duration_range, durations, factor_text, format_bytes, percent, rate_text, sig,
                         signed_bytes, signed_percent, with_ci)
from .models import EXTRAPOLATION_MAX


def _change(ratio):
    """How a time ratio reads: 0.89 -> ('11%', 'faster'), 1.12 -> ('12%', 'slower'); ×N beyond 2."""
    if ratio >= 2:
        return f"{sig(ratio)}×", "slower"
    if ratio <= 0.5:
        return f"{sig(1 / ratio)}×", "faster"
    return (percent(ratio - 1, 2), "slower") if ratio >= 1 else (percent(1 - ratio, 2), "faster")


def _pair(low, high, estimate):
    """'51.3 s, 145 s': an interval's bounds in the estimate's unit, for inside [ ]."""
    return ", ".join(durations((low, high), reference=estimate))


def _who(row):
    return f"**{row['target']}** {row['rw']}" if "rw" in row else f"**{row['target']}**"


def _names(values):
    values = list(dict.fromkeys(values))
    return ", ".join(values[:-1]) + f" and {values[-1]}" if len(values) > 1 else "".join(values)


def _read_first(frame):
    """Rows with rw == 'read' (a full sequential read) first, then the others by name."""
    return frame.sort_values("rw", key=lambda s: s.map(lambda v: (v != "read", str(v))))


def read_time_md(compare, baseline):
    """The full-read answer: range of expected times, the baseline's intervals, and where the
    model does not hold there, why and the sweep that would measure near the question."""
    c = compare.sort_values("predicted_s")
    first, last = c.iloc[0], c.iloc[-1]
    size, bs = c["dataset_bytes"].iloc[0], c["bs_bytes"].iloc[0]
    base = _read_first(c[c["target"] == baseline])
    lines = [f"Reading **{format_bytes(size)}** in **{format_bytes(bs)}** blocks "
             f"({int(c['blocks'].iloc[0]):,} blocks) is expected to take from "
             f"**{duration(first['predicted_s'])}** ({_who(first)}) to "
             f"**{duration(last['predicted_s'])}** ({_who(last)})."]
    for _, row in base.iterrows():
        lines.append(f"On the **{baseline}** baseline, {row['rw']}: **{duration(row['predicted_s'])}** "
                     f"(95% interval of the expected time "
                     f"{duration_range(row['mean_low_s'], row['mean_high_s'], row['predicted_s'])}; "
                     f"of one read {duration_range(row['low_s'], row['high_s'], row['predicted_s'])}).")
    return " ".join(lines) + _not_holding_md(c)


def _not_holding_md(compare):
    """A paragraph on the predictions that do not hold: why, and the sweep per target."""
    bad = compare[~compare["holds"].astype(bool)]
    if bad.empty:
        return ""
    whys = _names(sorted({_short_why(r) for _, r in bad.iterrows()}))
    lines = [f"\n\n**Not established** ({len(bad)} of {len(compare)} predictions): {whys}. "
             "Outside what was measured the model assumes every further block costs what the "
             "measured ones did; no test on the measured points can check that, and the "
             "intervals cover the noise, not a change of regime (a cache, throttling, a fuller "
             "disk). Measure near the question with"]
    commands = _measure_commands(bad)
    lines += [f"\n- `{cmd}`" for cmd in commands]
    return "".join(lines)


def _short_why(row):
    """One row's reason in short: the extrapolation factor, else the fit's first problem."""
    if row["extrapolation"] > EXTRAPOLATION_MAX:
        return (f"extrapolated {factor_text(row['extrapolation'])} beyond the largest N measured at "
                f"{format_bytes(row['bs_bytes'])}")
    return str(row["why"]).split("; ")[0] or "the model does not hold"


def _measure_commands(rows):
    from .findings import measure_commands
    return measure_commands(rows)


PEAK_NOTE = ("*Peak* is the fitted β, the throughput a queue-depth-1 read tends to as blocks grow; "
             "*best measured* is the fastest (B, N) cell's median N·B/T_d, marked ≠ β where it lies "
             "outside β's 95% interval.")


def half_peak_md(table):
    """One bullet per target: peak bandwidth (fitted beta; the best measured beside it where they
    differ) and the block size that reaches half of it."""
    lines = []
    for target, g in table.groupby("target", sort=True):
        parts = [f"{r['rw']}: peak β {rate_text(r['beta_bytes_per_s'])}" + _best_text(r)
                 + f", half at B_half = {format_bytes(r['b_half_bytes'])}"
                 + (" (outside the measured block sizes: extrapolated)" if r["extrapolated"] else "")
                 for _, r in g.iterrows()]
        use = format_bytes(g["bs_at_half_bytes"].max())
        lines.append(f"- **{target}**: {'; '.join(parts)}. Blocks of **{use}** or larger reach "
                     "at least half the peak (above the upper 95% bound of B_half).")
    return "\n".join(lines + ["", PEAK_NOTE] if "best_measured_bytes_per_s" in table.columns else lines)


def _best_text(row):
    """' (best measured 6.08 GiB/s)' where it lies outside beta's 95% interval."""
    if not bool(row.get("peaks_differ", False)):
        return ""
    return f" (best measured {rate_text(row['best_measured_bytes_per_s'])})"


def capacity_md(cap, dataset_bytes=None):
    """How much of each sized volume can hold data, and whether the dataset fits."""
    lines = []
    for _, r in cap[cap["sized"]].iterrows():
        lines.append(f"- **{r['target']}** ({format_bytes(r['target_size_bytes'])} volume): the "
                     f"filesystem offers {format_bytes(r['fs_total_bytes'])} "
                     f"({percent(r['fs_share'])}); **{format_bytes(r['holds_bytes'])} "
                     f"({percent(r['holds_share'])}) can hold data**"
                     + (f", the rest ({format_bytes(r['overhead_bytes'])}) is filesystem metadata "
                        "and reserved blocks." if r["overhead_bytes"] > 0 else "."))
    unsized = cap[~cap["sized"]]
    if len(unsized):
        lines.append(f"- {_names(unsized['target'])}: not sized; they share the host's filesystem "
                     f"({format_bytes(unsized['holds_bytes'].min())} free or holding the test data).")
    if dataset_bytes is not None and "dataset_fits" in cap.columns:
        short = cap[~cap["dataset_fits"]]
        if len(short):
            lines.append(f"\nA {format_bytes(dataset_bytes)} dataset does **not fit** on "
                         f"{_names(short['target'])}: "
                         + "; ".join(f"{r['target']} ({r['fit_why']})" for _, r in short.iterrows())
                         + ". They get no objective verdict and no comparison with the baseline.")
        else:
            lines.append(f"\nA {format_bytes(dataset_bytes)} dataset fits on every target.")
    return "\n".join(lines)


def objective_md(verdicts, objective_s):
    """Which targets meet the read-time objective, by verdict; 'unknown' where the model does not
    hold at the question, with the sweep that would settle it."""
    text = duration(objective_s)
    seconds = f"{sig(objective_s, trim=True)} s"
    lines = [f"Objective: a full read within **{text}**"
             + ("." if text.endswith(" s") else f" ({seconds}).")]
    text = {"yes": "Meets it even at the upper 95% bound of one read",
            "likely": "Meets it on the expected time, not at the upper bound",
            "unlikely": "Misses it on the expected time; only the lower bound meets it",
            "no": "Misses it even at the lower 95% bound",
            "unknown": "Unknown, the model does not hold at this size (measure larger N)",
            "does not fit": "No verdict, the dataset does not fit on the target"}
    for verdict, phrase in text.items():
        rows = verdicts[verdicts["meets"] == verdict]
        if len(rows) == len(verdicts):
            lines.append(f"- {phrase}: all {len(rows)} target/mode pairs.")
        elif len(rows):
            who = _names(f"{r['target']} {r['rw']}" for _, r in rows.iterrows())
            lines.append(f"- {phrase}: {who}.")
    known = verdicts[~verdicts["meets"].isin(["unknown", "does not fit"])]
    if known.empty and (verdicts["meets"] == "does not fit").all():
        return "\n".join(lines)
    if known.empty:
        lines.append("\nNo verdict can be given until the sweep measures near the question:")
        lines += [f"- `{cmd}`" for cmd in _measure_commands(verdicts)]
        return "\n".join(lines)
    worst = known.loc[known["high_s"].idxmax()]
    lines.append(f"\nThe slowest upper bound where the model holds is {worst['target']} {worst['rw']}: "
                 f"{duration(worst['high_s'])}, headroom ×{sig(objective_s / worst['high_s'])} even there."
                 if worst["high_s"] <= objective_s else
                 f"\nThe slowest upper bound where the model holds is {worst['target']} {worst['rw']}: "
                 f"{duration(worst['high_s'])}, over the objective by "
                 f"{duration(worst['high_s'] - objective_s)}.")
    return "\n".join(lines)


def baseline_md(compare, baseline):
    """Each target against the baseline, by the ratio of expected times and its 95% interval:
    'N% slower/faster [low, high]' where the interval excludes 1, 'agrees with' where it lies
    within ±5%, else 'no difference resolved'."""
    fits = compare["fits"] if "fits" in compare.columns else pd.Series(True, index=compare.index)
    if not fits[compare["target"] == baseline].all():
        return (f"The baseline {baseline} cannot hold the dataset: no target is compared with it.")
    lines = []
    for _, r in compare[compare["target"] != baseline].iterrows():
        ratio, low, high = r["ratio_to_baseline"], r["ratio_low"], r["ratio_high"]
        if not fits[r.name]:
            lines.append(f"- {_who(r)}: **does not fit** ({r['fit_why']}): not compared.")
            continue
        if pd.isna(ratio):
            how = f"no {baseline} fit with the same settings to compare with"
        elif low <= 1 <= high:
            word = (f"agrees with {baseline} within 5%" if 0.95 <= low and high <= 1.05
                    else f"no difference from {baseline} resolved")
            how = f"{word} (×{sig(ratio)} [{sig(low)}, {sig(high)}])"
        else:
            (amount, side), lo_hi = _change(ratio), sorted((_change(low)[0], _change(high)[0]),
                                                          key=lambda t: float(t.rstrip("%×")))
            how = f"**{amount} {side}** than {baseline} [{lo_hi[0]}, {lo_hi[1]}]"
        caveat = "" if bool(r["holds"]) else " (model not established at this size)"
        lines.append(f"- {_who(r)}: {duration(r['predicted_s'])}, {how}{caveat}.")
    return "\n".join(lines) or f"Only the baseline {baseline} was measured."


def checks_md(checks):
    """Where the read-time model does not hold, in plain words."""
    bad = checks[~checks["holds"]]
    if bad.empty:
        return ("The model T_d = T₀ + c·B + N (α + B/β) holds for every fit: the cell means agree "
                "with it within their repeats (lack-of-fit p ≥ 0.01) and no warning says otherwise.")
    lines = [f"The model does **not** hold for {len(bad)} of {len(checks)} fits; read their "
             "numbers as rough guides:"]
    lines += [f"- {_who(r)}: {_sentence(r['why'])}" for _, r in bad.iterrows()]
    return "\n".join(lines)


def _sentence(text):
    """`text` ending with a full stop unless it ends with its own punctuation."""
    return text if text.endswith((".", "?", "!")) else f"{text}."


def _span(values, fmt):
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)} to {fmt(hi)}"


def size_md(size_fits):
    """Whether files allocate exactly N x B (slope 1, intercept under one 4 KiB block)."""
    from .models import size_fits_table
    t = size_fits if isinstance(size_fits, pd.DataFrame) else size_fits_table(size_fits)
    exact = ((t["slope"] - 1).abs() < 1e-3) & (t["intercept_bytes"].abs() < 4096)
    lines = []
    if exact.any():
        lines.append(f"V = N × B holds for the files on {_names(t.loc[exact, 'target'])}: slope "
                     f"{_span(t.loc[exact, 'slope'], sig)}, intercept "
                     f"{_span(t.loc[exact, 'intercept_bytes'], signed_bytes)}; each file takes "
                     "exactly its logical size.")
    for _, r in t[~exact].iterrows():
        lines.append(f"- **{r['target']}**: slope {with_ci(r['slope'], r['slope_low'], r['slope_high'])}, "
                     f"intercept {signed_bytes(r['intercept_bytes'])} per file"
                     + (f" ({r['warnings']})" if r["warnings"] else "") + ".")
    return "\n".join(lines)


def per_block_md(table):
    """What the one-parameter T_d = N x T_b misses, from analysis.per_block_comparison."""
    n_min, n_max = int(table["n_min"].iloc[0]), int(table["n_max"].iloc[0])
    return (
        f"At N = {n_min} the article's N × T_b is off by {_span(table['n_min_tb_error'], percent)} "
        f"of the measured read time, the full model by {_span(table['n_min_full_error'], percent)}. "
        f"The line through the origin has no fixed cost, yet T₀ + c·B "
        f"({_span(table['fixed_s'], duration)}) is {_span(table['fixed_s'] / table['per_block_s'], sig)} "
        f"times the per-block time "
        f"α + B/β ({_span(table['per_block_s'], duration)}) at B = {format_bytes(table['bs_bytes'].iloc[0])}. "
        f"At N = {n_max} the fixed cost is spread over many blocks: N × T_b is off by "
        f"{_span(table['n_max_tb_error'], percent)}, the full model by "
        f"{_span(table['n_max_full_error'], percent)}. One point scatters about N × T_b by "
        f"{_span(table['tb_rel_sd'], percent)}, about the full model (fitted over all B and N) by "
        f"{_span(table['full_rel_sd'], percent)}.")


def outliers_md(by_repeat, n_points, n_outliers, cluster=3):
    """How many outliers, and where they cluster in one repeat of one (target, rw)."""
    lines = [f"{n_outliers} of {n_points} points ({percent(n_outliers / n_points if n_points else 0)}) "
             "are outliers."]
    clusters = []
    for _, r in by_repeat.iterrows():
        for col in [c for c in by_repeat.columns if str(c).startswith("repeat")]:
            if r[col] >= cluster:
                clusters.append(f"{r['target']} {r['rw']}: {int(r[col])} in {col}")
    if clusters:
        lines.append(f"They cluster in {'; '.join(clusters)}: the conditions changed during that "
                     "repeat (another process, a cache, the CPU clock). The fits keep slow ones "
                     "(a user's read meets them too) and leave out only reads far faster than "
                     "both the model and their repeats.")
    else:
        lines.append("They are spread over targets and repeats: ordinary timing noise.")
    return " ".join(lines)


def intro_md(run_id, meta, points):
    """Where and what the run measured, from run.json and the points table."""
    host = meta.get("host") or {}
    bits = [v for v in (host.get("cpu"), f"{host['cpu_count']} CPUs" if host.get("cpu_count") else None,
                        format_bytes(host["memory_bytes"]) if host.get("memory_bytes") else None,
                        f"kernel {host['kernel']}" if host.get("kernel") else None,
                        f"Docker Engine {meta['docker_engine_version']}" if meta.get("docker_engine_version") else None,
                        meta.get("fio_version")) if v]
    day = str(meta.get("started_at", ""))[:10]
    targets = sorted(points["target"].dropna().unique())
    return (f"Run **{run_id}**" + (f", measured on {day}" if day else "")
            + (f" ({', '.join(bits)})" if bits else "")
            + f": {len(points)} points on {len(targets)} targets ({_names(targets)}).")


def question_md(dataset_bytes, bs_bytes, objective_s):
    return (f"The question: a **{format_bytes(dataset_bytes)}** dataset read once, in **{format_bytes(bs_bytes)}** "
            f"blocks at queue depth 1, within **{duration(objective_s)}**.")


def summary_md(compare, half, cap, checks, baseline, objective_s):
    """Four short answers, one bullet each, plus the model's health. The full-read range is over
    the targets that can hold the dataset (all of them when none can)."""
    fits = compare["fits"].astype(bool) if "fits" in compare.columns else compare["target"].notna()
    c = (compare[fits] if fits.any() else compare).sort_values("predicted_s")
    lo, hi = c.iloc[0], c.iloc[-1]
    base = _read_first(compare[compare["target"] == baseline]).iloc[0]
    holding = int(c["holds"].astype(bool).sum())
    lines = [f"- **Full read**{'' if fits.all() else ' where the dataset fits'}: expected "
             f"{duration(lo['predicted_s'])} ({lo['target']} {lo['rw']}) to "
             f"{duration(hi['predicted_s'])} ({hi['target']} {hi['rw']}); {baseline} {base['rw']} "
             f"{duration(base['predicted_s'])}, one read "
             f"[{_pair(base['low_s'], base['high_s'], base['predicted_s'])}]"
             + ("." if holding == len(c) else
                f" (established for {holding} of {len(c)}: measure larger N, see section 2).")]
    use = half.groupby("target", sort=True)["bs_at_half_bytes"].max()
    lines.append("- **Half the peak bandwidth** with blocks of at least: "
                 + ", ".join(f"{t} {format_bytes(v)}" for t, v in use.items()) + ".")
    sized = cap[cap["sized"]]
    lines.append("- **Usable share** of sized volumes: "
                 + (", ".join(f"{r['target']} {percent(r['holds_share'])} of {format_bytes(r['target_size_bytes'])}"
                              for _, r in sized.iterrows()) if len(sized) else "no sized volume measured") + "."
                 + _fits_note(cap))
    meets = int((compare["meets"] == "yes").sum())
    unknown = int((compare["meets"] == "unknown").sum())
    no_fit = int((compare["meets"] == "does not fit").sum())
    lines.append(f"- **Objective** {duration(objective_s)}: {meets} of {len(compare) - no_fit} target/mode "
                 "pairs " + ("that can hold the dataset " if no_fit else "")
                 + "meet it even at the upper 95% bound of one read"
                 + (f"; {unknown} unknown until measured near the question" if unknown else "")
                 + (f"; {no_fit} do not fit (no verdict)" if no_fit else "")
                 + ("." if meets == len(compare) else "; see section 4."))
    bad = checks[~checks["holds"]]
    lines.append(f"- **Model**: holds for {len(checks) - len(bad)} of {len(checks)} fits"
                 + (f"; not for {_names(bad['target'] + ' ' + bad['rw'])} (see *How far to trust*)."
                    if len(bad) else "."))
    return "\n".join(lines)


def _fits_note(cap):
    if "dataset_fits" not in cap.columns or cap["dataset_fits"].all():
        return ""
    return f" The dataset does not fit on {_names(cap.loc[~cap['dataset_fits'], 'target'])}."


def answer_md(answer, cap=None):
    """answers.predict_table as one bullet per target and read mode: the expected full-read time
    with its 95% interval, the 95% interval of one read, and where it does not hold,
    'unknown: measure larger N' with the reason; given findings.capacity_table(..., dataset_bytes)
    as `cap`, 'does not fit' (with why) after the numbers of a target that cannot hold the dataset."""
    from .findings import UNKNOWN
    why_not = {} if cap is None or "fit_why" not in cap.columns else dict(zip(cap["target"], cap["fit_why"]))
    first = answer.iloc[0]
    lines = [f"Reading **{format_bytes(first['dataset_bytes'])}** once in **{format_bytes(first['bs_bytes'])}** "
             f"blocks ({math.ceil(first['dataset_bytes'] / first['bs_bytes']):,} blocks) takes:"]
    for _, r in _read_first(answer).sort_values("target", kind="stable").iterrows():
        numbers = (f"**{duration(r['mean_s'])}** expected "
                   f"[{_pair(r['mean_low_s'], r['mean_high_s'], r['mean_s'])}], one read "
                   f"{duration_range(r['low_s'], r['high_s'], r['mean_s'])}")
        fit = f" **Does not fit**: {why_not[r['target']]}." if why_not.get(r["target"]) else ""
        if bool(r["holds"]):
            basis = f", from {r['basis']}" if r.get("basis") else ""
            lines.append(f"- {_who(r)}: {numbers}{basis}.{fit}")
        else:
            lines.append(f"- {_who(r)}: *{UNKNOWN}* (the model would say {numbers}; "
                         f"{_short_why(r)}).{fit}")
    holding = int(answer["holds"].astype(bool).sum())
    lines.append(f"\n{holding} of {len(answer)} answers hold: the fit passes its tests there (the line "
                 "through the question's own long reads, where they come near it) and "
                 f"the question lies within {EXTRAPOLATION_MAX:g}× the largest N measured at "
                 f"{format_bytes(first['bs_bytes'])}. Intervals are 95%: [ ] of the expected time, "
                 "'one read' of a single read.")
    return "\n".join(lines)


def track_record_md(track):
    """analysis.track_record in words: per target and read mode, 'predicted 3.16 s [2.93 s,
    3.38 s], one read 1.91 s – 4.97 s, for the largest read measured (1 GiB); it took 3.05 s',
    and how many fell inside the interval of one read."""
    if track.empty:
        return "No block size of the question was measured: no track record."
    bs = format_bytes(track["bs_bytes"].iloc[0])
    lines = [f"Every report refits each target without its largest-N reads at {bs} and predicts "
             "them from the rest, a step of the size the answers above take at most "
             f"({EXTRAPOLATION_MAX:g}× the largest N measured):"]
    for _, r in track.iterrows():
        where = (f"the largest read measured ({format_bytes(r['size_bytes'])}, "
                 f"{int(r['blocks']):,} blocks)")
        first = int(r["first_blocks"]) if pd.notna(r.get("first_blocks", 0)) else 0
        if first:
            where = (f"the rest of {where}, its blocks {first:,}-{int(r['blocks']):,} (the refit saw its "
                     f"first {format_bytes(first * r['bs_bytes'])}: the smaller reads are its first blocks)")
        if pd.isna(r["mean_s"]):
            lines.append(f"- {_who(r)}: no prediction for {where} ({r['why']}); it took "
                         f"{duration(r['measured_s'])}.")
            continue
        verdict = ("inside the interval of one read" if r["inside"]
                   else "**outside** the interval of one read")
        lines.append(f"- {_who(r)}: the model predicted **{duration(r['mean_s'])}** "
                     f"[{_pair(r['mean_low_s'], r['mean_high_s'], r['mean_s'])}] (one read "
                     f"{duration_range(r['low_s'], r['high_s'], r['mean_s'])}) for {where}; it took "
                     f"**{duration(r['measured_s'])}** (median of {int(r['reads'])}, "
                     f"{signed_percent(r['error'])}): {verdict}"
                     + ("" if r["holds"] else "; the refit does not hold") + ".")
    inside = int(track["inside"].sum())
    lines.append(f"\n{inside} of {len(track)} measured times fell inside the 95% interval of one read.")
    return "\n".join(lines)


def _host(node):
    """A node column value '<id>/<hostname>' as its host name."""
    return str(node).rsplit("/", 1)[-1]


def nodes_md(table):
    """Per-node throughput (findings.node_table) in words: one node, or per (target, rw) the range
    across nodes and whether their 95% intervals leave any two apart."""
    if table.empty:
        return "No usable reads to compare across nodes."
    names = sorted({_host(n) for n in table["node"]})
    if len(names) == 1:
        return (f"Measured on one node ({names[0]}). A swarm sweep with `--mode global` measures every "
                "node of a swarm (the README's test cluster shows how) and this section compares them.")
    lines = [f"Measured on {len(names)} nodes ({_names(names)}); throughput at the largest read, mean "
             "over repeats with its 95% interval:"]
    for (target, rw), g in table.groupby(["target", "rw"], sort=True):
        slow, fast = g.loc[g["mean_mib_s"].idxmin()], g.loc[g["mean_mib_s"].idxmax()]
        apart = g["low_mib_s"].max() > g["high_mib_s"].min()
        verdict = ("the intervals of the slowest and fastest do not overlap: the nodes differ" if apart
                   else "the intervals overlap: no difference between nodes resolved")
        lines.append(f"- **{target}** {rw}: {sig(slow['mean_mib_s'])} MiB/s ({_host(slow['node'])}) to "
                     f"{sig(fast['mean_mib_s'])} MiB/s ({_host(fast['node'])}); {verdict}.")
    return "\n".join(lines)


def latency_md(table):
    """IOPS at the smallest block size and the p99 range per target, from findings.latency_table."""
    small = table[table["bs_bytes"] == table["bs_bytes"].min()]
    lines = [f"At the smallest block size, {format_bytes(small['bs_bytes'].iloc[0])}, one reader at "
             "queue depth 1 gets:"]
    for _, r in _read_first(small).sort_values("target", kind="stable").iterrows():
        lines.append(f"- {_who(r)}: **{count_text(r['iops'])} IOPS**, p50 {sig(r['p50_us'])} µs, "
                     f"p99 {sig(r['p99_us'])} µs.")
    lines.append("\np99.9 is shown only where a read had at least 1,000 I/Os (the question's reads), "
                 "p99 where it had 100: with fewer, the percentile would be the slowest single I/O.")
    return "\n".join(lines)


def _within_run(row):
    """What an interval of within-run noise only holds, for a row of compare.compare_runs ('' else)."""
    from .drift import WITHIN_RUN, within_run_only
    if not within_run_only(row.get("interval_covers")):
        return ""
    return (f" (an interval of {WITHIN_RUN}, not 95%: a run of one round shows nothing of the drift "
            "between runs)")


def run_comparison_md(table, run_id, baseline_run):
    """compare.compare_runs in words: per target and rw this run against the baseline run, by the
    ratio of expected full-read times and its 95% interval between runs (one of within-run noise
    only, said so, where a run has one round)."""
    if table.empty:
        return f"No target and read mode of run **{run_id}** is in the baseline run **{baseline_run}**."
    first = table.iloc[0]
    lines = [f"Run **{run_id}** against the baseline run **{baseline_run}**, reading "
             f"{format_bytes(first['dataset_bytes'])} in {format_bytes(first['bs_bytes'])} blocks "
             "(ratio of expected full-read times, this run over the baseline, with its 95% interval):"]
    for _, r in table.iterrows():
        if r["verdict"] == "unknown":
            lines.append(f"- {_who(r)}: unknown ({r['why']}).")
            continue
        ratio = f"×{sig(r['ratio'])} [{sig(r['ratio_low'])}, {sig(r['ratio_high'])}]{_within_run(r)}"
        how = (f"**{' '.join(_change(r['ratio']))}**" if r["verdict"] in ("slower", "faster")
               else "no detectable change")
        caveat = "" if bool(r["holds"]) else " (a model does not hold there: read it as a rough guide)"
        lines.append(f"- {_who(r)}: {duration(r['a_mean_s'])} → {duration(r['b_mean_s'])}, {ratio}: "
                     f"{how}{caveat}.")
    lines.append("\n`voltools compare BASELINE RUN --fail-if-slower 10%` exits 1 when the lower bound of "
                 "a slowdown exceeds 10%: a gate for CI.")
    return "\n".join(lines)


def persist_md(checked, predictions, persist_run):
    """The persistence checks of a `voltools persist` run and its move-time answers in words:
    per target the checks it passed and failed; per (source, destination) the time of one move of
    the asked size with its 95% interval, or why the fit cannot say."""
    first = checked.iloc[0]
    lines = [f"Run **{persist_run}** wrote {format_bytes(first['size_bytes'])} through each target in "
             f"{format_bytes(first['bs_bytes'])} blocks with fio's verify headers and verified it after each check:"]
    for target, group in checked.groupby("target", sort=False):
        passed = ", ".join(group.loc[group["passed"], "check"])
        failed = [f"{r.check} ({r.reason or 'failed'})" for r in group[~group["passed"]].itertuples()]
        done = f"failed {', '.join(failed)}" + (f"; passed {passed}" if passed else "") if failed \
            else f"passed every check ({passed})"
        lines.append(f"- **{target}**: {done}.")
    for p in predictions:
        lead = f"- Moving {format_bytes(p.size_bytes)} from **{p.source}** to **{p.destination}**"
        lines.append(f"{lead}: about {duration_ci(p.mean_s, p.low_s, p.high_s)} (one move, 95%)." if p.holds
                     else f"{lead}: unknown ({p.why}); {_move_advice(p)}.")
    return "\n".join(lines)


def _move_advice(p):
    """What would answer a move question the fit cannot: larger copies, or more of them."""
    if p.extrapolation > EXTRAPOLATION_MAX:
        return (f"copies of at least {format_bytes(p.size_bytes / EXTRAPOLATION_MAX)} "
                "(`voltools persist --migrate-sizes`) would answer it")
    return "more copies (`voltools persist --migrate-repeat`) would narrow it"
