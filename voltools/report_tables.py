"""Display helpers shared by the notebooks and the capacity report: numbers rounded to 3
significant figures in binary units, fit and prediction tables, short Markdown prose generated
from the numbers. Pure: strings and DataFrames; nothing is printed or written. (Figures live in
voltools.plots.)
"""
from __future__ import annotations

import math

import pandas as pd

from .models import EXTRAPOLATION_MAX

KEY_COLUMNS = ("target", "rw", "direct", "iodepth")
_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024), ("B", 1))
_TIMES = ((1e-3, 1e-6, "µs"), (1.0, 1e-3, "ms"), (120.0, 1.0, "s"), (7200.0, 60.0, "min"),
          (math.inf, 3600.0, "h"))
MIB = 1024**2


# ---------------------------------------------------------------- numbers

def sig(value, digits=3, trim=False):
    """`value` to `digits` significant figures without an exponent for 1e-3 <= |x| < 1e6:
    1489.6 -> '1490', 0.02334 -> '0.0233'; NaN/None -> '–', inf -> '∞'. trim drops '.0'."""
    if value is None or pd.isna(value):
        return "–"
    x = float(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    exp = math.floor(math.log10(abs(x)))
    if exp >= 6 or exp < -3:
        return f"{x:.{digits - 1}e}"
    rounded = round(x, digits - 1 - exp)
    exp = math.floor(math.log10(abs(rounded))) if rounded else exp
    text = f"{rounded:.{max(0, digits - 1 - exp)}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def size_text(n_bytes, digits=3):
    """Bytes in binary units: 42949672960 -> '40 GiB', 73189 -> '71.5 KiB'."""
    if n_bytes is None or pd.isna(n_bytes):
        return "–"
    x = float(n_bytes)
    name, unit = next((n, u) for n, u in _UNITS if abs(x) >= u or u == 1)
    return f"{sig(x / unit, digits, trim=True)} {name}"


def rate_text(bytes_per_s, digits=3):
    """Bytes per second in binary units: '1.39 GiB/s', '712 MiB/s'."""
    text = size_text(bytes_per_s, digits)
    return text if text == "–" else f"{text}/s"


def duration(seconds, digits=3):
    """Seconds as '46.2 µs', '850 ms', '59.5 s', '12.3 min' or '2.05 h'."""
    if seconds is None or pd.isna(seconds):
        return "–"
    s = float(seconds)
    unit, name = next((u, n) for limit, u, n in _TIMES if abs(s) < limit)
    return f"{sig(s / unit, digits)} {name}"


def with_ci(est, low, high, fmt=sig):
    """'59.5 [38.8, 80.3]': an estimate with its interval, each through `fmt`."""
    return f"{fmt(est)} [{fmt(low)}, {fmt(high)}]"


def percent(value, digits=3):
    """A share as '88.5%'."""
    return "–" if value is None or pd.isna(value) else f"{sig(100 * float(value), digits)}%"


def p_text(value):
    """A p-value: '0.48', '0.0087', '< 0.001'; NaN (not tested) -> 'not tested'."""
    if value is None or pd.isna(value):
        return "not tested"
    return "< 0.001" if value < 0.001 else sig(value, 2)


def factor_text(factor):
    """A factor as '4.5×' or '2,560×'."""
    return f"{factor:,.0f}×" if factor >= 10 else f"{sig(factor, 2, trim=True)}×"


def ratio_text(ratio, low, high):
    """A ratio of expected times with its interval: '×1.12 [1.08, 1.16]'; 'baseline' for a row
    compared with itself."""
    if ratio is None or pd.isna(ratio):
        return "–"
    if ratio == low == high == 1:
        return "baseline"
    return f"×{sig(ratio)} [{sig(low)}, {sig(high)}]"


def _change(ratio):
    """How a time ratio reads: 0.89 -> ('11%', 'faster'), 1.12 -> ('12%', 'slower'); ×N beyond 2."""
    if ratio >= 2:
        return f"{sig(ratio)}×", "slower"
    if ratio <= 0.5:
        return f"{sig(1 / ratio)}×", "faster"
    return (percent(ratio - 1, 2), "slower") if ratio >= 1 else (percent(1 - ratio, 2), "faster")


# ---------------------------------------------------------------- tables

class Table:
    """A DataFrame shown without its index: HTML in notebooks and reports, text elsewhere."""

    def __init__(self, frame):
        self.frame = frame.reset_index(drop=True)

    def _repr_html_(self):
        return self.frame.to_html(index=False, border=0, na_rep="–")

    def __repr__(self):
        return self.frame.to_string(index=False, na_rep="–")


def key_columns(frame, keys=KEY_COLUMNS):
    """The fit key columns worth showing: target and rw always, the others where they vary."""
    return [c for c in keys if c in frame.columns
            and (c in ("target", "rw") or frame[c].nunique(dropna=False) > 1)]


def _keyed(frame, columns):
    """A display frame: the key columns of `frame` followed by `columns` (name -> Series)."""
    out = frame[key_columns(frame)].copy()
    for name, values in columns.items():
        out[name] = list(values)
    return Table(out)


def _fits_frame(fits):
    from .models import fits_table
    return fits if isinstance(fits, pd.DataFrame) else fits_table(fits)


def fits_display(fits):
    """Read-time fits (dict from models.fit_groups or models.fits_table): T_0 and alpha in µs,
    the first-block term c in ms/MiB, beta in MiB/s, B_half in KiB, each with its 95% interval;
    weighted R^2, scatter, lack-of-fit p, whether the model holds, n."""
    t = _fits_frame(fits)
    us = lambda c: t[c] * 1e6  # noqa: E731
    ms_mib = lambda c: t[c] * 1e3 * MIB  # noqa: E731
    mib = lambda c: t[c] / MIB  # noqa: E731
    kib = lambda c: t[c] / 1024  # noqa: E731
    return _keyed(t, {
        "T₀ (µs)": map(with_ci, us("t0_s"), us("t0_low_s"), us("t0_high_s")),
        "c (ms/MiB)": map(with_ci, ms_mib("c_s_per_byte"), ms_mib("c_low_s_per_byte"),
                          ms_mib("c_high_s_per_byte")),
        "α (µs)": map(with_ci, us("alpha_s"), us("alpha_low_s"), us("alpha_high_s")),
        "β (MiB/s)": map(with_ci, mib("beta_bytes_per_s"), mib("beta_low_bytes_per_s"),
                         mib("beta_high_bytes_per_s")),
        "B_half (KiB)": map(with_ci, kib("b_half_bytes"), kib("b_half_low_bytes"),
                            kib("b_half_high_bytes")),
        "R² (weighted)": map(sig, t["r2_weighted"]),
        "scatter": map(percent, t["rel_sd"]),
        "lack of fit p": map(p_text, t["lack_of_fit_p"]),
        "holds": t["holds"].map({True: "yes", False: "no"}),
        "n": t["n"].astype(int),
    })


def size_fits_display(size_fits):
    """Size fits (dict from models.fit_size_groups): slope and intercept with intervals."""
    from .models import size_fits_table
    t = size_fits if isinstance(size_fits, pd.DataFrame) else size_fits_table(size_fits)
    return _keyed(t, {
        "slope": map(with_ci, t["slope"], t["slope_low"], t["slope_high"]),
        "intercept": map(lambda e, lo, hi: with_ci(e, lo, hi, _signed_size), t["intercept_bytes"],
                         t["intercept_low_bytes"], t["intercept_high_bytes"]),
        "R²": map(sig, t["r2"]),
        "distinct sizes": t["n"].astype(int),
        "warnings": t["warnings"].replace("", "–"),
    })


def _signed_size(x):
    return f"-{size_text(-x)}" if x < 0 else size_text(x)


def capacity_display(cap):
    """analysis.capacity_table for people: sizes in binary units, shares of the volume."""
    cols = {
        "volume": [size_text(v) if s else "unsized" for v, s in zip(cap["target_size_bytes"], cap["sized"])],
        "filesystem": map(size_text, cap["fs_total_bytes"]),
        "data laid out": map(size_text, cap["data_bytes"]),
        "free after lay-out": map(size_text, cap["fs_avail_bytes"]),
        "can hold data": map(size_text, cap["holds_bytes"]),
        "share of volume": map(percent, cap["holds_share"]),
    }
    if "dataset_fits" in cap.columns:
        cols["dataset fits"] = cap["dataset_fits"].map({True: "yes", False: "no"})
    return _keyed(cap, cols)


def compare_display(compare):
    """models.compare_to_baseline (optionally with analysis.objective_verdicts columns): the
    expected time with the 95% intervals of the mean and of one read, the ratio to the baseline
    with its interval, the extrapolation and whether the model holds there."""
    cols = {
        "expected": map(duration, compare["predicted_s"]),
        "95% interval, mean": [f"{duration(lo)} – {duration(hi)}"
                               for lo, hi in zip(compare["mean_low_s"], compare["mean_high_s"])],
        "95% interval, one read": [f"{duration(lo)} – {duration(hi)}"
                                   for lo, hi in zip(compare["low_s"], compare["high_s"])],
        "× baseline [95%]": map(ratio_text, compare["ratio_to_baseline"], compare["ratio_low"],
                                compare["ratio_high"]),
        "extrapolation": [("inside" if x <= 1 else factor_text(x)) for x in compare["extrapolation"]],
        "model holds": compare["holds"].map({True: "yes", False: "no"}),
    }
    if "meets" in compare.columns:
        cols["meets objective"] = compare["meets"].map(_verdict_text)
    return _keyed(compare, cols)


def _verdict_text(verdict):
    from .analysis import UNKNOWN
    return UNKNOWN if verdict == "unknown" else verdict


def per_block_display(table):
    """analysis.per_block_comparison: T_b and the full model side by side, errors in %."""
    n_min, n_max = int(table["n_min"].iloc[0]), int(table["n_max"].iloc[0])
    us = lambda c: table[c] * 1e6  # noqa: E731
    return _keyed(table, {
        "T_b (µs)": map(with_ci, us("tb_s"), us("tb_low_s"), us("tb_high_s")),
        "T₀ + c·B (µs)": map(sig, us("fixed_s")),
        "α + B/β (µs)": map(sig, us("per_block_s")),
        f"N·T_b error, N={n_min}": map(percent, table["n_min_tb_error"]),
        f"full error, N={n_min}": map(percent, table["n_min_full_error"]),
        f"N·T_b error, N={n_max}": map(percent, table["n_max_tb_error"]),
        f"full error, N={n_max}": map(percent, table["n_max_full_error"]),
        "scatter N·T_b": map(percent, table["tb_rel_sd"]),
        "scatter full": map(percent, table["full_rel_sd"]),
    })


def half_peak_display(table):
    """analysis.half_peak_table: peak beta, B_half with interval, the block size to use."""
    return _keyed(table, {
        "peak β": [with_ci(b, lo, hi, rate_text) for b, lo, hi in zip(
            table["beta_bytes_per_s"], table["beta_low_bytes_per_s"], table["beta_high_bytes_per_s"])],
        "B_half": [with_ci(b, lo, hi, size_text) for b, lo, hi in zip(
            table["b_half_bytes"], table["b_half_low_bytes"], table["b_half_high_bytes"])],
        "blocks ≥ (power of 2)": map(size_text, table["bs_at_half_bytes"]),
        "B_half extrapolated": table["extrapolated"].map({True: "yes", False: "no"}),
    })


def checks_display(checks):
    """analysis.fit_checks: goodness of each fit, its lack-of-fit test and why it does not hold."""
    return _keyed(checks, {
        "R² (weighted)": map(sig, checks["r2_weighted"]),
        "scatter": map(percent, checks["rel_sd"]),
        "noise of the longest reads": map(percent, checks["long_read_rel_sd"]),
        "lack of fit p": map(p_text, checks["lack_of_fit_p"]),
        "largest residual": map(percent, checks["max_abs_residual"]),
        "fast outliers": checks["outliers"].astype(int),
        "model holds": checks["holds"].map({True: "yes", False: "no"}),
        "why not": checks["why"].replace("", "–"),
    })


def counts_display(frame, digits=3):
    """Any frame with floats rounded to `digits` significant figures and `*_bytes` columns in
    binary units (as text), no index."""
    out = frame.copy()
    for col in out.columns:
        if str(col).endswith("_bytes"):
            out[col] = out[col].map(lambda v: size_text(v, digits))
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: sig(v, digits))
    out.columns = [str(c) for c in out.columns]
    return Table(out)


