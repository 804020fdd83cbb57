"""Numbers the notebooks need beyond voltools.analysis.models: run overview, spread across repeats,
capacity of sized volumes, the article's T_d = N x T_b beside the full fit, fit checks,
half-peak block sizes and read-time objective verdicts (with the sweep that would settle an
unknown one). Pure functions on DataFrames and fits.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ..errors import FitError
from ..formatting import MIB, format_bytes
from ..naming import default_target_name
from ..points import FIT_KEY, LATENCY_PERCENTILES, read_ids, usable
from ..units import parse_size
from . import models


def _values(series):
    return ", ".join(str(v) for v in sorted(series.dropna().unique()))


def _match(points, key):
    """Rows of `points` matching every column of a fit key."""
    mask = np.ones(len(points), dtype=bool)
    for col, val in key.items():
        if col in points.columns:
            mask &= (points[col] == val).fillna(False).to_numpy(dtype=bool)
    return points[mask]


def fit_usable(points):
    """models.fit_groups leaving out groups that cannot be fitted; FitError with the reason
    when no group can be (an empty run, or one block size only)."""
    if points.empty:
        raise FitError("the run has no points to fit")
    fits = models.fit_groups(points, on_error="skip")
    if not fits:
        models.fit_groups(points)  # raises the first group's reason
    return fits


def run_overview(points):
    """One row per target: kind, driver options, rw modes, points, errors, B and N values, repeats."""
    rows = []
    for target, g in points.groupby("target", sort=True):
        rows.append({"target": target, "kind": g["target_kind"].iloc[0],
                     "driver_opts": g["driver_opts"].iloc[0], "rw": _values(g["rw"]),
                     "points": len(g), "errors": int((g["error"].fillna(0) != 0).sum()),
                     "block sizes": g["bs_bytes"].nunique(), "block counts": _values(g["blocks"]),
                     "repeats": g["repeat"].nunique()})
    return pd.DataFrame(rows)


def spread_by_target(spread):
    """From models.summarise_points: per (target, rw) the cells, median / 90th-percentile / max
    coefficient of variation across repeats, and outliers."""
    g = spread.groupby(["target", "rw"], sort=True)
    out = g["cv"].agg(cells="count", cv_median="median", cv_p90=lambda s: s.quantile(0.9),
                      cv_max="max")
    out["outliers"] = g["outliers"].sum().astype(int)
    return out.reset_index()


def cv_by_blocks(spread):
    """Median CV across repeats per (target, rw) and block count N (columns)."""
    return spread.pivot_table(index=["target", "rw"], columns="blocks", values="cv",
                              aggfunc="median").reset_index()


def outliers_by_repeat(points, mask):
    """Outlier counts per (target, rw) and repeat; only (target, rw) with any outlier."""
    flagged = points.loc[mask, ["target", "rw", "repeat"]]
    if flagged.empty:
        return pd.DataFrame(columns=["target", "rw"])
    table = pd.crosstab([flagged["target"], flagged["rw"]], flagged["repeat"])
    table.columns = [f"repeat {c}" for c in table.columns]
    return table.reset_index()


def outlier_rows(points, mask):
    """The flagged rows with their group median and relative deviation from it."""
    by = list(models.POINT_BY)
    med = usable(points).groupby(by)["read_time_s"].median().rename("median_s").reset_index()
    rows = points.loc[mask, by + ["repeat", "read_time_s"]].merge(med, on=by, how="left")
    rows["deviation"] = rows["read_time_s"] / rows["median_s"] - 1
    return rows.sort_values(by + ["repeat"]).reset_index(drop=True)


def capacity_table(points, dataset_bytes=None, memory_bytes=None):
    """Per target: sized volume, its filesystem size, free space after lay-out, data laid out,
    and the space that can hold data (free + laid out), as bytes and shares of the volume.

    The filesystem figures come from `stat -f` after the lay-out, so free + laid out is what a
    user can fill; the rest of a sized volume is filesystem metadata and reserved blocks.
    With `dataset_bytes`: dataset_fits and, where it does not, fit_why. A dataset larger than
    what a target can hold does not fit; nor does one larger than the host's `memory_bytes` on a
    tmpfs target (a tmpfs lives in memory: no tmpfs of that size can exist on this host)."""
    rows = []
    ok = points[points["error"].fillna(0) == 0]
    for target, g in ok.groupby("target", sort=True):
        size = _median(g, "target_size_bytes")
        data = float(g.groupby("size_bytes")["allocated_bytes"].median().sum())
        total, avail = _median(g, "fs_total_bytes"), _median(g, "fs_avail_bytes")
        holds = avail + data
        row = {"target": target, "sized": not math.isnan(size), "target_size_bytes": size,
               "fs_total_bytes": total, "data_bytes": data, "fs_avail_bytes": avail,
               "holds_bytes": holds, "overhead_bytes": size - holds, "fs_share": total / size,
               "holds_share": holds / size}
        if dataset_bytes is not None:
            row["fit_why"] = _fit_why(dataset_bytes, holds, _kind(g), memory_bytes)
            row["dataset_fits"] = not row["fit_why"]
        rows.append(row)
    return pd.DataFrame(rows)


def _kind(group):
    return str(group["target_kind"].iloc[0]) if "target_kind" in group.columns else ""


def _fit_why(dataset_bytes, holds_bytes, kind, memory_bytes):
    """Why a dataset cannot be held by a target ('' when it can)."""
    if kind == "tmpfs" and memory_bytes and dataset_bytes > memory_bytes:
        return (f"a tmpfs lives in memory: {format_bytes(dataset_bytes)} is more than the host's "
                f"{format_bytes(memory_bytes)}")
    if dataset_bytes > holds_bytes:
        return f"holds {format_bytes(holds_bytes)}, less than {format_bytes(dataset_bytes)}"
    return ""


def _median(g, col):
    vals = g[col].dropna() if col in g.columns else pd.Series(dtype=float)
    return float(vals.median()) if len(vals) else math.nan


def per_block_comparison(points, fits, bs_bytes):
    """Per fit at one block size: the article's T_d = N x T_b (through the origin) beside the
    full T_0 + c B + N (alpha + B / beta), each against the median measured T_d at the smallest
    and largest N (relative errors); fixed_s is the full model's fixed cost T_0 + c B there."""
    bs = parse_size(bs_bytes, "block size")
    rows = []
    for fit in fits.values():
        sub = _match(points, fit.key)
        pb = models.fit_per_block(sub, bs)
        med = usable(sub[sub["bs_bytes"] == bs]).groupby("blocks")["read_time_s"].median()
        n_lo, n_hi = float(med.index.min()), float(med.index.max())
        row = {**fit.key, "bs_bytes": bs, "tb_s": pb.tb_s, "tb_low_s": pb.ci[0],
               "tb_high_s": pb.ci[1], "tb_rel_sd": pb.rel_sd, "t0_s": fit.t0_s,
               "fixed_s": fit.t0_s + fit.c_s_per_byte * bs, "per_block_s": fit.per_block_s(bs),
               "full_rel_sd": fit.rel_sd}
        for tag, n in (("n_min", n_lo), ("n_max", n_hi)):
            measured = float(med.loc[n])
            row[f"{tag}"] = int(n)
            row[f"{tag}_tb_error"] = n * pb.tb_s / measured - 1
            row[f"{tag}_full_error"] = float(fit.predict(n, bs).mean_s) / measured - 1
        rows.append(row)
    return pd.DataFrame(rows)


