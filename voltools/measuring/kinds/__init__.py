"""Target kinds: what `--target KIND[:key=value,...]` can name, one module and one class each.

A kind (a `base.TargetKind` subclass) holds everything about its storage: options and their
checks, whether it is sized, lives in Docker, has a separate reader, works in a host folder, what
this host must have, how it is set up and torn down, and which orchestrators can run it. The rest
of voltools asks the kind object; it never compares kind names.

Kinds are registered by name the way orchestrators are (voltools.orchestrators.registry):
`register(cls)`; a built-in kind's module registers it when first imported. A new kind is one
module with its class and `register(...)` at its end, plus (for a built-in one) its line in BUILTIN.
"""
import importlib

from ...errors import UsageError

BUILTIN = {name: f"voltools.measuring.kinds.{name}" for name in ("local", "tmpfs", "loop", "bind", "layer", "host")}
_REGISTRY = {}


def register(cls):
    """Make `cls` (a TargetKind subclass) the kind `--target cls.name` names; return `cls`."""
    _REGISTRY[cls.name] = cls()
    return cls


def names():
    """Every kind's name: the built-in ones, then those registered since."""
    return list(dict.fromkeys([*BUILTIN, *_REGISTRY]))


def lookup(name, text=None):
    """The kind object of `name`; UsageError naming the target `text` and the accepted kinds."""
    if name not in _REGISTRY and name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        shown = name if text is None else text
        raise UsageError(f"target {shown!r}: unknown kind {name!r}; accepted: {', '.join(names())}")
    return _REGISTRY[name]


def every():
    """Every kind object, in the order of `names`."""
    return [lookup(name) for name in names()]


def grouped(specs):
    """[(kind object, [specs of that kind])], kinds in the order they first appear in `specs`."""
    groups = {}
    for spec in specs:
        groups.setdefault(spec.kind, []).append(spec)
    return [(lookup(kind), found) for kind, found in groups.items()]


def refuse_unsupported(specs, orchestrator):
    """UsageError naming the first target whose kind `--orchestrator orchestrator` cannot run."""
    bad = [s.name for s in specs if orchestrator not in s.target_kind.orchestrators]
    if bad:
        accepted = [k.name for k in every() if orchestrator in k.orchestrators]
        raise UsageError(f"target {bad[0]!r} cannot run on {orchestrator}: accepted kinds are {', '.join(accepted)}")


def help_text():
    """The --target help: the syntax, then each kind's usage and one line of help."""
    return ("KIND[:key=value,...], a name=NAME option naming its rows; kinds: "
            + "; ".join(f"{k.usage()} {k.help}" for k in every()))