# ---------------------------------------------------------------- prose (Markdown)

def _label(row):
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
    lines = [f"Reading **{size_text(size)}** in **{size_text(bs)}** blocks "
             f"({int(c['blocks'].iloc[0]):,} blocks) is expected to take from "
             f"**{duration(first['predicted_s'])}** ({_label(first)}) to "
             f"**{duration(last['predicted_s'])}** ({_label(last)})."]
    for _, row in base.iterrows():
        lines.append(f"On the **{baseline}** baseline, {row['rw']}: **{duration(row['predicted_s'])}** "
                     f"(95% interval of the expected time {duration(row['mean_low_s'])} – "
                     f"{duration(row['mean_high_s'])}; of one read {duration(row['low_s'])} – "
                     f"{duration(row['high_s'])}).")
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
                f"{size_text(row['bs_bytes'])}")
    return str(row["why"]).split("; ")[0] or "the model does not hold"


def _measure_commands(rows):
    from .analysis import measure_commands
    return measure_commands(rows)


def half_peak_md(table):
    """One bullet per target: peak bandwidth and the block size that reaches half of it."""
    lines = []
    for target, g in table.groupby("target", sort=True):
        parts = [f"{r['rw']}: peak {rate_text(r['beta_bytes_per_s'])}, half of it at "
                 f"B_half = {size_text(r['b_half_bytes'])}"
                 + (" (outside the measured block sizes: extrapolated)" if r["extrapolated"] else "")
                 for _, r in g.iterrows()]
        use = size_text(g["bs_at_half_bytes"].max())
        lines.append(f"- **{target}**: {'; '.join(parts)}. Blocks of **{use}** or larger reach "
                     "at least half the peak (above the upper 95% bound of B_half).")
    return "\n".join(lines)


