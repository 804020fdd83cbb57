"""Plots of the points table and the fitted models.

Every function takes a DataFrame and/or fits plus an optional `ax`, draws on it and returns it;
nothing here writes files or shows windows. Point clouds are drawn as per-group medians, so a
million rows plot as fast as a hundred. Each target has its own colour (Okabe-Ito) AND marker,
by sorted name, the same in every plot of the same data (pass colors=target_colors(...) to fix
them across data sets); the read mode is the line style (solid: read, dash-dot: randread) and,
in the residuals, which have no lines, the fill (filled: read, hollow: randread).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogFormatter, LogLocator, NullFormatter

from ..formatting import MIB, duration, format_bytes, sig
from ..points import LATENCY_PERCENTILES, usable_mask

# Okabe-Ito, yellow last (weak on white); black kept for the 7th target.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#F0E442")
# No "D": it marks B_half. 9 markers against 8 colours: a (colour, marker) pair repeats after 72.
TARGET_MARKERS = ("o", "s", "^", "v", "P", "X", "*", "h", "<")
RW_LINESTYLES = {"read": "-", "randread": "-."}


def target_colors(targets):
    """Map sorted distinct target names onto the Okabe-Ito palette (cycling past 8)."""
    names = sorted({str(t) for t in targets})
    return {name: OKABE_ITO[i % len(OKABE_ITO)] for i, name in enumerate(names)}


def target_markers(targets):
    """Map sorted distinct target names onto TARGET_MARKERS (the order of target_colors)."""
    names = sorted({str(t) for t in targets})
    return {name: TARGET_MARKERS[i % len(TARGET_MARKERS)] for i, name in enumerate(names)}


def rw_linestyle(rw):
    return RW_LINESTYLES.get(rw, "--")


def _hollow(rw):
    """Points of a read mode other than a sequential read are drawn hollow."""
    return rw is not None and rw != "read"


# ---------------------------------------------------------------- helpers

def _axes(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _ok(df, col="read_time_s", keep=None):
    """The usable rows (points.usable_mask on `col`); only the `keep` columns."""
    cols = list(dict.fromkeys(list(keep) + [col])) if keep is not None else df.columns
    return df.loc[usable_mask(df, col), cols]


def _key_cols(fits, df):
    for fit in fits.values():
        return [c for c in fit.key if c in df.columns]
    return [c for c in ("target", "rw") if c in df.columns]


def _medians(df, cols, value, extra=("bs_bytes", "blocks")):
    """Median of `value` per (cols + extra) over usable rows: the drawable summary of a frame."""
    keys = list(dict.fromkeys(list(cols) + list(extra)))
    ok = _ok(df, value, keep=keys)
    return ok.groupby(keys, sort=True, dropna=False, observed=True)[value].median().reset_index()


def _rows(table, key):
    """Rows of a small aggregated table matching a fit key (NaN matches NaN)."""
    mask = np.ones(len(table), dtype=bool)
    for col, val in key.items():
        if col in table.columns:
            s = table[col]
            mask &= (s.isna() if pd.isna(val) else s == val).to_numpy()
    return table.loc[mask]


def _colors(colors, *sources):
    if colors is not None:
        return colors
    names = set()
    for src in sources:
        if isinstance(src, dict):
            names |= {str(f.key.get("target")) for f in src.values()}
        elif isinstance(src, pd.DataFrame) and "target" in src.columns:
            names |= set(map(str, src["target"].dropna().unique()))
    return target_colors(names)


def _legend_label(key, varying=None):
    """'tmpfs randread iodepth=4': target and rw always, other key parts only where they vary."""
    parts = [str(key[c]) for c in ("target", "rw") if c in key]
    parts += [f"{c}={key[c]}" for c in key
              if c not in ("target", "rw") and (varying is None or c in varying)]
    return " ".join(parts)


def _ordered(fits):
    """Fits sorted by key, each with its legend label."""
    keys = [f.key for f in fits.values()]
    varying = {c for k in keys for c in k if len({str(other.get(c)) for other in keys}) > 1}
    return [(f, _legend_label(f.key, varying)) for _, f in sorted(fits.items(), key=lambda kv: str(kv[0]))]


def _style(key, colors):
    """Colour and marker of the key's target (markers in the order of `colors`' names), line
    style and fill of its read mode."""
    rw, target = key.get("rw"), str(key.get("target"))
    return dict(color=colors.get(target, "#000000"), marker=target_markers(colors).get(target, "o"),
                linestyle=rw_linestyle(rw), hollow=_hollow(rw))


def _scatter(ax, x, y, style, hollow=False, **kw):
    """Points in a style: the target's colour and marker; with `hollow`, hollow for a read mode
    other than read (where no line style tells the read modes apart)."""
    face = "none" if hollow and style["hollow"] else style["color"]
    return ax.scatter(x, y, marker=style["marker"], facecolors=face, edgecolors=style["color"], **kw)


def _bytes_axis(axis):
    """Log base-2 scale with binary-unit tick labels (4 KiB, 1 MiB)."""
    getattr(axis.axes, f"set_{axis.axis_name}scale")("log", base=2)
    axis.set_major_locator(LogLocator(base=2, numticks=7))
    axis.set_major_formatter(FuncFormatter(lambda v, _: format_bytes(v) if v > 0 else ""))
    axis.set_minor_formatter(NullFormatter())


def _count_axis(axis):
    getattr(axis.axes, f"set_{axis.axis_name}scale")("log", base=2)
    axis.set_major_locator(LogLocator(base=2, numticks=9))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _plain_log_axis(axis):
    """Log base-10 scale labelled 200, 500, 1000 rather than 2x10^2."""
    getattr(axis.axes, f"set_{axis.axis_name}scale")("log")
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.5)))


def _key_legend(ax, colors, keys, entries=(), rw_line=True):
    """A compact legend: one colour swatch per target, one style per rw, then `entries`
    (label, Line2D/Patch keyword arguments). Artists keep their own full labels."""
    targets = sorted({str(k.get("target")) for k in keys})
    rws = sorted({k["rw"] for k in keys if "rw" in k}, key=str)
    markers = target_markers(colors)
    handles = [Line2D([], [], color=colors.get(t, "#000000"), marker=markers.get(t, "o"), linewidth=5,
                      markersize=9, markeredgecolor="white", label=t) for t in targets]
    handles += [Line2D([], [], color="grey", linestyle=rw_linestyle(rw), label=str(rw)) if rw_line else
                Line2D([], [], color="grey", marker="o", linestyle="none", label=str(rw),
                       markerfacecolor="none" if _hollow(rw) else "grey")
                for rw in rws]
    for label, kw in entries:
        kw = dict(kw)
        cls = Patch if kw.pop("patch", False) else Line2D
        handles.append(cls(**({} if cls is Patch else {"xdata": [], "ydata": []}),
                           label=label, **{"color": "grey", **kw}))
    if handles:
        ax.legend(handles=handles, fontsize="small")


def _largest_n(table, key):
    """Rows of `table` for `key` at the largest measured N (least affected by T_0)."""
    rows = _rows(table, key)
    return rows[rows["blocks"] == rows["blocks"].max()] if len(rows) else rows


def _default_bs(df):
    """Lower median of the distinct block sizes measured."""
    sizes = np.sort(_ok(df, keep=["bs_bytes"])["bs_bytes"].dropna().unique())
    return int(sizes[(len(sizes) - 1) // 2]) if len(sizes) else None


# ---------------------------------------------------------------- plots

def read_time_vs_blocks(df, fits, ax=None, bs_bytes=None, colors=None):
    """T_d vs N at one block size (default: the median measured B), log-log: median points,
    fitted line and the 95% interval of one read per fit (ReadTimeFit.predict)."""
    ax = _axes(ax)
    colors = _colors(colors, df, fits)
    bs = int(bs_bytes) if bs_bytes is not None else _default_bs(df)
    cols = _key_cols(fits, df)
    table = _medians(df.loc[df["bs_bytes"] == bs, cols + ["bs_bytes", "blocks", "read_time_s"]
                            + (["error"] if "error" in df.columns else [])], cols, "read_time_s")
    for fit, label in _ordered(fits):
        style = _style(fit.key, colors)
        pts = _rows(table, fit.key)
        if len(pts):
            _scatter(ax, pts["blocks"], pts["read_time_s"], style, s=18, label=label, zorder=3)
        n = np.geomspace(fit.blocks_range[0], fit.blocks_range[1], 60)
        pred = fit.predict(n, bs)
        ax.plot(n, pred.mean_s, color=style["color"], linestyle=style["linestyle"],
                label=f"{label} fit")
        ax.fill_between(n, np.maximum(pred.low_s, pred.mean_s * 1e-3), pred.high_s,
                        color=style["color"], alpha=0.2, linewidth=0)
    _count_axis(ax.xaxis)
    ax.set_yscale("log")
    ax.set(xlabel="blocks N", ylabel="read time T_d (s)",
           title=f"read time at B = {format_bytes(bs) if bs else '?'} (band: 95% interval of one read)")
    _key_legend(ax, colors, [f.key for f in fits.values()],
                [("95% one read", {"patch": True, "alpha": 0.3})])
    return ax


def _points_and_curve(ax, table, fit, label, style, measured, fitted, curve_label):
    """Medians at the fit's largest N, measured(points) against B, and fitted(B) over its B range."""
    pts = _largest_n(table, fit.key)
    if len(pts):
        _scatter(ax, pts["bs_bytes"], measured(pts), style, s=18, label=label, zorder=3)
    b = np.geomspace(fit.bs_range[0], fit.bs_range[1], 60)
    ax.plot(b, fitted(b), color=style["color"], linestyle=style["linestyle"], label=curve_label)