def fit_checks(fits):
    """Per fit: weighted R^2, relative scatter of all points about the fit, the noise of one read
    at the longest reads measured, the lack-of-fit p-value, the largest relative residual, the
    fast outliers left out, and whether the model holds (ReadTimeFit.holds: lack of fit not
    significant, no curvature, runs, cache, memory, queue-depth or mixed-group problem) with the
    reasons. Scatter and R^2 are shown, not judged: small reads are noisy, and the intervals
    carry that noise; a model that misses the data is what the tests find."""
    rows = []
    for fit in fits.values():
        rows.append({**fit.key, "r2_weighted": fit.r2_weighted, "rel_sd": fit.rel_sd,
                     "long_read_rel_sd": fit.noise.long_rel_sd,
                     "lack_of_fit_p": fit.lack_of_fit_p,
                     "max_abs_residual": float(np.max(np.abs(fit.residuals))), "n": fit.n,
                     "outliers": fit.outliers, "holds": fit.holds, "why": "; ".join(fit.problems)})
    return pd.DataFrame(rows)


def half_peak_table(fits, points=None):
    """Per fit: peak bandwidth beta and B_half = alpha x beta with 95% intervals, the smallest
    power-of-two block size at or above B_half's upper bound (reaches half the peak with 95%
    confidence), and whether B_half lies outside the measured B.

    "Peak" is the fitted beta: the throughput the model tends to as B grows. Given `points`, also
    the best measured throughput (best_measured_*: the fastest cell's median N·B/T_d, at its B and
    N) and peaks_differ: the best measured lies outside beta's 95% interval."""
    rows = []
    for fit in fits.values():
        bh = fit.b_half_bytes
        best = best_measured(_match(points, fit.key)) if points is not None else {}
        rows.append({**fit.key, **best, "beta_bytes_per_s": fit.beta_bytes_per_s,
                     "beta_low_bytes_per_s": fit.ci["beta_bytes_per_s"][0],
                     "beta_high_bytes_per_s": fit.ci["beta_bytes_per_s"][1],
                     "b_half_bytes": bh, "b_half_low_bytes": fit.ci["b_half_bytes"][0],
                     "b_half_high_bytes": fit.ci["b_half_bytes"][1],
                     "bs_at_half_bytes": _pow2_at_least(_finite_or(fit.ci["b_half_bytes"][1], bh)),
                     "extrapolated": not fit.bs_range[0] <= bh <= fit.bs_range[1]})
        if best:
            low, high = fit.ci["beta_bytes_per_s"]
            rows[-1]["peaks_differ"] = not low <= best["best_measured_bytes_per_s"] <= high
    return pd.DataFrame(rows)