def capacity_md(cap, dataset_bytes=None):
    """How much of each sized volume can hold data, and whether the dataset fits."""
    lines = []
    for _, r in cap[cap["sized"]].iterrows():
        lines.append(f"- **{r['target']}** ({size_text(r['target_size_bytes'])} volume): the "
                     f"filesystem offers {size_text(r['fs_total_bytes'])} "
                     f"({percent(r['fs_share'])}); **{size_text(r['holds_bytes'])} "
                     f"({percent(r['holds_share'])}) can hold data**"
                     + (f", the rest ({size_text(r['overhead_bytes'])}) is filesystem metadata "
                        "and reserved blocks." if r["overhead_bytes"] > 0 else "."))
    unsized = cap[~cap["sized"]]
    if len(unsized):
        lines.append(f"- {_names(unsized['target'])}: not sized; they share the host's filesystem "
                     f"({size_text(unsized['holds_bytes'].min())} free or holding the test data).")
    if dataset_bytes is not None and "dataset_fits" in cap.columns:
        short = cap[~cap["dataset_fits"]]["target"].tolist()
        if short:
            lines.append(f"\nA {size_text(dataset_bytes)} dataset does **not fit** on {_names(short)}: "
                         "their read times are for a volume of the same kind large enough to hold it.")
        else:
            lines.append(f"\nA {size_text(dataset_bytes)} dataset fits on every target.")
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
            "unknown": "Unknown, the model does not hold at this size (measure larger N)"}
    for verdict, phrase in text.items():
        rows = verdicts[verdicts["meets"] == verdict]
        if len(rows) == len(verdicts):
            lines.append(f"- {phrase}: all {len(rows)} target/mode pairs.")
        elif len(rows):
            who = _names(f"{r['target']} {r['rw']}" for _, r in rows.iterrows())
            lines.append(f"- {phrase}: {who}.")
    known = verdicts[verdicts["meets"] != "unknown"]
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
    lines = []
    for _, r in compare[compare["target"] != baseline].iterrows():
        ratio, low, high = r["ratio_to_baseline"], r["ratio_low"], r["ratio_high"]
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
        lines.append(f"- {_label(r)}: {duration(r['predicted_s'])}, {how}{caveat}.")
    return "\n".join(lines) or f"Only the baseline {baseline} was measured."