def per_block_time_vs_bs(df, fits, ax=None, colors=None):
    """T_d / N vs B at each fit's largest N, with the fitted alpha + B / beta curve (us)."""
    ax = _axes(ax)
    colors = _colors(colors, df, fits)
    table = _medians(df, _key_cols(fits, df), "read_time_s")
    for fit, label in _ordered(fits):
        _points_and_curve(ax, table, fit, label, _style(fit.key, colors),
                          lambda pts: pts["read_time_s"] / pts["blocks"] * 1e6,
                          lambda b: np.asarray(fit.per_block_s(b)) * 1e6, f"{label}: alpha + B/beta")
    _bytes_axis(ax.xaxis)
    _plain_log_axis(ax.yaxis)
    ax.set(xlabel="block size B", ylabel="per-block time T_d / N (µs)",
           title="per-block time (points at the largest N)")
    _key_legend(ax, colors, [f.key for f in fits.values()])
    return ax


def throughput_vs_bs(df, fits, ax=None, colors=None):
    """X = N B / T_d vs B at each fit's largest N (MiB/s), the B / (alpha + B / beta) curve,
    the beta asymptote (dashed) and B_half marked (diamond at beta / 2)."""
    ax = _axes(ax)
    colors = _colors(colors, df, fits)
    table = _medians(df, _key_cols(fits, df), "read_time_s")
    for fit, label in _ordered(fits):
        style = _style(fit.key, colors)
        _points_and_curve(ax, table, fit, label, style,
                          lambda pts: pts["blocks"] * pts["bs_bytes"] / pts["read_time_s"] / MIB,
                          lambda b: np.asarray(fit.throughput(b)) / MIB, f"{label} fit")
        beta, bh = fit.beta_bytes_per_s, fit.b_half_bytes
        if np.isfinite(beta) and beta > 0:
            ax.axhline(beta / MIB, color=style["color"], linestyle="--", linewidth=0.8)
            if np.isfinite(bh) and bh > 0:
                ax.plot([bh], [beta / 2 / MIB], color=style["color"], marker="D", linestyle="none",
                        markeredgecolor="black", label=f"{label} B_half = {format_bytes(bh)}")
    _bytes_axis(ax.xaxis)
    _plain_log_axis(ax.yaxis)
    ax.set(xlabel="block size B", ylabel="throughput X (MiB/s)",
           title="throughput (dashed: beta, diamond: B_half)")
    _key_legend(ax, colors, [f.key for f in fits.values()],
                [("beta", {"linestyle": "--"}),
                 ("B_half", {"marker": "D", "linestyle": "none", "markeredgecolor": "black"})])
    return ax


