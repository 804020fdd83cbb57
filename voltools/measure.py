"""A sweep: for each target, set it up, lay the data out once, read every point, store each call."""
import os
import socket
from dataclasses import dataclass

import pandas as pd

from . import engine, fio, jobs, loop, probe, provenance
from .cleanup import clean
from .errors import FioParseError, StoreError, TargetError
from .naming import check_name, new_run_id
from .plan import SweepPlan
from .sessions import open_session
from .store import RunStore
from .targets import parse_targets, prepare
from .units import format_bytes, parse_count_list, parse_size, parse_size_list

ENOSPC_TEXT = "No space left on device"
KEY_COLUMNS = ["target", "rw", "direct", "iodepth", "bs_bytes", "blocks", "repeat"]


@dataclass
class Layout:
    """What lay-out left on a target: the folder, bytes allocated per size, filesystem totals."""

    workdir: str
    allocated: dict
    fs_total_bytes: int
    fs_avail_bytes: int


def make_plan(targets, bs, blocks, rw="read", direct="1", iodepth="1", repeat=3, memory=None, batch=1):
    """A validated SweepPlan from CLI-style values (lists or comma-separated strings)."""
    plan = SweepPlan(
        targets=parse_targets([targets] if isinstance(targets, str) else list(targets)),
        bs=parse_size_list(_csv(bs), "block size"), blocks=parse_count_list(_csv(blocks), "blocks"),
        rw=[m.strip() for m in _csv(rw).split(",")], direct=_direct(direct),
        iodepth=parse_count_list(_csv(iodepth), "iodepth"), repeat=_int(repeat, "repeat"),
        batch=_int(batch, "batch"), memory_bytes=parse_size(memory, "--memory") if memory else None)
    return plan.validate()


class Sweep:
    """A checked sweep, ready to run: plan, run id, engine, probe image, run folder, points done."""

    def __init__(self, plan, run_id, client, image, store, meta, done=frozenset()):
        self.plan, self.run_id, self.client, self.image = plan, run_id, client, image
        self.store, self.meta, self.done = store, meta, done

    def run(self, progress=None):
        """Measure every point not yet done, target by target; return the run's points table.

        `progress`, if given, is called as progress(points_done_now, description) after each fio
        call, and once with the points a resumed run already had.
        """
        self.store.write_meta(self.meta)
        seq = self.store.next_seq()
        if progress and self.done:
            progress(len(self.done), "already measured")
        try:
            for spec in self.plan.targets:
                calls = self.calls(spec.name)
                if calls:
                    seq = _measure_target(self.client, self.image, spec, self.plan, calls, self.store,
                                          self.run_id, seq, progress)
        except BaseException:
            if not self.store.parts() and not self.meta.get("resumed_at"):
                self.store.remove()  # a fresh run that stored nothing leaves nothing behind
            else:
                self._close()
            raise
        return self._close()

    def _close(self):
        """Merge the parts, note the end in run.json, return the table."""
        self.store.compact()
        points = self.store.points()
        self.meta.update(finished_at=provenance.utc_now(), points_stored=len(points))
        self.store.write_meta(self.meta)
        return points

    def calls(self, target):
        """The target's fio calls, less the points already measured."""
        calls = [[p for p in call if p.key() not in self.done] for call in self.plan.batches(target)]
        return [call for call in calls if call]


def start_sweep(targets, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1", iodepth="1",
                repeat=3, memory=None, run_id=None, data_dir=None, image=None, batch=1):
    """Check everything that can be checked, then create the run folder; nothing is made before."""
    request = dict(targets=[targets] if isinstance(targets, str) else list(targets), bs=_csv(bs),
                   blocks=_csv(blocks), rw=_csv(rw), direct=_csv(direct), iodepth=_csv(iodepth),
                   repeat=repeat, memory=memory, batch=batch)
    plan = make_plan(**request)
    run_id = check_name(run_id or new_run_id())
    client, image = _engine_for(plan, image)
    store = RunStore.create(run_id, data_dir)
    meta = _start_meta(run_id, plan, client, image, request)
    meta["probe_image_requested"] = image
    return Sweep(plan, run_id, client, image, store, meta)


