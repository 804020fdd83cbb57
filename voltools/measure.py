"""A sweep: for each target, set it up, lay the data out once, read every point, store each call."""
from . import jobs, loop, probe, provenance
from .cleanup import clean
from .engine import connect, engine_version
from .errors import StoreError
from .layout import lay_out, remove_workdir
from .naming import check_name, new_run_id
from .plan import csv, make_plan
from .rows import point_rows
from .sessions import open_session
from .store import RunStore
from .targets import prepare

KEY_COLUMNS = ["target", "rw", "direct", "iodepth", "bs_bytes", "blocks", "repeat"]


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
            self.store.close(self.meta, keep_empty=bool(self.meta.get("resumed_at")))
            raise
        return self.store.close(self.meta)

    def calls(self, target):
        """The target's fio calls, less the points already measured."""
        calls = [[p for p in call if p.key() not in self.done] for call in self.plan.batches(target)]
        return [call for call in calls if call]


def start_sweep(targets, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1", iodepth="1",
                repeat=3, memory=None, run_id=None, data_dir=None, image=None, batch=1, engine="fio"):
    """Check everything that can be checked, then create the run folder; nothing is made before."""
    request = dict(targets=[targets] if isinstance(targets, str) else list(targets), bs=csv(bs),
                   blocks=csv(blocks), rw=csv(rw), direct=csv(direct), iodepth=csv(iodepth),
                   repeat=repeat, memory=memory, batch=batch, engine=engine)
    plan = make_plan(**request)
    run_id = check_name(run_id or new_run_id())
    client, probe_image = _engine_for(plan, image)
    store = RunStore.create(run_id, data_dir)
    meta = start_meta(run_id, plan, probe_image, engine_version(client) if client else None,
                      request=request, probe_image_requested=image)
    return Sweep(plan, run_id, client, probe_image, store, meta)


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
          memory=None, run_id=None, data_dir=None, image=None, batch=1, engine="fio", progress=None):
    """Measure a grid of read points on real targets; return the points table (one row per point)."""
    return start_sweep(targets, bs, blocks, rw, direct, iodepth, repeat, memory, run_id, data_dir,
                       image, batch, engine).run(progress)


def start_meta(run_id, plan, image, engine_version=None, **extra):
    """run.json at the start of a run: provenance, targets, grid (and what `extra` adds)."""
    return dict({
        "run_id": run_id, "started_at": provenance.utc_now(), "host": provenance.host_facts(),
        "docker_engine_version": engine_version, "probe_image": image,
        "fio_version": probe.fio_version_text(),
        "targets": [{"name": t.name, "kind": t.kind, "options": t.describe()} for t in plan.targets],
        "grid": {"bs_bytes": plan.bs, "blocks": plan.blocks, "rw": plan.rw, "direct": plan.direct,
                 "iodepth": plan.iodepth, "repeat": plan.repeat, "memory_bytes": plan.memory_bytes,
                 "batch": plan.batch, "engine": plan.engine},
        "points_planned": plan.total_points()}, **extra)


def _engine_for(plan, image):
    """Check the host can run the plan; connect and get the probe image if any target needs Docker."""
    preflight(plan)
    if not any(t.in_docker for t in plan.targets):
        return None, None
    client = connect()
    return client, probe.ensure_image(client, image)


def preflight(plan):
    """Refuse, before anything is made, what this host cannot do."""
    kinds = {t.kind for t in plan.targets}
    if "host" in kinds and plan.engine == "fio":
        probe.host_fio()
    if "loop" in kinds:
        loop.check_usable({t.option("fs") for t in plan.targets if t.kind == "loop"})


def _measure_target(client, image, spec, plan, calls, store, run_id, seq, progress):
    """Set the target up, lay out, run its calls, store each; always tear down. Return the next seq."""
    prepared = prepare(client, spec, run_id)
    try:
        session = open_session(client, image, prepared, plan.memory_bytes)
        try:
            layout = lay_out(session, spec, plan.sizes(), run_id, plan.engine)
            for points in calls:
                result = session.run(jobs.read_argv(layout.workdir, points, plan.engine))
                raw = store.write_raw(f"{spec.name}-{seq:05d}", result.stdout or result.stderr)
                store.append_points(point_rows(points, result, raw, spec, layout, plan, run_id, seq))
                seq += len(points)
                if progress:
                    progress(len(points), f"{spec.name} {points[0].rw} r{points[0].repeat}")
        finally:
            remove_workdir(session, spec, run_id)
            session.close()
    finally:
        prepared.teardown()
    return seq
