"""Per-target summary of a points table: the few numbers a person reads first."""
import pandas as pd

from ..formatting import MIB
from ..points import usable



def target_summary(points):
    """One row per target: points, errors, peak read MiB/s, small-block p50 latency, space overhead."""
    rows = []
    for target, group in points.groupby("target", sort=False):
        good = usable(group)
        rows.append({
            "target": target,
            "points": len(group),
            "errors": int((group["error"] != 0).sum()),
            "read_MiB_s_max_bs": _peak_mib_s(good),
            "p50_us_min_bs": _small_block_p50_us(good),
            "allocated_over_logical": _space_ratio(good),
            "read_time_source": ",".join(sorted(good["read_time_source"].dropna().unique())),
        })
    return pd.DataFrame(rows)


def _peak_mib_s(good):
    """Median throughput N x B / T_d at the largest block size and block count."""
    if good.empty:
        return float("nan")
    big = good[(good["bs_bytes"] == good["bs_bytes"].max())]
    big = big[big["blocks"] == big["blocks"].max()]
    return float((big["size_bytes"] / big["read_time_s"]).median() / MIB)


def _small_block_p50_us(good):
    if good.empty:
        return float("nan")
    small = good[good["bs_bytes"] == good["bs_bytes"].min()]
    return float(small["lat_p50_ns"].median() / 1000)


def _space_ratio(good):
    """Allocated bytes over N x B for the largest file laid out."""
    if good.empty or good["allocated_bytes"].isna().all():
        return float("nan")
    largest = good[good["size_bytes"] == good["size_bytes"].max()].iloc[0]
    return float(largest["allocated_bytes"] / largest["size_bytes"])


# The closing table's headers (`voltools sweep`, `voltools summary`): words and units
HEADERS = {
    "read_MiB_s_max_bs": "read MiB/s (largest B and N)",
    "p50_us_min_bs": "p50 latency µs (smallest B)",
    "allocated_over_logical": "allocated / data size (largest file)",
    "read_time_source": "read time from",
}


def readable(table):
    """The summary table with headers for people; the columns of `target_summary` are unchanged."""
    return table.rename(columns=HEADERS)


# `voltools summary --json` field names: snake_case, units in the name
JSON_FIELDS = {
    "target": "target",
    "points": "points",
    "errors": "errors",
    "read_MiB_s_max_bs": "read_mib_per_s_at_max_bs",
    "p50_us_min_bs": "p50_latency_us_at_min_bs",
    "allocated_over_logical": "allocated_over_logical_ratio",
    "read_time_source": "read_time_source",
}


def summary_records(table):
    """The summary table as JSON-ready dicts (stable names with units, NaN as None)."""
    out = []
    for row in table.to_dict("records"):
        out.append({JSON_FIELDS[k]: _plain(v) for k, v in row.items()})
    return out


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value