def best_measured(points):
    """The fastest (B, N) cell of `points`: its median throughput N·B/T_d over usable reads."""
    ok = usable(points)
    if ok.empty:
        return {"best_measured_bytes_per_s": math.nan, "best_bs_bytes": math.nan, "best_blocks": math.nan}
    cells = (ok["size_bytes"] / ok["read_time_s"]).groupby([ok["bs_bytes"], ok["blocks"]]).median()
    bs, blocks = cells.idxmax()
    return {"best_measured_bytes_per_s": float(cells.max()), "best_bs_bytes": int(bs),
            "best_blocks": int(blocks)}


def _finite_or(value, fallback):
    return value if np.isfinite(value) else fallback


def _pow2_at_least(value, floor=512):
    if not np.isfinite(value) or value <= 0:
        return math.nan
    return float(max(floor, 2 ** math.ceil(math.log2(value))))


VERDICTS = ("yes", "likely", "unlikely", "no", "unknown")
UNKNOWN = "unknown: measure larger N"
NO_FIT = "does not fit"


def objective_verdicts(compare, objective_s, cap=None):
    """compare_to_baseline rows with `meets`, `headroom` = objective / expected time, and, given
    capacity_table(..., dataset_bytes) as `cap`, `fits` and `fit_why`.

    A target that cannot hold the dataset gets meets = 'does not fit' and no headroom: its read
    time is that of a volume that cannot be had, so no verdict is given.

    Where the prediction holds, `meets` grades the interval of one read: 'yes' (even its 95%
    upper bound is within the objective), 'likely' (the expected time is, its upper bound not),
    'unlikely' (only the lower bound is), 'no'. Where it does not hold (the model fails its
    tests there, or the question lies more than 4x beyond the largest N measured), `meets` is
    'unknown' and `measure` gives the sweep that would measure near the question."""
    out = compare.copy()
    obj = float(objective_s)
    holds = out["holds"].astype(bool) if "holds" in out.columns else pd.Series(True, index=out.index)
    graded = np.select([out["high_s"] <= obj, out["predicted_s"] <= obj, out["low_s"] <= obj],
                       list(VERDICTS[:3]), default=VERDICTS[3])
    out["meets"] = np.where(holds, graded, VERDICTS[4])
    out["headroom"] = obj / out["predicted_s"]
    out["measure"] = [("" if ok else measure_command(row)) for ok, (_, row) in zip(holds, out.iterrows())]
    return _mark_no_fit(out, cap)


def _mark_no_fit(out, cap):
    """Rows on targets that cannot hold the dataset: meets 'does not fit', no headroom."""
    if cap is None or "dataset_fits" not in cap.columns:
        out["fits"], out["fit_why"] = True, ""
        return out
    room = cap.set_index("target")
    out["fits"] = out["target"].map(room["dataset_fits"]).fillna(True).astype(bool)
    out["fit_why"] = out["target"].map(room["fit_why"]).fillna("")
    out.loc[~out["fits"], ["meets", "measure"]] = [NO_FIT, ""]
    out.loc[~out["fits"], "headroom"] = math.nan
    return out


