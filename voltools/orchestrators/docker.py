"""The Docker backend: every target on this engine, read in rounds through long-lived containers.

For each target a holder container lays the data out and a locked-down reader runs every fio call
through `docker exec`. Every target is set up first (each undo step pushed as it is made), then
each repeat is a round that reads every target once, in a seeded shuffled order; with
`fresh_rounds` each target is set up anew for its part of each round and removed after it. Removal is
by label (`voltools clean`'s rules), looked at again after an interrupt. `run.Run` owns the run.
"""
import random
import time

from .. import interrupts, provenance
from ..errors import TargetError, first_line
from ..measuring import jobs, kinds, probe, replay
from ..measuring.cleanup import clean, leftover_names, leftovers
from ..measuring.engine import connect, engine_version
from ..measuring.layout import lay_out, remove_workdir
from ..measuring.rows import point_rows, replay_rows
from ..measuring.sessions import open_session
from ..measuring.plan import Call
from ..measuring.targets import check_new_run, prepare
from .registry import Orchestrator, register

SAFETY_PASSES = 3
SETTLE_S = 0.4


class DockerOrchestrator(Orchestrator):
    """Containers on this Docker Engine (and `host` targets on the host itself)."""

    name = "docker"
    features = frozenset({"resume", "question", "dry_run", "python_reader", "pack", "fresh_rounds"})

    def __init__(self, **options):
        super().__init__(**options)
        self.client, self.image = None, None

    def check(self, plan, run_id):
        kinds.refuse_unsupported(plan.targets, self.name)
        check_new_run(plan.targets, run_id)

    def connect(self, plan):
        """Refuse what this host cannot do; connect if any target needs Docker."""
        preflight(plan)
        if any(t.in_docker for t in plan.targets):
            self.client = connect()

    def prepare(self, plan, image):
        if self.client is None:
            return {}
        self.image = probe.ensure_image(self.client, image)
        return {"docker_engine_version": engine_version(self.client), "probe_image": self.image,
                "docker_storage": provenance.docker_storage(self.client)}

    def measure(self, run, progress=None):
        """Set every target up, then measure in rounds: each round reads every target once, in a
        seeded shuffled order, so drift over time shows as a round effect, not a target difference."""
        seq = run.store.next_seq()
        if run.plan.fresh_rounds:
            return self._measure_fresh(run, seq, progress)
        with Teardown(run.problems) as undo:
            ready = [self._set_up(run, spec, undo) for spec in run.plan.targets if calls(run, spec.name)]
            for round_ in range(run.plan.rounds()):
                for target in round_order(ready, run.plan.seed, round_):
                    for call in calls(run, target.spec.name, round_):
                        seq = _read(run, target, call, seq, progress)

    def _measure_fresh(self, run, seq, progress):
        """--fresh-rounds: the rounds as above, each target set up anew for its part of each round
        and removed after it, so that where its files lie is drawn again every round."""
        for round_ in range(run.plan.rounds()):
            for spec in round_order(run.plan.targets, run.plan.seed, round_):
                todo = calls(run, spec.name, round_)
                if not todo:
                    continue
                with Teardown(run.problems) as undo:
                    target = self._set_up(run, spec, undo)
                    for call in todo:
                        seq = _read(run, target, call, seq, progress)
                _check_removed(self.client, run, spec, round_)

    def remove(self, run_id, settle=False):
        return remove_leftovers(self.client, run_id, settle)

    def _set_up(self, run, spec, undo):
        """Prepare the target, start its session, lay its files out; each undo step pushed as it is made."""
        prepared = prepare(self.client, spec, run.run_id)
        undo.push(prepared.teardown)
        session = open_session(self.client, self.image, prepared, run.plan.memory_bytes)
        undo.push(session.close)
        undo.push(lambda: remove_workdir(session, spec, run.run_id))
        layout = lay_out(session, spec, run.plan.sizes(spec.name), run.run_id, run.plan.reader,
                         run.plan.direct_layout(spec.name))
        return ReadyTarget(spec, session, layout)


register(DockerOrchestrator.name, DockerOrchestrator)


def calls(run, target, round_=None):
    """The target's fio calls (of one round, if given), less the points already measured."""
    found = [Call([p for p in call.points if p.key() not in run.done and round_ in (None, p.repeat)],
                  call.replayed, call.prefixed) for call in run.plan.calls(target)]
    return [call for call in found if call.points]


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


def preflight(plan):
    """Refuse, before anything is made, what this host cannot do: each kind checks its targets."""
    for kind, specs in kinds.grouped(plan.targets):
        kind.preflight(specs, plan.reader)


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


def _check_removed(client, run, spec, round_):
    """TargetError when a round's teardown left anything of the run: the next round must not
    set up over it (the engine hands back a volume of the same name as it is)."""
    left = leftover_names(client, run.run_id)
    if left:
        why = f": {run.problems[-1]}" if run.problems else ""
        raise TargetError(f"target {spec.name}: round {round_ + 1} left {len(left)} object(s) of run {run.run_id} "
                          f"behind ({', '.join(left)}){why}; run 'voltools clean --run-id {run.run_id}'")


def round_order(targets, seed, round_):
    """The targets in the order one round reads them: shuffled, the same for the same seed."""
    order = list(targets)
    random.Random(f"{seed}-round-{round_}").shuffle(order)
    return order


def _read(run, target, call, seq, progress):
    """One fio call: run it, keep its output, store its rows; return the next seq."""
    plan, spec, points, workdir = run.plan, target.spec, call.points, target.layout.workdir
    if call.replayed:
        result = target.session.run(replay.argv(workdir, points, plan.seed, call.prefixed))
    else:
        result = target.session.run(jobs.read_argv(workdir, points, plan.reader, plan.fio_opts))
    raw = run.store.write_raw(f"{spec.name}-{seq:05d}", result.stdout or result.stderr)
    found = (replay_rows(points, result, raw, spec, target.layout, plan, run.run_id, seq, call.prefixed)
             if call.replayed else point_rows(points, result, raw, spec, target.layout, plan, run.run_id, seq))
    run.store.append_points(found)
    if progress:
        patterns = "/".join(rw for rw in plan.rw if any(p.rw == rw for p in points))
        progress(len(points), f"{spec.name} {patterns} round {points[0].repeat + 1}")
    return seq + len(points)
