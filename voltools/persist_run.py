"""`voltools persist`: one run checking, per target, that data written through it outlives the
containers that wrote it (`measuring/persist.py`), stored as the run folder's persist.parquet.

The life of a run is a sweep's (`run.py`): every check of the input first (nothing made), then the
run lock and the run folder with run.json (the same provenance: host, engine, probe image, fio),
then the checks; at the end, whatever way it ends, with interrupts held back, every object labeled
with the run id is removed, what was checked is stored and the lock let go.
"""
import shutil
from dataclasses import dataclass

from . import interrupts, provenance
from .errors import UsageError
from .formatting import format_bytes
from .measuring import kinds, probe
from .measuring import persist as checks
from .measuring.engine import connect, engine_version, translated
from .measuring.migrate import COPY_BS, move_times
from .measuring.targets import check_new_run, parse_target, parse_targets, prepare
from .measuring.verify import BS
from .naming import MAX_ID, check_name, is_name, new_run_id
from .orchestrators.docker import Teardown, remove_leftovers
from .run import reported
from .runlock import RunLock
from .store import MIGRATION, PERSIST, RunStore
from .units import parse_count, parse_size, parse_size_list

DEFAULT_SIZE = "32m"
DEFAULT_MOVE_SIZES = "64m,128m,256m"  # the per-byte time must outweigh a copy's fixed cost (~0.1 s) and its scatter
LOOP_SHARE = 2  # a loop image holds at least twice what persist writes: its filesystem keeps some
SCHEMA = {"run_id": "string", "seq": "Int64", "target": "string", "target_kind": "string", "check": "string",
          "passed": "bool", "blocks_ok": "Int64", "blocks_bad": "Int64", "seconds": "float64",
          "reason": "string", "detail": "string", "size_bytes": "Int64", "bs_bytes": "Int64",
          "raw_files": "string", "finished_at": "string"}


@dataclass(frozen=True)
class PersistRequest:
    """What `voltools persist` is asked, as given: the one home of its defaults."""

    targets: tuple = ()
    size: str = DEFAULT_SIZE
    engine_restart: bool = False
    run_id: str = None
    data_dir: str = None
    image: str = None
    migrate_to: str = None
    migrate_sizes: str = DEFAULT_MOVE_SIZES
    migrate_repeat: int = 3


@dataclass(frozen=True)
class PersistPlan:
    """A checked request: the targets, the data set's size, the checks in order, the run id, and
    the moves (destination, sizes, repeats; no destination: none)."""

    targets: tuple
    size_bytes: int
    checks: tuple
    run_id: str
    destination: object = None
    move_sizes: tuple = ()
    move_repeat: int = 0


