"""One run's life, whatever orchestrator measures it.

Checks first (nothing made), then the run lock and the run folder with run.json, then the
backend measures; at the end, whatever way it ends (done, an error, an interrupt), with interrupts
held back, every object labeled with the run id is removed, the points table is closed and the
lock let go. A run that left objects keeps its folder, so --resume (where it exists) can remove them.
"""
from . import interrupts, provenance
from .errors import StoreError, TargetError
from .measuring import probe
from .measuring.engine import translated
from .measuring.plan import SweepRequest
from .naming import check_name, new_run_id
from .orchestrators.registry import backend, refuse_unsupported
from .points import POINT_KEY, with_key_defaults
from .runlock import RunLock
from .store import RunStore



def check(request, resume=False, dry_run=False):
    """Everything that can be checked without making anything: (backend, plan, run id).

    The backend is connected (an engine that does not answer is refused here), nothing prepared."""
    orchestrator = backend(request.orchestrator, request.options)
    refuse_unsupported(orchestrator, request, resume, dry_run)
    plan = orchestrator.plan(request)
    run_id = check_name(new_run_id() if request.run_id is None else request.run_id)
    if not resume:  # a resumed run's folders and images are its own, removed before it goes on
        orchestrator.check(plan, run_id)
    orchestrator.connect(plan)
    return orchestrator, plan, run_id


class Run:
    """A checked run, ready to measure: its backend, plan, id, folder, run.json, lock, points done."""

    def __init__(self, orchestrator, plan, run_id, store, meta, lock, done=frozenset()):
        self.orchestrator, self.plan, self.run_id = orchestrator, plan, run_id
        self.store, self.meta, self.lock, self.done = store, meta, lock, done
        self.problems = []  # what teardown could not do; reported only if something is left

    @classmethod
    @translated()
    def start(cls, request):
        """Check `request` (a SweepRequest), then lock the run and create its folder."""
        orchestrator, plan, run_id = check(request)
        facts = orchestrator.prepare(plan, request.image)
        meta = start_meta(run_id, plan, orchestrator.name, request, facts)
        lock = RunLock(run_id).acquire()
        try:
            store = RunStore.create(run_id, request.data_dir, meta)
        except BaseException:
            lock.release()
            raise
        return cls(orchestrator, plan, run_id, store, meta, lock)

    @classmethod
    @translated()
    def resume(cls, run_id, data_dir=None):
        """Carry on a stopped run: same plan, its leftovers removed, finished points skipped.

        A point whose stored row is an error is measured again; the new row supersedes it in the
        table and the raw output of both is kept."""
        store = RunStore.open(run_id, data_dir)
        meta = store.read_meta()
        request = _stored_request(store, meta)
        orchestrator, plan, _ = check(request, resume=True)
        orchestrator.prepare(plan, request.image)
        lock = RunLock(run_id).acquire()
        try:
            with interrupts.deferred():  # what a killed run left goes, even if Ctrl-C comes now
                orchestrator.remove(run_id)
            store.discard_partial_writes()
            done = finished_keys(store.points())
            meta.setdefault("resumed_at", []).append(provenance.utc_now())
            store.write_meta(meta)
        except BaseException:
            lock.release()
            raise
        return cls(orchestrator, plan, run_id, store, meta, lock, done)

    @translated()
    def measure(self, progress=None):
        """Measure every point not yet done; return the run's points table.

        `progress`, if given, is called as progress(points_done_now, description) as points are
        stored, and once with the points a resumed run already had."""
        try:
            if progress and self.done:
                progress(len(self.done), "already measured")
            self.orchestrator.measure(self, progress)
        except BaseException as exc:
            self._end(exc)
            raise
        return self._end(None)

    def expected_points(self):
        return self.orchestrator.expected_points(self.plan)

    def _end(self, exc):
        """Close the table, remove every object of the run, let the lock go; interrupts wait.

        With `exc` on its way out, problems become notes on it; without, the first one is raised."""
        problems, points = [], None
        with interrupts.deferred():
            left = self.orchestrator.remove(self.run_id, settle=exc is not None)
            if left:  # teardown's errors matter only if something is still there
                problems += self.problems + left
            keep = bool(self.meta.get("resumed_at") or (left and "resume" in self.orchestrator.features))
            try:
                points = self.store.close(self.meta, keep_empty=keep)
            except StoreError as error:
                problems.append(str(error))
            self.lock.release()
        reported(exc, problems)
        return points


def reported(exc, problems):
    """What a run's end could not do: notes on `exc` on its way out, else the first one raised
    with the rest as its notes (among them, what to clean: never dropped)."""
    if exc is not None:
        for problem in problems:
            exc.add_note(problem)
    elif problems:
        error = TargetError(problems[0])
        for problem in problems[1:]:
            error.add_note(problem)
        raise error


def _stored_request(store, meta):
    """The request a stored run was started with (its grid, orchestrator and probe image)."""
    if "request" not in meta:
        raise StoreError(f"{store.path}/run.json has no request to resume from: start a new run")
    return SweepRequest.of(**meta["request"], run_id=meta["run_id"],
                           orchestrator=meta.get("orchestrator", "docker"),
                           image=meta.get("probe_image_requested"))


def _storage(plan, orchestrator, docker):
    """provenance.storage_facts where the targets are on this machine (the docker backend)."""
    return provenance.storage_facts(plan.targets, docker) if orchestrator == "docker" else None


def finished_keys(points):
    """Keys of the points measured without error (a resumed run measures the others again)."""
    good = with_key_defaults(points[points["error"].fillna(-1) == 0])
    return frozenset(tuple(k) for k in good[POINT_KEY].itertuples(index=False))


def start_meta(run_id, plan, orchestrator, request, facts):
    """run.json at the start of a run: provenance, targets, grid, request, and the backend's `facts`."""
    facts = dict(facts)
    return {
        "run_id": run_id, "started_at": provenance.utc_now(), "host": provenance.host_facts(),
        "docker_engine_version": facts.pop("docker_engine_version", None),
        "probe_image": facts.pop("probe_image", None), "fio_version": probe.fio_version_text(),
        "targets": [{"name": t.name, "kind": t.kind, "options": t.describe()} for t in plan.targets],
        "grid": {"bs_bytes": plan.bs, "blocks": plan.blocks, "rw": plan.rw, "direct": plan.direct,
                 "iodepth": plan.iodepth, "repeat": plan.repeat, "memory_bytes": plan.memory_bytes,
                 "batch": plan.batch, "reader": plan.reader, "pack": plan.pack, "fresh_rounds": plan.fresh_rounds,
                 "prefix": plan.prefix},
        "question": plan.question.as_dict() if plan.question else None,
        "points_planned": plan.total_points(), "orchestrator": orchestrator,
        "storage": _storage(plan, orchestrator, facts.pop("docker_storage", None)),
        "request": request.grid(), "probe_image_requested": request.image, **facts}