def latency_percentiles_vs_bs(df, axes=None, colors=None):
    """p50 / p99 / p99.9 completion latency vs B per (target, rw), in µs, from
    findings.latency_table (reads at the largest N, median over repeats; a percentile only where
    enough I/Os support it): one panel per percentile sharing the y axis, the target's colour
    and marker, the read mode's line style. Returns the panels (a numpy array of Axes)."""
    from .findings import latency_table
    colors = _colors(colors, df)
    cols = [c for c in ("target", "rw") if c in df.columns]
    present = [(f"{name}_us", f"p{q:g}") for name, q in LATENCY_PERCENTILES.items()
               if f"lat_{name}_ns" in df.columns]
    if axes is None:
        _, axes = plt.subplots(1, max(1, len(present)), sharey=True, squeeze=False,
                               figsize=(4.0 * max(1, len(present)), 4.5))
    axes = np.asarray(axes).ravel()
    table = latency_table(df, cols)
    keys = []
    for key_vals, rows in table.groupby(cols, sort=True, dropna=False):
        key = dict(zip(cols, key_vals if isinstance(key_vals, tuple) else (key_vals,)))
        keys.append(key)
        style = _style(key, colors)
        for ax, (col, name) in zip(axes, present):
            shown = rows[rows[col].notna()]
            ax.plot(shown["bs_bytes"], shown[col], color=style["color"], marker=style["marker"],
                    linestyle=style["linestyle"], markersize=4, label=f"{_legend_label(key)} {name}")
    for ax, (col, name) in zip(axes, present):
        ax.set(xlabel="block size B", title=f"{name} completion latency")
        if table[col].notna().any():
            _bytes_axis(ax.xaxis)
        else:
            ax.text(0.5, 0.5, f"no read had the I/Os\na {name} needs", ha="center", va="center",
                    transform=ax.transAxes)
    _plain_log_axis(axes[0].yaxis)
    if len(present) == 3:
        axes[2].set_title("p99.9 (reads of ≥ 1,000 I/Os only)")
    axes[0].set_ylabel("completion latency (µs)")
    _key_legend(axes[0], colors, keys)
    axes[0].figure.tight_layout()
    return axes


