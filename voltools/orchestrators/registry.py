"""Orchestrator backends: where a sweep's reads run (this Docker Engine, a Swarm, a Kubernetes Job).

A backend measures; it does not own the run. `run.Run` owns the run's id, lock, folder, run.json
and its end, and calls a backend in this order: `plan`, `check`, `connect` (nothing made so far;
a dry run stops here), `prepare`, `measure`, and, whatever way the run ends, `remove`.

Backends are registered by name, the way papermill registers its engines: `register(name, cls)`;
`--orchestrator NAME` picks one. A built-in backend's module registers it when first imported.
"""
import importlib

from ..errors import UsageError

BUILTIN = {"docker": "voltools.orchestrators.docker", "swarm": "voltools.orchestrators.swarm",
           "k8s": "voltools.orchestrators.k8s"}
_REGISTRY = {}
# keyword -> command-line option, where they differ by more than '_' and '-'
_FLAGS = {"targets": "--target", "max_point": "--max-point-size", "constraints": "--constraint",
          "nodes": "--node"}


def flag(keyword):
    """The command-line option of a keyword argument: 'max_point' -> '--max-point-size'."""
    return _FLAGS.get(keyword, "--" + keyword.replace("_", "-"))


class Orchestrator:
    """The interface of a backend; a subclass says what it can honour and overrides the steps."""

    name = ""
    features = frozenset()  # of "resume", "question", "dry_run", "python_reader", "pack", "fresh_rounds"
    options = {}  # its own options (keyword arguments, CLI --options) and their defaults

    def __init__(self, **options):
        for key in options:
            if key not in self.options:
                raise UsageError(f"{flag(key)} is not an option of --orchestrator {self.name}")
        self.settings = {**self.options, **options}

    def plan(self, request):
        """The validated SweepPlan this backend measures for `request` (packed calls where it can)."""
        plan = request.plan()
        plan.pack = plan.pack and "pack" in self.features
        return plan

    def check(self, plan, run_id):
        """Refuse (UsageError) what this backend cannot do with `plan` as run `run_id`; make nothing."""

    def connect(self, plan):
        """Reach the engine or cluster the plan needs (EngineError if none answers); make nothing."""

    def prepare(self, plan, image):
        """Get what the run needs before it starts (the probe image); return facts for run.json."""
        return {}

    def measure(self, run, progress=None):
        """Make the run's objects, measure `run.plan`'s points not in `run.done`, store them in `run.store`."""
        raise NotImplementedError

    def remove(self, run_id, settle=False):
        """Remove every object of the run (by label); return what could not be, as sentences.

        `settle` (after an interrupt): look again a moment later before counting the run clean."""
        return []

    def expected_points(self, plan):
        """How many rows the run should store (None if not known in advance)."""
        return plan.total_points()


def register(name, cls):
    """Make `cls` (an Orchestrator subclass) the backend of `--orchestrator name`."""
    _REGISTRY[name] = cls
    return cls


def names():
    """Every backend's name: the built-in ones, then those registered since."""
    return list(dict.fromkeys([*BUILTIN, *_REGISTRY]))


def backend(name, options=()):
    """A new backend of `name` with its `options` ((name, value) pairs); UsageError if unknown."""
    if name not in _REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        raise UsageError(f"--orchestrator {name!r} is not accepted: use {', '.join(names())}")
    return _REGISTRY[name](**dict(options))


def refuse_unsupported(orchestrator, request, resume=False, dry_run=False):
    """UsageError naming the first option of `request` the backend cannot honour; never ignore one."""
    asked = {"resume": ("--resume", resume), "dry_run": ("--dry-run", dry_run),
             "question": ("--question" if request.question else "--max-point-size",
                          bool(request.question or request.max_point)),
             "python_reader": (f"--reader {request.reader}", request.reader != "fio"),
             "fresh_rounds": ("--fresh-rounds", bool(request.fresh_rounds))}
    for feature, (option, given) in asked.items():
        if given and feature not in orchestrator.features:
            raise UsageError(f"{option} is not supported by --orchestrator {orchestrator.name}")
