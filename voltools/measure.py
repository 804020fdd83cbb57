"""A sweep: for each target, set it up, lay the data out once, read every point, store each call.

A run's life: checks (nothing made), the run lock, the run folder, then target after target; at
the end, whatever way it ends (done, an error, an interrupt), teardown runs with interrupts held
back, every object labeled with the run id is removed, and the points table is closed.
"""
import random
import time

from . import interrupts, jobs, loop, probe, provenance
from .cleanup import clean, leftovers
from .engine import connect, engine_version
from .errors import StoreError, TargetError, first_line
from .layout import lay_out, remove_workdir
from .naming import check_name, new_run_id
from .plan import csv, make_plan
from .points import POINT_KEY
from .rows import point_rows
from .runlock import RunLock
from .sessions import open_session
from .store import RunStore
from .targets import check_new_run, prepare

SAFETY_PASSES = 3
SETTLE_S = 0.4


class Sweep:
    """A checked sweep, ready to run: plan, run id, engine, probe image, run folder, points done."""

    def __init__(self, plan, run_id, client, image, store, meta, lock, done=frozenset()):
        self.plan, self.run_id, self.client, self.image = plan, run_id, client, image
        self.store, self.meta, self.lock, self.done = store, meta, lock, done
        self.problems = []  # what teardown could not do; reported only if something is left

    def run(self, progress=None):
        """Measure every point not yet done, target by target; return the run's points table.

        `progress`, if given, is called as progress(points_done_now, description) after each fio
        call, and once with the points a resumed run already had.
        """
        try:
            self._measure(progress)
        except BaseException as exc:
            self._end(exc)
            raise
        return self._end(None)

    def calls(self, target, round_=None):
        """The target's fio calls (of one round, if given), less the points already measured."""
        calls = [[p for p in call if p.key() not in self.done and round_ in (None, p.repeat)]
                 for call in self.plan.batches(target)]
        return [call for call in calls if call]

    def _measure(self, progress):
        """Set every target up, then measure in rounds: each round reads every target once, in a
        seeded shuffled order, so drift over time shows as a round effect, not a target difference."""
        seq = self.store.next_seq()
        if progress and self.done:
            progress(len(self.done), "already measured")
        with Teardown(self.problems) as undo:
            ready = [_set_up(self, spec, undo) for spec in self.plan.targets if self.calls(spec.name)]
            for round_ in range(self.plan.repeat):
                for target in round_order(ready, self.plan.seed, round_):
                    for points in self.calls(target.spec.name, round_):
                        seq = _read(self, target, points, seq, progress)

    def _end(self, exc):
        """Close the table, remove every object of the run, let the lock go; interrupts wait.

        With `exc` on its way out, problems become notes on it; without, the first one is raised.
        """
        problems, points = [], None
        with interrupts.deferred():
            left = remove_leftovers(self.client, self.run_id, settle=exc is not None)
            if left:  # teardown's errors matter only if something is still there
                problems += self.problems + left
            try:  # a run that left objects keeps its folder, so --resume can remove them
                points = self.store.close(self.meta, keep_empty=bool(self.meta.get("resumed_at") or left))
            except StoreError as error:
                problems.append(str(error))
            self.lock.release()
        if exc is not None:
            for problem in problems:
                exc.add_note(problem)
        elif problems:
            raise TargetError(problems[0])
        return points


def check_sweep(targets, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1", iodepth="1",
                repeat=3, memory=None, batch=1, reader="fio", *, question=None, max_point=None):
    """Check everything that can be checked without making anything; return (plan, request)."""
    request = dict(targets=[targets] if isinstance(targets, str) else list(targets), bs=csv(bs),
                   blocks=csv(blocks), rw=csv(rw), direct=csv(direct), iodepth=csv(iodepth),
                   repeat=repeat, memory=memory, batch=batch, reader=reader, question=question,
                   max_point=max_point)
    return make_plan(**request), request


def start_sweep(targets, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1", iodepth="1",
                repeat=3, memory=None, run_id=None, data_dir=None, image=None, batch=1, reader="fio", *,
                question=None, max_point=None):
    """Check everything that can be checked, then lock the run and create its folder."""
    plan, request = check_sweep(targets, bs, blocks, rw, direct, iodepth, repeat, memory, batch, reader,
                                question=question, max_point=max_point)
    run_id = check_name(new_run_id() if run_id is None else run_id)
    check_new_run(plan.targets, run_id)
    client, probe_image = _engine_for(plan, image)
    meta = start_meta(run_id, plan, probe_image, engine_version(client) if client else None,
                      request=request, probe_image_requested=image)
    lock = RunLock(run_id).acquire()
    try:
        store = RunStore.create(run_id, data_dir, meta)
    except BaseException:
        lock.release()
        raise
    return Sweep(plan, run_id, client, probe_image, store, meta, lock)


def resume_sweep(run_id, data_dir=None):
    """Carry on a stopped run: same plan, its leftovers removed, finished points skipped.

    A point whose stored row is an error is measured again; the new row supersedes it in the table
    and the raw output of both is kept.
    """
    store = RunStore.open(run_id, data_dir)
    meta = store.read_meta()
    if "request" not in meta:
        raise StoreError(f"{store.path}/run.json has no request to resume from: start a new run")
    plan = make_plan(**meta["request"])
    client, image = _engine_for(plan, meta.get("probe_image_requested"))
    lock = RunLock(run_id).acquire()
    try:
        with interrupts.deferred():  # what a killed run left goes, even if Ctrl-C comes now
            clean(client, run_id)
        store.discard_partial_writes()
        done = finished_keys(store.points())
        meta.setdefault("resumed_at", []).append(provenance.utc_now())
        store.write_meta(meta)
    except BaseException:
        lock.release()
        raise
    return Sweep(plan, run_id, client, image, store, meta, lock, done)