def allocated_vs_size(df, size_fits=None, ax=None, colors=None):
    """Allocated bytes vs N B per target (median per distinct size), fitted lines, and the
    allocated = size reference (grey dotted)."""
    ax = _axes(ax)
    size_fits = size_fits or {}
    colors = _colors(colors, df, size_fits)
    cols = ["target"] if "target" in df.columns else []
    table = _medians(df, cols, "allocated_bytes", extra=("size_bytes",))
    groups = table.groupby(cols, sort=True) if cols else [(("all",), table)]
    for name, rows in groups:
        name = name[0] if isinstance(name, tuple) else name
        _scatter(ax, rows["size_bytes"], rows["allocated_bytes"], _style({"target": name}, colors),
                 s=18, label=str(name), zorder=3)
    for fit, label in _ordered(size_fits):
        s = np.geomspace(*fit.size_range, 60)
        ax.plot(s, fit.predict(s), color=colors.get(str(fit.key.get("target")), "#000000"),
                label=f"{label}: slope {fit.slope:.3g}, "
                      f"+{format_bytes(fit.intercept_bytes)}")
    if len(table):
        lim = np.array([table["size_bytes"].min(), table["size_bytes"].max()], dtype=float)
        ax.plot(lim, lim, color="grey", linestyle=":", label="allocated = size")
    _bytes_axis(ax.xaxis)
    _bytes_axis(ax.yaxis)
    ax.set(xlabel="data size N·B", ylabel="allocated on the target", title="allocation vs size")
    fitted = {str(f.key.get("target")) for f in size_fits.values()}
    handles = [c for c in ax.collections if c.get_label() not in fitted] + list(ax.lines)
    ax.legend(handles=handles, fontsize="small")
    return ax


def residuals(fits, ax=None, colors=None, max_points=2000):
    """Relative residuals (%) of each fit vs N B; fits with more than `max_points` points are
    drawn as medians per distinct N B."""
    ax = _axes(ax)
    colors = _colors(colors, fits)
    aggregated = False
    for fit, label in _ordered(fits):
        style = _style(fit.key, colors)
        x, r = fit.blocks * fit.bs_bytes, fit.residuals * 100
        if len(r) > max_points:
            cells = pd.DataFrame({"x": x, "r": r}).groupby("x", sort=True)["r"].median()
            x, r, aggregated = cells.index.to_numpy(), cells.to_numpy(), True
        _scatter(ax, x, r, style, hollow=True, s=14, alpha=0.8, label=label)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    _bytes_axis(ax.xaxis)
    ax.set(xlabel="data read N·B", ylabel="relative residual (T_d − fit) / fit (%)",
           title="residuals" + (" (medians per N·B)" if aggregated else ""))
    _key_legend(ax, colors, [f.key for f in fits.values()], rw_line=False)
    return ax


