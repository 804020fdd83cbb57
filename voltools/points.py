"""The points table: its columns and types, its keys, and which of its rows are usable.

One row per measured point. No pandas at import time (the CLI starts without it).
"""

_INT = "Int64"
_FLOAT = "float64"
_STR = "string"
# The points table's columns and their types: units in the names, integers where they can be.
POINT_SCHEMA = {
    "run_id": _STR, "seq": _INT, "target": _STR, "target_kind": _STR, "driver_opts": _STR,
    "reader": _STR, "orchestrator": _STR, "node": _STR, "storage_class": _STR, "rw": _STR,
    "direct": _INT,
    "iodepth": _INT, "numjobs": _INT, "bs_bytes": _INT, "blocks": _INT, "size_bytes": _INT,
    "allocated_bytes": _INT, "target_size_bytes": _INT, "fs_total_bytes": _INT,
    "fs_avail_bytes": _INT, "memory_limit_bytes": _INT, "repeat": _INT, "round": _INT, "read_time_s": _FLOAT,
    "read_time_source": _STR, "runtime_s": _FLOAT, "bw_bytes": _INT, "iops": _FLOAT,
    "lat_mean_ns": _FLOAT, "lat_p50_ns": _INT, "lat_p99_ns": _INT, "lat_p999_ns": _INT,
    "fio_version": _STR, "error": _INT, "error_msg": _STR, "raw_file": _STR,
    "raw_job_index": _INT, "finished_at": _STR, "prefix_of": _INT,
}
POINT_COLUMNS = list(POINT_SCHEMA)
# Columns added after the first release: a part written before them loads with them empty.
ADDED_COLUMNS = ("round", "prefix_of")
# Columns renamed since a release, old -> new: an old part (and run.json) loads under the new names.
RENAMED_COLUMNS = {"engine": "reader"}

# What a read_time_source measures: the sum of a point's per-I/O latencies (from fio's JSON, mean x
# count, or from its per-I/O latency log when points are replayed together) is one figure, at ns
# resolution; fio's job runtime (ms) is another; the python reader's clock sum a third.
READ_TIME_MEASURES = {"lat_sum": "latency sum", "lat_log": "latency sum", "runtime_ms": "runtime"}


def read_time_measure(source):
    """What a read_time_source measures (sources of one measure may share a fit)."""
    return READ_TIME_MEASURES.get(source, source)


# A point of a sweep's plan: what a resumed run skips once it is measured without error.
POINT_KEY = ["target", "rw", "direct", "iodepth", "numjobs", "bs_bytes", "blocks", "repeat"]
# Two rows measure the same point on the same node: the later one (higher seq) wins on load.
NODE_POINT_KEY = ["node", *POINT_KEY]
# The settings one read-time fit holds fixed: a fit per group of these columns.
FIT_KEY = ("target", "rw", "direct", "iodepth", "numjobs")
# Key columns a frame may lack, with the value its rows then have (a frame made before numjobs
# was a column was read by one job a point).
KEY_DEFAULTS = {"numjobs": 1}


def with_key_defaults(frame):
    """`frame` with the KEY_DEFAULTS columns it lacks, each at its default value."""
    missing = {c: v for c, v in KEY_DEFAULTS.items() if c not in frame.columns}
    return frame.assign(**missing) if missing else frame


# The latency percentiles a row records, as lat_<label>_ns: label -> percent.
LATENCY_PERCENTILES = {"p50": 50.0, "p99": 99.0, "p999": 99.9}


def usable_mask(points, column="read_time_s"):
    """True for the rows whose `column` is a finite number and whose `error` is 0: a table with
    no `error` column has no errors; a missing error value is not 0. A numpy bool array."""
    import numpy as np
    import pandas as pd
    values = pd.to_numeric(points[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(values)
    if "error" in points.columns:
        ok &= (points["error"] == 0).fillna(False).to_numpy(dtype=bool)
    return ok


def usable(points, column="read_time_s"):
    """The rows of usable_mask."""
    return points[usable_mask(points, column)]


def read_ids(frame):
    """Each row's read: its prefix_of (the seq of the row whose read its figure was cut from), or
    its own seq where it was read on its own (a frame without prefix_of: every row its own)."""
    return frame["prefix_of"].fillna(frame["seq"]) if "prefix_of" in frame else frame["seq"]