def resume_sweep(run_id, data_dir=None):
    """Carry on a stopped run: same plan, its leftovers removed, finished points skipped."""
    store = RunStore.open(run_id, data_dir)
    meta = store.read_meta()
    if "request" not in meta:
        raise StoreError(f"{store.path}/run.json has no request to resume from: start a new run")
    plan = make_plan(**meta["request"])
    client, image = _engine_for(plan, meta.get("probe_image_requested"))
    clean(client, run_id)
    store.discard_partial_writes()
    done = frozenset(tuple(k) for k in store.points()[KEY_COLUMNS].itertuples(index=False))
    meta.setdefault("resumed_at", []).append(provenance.utc_now())
    return Sweep(plan, run_id, client, image, store, meta, done)


def sweep(targets, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1", iodepth="1", repeat=3,
          memory=None, run_id=None, data_dir=None, image=None, batch=1, progress=None):
    """Measure a grid of read points on real targets; return the points table (one row per point)."""
    return start_sweep(targets, bs, blocks, rw, direct, iodepth, repeat, memory, run_id, data_dir,
                       image, batch).run(progress)


def _engine_for(plan, image):
    """Check the host can run the plan; connect and get the probe image if any target needs Docker."""
    preflight(plan)
    if not any(t.in_docker for t in plan.targets):
        return None, None
    client = engine.connect()
    return client, probe.ensure_image(client, image)


def preflight(plan):
    """Refuse, before anything is made, what this host cannot do."""
    kinds = {t.kind for t in plan.targets}
    if "host" in kinds:
        probe.host_fio()
    if "loop" in kinds:
        loop.check_usable({t.option("fs") for t in plan.targets if t.kind == "loop"})


def _measure_target(client, image, spec, plan, calls, store, run_id, seq, progress):
    prepared = prepare(client, spec, run_id)
    try:
        session = open_session(client, image, prepared, plan.memory_bytes)
        try:
            layout = lay_out(session, spec, plan.sizes(), run_id)
            for points in calls:
                result = session.run(jobs.read_argv(layout.workdir, points))
                raw = store.write_raw(f"{spec.name}-{seq:05d}", result.stdout or result.stderr)
                rows = point_rows(points, result, raw, spec, layout, plan, run_id, seq)
                store.append_points(rows)
                seq += len(points)
                if progress:
                    progress(len(points), f"{spec.name} {points[0].rw} r{points[0].repeat}")
        finally:
            _remove_workdir(session, spec, run_id)
            session.close()
    finally:
        prepared.teardown()
    return seq


def workdir_of(session, run_id):
    return f"{session.root}/voltools-{run_id}"


def lay_out(session, spec, sizes, run_id):
    """Write one file per size (holder, read-write), then stat them and the filesystem."""
    workdir = workdir_of(session, run_id)
    _checked(session.run(["mkdir", "-p", workdir], "holder"), spec, "mkdir")
    _, avail = _fs_bytes(session, spec, workdir)
    if sum(sizes) > avail:
        raise TargetError(f"target {spec.name} has {format_bytes(avail)} free but the sweep lays out "
                          f"{format_bytes(sum(sizes))}: raise its size= or lower --bs/--blocks")
    result = session.run(jobs.layout_argv(workdir, sizes), "holder")
    if ENOSPC_TEXT in result.stdout + result.stderr:
        raise TargetError(f"target {spec.name} ran out of space laying out {len(sizes)} files: "
                          "raise its size= or lower --bs/--blocks")
    _checked(result, spec, "fio lay-out")
    files = [jobs.data_file(workdir, s) for s in sizes]
    stats = _checked(session.run(["stat", "-c", "%s %b %B", *files], "holder"), spec, "stat").split()
    allocated = {int(stats[i]): int(stats[i + 1]) * int(stats[i + 2]) for i in range(0, len(stats), 3)}
    return Layout(workdir, allocated, *_fs_bytes(session, spec, workdir))


def _fs_bytes(session, spec, path):
    """(total, available) bytes of the filesystem holding `path`, seen from the holder."""
    fs = _checked(session.run(["stat", "-f", "-c", "%S %b %a", path], "holder"), spec, "stat -f").split()
    return int(fs[0]) * int(fs[1]), int(fs[0]) * int(fs[2])


def point_rows(points, result, raw_file, spec, layout, plan, run_id, seq):
    """One row per point from one fio call; a failed or unreadable call gives error rows."""
    try:
        parsed = fio.parse(result.stdout)
    except FioParseError as exc:
        parsed = pd.DataFrame(columns=["job_index"])
        failure = f"fio exit {result.exit_code}: {(result.stderr.strip() or str(exc)).splitlines()[-1][:200]}"
    else:
        failure = ""
    rows = []
    for index, point in enumerate(points):
        match = parsed[parsed["job_index"] == index]
        job = match.iloc[0].to_dict() if len(match) else None
        rows.append(_row(point, job, failure or "no result for this job", raw_file, index, spec,
                         layout, plan, run_id, seq + index))
    return pd.DataFrame(rows)