def measure_command(row):
    """The sweep that measures near a compare_to_baseline row's question: its target, read mode,
    direct/iodepth when not 1, and `--question SIZE@BS` (which adds large-N points at BS)."""
    parts = ["voltools sweep", f"--target {target_spec_text(row)}"]
    if row.get("rw") is not None:
        parts.append(f"--rw {row['rw']}")
    for col in ("direct", "iodepth"):
        if row.get(col) is not None and not pd.isna(row.get(col)) and int(row[col]) != 1:
            parts.append(f"--{col} {int(row[col])}")
    parts.append(f"--question {size_token(row['dataset_bytes'])}@{size_token(row['bs_bytes'])}")
    return " ".join(parts)


def measure_commands(rows):
    """The fewest sweeps that measure near the questions of several compare_to_baseline rows: one
    per (question, direct, iodepth), every target and read mode of its rows in it."""
    commands = []
    cols = [c for c in ("dataset_bytes", "bs_bytes", "direct", "iodepth") if c in rows.columns]
    for _, group in rows.groupby(cols, sort=False, dropna=False) if cols else [(None, rows)]:
        first = group.iloc[0]
        parts = ["voltools sweep"]
        parts += [f"--target {t}" for t in dict.fromkeys(target_spec_text(r) for _, r in group.iterrows())]
        if "rw" in group.columns:
            parts.append("--rw " + ",".join(dict.fromkeys(str(v) for v in group["rw"])))
        for col in ("direct", "iodepth"):
            if col in group.columns and not pd.isna(first[col]) and int(first[col]) != 1:
                parts.append(f"--{col} {int(first[col])}")
        parts.append(f"--question {size_token(first['dataset_bytes'])}@{size_token(first['bs_bytes'])}")
        commands.append(" ".join(parts))
    return commands


def target_spec_text(row):
    """The --target text of a row: kind[:key=value,...], name=... where not the default name."""
    name = str(row.get("target"))
    kind = row.get("target_kind") or name
    try:
        options = json.loads(row.get("driver_opts") or "{}")
    except (TypeError, ValueError):
        options = {}
    default_name = default_target_name(kind, options)
    items = [f"{k}={v}" for k, v in sorted(options.items()) if v not in ("", None)]
    if name != default_name:
        items.append(f"name={name}")
    return kind + (":" + ",".join(items) if items else "")


