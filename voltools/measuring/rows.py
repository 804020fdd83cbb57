"""Points-table rows from one fio call: one per point, error rows where fio failed."""
import os
import socket

import pandas as pd

from .. import provenance
from ..errors import FioParseError
from . import fio, replay


def point_rows(points, result, raw_file, spec, layout, plan, run_id, seq, orchestrator=None, node=None):
    """One row per point of a fio call; a failed or unreadable call gives error rows."""
    try:
        parsed = fio.parse(result.stdout)
    except FioParseError as exc:
        parsed = pd.DataFrame(columns=["job_index"])
        failure = _failure(result, exc)
    else:
        failure = ""
    where = _where(spec, orchestrator, node)
    rows = []
    for index, point in enumerate(points):
        match = parsed[parsed["job_index"] == index]
        job = match.iloc[0].to_dict() if len(match) else None
        base = _base(point, spec, layout, plan, run_id, seq + index, raw_file, index, where)
        if job is None:
            rows.append(dict(base, error=-1, error_msg=failure or "no result for this job"))
        else:
            rows.append(_measured(base, job, point))
    return pd.DataFrame(rows)


def replay_rows(points, result, raw_file, spec, layout, plan, run_id, seq, prefixed=False):
    """One row per point of a replayed call (`replay`): its figures from its own reads' latencies
    (a point cut from another's read: its first N reads', and prefix_of that point's seq)."""
    where = _where(spec)
    bases = [_base(p, spec, layout, plan, run_id, seq + i, raw_file, i, where) for i, p in enumerate(points)]
    try:
        job, (parts, leads) = _replayed(points, result, plan.seed, prefixed)
    except FioParseError as exc:
        return pd.DataFrame([dict(b, error=-1, error_msg=_failure(result, exc)) for b in bases])
    for base, lead in zip(bases, leads):
        base["prefix_of"] = None if lead is None else seq + lead
    rows, error = [], int(job.get("error") or 0)
    for base, part in zip(bases, parts):
        if part is None:
            rows.append(dict(base, error=error or -1,
                             error_msg=_errno_text(error) if error else "fio stopped before this point's reads"))
        else:
            rows.append(dict(base, **replay.figures(part), fio_version=job.get("fio_version"),
                             error=0, error_msg=""))
    return pd.DataFrame(rows)


def _replayed(points, result, seed, prefixed):
    """(fio's job row, (each point's latency-log slice or None, its lead: replay.cut)) of a replay
    call's output."""
    head, tail = replay.split(result.stdout)
    parsed = fio.parse(head)
    if parsed.empty:
        raise FioParseError("fio reported no job")
    return parsed.iloc[0].to_dict(), replay.cut(points, replay.latencies(tail), seed, prefixed)


def _failure(result, exc):
    """What an unreadable call's error rows say: fio's exit status and its last line of complaint."""
    return f"fio exit {result.exit_code}: {(result.stderr.strip() or str(exc)).splitlines()[-1][:200]}"


def _where(spec, orchestrator=None, node=None):
    """Which orchestrator measured the point, and on which node."""
    return dict(orchestrator=orchestrator or ("docker" if spec.in_docker else "host"),
                node=node or socket.gethostname())


def _base(point, spec, layout, plan, run_id, seq, raw_file, index, where):
    """What a row says about the point and its target, whatever fio did."""
    return dict(
        run_id=run_id, seq=seq, target=spec.name, target_kind=spec.kind, driver_opts=spec.describe(),
        reader=plan.reader, rw=point.rw, direct=point.direct, iodepth=point.iodepth, numjobs=point.numjobs,
        bs_bytes=point.bs_bytes, blocks=point.blocks, size_bytes=point.size_bytes,
        allocated_bytes=layout.allocated.get(point.size_bytes), target_size_bytes=spec.size_bytes,
        fs_total_bytes=layout.fs_total_bytes, fs_avail_bytes=layout.fs_avail_bytes,
        memory_limit_bytes=plan.memory_bytes, repeat=point.repeat, round=point.repeat, raw_file=raw_file,
        raw_job_index=index, finished_at=provenance.utc_now(), **where)


def _measured(base, job, point):
    """The row of a job fio reported: its figures, or its error."""
    error = int(job.get("error") or 0)
    time_s, source = read_time(job, point) if error == 0 else (None, None)
    return dict(base, read_time_s=time_s, read_time_source=source,
                runtime_s=_as_float(job.get("runtime_ms")) / 1000, bw_bytes=job.get("bw_bytes"),
                iops=job.get("iops"), lat_mean_ns=job.get("lat_mean_ns"),
                lat_p50_ns=job.get("lat_p50_ns"), lat_p99_ns=job.get("lat_p99_ns"),
                lat_p999_ns=job.get("lat_p999_ns"), fio_version=job.get("fio_version"),
                error=error, error_msg=_io_check(job, point) if error == 0 else _errno_text(error))


def read_time(job, point):
    """T_d: the sum of per-I/O latencies at queue depth 1 with one job (ns resolution), else fio's
    runtime (ms): jobs side by side overlap, as queued reads do."""
    lat, ios = _as_float(job.get("lat_mean_ns")), _as_float(job.get("total_ios"))
    if point.iodepth == 1 and point.numjobs == 1 and lat == lat and ios == ios and ios > 0:
        return lat * ios / 1e9, "lat_sum"
    return _as_float(job.get("runtime_ms")) / 1000, "runtime_ms"


def _errno_text(error):
    return f"fio error {error}: {os.strerror(error)}"


def _io_check(job, point):
    ios, expected = _as_float(job.get("total_ios")), point.blocks * point.numjobs
    return "" if ios == expected else f"fio did {ios:.0f} I/Os, expected {expected}"


def _as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
