"""Display tables shared by the notebooks and the capacity report: fits, predictions, capacity,
checks and provenance, numbers through voltools.formatting. Pure: DataFrames in, tables out;
nothing is printed or written. (Prose lives in voltools.analysis.prose, figures in voltools.analysis.plots.)
"""
from __future__ import annotations

import pandas as pd

from ..formatting import (MIB, count_text, duration, duration_ci, duration_range, factor_text, format_bytes, p_text, percent, rate_text,
                         ratio_text, sig, signed_bytes, signed_percent, with_ci)
from ..points import FIT_KEY, LATENCY_PERCENTILES


class Table:
    """A DataFrame shown without its index: HTML in notebooks and reports, text elsewhere."""

    def __init__(self, frame):
        self.frame = frame.reset_index(drop=True)

    def _repr_html_(self):
        return self.frame.to_html(index=False, border=0, na_rep="–")

    def __repr__(self):
        return self.frame.to_string(index=False, na_rep="–")


def key_columns(frame, keys=FIT_KEY):
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
        "intercept": map(lambda e, lo, hi: with_ci(e, lo, hi, signed_bytes), t["intercept_bytes"],
                         t["intercept_low_bytes"], t["intercept_high_bytes"]),
        "R²": map(sig, t["r2"]),
        "distinct sizes": t["n"].astype(int),
        "warnings": t["warnings"].replace("", "–"),
    })


def capacity_display(cap):
    """analysis.capacity_table for people: sizes in binary units, shares of the volume."""
    cols = {
        "volume": [format_bytes(v) if s else "unsized" for v, s in zip(cap["target_size_bytes"], cap["sized"])],
        "filesystem": map(format_bytes, cap["fs_total_bytes"]),
        "data laid out": map(format_bytes, cap["data_bytes"]),
        "free after lay-out": map(format_bytes, cap["fs_avail_bytes"]),
        "can hold data": map(format_bytes, cap["holds_bytes"]),
        "share of volume": map(percent, cap["holds_share"]),
    }
    if "dataset_fits" in cap.columns:
        cols["dataset fits"] = [("yes" if ok else f"no: {why}") for ok, why in
                                zip(cap["dataset_fits"], cap.get("fit_why", [""] * len(cap)))]
    return _keyed(cap, cols)


def compare_display(compare):
    """models.compare_to_baseline (optionally with analysis.objective_verdicts columns): the
    expected time with the 95% intervals of the mean and of one read, the ratio to the baseline
    with its interval, the extrapolation and whether the model holds there."""
    cols = {
        "expected": map(duration, compare["predicted_s"]),
        "95% interval, mean": map(duration_range, compare["mean_low_s"], compare["mean_high_s"],
                                  compare["predicted_s"]),
        "95% interval, one read": map(duration_range, compare["low_s"], compare["high_s"],
                                      compare["predicted_s"]),
        "× baseline [95%]": [ratio_text(r, lo, hi) if fits else "does not fit" for r, lo, hi, fits in zip(
            compare["ratio_to_baseline"], compare["ratio_low"], compare["ratio_high"], _fits(compare))],
        "extrapolation": [("inside" if x <= 1 else factor_text(x)) for x in compare["extrapolation"]],
        "model holds": compare["holds"].map({True: "yes", False: "no"}),
    }
    if "meets" in compare.columns:
        cols["meets objective"] = compare["meets"].map(_verdict_text)
    return _keyed(compare, cols)


def _fits(frame):
    """Whether each row's target can hold the dataset (True where not known)."""
    return frame["fits"] if "fits" in frame.columns else pd.Series(True, index=frame.index)


def _verdict_text(verdict):
    from .findings import UNKNOWN
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
    cols = {
        "peak β, fitted [95%]": [with_ci(b, lo, hi, rate_text) for b, lo, hi in zip(
            table["beta_bytes_per_s"], table["beta_low_bytes_per_s"], table["beta_high_bytes_per_s"])],
        "B_half": [with_ci(b, lo, hi, format_bytes) for b, lo, hi in zip(
            table["b_half_bytes"], table["b_half_low_bytes"], table["b_half_high_bytes"])],
        "blocks ≥ (power of 2)": map(format_bytes, table["bs_at_half_bytes"]),
        "B_half extrapolated": table["extrapolated"].map({True: "yes", False: "no"}),
    }
    if "best_measured_bytes_per_s" in table.columns:
        cols["best measured"] = [rate_text(v) + (" ≠ β" if differ else "") for v, differ in
                                 zip(table["best_measured_bytes_per_s"], table["peaks_differ"])]
    return _keyed(table, cols)


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
            out[col] = out[col].map(lambda v: format_bytes(v, digits))
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: sig(v, digits))
    out.columns = [str(c) for c in out.columns]
    return Table(out)


def objective_display(verdicts):
    """analysis.objective_verdicts: expected time, upper bound of one read, verdict, headroom and,
    where the verdict is unknown, the sweep that would settle it."""
    cols = {
        "expected": map(duration, verdicts["predicted_s"]),
        "upper 95% bound, one read": map(duration, verdicts["high_s"]),
        "meets objective": verdicts["meets"].map(_verdict_text),
        "headroom": [f"×{sig(h)}" if h == h else "–" for h in verdicts["headroom"]],
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
            ("memory", format_bytes(host.get("memory_bytes"))), ("kernel", host.get("kernel")),
            ("Docker Engine", meta.get("docker_engine_version")), ("fio", meta.get("fio_version")),
            ("voltools", host.get("voltools_version")), ("targets", targets),
            ("block sizes", ", ".join(format_bytes(b) for b in grid.get("bs_bytes") or [])),
            ("block counts N", ", ".join(map(str, grid.get("blocks") or []))),
            ("read modes", ", ".join(grid.get("rw") or [])), ("repeats", grid.get("repeat")),
            ("points", meta.get("points_stored")), *storage_rows(meta.get("storage"))]
    return Table(pd.DataFrame([(k, "–" if v is None else str(v)) for k, v in rows],
                              columns=["item", "value"]))