def size_token(n_bytes):
    """Bytes as the shortest exact size argument: 42949672960 -> '40g', 65536 -> '64k'."""
    n = int(n_bytes)
    for suffix, unit in (("t", 1024**4), ("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def pick_baseline(fits, preferred="host"):
    """`preferred` if it is a fitted target, else the first fitted target by name (None if none)."""
    targets = sorted({str(f.key.get("target")) for f in fits.values()})
    if preferred in targets:
        return preferred
    return targets[0] if targets else None


def node_table(points, level=0.95):
    """Throughput per (target, rw, node) at the largest N x B measured: mean over repeats with a
    t-interval, so the same target can be compared across the nodes of a swarm or cluster."""
    from scipy import stats
    ok = usable(points)
    ok = ok[ok["size_bytes"] == ok["size_bytes"].max()].assign(
        mib_s=lambda d: d["size_bytes"] / d["read_time_s"] / MIB)
    rows = []
    for (target, rw, node), g in ok.groupby(["target", "rw", "node"], sort=True):
        n, mean, sd = len(g), g["mib_s"].mean(), g["mib_s"].std(ddof=1)
        half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
        rows.append(dict(target=target, rw=rw, node=node, n=n, mean_mib_s=mean,
                         low_mib_s=mean - half, high_mib_s=mean + half))
    return pd.DataFrame(rows)


def track_record(points, bs_bytes, by=FIT_KEY):
    """How well the model predicts what it has not seen: per group of `by` (a fit), the largest
    N measured at block size `bs_bytes`, left out of a refit of the group, predicted from that
    refit and compared with the median measured read time there.

    Where the refit saw the first blocks of those reads (the smaller N cut from them: prefix_of),
    what is compared is the rest of each read, blocks first_blocks..N: the part it had not seen.

    Columns: the key, bs_bytes, blocks (that largest N), size_bytes (N x B), first_blocks (0, or
    the largest N measured as the first blocks of one of those reads), reads (the usable reads
    there compared: those with a row at first_blocks), measured_s (the median time of their
    blocks first_blocks..N), mean_s with mean_low_s..mean_high_s (the expected time and
    its 95% interval), low_s..high_s (95% interval of one read), error (measured / mean - 1),
    inside (measured_s within the one-read interval), extrapolation and holds of the refit's
    prediction, why (why it does not hold, or why the refit failed). A group with no usable
    read at `bs_bytes` is left out; one whose refit fails has NaN predictions and inside False."""
    bs = parse_size(bs_bytes, "block size")
    by = [c for c in by if c in points.columns]
    rows = []
    for key, group in points.groupby(by, sort=True, dropna=False):
        key = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        ok = usable(group)
        at_bs = ok[ok["bs_bytes"] == bs]
        if at_bs.empty:
            continue
        n = int(at_bs["blocks"].max())
        held_out = at_bs[at_bs["blocks"] == n]
        first, reads, measured = _unseen(ok, held_out)
        rest = group[~((group["bs_bytes"] == bs) & (group["blocks"] == n))]
        row = {**key, "bs_bytes": bs, "blocks": n, "size_bytes": n * bs, "first_blocks": first,
               "reads": reads, "measured_s": measured}
        try:
            p = models.fit_read_time(rest, key={k: _plain(v) for k, v in key.items()},
                                     question=(n, bs)).predict(n, bs, first_blocks=first)
        except FitError as exc:
            rows.append({**row, **dict.fromkeys(_TRACK_FIELDS, math.nan), "error": math.nan,
                         "inside": False, "holds": False, "why": f"the refit fails: {exc}"})
            continue
        rows.append({**row, **{f: getattr(p, f) for f in _TRACK_FIELDS},
                     "error": measured / p.mean_s - 1 if p.mean_s > 0 else math.nan,
                     "inside": bool(p.low_s <= measured <= p.high_s), "holds": bool(p.holds),
                     "why": p.why})
    columns = [*by, "bs_bytes", "blocks", "size_bytes", "first_blocks", "reads", "measured_s", *_TRACK_FIELDS,
               "error", "inside", "holds", "why"]
    return pd.DataFrame(rows, columns=columns)


def _unseen(usable_rows, held_out):
    """(first, the held-out reads compared, the median time of their blocks first..N): first is
    the largest N measured as the first blocks of any held-out read (prefix_of), 0 where none
    was; a read without a row at first is left out (its blocks first..N are not known)."""
    if "prefix_of" not in usable_rows or "seq" not in usable_rows:
        return 0, len(held_out), float(held_out["read_time_s"].median())
    run = usable_rows["run_id"] if "run_id" in usable_rows else pd.Series("", index=usable_rows.index)
    reads = read_ids(usable_rows)
    firsts = []
    for _, row in held_out.iterrows():
        lead = row["seq"] if pd.isna(row["prefix_of"]) else row["prefix_of"]
        mine = usable_rows[(reads == lead) & (run == row.get("run_id", "")) & (usable_rows["seq"] != row["seq"])]
        firsts.append(mine.drop_duplicates("blocks", keep="last").set_index("blocks")["read_time_s"])
    first = int(max((int(n) for f in firsts for n in f.index), default=0))
    times = [t - (float(f[first]) if first else 0.0) for t, f in zip(held_out["read_time_s"], firsts)
             if not first or first in f.index]
    return first, len(times), float(np.median(times))


_TRACK_FIELDS = ("mean_s", "mean_low_s", "mean_high_s", "low_s", "high_s", "extrapolation")


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def latency_table(points, by=("target", "rw")):
    """Completion latency p50 / p99 / p99.9 (µs) and IOPS per `by` and block size B, from the
    reads at the largest N measured there (the most I/Os a percentile rests on), median over
    repeats. A percentile needs at least 100 / (100 - q) I/Os behind it (100 for p99, 1000 for
    p99.9): with fewer it would be the slowest I/O, not that percentile, and is left out (NaN).
    IOPS is N / T_d (T_d the sum of the I/Os' latencies): the I/Os a second of one reader at
    queue depth 1, not fio's figure, which a run of a few milliseconds rounds to whole ms."""
    by = [c for c in by if c in points.columns]
    ok = usable(points)
    rows = []
    for key, g in ok.groupby([*by, "bs_bytes"], sort=True, dropna=False):
        at = g[g["blocks"] == g["blocks"].max()]
        n = int(at["blocks"].iloc[0])
        row = {**dict(zip([*by, "bs_bytes"], key)), "ios": n, "reads": len(at),
               "iops": float((at["blocks"] / at["read_time_s"]).median())}
        for name, q in LATENCY_PERCENTILES.items():
            col = f"lat_{name}_ns"
            enough = n >= 100 / (100 - q) and col in at.columns
            row[f"{name}_us"] = float(at[col].median()) / 1e3 if enough else math.nan
        rows.append(row)
    return pd.DataFrame(rows)