def baseline_bars(compare, baseline=None, objective_s=None, ax=None, colors=None):
    """Horizontal bars of the expected full-read time per (target, rw) with whiskers over the
    95% interval of one read, the ratio to the baseline at each bar (* where the model does not
    hold at that size), and the objective as a dashed line."""
    ax = _axes(ax)
    c = compare.sort_values(["target", "rw"], ascending=False).reset_index(drop=True)
    colors = colors or target_colors(c["target"])
    y = np.arange(len(c))
    err = np.vstack([c["predicted_s"] - c["low_s"], c["high_s"] - c["predicted_s"]])
    bars = ax.barh(y, c["predicted_s"], xerr=err, capsize=4, height=0.7,
                   color=[colors.get(str(t), "#000000") for t in c["target"]],
                   edgecolor=["black" if t == baseline else "none" for t in c["target"]],
                   error_kw={"elinewidth": 1.2, "ecolor": "#333333"})
    for bar, rw in zip(bars, c["rw"]):
        if rw != "read":
            bar.set_hatch("//")
    holds = c["holds"].astype(bool) if "holds" in c.columns else ~c["extrapolates"].astype(bool)
    fits = c["fits"].astype(bool) if "fits" in c.columns else pd.Series(True, index=c.index)
    for yi, (_, r), ok, fit in zip(y, c.iterrows(), holds, fits):
        ratio = f"×{sig(r['ratio_to_baseline'])}" if fit else "does not fit"
        ax.text(r["high_s"], yi, f"  {duration(r['predicted_s'])}  {ratio}" + ("" if ok else " *"),
                va="center", fontsize="small")
    ax.set_yticks(y, [f"{t} · {rw}" for t, rw in zip(c["target"], c["rw"])])
    right = float(c["high_s"].max()) * 1.35
    title = (f"full read of {format_bytes(c['dataset_bytes'].iloc[0])} in "
             f"{format_bytes(c['bs_bytes'].iloc[0])} blocks (whiskers: 95% interval of one read)")
    if objective_s is not None:
        if objective_s <= 4 * right:
            ax.axvline(objective_s, color="#D55E00", linestyle="--",
                       label=f"objective {duration(objective_s)}")
            right = max(right, objective_s * 1.1)
            ax.legend(loc="lower right", fontsize="small")
        else:
            title += f"\nobjective {duration(objective_s)}: beyond the axis, right of every bar"
    ax.set_xlim(0, right)
    note = "\n* the model does not hold at this size: measure larger N" if not holds.all() else ""
    ax.set(xlabel="read time (s)" + note, title=title)
    return ax


def notebook_style():
    """Fixed figure size and resolution, and pandas display options, for reproducible outputs."""
    plt.rcParams.update({"figure.figsize": (8.0, 4.5), "figure.dpi": 100, "savefig.dpi": 100,
                         "font.size": 10, "svg.hashsalt": "voltools"})
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_colwidth", 200)


def node_comparison(table, ax=None, colors=None):
    """Bars of throughput per (target, rw) and node from analysis.node_table, with interval whiskers."""
    ax = _axes(ax)
    colors = colors or target_colors(table["target"])
    labels = [f"{t} · {rw} · {n}" for t, rw, n in zip(table["target"], table["rw"], table["node"])]
    y = np.arange(len(table))
    err = np.vstack([table["mean_mib_s"] - table["low_mib_s"], table["high_mib_s"] - table["mean_mib_s"]])
    ax.barh(y, table["mean_mib_s"], xerr=np.nan_to_num(err), capsize=4, height=0.7,
            color=[colors.get(str(t), "#000000") for t in table["target"]])
    ax.set_yticks(y, labels)
    ax.set(xlabel="throughput (MiB/s), largest N x B; whiskers: 95% interval over repeats",
           title="the same target on each node")
    return ax


