"""`voltools compare RUN_A RUN_B`: did the storage get slower? Per (target, rw) in both runs, the
ratio B/A of the expected full-read time of a question (and of beta and alpha) with its 95%
interval, which allows for each run's noise and for the drift of the medium between runs (as
the rounds of each run show it: drift.py), and a verdict from the interval alone."""
import math
import re

import pandas as pd

from ..errors import FitError, UsageError
from ..points import FIT_KEY, with_key_defaults
from .drift import BETWEEN_RUNS, WITHIN_RUN, drift_parts, fit_drifts
from .models import LEVEL, _ratio, fit_read_time

SLOWER, FASTER, SAME, UNKNOWN = "slower", "faster", "no detectable change", "unknown"
COLUMNS = [*FIT_KEY, "dataset_bytes", "bs_bytes", "a_mean_s", "b_mean_s", "ratio", "ratio_low",
           "ratio_high", "ratio_p", "beta_ratio", "beta_ratio_low", "beta_ratio_high", "alpha_ratio",
           "alpha_ratio_low", "alpha_ratio_high", "holds", "verdict", "why", "interval_covers", "rounds_a",
           "rounds_b", "drift_sd_a", "drift_sd_b"]


def compare_runs(points_a, points_b, dataset_bytes, bs_bytes, level=LEVEL):
    """One row per (target, rw, direct, iodepth) present in both points tables (COLUMNS).

    ratio: B's expected read time of dataset_bytes in bs_bytes blocks over A's (delta method on
    the log of the two means), with ratio_low..ratio_high; beta_ratio and alpha_ratio the same
    for the streaming bandwidth beta and the per-block cost alpha. Each interval holds both fits'
    standard errors and each run's drift between rounds (drift.RoundDrift.var; Welch-Satterthwaite
    over the four, the drift's from the variance of its estimate): interval_covers is "between
    runs". A run of one
    round shows no drift: its interval holds within-run noise only, narrower than a comparison
    between runs needs, and interval_covers says "within-run noise only". rounds_a, rounds_b:
    the rounds each fit has; drift_sd_a, drift_sd_b: the sd of a round's level about its run's
    (log scale, about relative; NaN with one round). verdict: "slower" when ratio_low > 1,
    "faster" when ratio_high < 1, else "no detectable change"; "unknown" (with `why`) where
    either run's group cannot be fitted. holds: both fits hold. Each run's fit is the question's
    (models.fit_read_time with `question`): where its long reads reach the question's scale, the
    time ratio rests on them and beta and alpha on the rest of the grid."""
    blocks = math.ceil(dataset_bytes / bs_bytes)
    groups_a, groups_b = _groups(points_a), _groups(points_b)
    rows = []
    for key in sorted(set(groups_a) & set(groups_b), key=lambda k: tuple(map(str, k))):
        row = dict(zip(FIT_KEY, key), dataset_bytes=int(dataset_bytes), bs_bytes=int(bs_bytes))
        try:
            fits = {}
            for name, groups in (("A", groups_a), ("B", groups_b)):
                try:
                    fits[name] = fit_read_time(groups[key], question=(blocks, bs_bytes))
                except FitError as exc:
                    raise FitError(f"run {name}: {exc}") from None
        except FitError as exc:
            rows.append({**row, "holds": False, "verdict": UNKNOWN, "why": " ".join(str(exc).split())})
            continue
        rows.append({**row, **compare_fits(fits["A"], fits["B"], blocks, bs_bytes, level)})
    return pd.DataFrame(rows, columns=COLUMNS).astype({"holds": bool})


def with_placement(table, meta_a, meta_b):
    """The table with `fresh_rounds_a` and `fresh_rounds_b`: whether each run set its targets up
    anew for each round (run.json's request; runs made before the option were not)."""
    return table.assign(fresh_rounds_a=fresh_rounds(meta_a), fresh_rounds_b=fresh_rounds(meta_b))


def fresh_rounds(meta):
    """True where a run's run.json says each target was set up anew for each round."""
    return bool(((meta or {}).get("request") or {}).get("fresh_rounds", False))