def storage_rows(storage):
    """run.json's storage (provenance.storage_facts) as (item, value) rows: the engine's root
    dir and storage driver, then per target what held its data; 'not recorded' for older runs."""
    if not storage:
        return [("storage", "not recorded (run made before voltools recorded it)")]
    status = storage.get("storage_driver_status") or {}
    driver = storage.get("storage_driver")
    rows = [("Docker root dir", storage.get("docker_root_dir")),
            ("storage driver", driver and driver + (f" on {status['Backing Filesystem']}"
                                                    if status.get("Backing Filesystem") else ""))]
    for name, place in (storage.get("targets") or {}).items():
        rows.append((f"storage of {name}", place_text(place)))
    return [(k, v) for k, v in rows if v is not None]


def place_text(place):
    """'ext4 on /dev/vda (virtio_blk, not rotational), mounted at / (rw,relatime)'; 'memory' for a tmpfs."""
    if place.get("device") == "memory":
        return "tmpfs, in memory"
    disk = ", ".join(v for v in (place.get("driver"), place.get("vendor") and f"vendor {place['vendor']}",
                                 place.get("model") and f"model {place['model']}",
                                 {True: "rotational", False: "not rotational"}.get(place.get("rotational")))
                     if v)
    text = f"{place.get('fs_type', '?')} on {place.get('device') or place.get('source', '?')}"
    text += f" ({disk})" if disk else ""
    text += f", mounted at {place.get('mount_point', '?')} ({place.get('mount_options', '?')})"
    if place.get("image_fs_type"):
        text = f"{place['image_fs_type']} in a loop image file on " + text
    return text


def _firsts(track):
    """track_record's first_blocks (0 where a table predates the column)."""
    return track["first_blocks"].fillna(0) if "first_blocks" in track else [0] * len(track)


def track_record_display(track):
    """analysis.track_record as a table: the read held out, the prediction with its intervals,
    the measured median, the error and whether it fell inside the interval of one read."""
    return _keyed(track, {
        "largest read": [f"{format_bytes(s)} ({int(n):,} × {format_bytes(b)})"
                         + (f", blocks {int(f):,}-{int(n):,}" if f else "") for s, n, b, f in
                         zip(track["size_bytes"], track["blocks"], track["bs_bytes"], _firsts(track))],
        "predicted [95%]": map(duration_ci, track["mean_s"], track["mean_low_s"], track["mean_high_s"]),
        "one read, 95%": map(duration_range, track["low_s"], track["high_s"], track["mean_s"]),
        "measured (median)": map(duration, track["measured_s"]),
        "error": map(signed_percent, track["error"]),
        "inside": track["inside"].map({True: "yes", False: "no"}),
    })


def latency_display(table):
    """analysis.latency_table: per target, rw and B the p50 / p99 / p99.9 latency (µs), IOPS and
    the I/Os each rests on; '–' where too few I/Os support a percentile."""
    cols = {"B": map(format_bytes, table["bs_bytes"])}
    cols.update({f"p{q:g} (µs)": map(sig, table[f"{name}_us"]) for name, q in LATENCY_PERCENTILES.items()})
    cols["IOPS"] = map(count_text, table["iops"])
    cols["I/Os per read × reads"] = [f"{int(n):,} × {int(r)}" for n, r in zip(table["ios"], table["reads"])]
    return _keyed(table, cols)


def run_comparison_display(table):
    """analysis.compare.compare_runs: per target and rw the expected full-read time in each run,
    their ratio with its 95% interval between runs (that of beta and alpha beside it; marked where
    a run of one round gives an interval of within-run noise only), and the verdict."""
    from .compare import UNKNOWN
    note = _within_run_notes(table)
    return _keyed(table, {
        "baseline run": map(duration, table["a_mean_s"]),
        "this run": map(duration, table["b_mean_s"]),
        "time ratio [95%]": map(_run_ratio, table["ratio"], table["ratio_low"], table["ratio_high"], note),
        "β ratio [95%]": map(_run_ratio, table["beta_ratio"], table["beta_ratio_low"], table["beta_ratio_high"], note),
        "α ratio [95%]": map(_run_ratio, table["alpha_ratio"], table["alpha_ratio_low"], table["alpha_ratio_high"], note),
        "verdict": [v if v != UNKNOWN else f"unknown: {why}" for v, why in zip(table["verdict"], table["why"])],
        "models hold": table["holds"].map({True: "yes", False: "no"}),
    })


def _within_run_notes(table):
    """' (within-run noise only)' for rows whose interval holds no drift between runs, else ''."""
    from .drift import WITHIN_RUN, within_run_only
    covers = table["interval_covers"] if "interval_covers" in table else [None] * len(table)
    return [f" ({WITHIN_RUN}, not 95%)" if within_run_only(c) else "" for c in covers]


def _run_ratio(ratio, low, high, note=""):
    return "–" if ratio != ratio else f"×{sig(ratio)} [{sig(low)}, {sig(high)}]{note}"