def run_ratios(table, ax=None, colors=None, fail_if_slower=None):
    """analysis.compare.compare_runs as a forest plot: per (target, rw) the ratio of expected
    full-read times (this run over the baseline run) with its 95% interval, log scale, 1 marked;
    the verdict beside each row (and "within-run noise only" where a run of one round gave an
    interval without the drift between runs); `fail_if_slower` (percent) as the gate's line. Rows with no
    ratio ("unknown") are listed with their verdict only."""
    from .drift import WITHIN_RUN, within_run_only
    ax = _axes(ax)
    t = table.sort_values(["target", "rw"], ascending=False).reset_index(drop=True)
    colors = colors or target_colors(t["target"])
    for y, r in t.iterrows():
        style = _style(r.to_dict(), colors)
        if pd.notna(r["ratio"]):
            bars = ax.errorbar([r["ratio"]], [y], xerr=[[r["ratio"] - r["ratio_low"]], [r["ratio_high"] - r["ratio"]]],
                               color=style["color"], marker=style["marker"], capsize=4, markersize=7)
            bars[-1][0].set_linestyle(style["linestyle"])
        within = f" ({WITHIN_RUN})" if within_run_only(r.get("interval_covers")) else ""
        ax.annotate(f"  {r['verdict']}{within}", (1, y), xycoords=("axes fraction", "data"), va="center",
                    fontsize="small")
    ax.axvline(1.0, color="grey", linewidth=0.8)
    if fail_if_slower is not None:
        ax.axvline(1 + fail_if_slower / 100, color="#D55E00", linestyle="--",
                   label=f"gate: {sig(fail_if_slower, trim=True)}% slower")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"×{sig(v, 2, trim=True)}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(t)), [f"{a} · {b}" for a, b in zip(t["target"], t["rw"])])
    ax.set_ylim(-0.7, len(t) - 0.3)
    q = t.iloc[0] if len(t) else None
    what = (f"{format_bytes(q['dataset_bytes'])} in {format_bytes(q['bs_bytes'])} blocks" if q is not None else "")
    ax.set(xlabel="expected full-read time, this run / baseline run (95% interval; right: slower)",
           ylabel="target · read mode",
           title=f"this run against the baseline run: {what}")
    _key_legend(ax, colors, [r.to_dict() for _, r in t.iterrows()],
                [(f"gate {sig(fail_if_slower, trim=True)}%", {"color": "#D55E00", "linestyle": "--"})]
                if fail_if_slower is not None else ())
    return ax


# ---------------------------------------------------------------- queue depth and jobs

DEPTH_KEY = ["target", "rw", "numjobs", "iodepth"]
NUMJOBS_MARKERS = ("o", "^", "s", "D", "v", "P")


def has_depth_series(df):
    """True when the points hold more than one queue depth or job count: a throughput_vs_depth."""
    return any(c in df.columns and df[c].nunique() > 1 for c in ("iodepth", "numjobs"))


def depth_table(df):
    """Per (target, rw, numjobs, iodepth): the largest N x B measured there (the largest B among
    equal sizes) with the medians over repeats of throughput (MiB/s, fio's bw_bytes) and p50
    latency (µs). Columns DEPTH_KEY, size_bytes, bs_bytes, mib_s, p50_us."""
    from ..points import with_key_defaults
    ok = _ok(with_key_defaults(df), "bw_bytes", keep=DEPTH_KEY + ["size_bytes", "bs_bytes", "lat_p50_ns"])
    for col in ("size_bytes", "bs_bytes"):
        ok = ok[ok[col] == ok.groupby(DEPTH_KEY, dropna=False)[col].transform("max")]
    table = ok.groupby(DEPTH_KEY + ["size_bytes", "bs_bytes"], sort=True, dropna=False).agg(
        mib_s=("bw_bytes", "median"), p50_us=("lat_p50_ns", "median")).reset_index()
    table["mib_s"] = table["mib_s"].astype(float) / MIB
    table["p50_us"] = table["p50_us"].astype(float) / 1e3
    return table


def throughput_vs_depth(df, axes=None, colors=None):
    """Throughput (MiB/s) and p50 latency (µs) against queue depth, side by side: one line per
    target, rw and numjobs at the largest N x B measured at each depth (depth_table). Returns the
    two axes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    colors = _colors(colors, df)
    table = depth_table(df)
    jobs = sorted(table["numjobs"].unique())
    for (target, rw, numjobs), line in table.groupby(DEPTH_KEY[:3], sort=True):
        style = dict(color=colors.get(str(target), "#000000"), linestyle=RW_LINESTYLES.get(rw, "--"),
                     marker=NUMJOBS_MARKERS[jobs.index(numjobs) % len(NUMJOBS_MARKERS)])
        label = f"{target} {rw}" + (f" numjobs={numjobs}" if len(jobs) > 1 else "")
        for ax, column in zip(axes, ("mib_s", "p50_us")):
            ax.plot(line["iodepth"], line[column], label=label, **style)
    sizes = ", ".join(sorted({format_bytes(s) for s in table["size_bytes"]}))
    for ax, ylabel in zip(axes, ("throughput (MiB/s)", "p50 latency (µs)")):
        _count_axis(ax.xaxis)
        ax.set(xlabel="queue depth (iodepth)", ylabel=ylabel)
    _plain_log_axis(axes[1].yaxis)
    axes[0].set_title(f"against queue depth, largest read at each ({sizes})", fontsize="medium")
    axes[1].legend(fontsize="small")
    return axes