def _row(point, job, failure, raw_file, index, spec, layout, plan, run_id, seq):
    row = dict(
        run_id=run_id, seq=seq, target=spec.name, target_kind=spec.kind, driver_opts=spec.describe(),
        engine="fio", orchestrator="host" if spec.kind == "host" else "docker", node=socket.gethostname(),
        rw=point.rw, direct=point.direct, iodepth=point.iodepth, numjobs=1, bs_bytes=point.bs_bytes,
        blocks=point.blocks, size_bytes=point.size_bytes, allocated_bytes=layout.allocated.get(point.size_bytes),
        target_size_bytes=spec.size_bytes, fs_total_bytes=layout.fs_total_bytes,
        fs_avail_bytes=layout.fs_avail_bytes, memory_limit_bytes=plan.memory_bytes, repeat=point.repeat,
        raw_file=raw_file, raw_job_index=index, finished_at=provenance.utc_now())
    if job is None:
        return dict(row, error=-1, error_msg=failure)
    error = int(job.get("error") or 0)
    time_s, source = read_time(job, point) if error == 0 else (None, None)
    return dict(row, read_time_s=time_s, read_time_source=source,
                runtime_s=_num(job.get("runtime_ms")) / 1000, bw_bytes=job.get("bw_bytes"),
                iops=job.get("iops"), lat_mean_ns=job.get("lat_mean_ns"),
                lat_p50_ns=job.get("lat_p50_ns"), lat_p99_ns=job.get("lat_p99_ns"),
                lat_p999_ns=job.get("lat_p999_ns"), fio_version=job.get("fio_version"),
                error=error, error_msg=_short_check(job, point) if error == 0 else failure_text(job))


def read_time(job, point):
    """T_d: the sum of per-I/O latencies at queue depth 1 (ns resolution), else fio's runtime (ms)."""
    lat, ios = _num(job.get("lat_mean_ns")), _num(job.get("total_ios"))
    if point.iodepth == 1 and lat == lat and ios == ios and ios > 0:
        return lat * ios / 1e9, "lat_sum"
    return _num(job.get("runtime_ms")) / 1000, "runtime_ms"


def failure_text(job):
    return f"fio error {int(job.get('error') or 0)}: {os.strerror(int(job.get('error') or 0))}"


def _short_check(job, point):
    ios = _num(job.get("total_ios"))
    return "" if ios == point.blocks else f"fio did {ios:.0f} I/Os, expected {point.blocks}"


def _remove_workdir(session, spec, run_id):
    """Delete the laid-out files; on `bind` and `host` they are on the user's own filesystem."""
    if spec.kind in ("bind", "layer", "local", "tmpfs", "loop"):
        try:
            session.run(["rm", "-rf", workdir_of(session, run_id)], "holder")
        except Exception:  # the container may be gone; teardown removes the volume anyway
            pass


def _start_meta(run_id, plan, client, image, request):
    return {
        "run_id": run_id, "request": request, "started_at": provenance.utc_now(),
        "host": provenance.host_facts(),
        "docker_engine_version": engine.engine_version(client) if client else None,
        "probe_image": image, "fio_version": probe.fio_version_text(),
        "targets": [{"name": t.name, "kind": t.kind, "options": t.describe()} for t in plan.targets],
        "grid": {"bs_bytes": plan.bs, "blocks": plan.blocks, "rw": plan.rw, "direct": plan.direct,
                 "iodepth": plan.iodepth, "repeat": plan.repeat, "memory_bytes": plan.memory_bytes},
        "points_planned": plan.total_points(),
    }


def _checked(result, spec, what):
    if result.exit_code != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise TargetError(f"{what} on target {spec.name} failed (exit {result.exit_code}): {detail[0][:200]}")
    return result.stdout


def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _csv(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _direct(value):
    from .errors import UsageError
    items = [v.strip() for v in _csv(value).split(",")]
    if any(v not in ("0", "1") for v in items):
        raise UsageError(f"--direct {value!r} is not accepted: use 0 (buffered), 1 (O_DIRECT) or 0,1")
    return [int(v) for v in dict.fromkeys(items)]


def _int(value, name):
    from .errors import UsageError
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--{name} {value!r} is not a whole number") from None