def placement_note(meta_a, meta_b):
    """What the interval leaves out where a run laid its targets out once ('' where neither did):
    where the files lie is drawn once and holds through that run."""
    once = [name for name, meta in (("A", meta_a), ("B", meta_b)) if not fresh_rounds(meta)]
    if not once:
        return ""
    runs = "run " + " and ".join(once)
    return (f"{runs} laid each target out once: where its files lie held through the run and is not "
            "in the interval (on this VM it moves a tmpfs's reads by 8-40%); sweep --fresh-rounds "
            "draws it each round")


def _groups(points):
    return {tuple(key): group for key, group in with_key_defaults(points).groupby(list(FIT_KEY), sort=True,
                                                                                   dropna=False)}


def compare_fits(fit_a, fit_b, blocks, bs_bytes, level=LEVEL):
    """compare_runs' row for two ReadTimeFits of one group, at N blocks of B bytes (the columns
    from a_mean_s on)."""
    a, b = fit_a.predict(blocks, bs_bytes, level), fit_b.predict(blocks, bs_bytes, level)
    drift_a, drift_b = fit_drifts(fit_a, blocks, bs_bytes), fit_drifts(fit_b, blocks, bs_bytes)
    mean = _ratio(b.mean_s, b.mean_se_s, b.mean_dof, a.mean_s, a.mean_se_s, a.mean_dof, level,
                  drift_parts(drift_a["mean"], drift_b["mean"]))
    beta = _param_ratio(fit_a, fit_b, "beta_bytes_per_s", level,
                        drift_parts(drift_a["inv_beta_s_per_byte"], drift_b["inv_beta_s_per_byte"]))
    alpha = _param_ratio(fit_a, fit_b, "alpha_s", level, drift_parts(drift_a["alpha_s"], drift_b["alpha_s"]))
    why = "; ".join(f"run {n}: {p.why}" for n, p in (("A", a), ("B", b)) if p.why)
    between = drift_a["mean"].known and drift_b["mean"].known
    return {"a_mean_s": a.mean_s, "b_mean_s": b.mean_s, "ratio": mean.ratio, "ratio_low": mean.low,
            "ratio_high": mean.high, "ratio_p": mean.p_value, "beta_ratio": beta.ratio,
            "beta_ratio_low": beta.low, "beta_ratio_high": beta.high, "alpha_ratio": alpha.ratio,
            "alpha_ratio_low": alpha.low, "alpha_ratio_high": alpha.high,
            "holds": bool(a.holds and b.holds), "verdict": _verdict(mean), "why": why,
            "interval_covers": BETWEEN_RUNS if between else WITHIN_RUN,
            "rounds_a": drift_a["mean"].rounds, "rounds_b": drift_b["mean"].rounds,
            "drift_sd_a": drift_a["mean"].rel_sd, "drift_sd_b": drift_b["mean"].rel_sd}


def _param_ratio(fit_a, fit_b, name, level, drift):
    return _ratio(getattr(fit_b, name), fit_b.se.get(name, math.nan), fit_b.dof,
                  getattr(fit_a, name), fit_a.se.get(name, math.nan), fit_a.dof, level, drift)


def _verdict(mean):
    if not (mean.low == mean.low and mean.high == mean.high):
        return UNKNOWN
    if mean.low > 1:
        return SLOWER
    if mean.high < 1:
        return FASTER
    return SAME


def parse_percent(text, flag="--fail-if-slower"):
    """'10%' or '10' -> 10.0; UsageError for anything else (negative included)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", str(text))
    if not match:
        raise UsageError(f"{flag} {text!r} is not a percentage: give e.g. 10%")
    return float(match.group(1))


def gate(table, percent):
    """Rows whose slowdown is surely above `percent`: ratio_low > 1 + percent / 100 (an
    "unknown" row never fails the gate)."""
    known = table[table["verdict"] != UNKNOWN]
    return known[known["ratio_low"] > 1 + percent / 100]


def records(table):
    """The table as JSON-ready dicts (NaN as None)."""
    out = []
    for row in table.to_dict("records"):
        out.append({k: None if v is None or (isinstance(v, float) and math.isnan(v)) else
                    (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
    return out