def check(request):
    """Every check of the input, nothing made: a PersistPlan, or UsageError (TargetError for a
    host that cannot make loop targets)."""
    specs = parse_targets(request.targets)
    size = _data_set_size(request.size)
    destination, moves = _moves(request, specs)
    for spec in specs:
        _check_target(spec, size + size // 2 + max(moves, default=0))
    run_id = check_name(new_run_id() if request.run_id is None else request.run_id)
    names = tuple(c for c in checks.CHECKS if request.engine_restart or c != "engine_restarted")
    for spec in specs:
        _check_container_names(spec, names)
    made = [*specs, *([destination] if destination else [])]
    check_new_run(made, run_id)
    for kind, found in kinds.grouped(made):  # what this host must have (loop: root, mkfs, losetup)
        kind.preflight(found, "fio")
    if request.engine_restart:
        from .measuring.restart import check_restartable
        check_restartable()
    return PersistPlan(tuple(specs), size, tuple(names), run_id, destination, moves,
                       parse_count(request.migrate_repeat, "--migrate-repeat") if destination else 0)


def _moves(request, specs):
    """(destination spec, sizes to move) of --migrate-to, or (None, ())."""
    if not request.migrate_to:
        return None, ()
    destination = parse_target(request.migrate_to)
    sizes = tuple(sorted(set(parse_size_list(request.migrate_sizes, "--migrate-sizes"))))
    if any(n % BS for n in sizes):
        raise UsageError(f"--migrate-sizes {request.migrate_sizes!r}: each size must be a multiple of "
                         f"{format_bytes(BS)} (the copy is verified in those blocks), e.g. 64m,128m,256m")
    unmovable = [s for s in (destination, *specs) if not _movable(s)]
    if destination in unmovable or not any(_movable(s) for s in specs):
        raise UsageError(f"--migrate-to: target {unmovable[0].name} is {unmovable[0].kind}, which no second "
                         "container can mount: move between local, tmpfs, loop and bind targets")
    if destination.name in {s.name for s in specs}:
        raise UsageError(f"--migrate-to {request.migrate_to!r} has the name of a --target: add name=..., "
                         f"e.g. {request.migrate_to}{',' if ':' in request.migrate_to else ':'}name=dest")
    _check_target(destination, max(sizes), "--migrate-sizes")
    return destination, sizes


def _data_set_size(text):
    size = parse_size(text, "--size")
    if size % (2 * BS):
        raise UsageError(f"--size {text!r} must be a multiple of {format_bytes(2 * BS)} (the second file, half "
                         f"the data set, is written in {format_bytes(BS)} verify blocks too), e.g. 32m")
    return size


def _check_container_names(spec, names):
    """UsageError for a target name too long to name its containers (<target>-<role>)."""
    longest = max((r for c in names for r in checks.container_roles(c)), key=len)
    if not is_name(f"{spec.name}-{longest}"):
        raise UsageError(f"target name {spec.name!r} is too long for persist, which names its containers "
                         f"<target>-{longest}: give a name= of at most {MAX_ID - len(longest) - 1} characters")


def _movable(spec):
    """A second container can mount it (not layer, whose data is its holder's; not host)."""
    return spec.has_reader


def _check_target(spec, need, option="--size"):
    """UsageError for a target persist cannot check, or one too small for the `need` bytes it writes."""
    if not spec.in_docker:
        raise UsageError(f"target {spec.name}: persist checks containers, and a host target has none: use local, "
                         "tmpfs, loop, bind or layer")
    room = spec.size_bytes // (LOOP_SHARE if spec.kind == "loop" else 1) if spec.size_bytes else None
    if room is not None and need > room:
        what = f"half its size= ({format_bytes(room)}: its filesystem keeps some)" if spec.kind == "loop" else \
            f"its size= ({format_bytes(room)})"
        raise UsageError(f"target {spec.name}: persist writes up to {format_bytes(need)} on it (the data set, a "
                         f"second file half its size, the largest move), more than {what}: lower {option} or raise "
                         "its size=")


class PersistRun:
    """A checked persist run: its plan, engine client, probe image, folder, run.json and lock."""

    def __init__(self, plan, client, image, store, meta, lock):
        self.plan, self.client, self.image = plan, client, image
        self.store, self.meta, self.lock = store, meta, lock
        self.outcomes, self.moves, self.problems = [], [], []

    @classmethod
    @translated()
    def start(cls, request):
        """Check `request`, connect, make sure of the probe image, lock the run, create its folder."""
        plan = check(request)
        client = connect()
        image = probe.ensure_image(client, request.image)
        meta = start_meta(plan, request, engine_version(client), image)
        lock = RunLock(plan.run_id).acquire()
        try:
            store = RunStore.create(plan.run_id, request.data_dir, meta)
        except BaseException:
            lock.release()
            raise
        return cls(plan, client, image, store, meta, lock)

    @translated()
    def measure(self, progress=None):
        """Run every check on every target; return the outcomes table. `progress(outcome)`, if
        given, is called as each check ends."""
        try:
            self._check_all(progress)
        except BaseException as exc:
            self._end(exc)
            raise
        return self._end(None)

    def _check_all(self, progress):
        with Teardown(self.problems) as undo:
            benches = [self._set_up(spec, undo) for spec in self.plan.targets]
            for bench in benches:
                for name in (c for c in self.plan.checks if c in checks.STEPS):
                    self._keep([checks.run_check(bench, name)], progress)
            if "engine_restarted" in self.plan.checks:
                self._keep(checks.engine_restarted(benches, self._restart), progress)
            if self.plan.destination is not None:
                destination = self._set_up(self.plan.destination, undo)
                for bench in (b for b in benches if _movable(b.spec)):
                    self.moves += move_times(bench, destination, self.plan.move_sizes, self.plan.move_repeat)

    def _set_up(self, spec, undo):
        prepared = prepare(self.client, spec, self.plan.run_id)
        undo.push(prepared.teardown)
        bench = checks.Bench(self.client, self.image, prepared, self.plan.size_bytes)
        undo.push(bench.remove_all)
        return bench

    def _restart(self):
        from .measuring.restart import restart_engine
        self.client = restart_engine()
        return self.client

    def _keep(self, outcomes, progress):
        for outcome in outcomes:
            seq = len(self.outcomes)
            raws = [self.store.write_raw(f"persist-{seq:04d}-{i}", text) for i, text in enumerate(outcome.raw)]
            self.outcomes.append((seq, outcome, ",".join(raws), provenance.utc_now()))
            if progress:
                progress(outcome)

    def _end(self, exc):
        """Remove every object of the run, store the outcomes, let the lock go; interrupts wait."""
        problems, table = [], None
        with interrupts.deferred():
            left = remove_leftovers(self.client, self.plan.run_id, settle=exc is not None)
            problems += (self.problems + left) if left else []
            table = self._store()
            self.lock.release()
        reported(exc, problems)
        return table

    def _store(self):
        """persist.parquet and the end in run.json; a run that checked nothing leaves no folder."""
        table = outcome_table(self.outcomes, self.plan)
        if not len(table):
            shutil.rmtree(self.store.path, ignore_errors=True)
            return table
        self.store.write_table(PERSIST, table)
        if self.moves:
            self.store.write_table(MIGRATION, move_table(self.moves, self.plan))
        self.meta.update(finished_at=provenance.utc_now(), checks_stored=len(table), moves_stored=len(self.moves))
        self.store.write_meta(self.meta)
        return table


def start_meta(plan, request, engine, image):
    """run.json of a persist run: a sweep's provenance, the targets, and what persist was asked."""
    return {"run_id": plan.run_id, "command": "persist", "started_at": provenance.utc_now(),
            "host": provenance.host_facts(), "docker_engine_version": engine, "probe_image": image,
            "fio_version": probe.fio_version_text(), "orchestrator": "docker",
            "targets": [{"name": t.name, "kind": t.kind, "options": t.describe()} for t in plan.targets],
            "persist": {"size_bytes": plan.size_bytes, "bs_bytes": BS, "checks": list(plan.checks),
                        "verify": "crc32c"},
            "migration": {"destination": {"name": plan.destination.name, "kind": plan.destination.kind,
                                          "options": plan.destination.describe()},
                          "sizes_bytes": list(plan.move_sizes), "repeat": plan.move_repeat,
                          "copy_bs_bytes": COPY_BS} if plan.destination else None,
            "request": {"targets": list(request.targets), "size": request.size,
                        "engine_restart": request.engine_restart, "migrate_to": request.migrate_to,
                        "migrate_sizes": request.migrate_sizes, "migrate_repeat": request.migrate_repeat},
            "probe_image_requested": request.image}


def outcome_table(kept, plan):
    """The stored outcomes as a typed frame, one row per (target, check)."""
    import pandas as pd
    rows = [{"run_id": plan.run_id, "seq": seq, "target": o.target, "target_kind": o.kind, "check": o.check,
             "passed": o.passed, "blocks_ok": o.blocks_ok, "blocks_bad": o.blocks_bad, "seconds": o.seconds,
             "reason": o.reason, "detail": o.detail, "size_bytes": plan.size_bytes, "bs_bytes": BS,
             "raw_files": raws, "finished_at": when} for seq, o, raws, when in kept]
    return pd.DataFrame(rows, columns=list(SCHEMA)).astype(SCHEMA)


def move_table(moves, plan):
    """The timed copies as a typed frame, one row per copy."""
    from .analysis.migration import moves_frame
    table = moves_frame(moves)
    table.insert(0, "run_id", plan.run_id)
    table["copy_bs_bytes"] = COPY_BS
    return table.astype({"run_id": "string", "source": "string", "destination": "string", "size_bytes": "Int64",
                         "repeat": "Int64", "seconds": "float64", "copy_bs_bytes": "Int64"})