def finished_keys(points):
    """Keys of the points measured without error (a resumed run measures the others again)."""
    good = points[points["error"].fillna(-1) == 0]
    return frozenset(tuple(k) for k in good[POINT_KEY].itertuples(index=False))


def sweep(targets, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1", iodepth="1", repeat=3,
          memory=None, run_id=None, data_dir=None, image=None, batch=1, reader="fio", progress=None, *,
          question=None, max_point=None):
    """Measure a grid of read points on real targets; return the points table (one row per point)."""
    return start_sweep(targets, bs, blocks, rw, direct, iodepth, repeat, memory, run_id, data_dir,
                       image, batch, reader, question=question, max_point=max_point).run(progress)


def start_meta(run_id, plan, image, engine_version=None, **extra):
    """run.json at the start of a run: provenance, targets, grid (and what `extra` adds)."""
    return dict({
        "run_id": run_id, "started_at": provenance.utc_now(), "host": provenance.host_facts(),
        "docker_engine_version": engine_version, "probe_image": image,
        "fio_version": probe.fio_version_text(),
        "targets": [{"name": t.name, "kind": t.kind, "options": t.describe()} for t in plan.targets],
        "grid": {"bs_bytes": plan.bs, "blocks": plan.blocks, "rw": plan.rw, "direct": plan.direct,
                 "iodepth": plan.iodepth, "repeat": plan.repeat, "memory_bytes": plan.memory_bytes,
                 "batch": plan.batch, "reader": plan.reader},
        "question": plan.question.as_dict() if plan.question else None,
        "points_planned": plan.total_points()}, **extra)


def remove_leftovers(client, run_id, settle=False):
    """Remove whatever of the run is still there (by label, loop image, folder marker); return
    what could not be removed, as sentences.

    `settle` (after an interrupt): a request the interrupt cut short may still be creating a
    container or volume in the engine, so the run counts as clean only when a second look, a
    moment later, also finds nothing."""
    problems, quiet = [], 0
    for attempt in range(SAFETY_PASSES + 2 * settle):
        time.sleep(SETTLE_S * min(attempt, 1))
        try:
            problems = clean(client, run_id).left
            quiet = quiet + 1 if not leftovers(client, run_id) else 0
        except Exception as exc:  # the engine may be gone: say so, never hide the first error
            problems = [f"removing what run {run_id} made failed: {first_line(exc)}; "
                        f"run 'voltools clean --run-id {run_id}' once the engine answers"]
            quiet = 0
        if quiet > settle:
            return []
    return problems or [f"some objects of run {run_id} are still there: "
                        f"run 'voltools clean --run-id {run_id}'"]


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
    if "host" in kinds and plan.reader == "fio":
        probe.host_fio()
    if "loop" in kinds:
        loop.check_usable({t.option("fs") for t in plan.targets if t.kind == "loop"})


class Teardown:
    """Undo steps, last first, with interrupts held back; an error in one never stops the rest.

    Errors go to `problems`: whether they matter is known only after the run's last clean-up
    (a volume "in use" by a container that clean-up then removes does not).
    """

    def __init__(self, problems):
        self.steps, self.problems = [], problems

    def push(self, step):
        self.steps.append(step)

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, trace):
        with interrupts.deferred():
            while self.steps:
                try:
                    self.steps.pop()()
                except Exception as error:
                    self.problems.append(first_line(error))
        return False


class ReadyTarget:
    """A target set up for reading: its spec, session and lay-out."""

    def __init__(self, spec, session, layout):
        self.spec, self.session, self.layout = spec, session, layout


def round_order(targets, seed, round_):
    """The targets in the order one round reads them: shuffled, the same for the same seed."""
    order = list(targets)
    random.Random(f"{seed}-round-{round_}").shuffle(order)
    return order


def _set_up(sweep, spec, undo):
    """Prepare the target, start its session, lay its files out; each undo step pushed as it is made."""
    prepared = prepare(sweep.client, spec, sweep.run_id)
    undo.push(prepared.teardown)
    session = open_session(sweep.client, sweep.image, prepared, sweep.plan.memory_bytes)
    undo.push(session.close)
    undo.push(lambda: remove_workdir(session, spec, sweep.run_id))
    layout = lay_out(session, spec, sweep.plan.sizes(spec.name), sweep.run_id, sweep.plan.reader)
    return ReadyTarget(spec, session, layout)


def _read(sweep, target, points, seq, progress):
    """One fio call: run it, keep its output, store its rows; return the next seq."""
    plan, spec = sweep.plan, target.spec
    result = target.session.run(jobs.read_argv(target.layout.workdir, points, plan.reader))
    raw = sweep.store.write_raw(f"{spec.name}-{seq:05d}", result.stdout or result.stderr)
    sweep.store.append_points(point_rows(points, result, raw, spec, target.layout, plan, sweep.run_id, seq))
    if progress:
        progress(len(points), f"{spec.name} {points[0].rw} round {points[0].repeat + 1}")
    return seq + len(points)