def checks_md(checks):
    """Where the read-time model does not hold, in plain words."""
    bad = checks[~checks["holds"]]
    if bad.empty:
        return ("The model T_d = T₀ + c·B + N (α + B/β) holds for every fit: the cell means agree "
                "with it within their repeats (lack-of-fit p ≥ 0.01) and no warning says otherwise.")
    lines = [f"The model does **not** hold for {len(bad)} of {len(checks)} fits; read their "
             "numbers as rough guides:"]
    lines += [f"- {_label(r)}: {_sentence(r['why'])}" for _, r in bad.iterrows()]
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
                     f"{_span(t.loc[exact, 'intercept_bytes'], _signed_size)}; each file takes "
                     "exactly its logical size.")
    for _, r in t[~exact].iterrows():
        lines.append(f"- **{r['target']}**: slope {with_ci(r['slope'], r['slope_low'], r['slope_high'])}, "
                     f"intercept {_signed_size(r['intercept_bytes'])} per file"
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
        f"α + B/β ({_span(table['per_block_s'], duration)}) at B = {size_text(table['bs_bytes'].iloc[0])}. "
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
                        size_text(host["memory_bytes"]) if host.get("memory_bytes") else None,
                        f"kernel {host['kernel']}" if host.get("kernel") else None,
                        f"Docker Engine {meta['docker_engine_version']}" if meta.get("docker_engine_version") else None,
                        meta.get("fio_version")) if v]
    day = str(meta.get("started_at", ""))[:10]
    targets = sorted(points["target"].dropna().unique())
    return (f"Run **{run_id}**" + (f", measured on {day}" if day else "")
            + (f" ({', '.join(bits)})" if bits else "")
            + f": {len(points)} points on {len(targets)} targets ({_names(targets)}).")


def question_md(dataset_bytes, bs_bytes, objective_s):
    return (f"The question: a **{size_text(dataset_bytes)}** dataset read once, in **{size_text(bs_bytes)}** "
            f"blocks at queue depth 1, within **{duration(objective_s)}**.")


def summary_md(compare, half, cap, checks, baseline, objective_s):
    """Four short answers, one bullet each, plus the model's health."""
    c = compare.sort_values("predicted_s")
    lo, hi = c.iloc[0], c.iloc[-1]
    base = _read_first(c[c["target"] == baseline]).iloc[0]
    holding = int(c["holds"].astype(bool).sum())
    lines = [f"- **Full read**: expected {duration(lo['predicted_s'])} ({lo['target']} {lo['rw']}) to "
             f"{duration(hi['predicted_s'])} ({hi['target']} {hi['rw']}); {baseline} {base['rw']} "
             f"{duration(base['predicted_s'])}, one read [{duration(base['low_s'])}, "
             f"{duration(base['high_s'])}]"
             + ("." if holding == len(c) else
                f" (established for {holding} of {len(c)}: measure larger N, see section 2).")]
    use = half.groupby("target", sort=True)["bs_at_half_bytes"].max()
    lines.append("- **Half the peak bandwidth** with blocks of at least: "
                 + ", ".join(f"{t} {size_text(v)}" for t, v in use.items()) + ".")
    sized = cap[cap["sized"]]
    lines.append("- **Usable share** of sized volumes: "
                 + (", ".join(f"{r['target']} {percent(r['holds_share'])} of {size_text(r['target_size_bytes'])}"
                              for _, r in sized.iterrows()) if len(sized) else "no sized volume measured") + "."
                 + _fits_note(cap))
    meets = int((compare["meets"] == "yes").sum())
    unknown = int((compare["meets"] == "unknown").sum())
    lines.append(f"- **Objective** {duration(objective_s)}: {meets} of {len(compare)} target/mode pairs "
                 "meet it even at the upper 95% bound of one read"
                 + (f"; {unknown} unknown until measured near the question" if unknown else "")
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


def objective_display(verdicts):
    """analysis.objective_verdicts: expected time, upper bound of one read, verdict, headroom and,
    where the verdict is unknown, the sweep that would settle it."""
    cols = {
        "expected": map(duration, verdicts["predicted_s"]),
        "upper 95% bound, one read": map(duration, verdicts["high_s"]),
        "meets objective": verdicts["meets"].map(_verdict_text),
        "headroom": [f"×{sig(h)}" for h in verdicts["headroom"]],
    }
    if "measure" in verdicts.columns and (verdicts["measure"] != "").any():
        cols["to settle it"] = verdicts["measure"].replace("", "–")
    return _keyed(verdicts, cols)


def provenance_display(meta):
    """run.json as a two-column table of what was measured where."""
    host = meta.get("host") or {}
    grid = meta.get("grid") or {}
    targets = ", ".join(f"{t.get('name')} ({t.get('kind')})" for t in meta.get("targets") or [])
    rows = [("run id", meta.get("run_id")), ("started", meta.get("started_at")),
            ("finished", meta.get("finished_at")), ("host", host.get("hostname")),
            ("CPU", f"{host.get('cpu')} × {host.get('cpu_count')}"),
            ("memory", size_text(host.get("memory_bytes"))), ("kernel", host.get("kernel")),
            ("Docker Engine", meta.get("docker_engine_version")), ("fio", meta.get("fio_version")),
            ("voltools", host.get("voltools_version")), ("targets", targets),
            ("block sizes", ", ".join(size_text(b) for b in grid.get("bs_bytes") or [])),
            ("block counts N", ", ".join(map(str, grid.get("blocks") or []))),
            ("read modes", ", ".join(grid.get("rw") or [])), ("repeats", grid.get("repeat")),
            ("points", meta.get("points_stored"))]
    return Table(pd.DataFrame([(k, "–" if v is None else str(v)) for k, v in rows],
                              columns=["item", "value"]))


# ---------------------------------------------------------------- the question's answer and track record

def answer_md(answer):
    """answers.predict_table as one bullet per target and read mode: the expected full-read time
    with its 95% interval, the 95% interval of one read, and where it does not hold,
    'unknown: measure larger N' with the reason."""
    from .analysis import UNKNOWN
    first = answer.iloc[0]
    lines = [f"Reading **{size_text(first['dataset_bytes'])}** once in **{size_text(first['bs_bytes'])}** "
             f"blocks ({math.ceil(first['dataset_bytes'] / first['bs_bytes']):,} blocks) takes:"]
    for _, r in _read_first(answer).sort_values("target", kind="stable").iterrows():
        numbers = (f"**{duration(r['mean_s'])}** expected [{duration(r['mean_low_s'])}, "
                   f"{duration(r['mean_high_s'])}], one read {duration(r['low_s'])} – "
                   f"{duration(r['high_s'])}")
        if bool(r["holds"]):
            lines.append(f"- {_label(r)}: {numbers}.")
        else:
            lines.append(f"- {_label(r)}: *{UNKNOWN}* (the model would say {numbers}; "
                         f"{_short_why(r)}).")
    holding = int(answer["holds"].astype(bool).sum())
    lines.append(f"\n{holding} of {len(answer)} answers hold: the model passes its tests there and "
                 f"the question lies within {EXTRAPOLATION_MAX:g}× the largest N measured at "
                 f"{size_text(first['bs_bytes'])}. Intervals are 95%: [ ] of the expected time, "
                 "'one read' of a single read.")
    return "\n".join(lines)


def track_record_md(track):
    """analysis.track_record in words: per target and read mode, 'predicted 3.16 s [2.93 s,
    3.38 s], one read 1.91 s – 4.97 s, for the largest read measured (1 GiB); it took 3.05 s',
    and how many fell inside the interval of one read."""
    if track.empty:
        return "No block size of the question was measured: no track record."
    bs = size_text(track["bs_bytes"].iloc[0])
    lines = [f"Every report refits each target without its largest-N reads at {bs} and predicts "
             "them from the rest, a step of the size the answers above take at most "
             f"({EXTRAPOLATION_MAX:g}× the largest N measured):"]
    for _, r in track.iterrows():
        where = (f"the largest read measured ({size_text(r['size_bytes'])}, "
                 f"{int(r['blocks']):,} blocks)")
        if pd.isna(r["mean_s"]):
            lines.append(f"- {_label(r)}: no prediction for {where} ({r['why']}); it took "
                         f"{duration(r['measured_s'])}.")
            continue
        verdict = ("inside the interval of one read" if r["inside"]
                   else "**outside** the interval of one read")
        lines.append(f"- {_label(r)}: the model predicted **{duration(r['mean_s'])}** "
                     f"[{duration(r['mean_low_s'])}, {duration(r['mean_high_s'])}] (one read "
                     f"{duration(r['low_s'])} – {duration(r['high_s'])}) for {where}; it took "
                     f"**{duration(r['measured_s'])}** (median of {int(r['reads'])}, "
                     f"{_signed_percent(r['error'])}): {verdict}"
                     + ("" if r["holds"] else "; the refit does not hold") + ".")
    inside = int(track["inside"].sum())
    lines.append(f"\n{inside} of {len(track)} measured times fell inside the 95% interval of one read.")
    return "\n".join(lines)


def _signed_percent(value):
    return "–" if pd.isna(value) else ("+" if value >= 0 else "−") + percent(abs(value), 2)


def track_record_display(track):
    """analysis.track_record as a table: the read held out, the prediction with its intervals,
    the measured median, the error and whether it fell inside the interval of one read."""
    return _keyed(track, {
        "largest read": [f"{size_text(s)} ({int(n):,} × {size_text(b)})" for s, n, b in
                         zip(track["size_bytes"], track["blocks"], track["bs_bytes"])],
        "predicted [95%]": [with_ci(m, lo, hi, duration) for m, lo, hi in
                            zip(track["mean_s"], track["mean_low_s"], track["mean_high_s"])],
        "one read, 95%": [f"{duration(lo)} – {duration(hi)}" for lo, hi in
                          zip(track["low_s"], track["high_s"])],
        "measured (median)": map(duration, track["measured_s"]),
        "error": map(_signed_percent, track["error"]),
        "inside": track["inside"].map({True: "yes", False: "no"}),
    })
