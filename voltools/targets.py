"""Targets: the storage under test. Parse `kind[:key=value,...]`, set it up, tear it down."""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TargetError, UsageError
from .naming import check_name, labels, object_name
from .units import parse_size

# kind -> {option: default}; None means required, "" means optional with no default.
KINDS = {
    "local": {},
    "tmpfs": {"size": "512m"},
    "loop": {"fs": "ext4", "size": "1g"},
    "bind": {"path": None},
    "layer": {},
    "host": {"path": ""},
}
FILESYSTEMS = ("ext4", "xfs")
SIZED = ("tmpfs", "loop")


@dataclass(frozen=True)
class TargetSpec:
    """What to measure: a kind, its options, and the name its rows carry."""

    kind: str
    options: tuple = ()
    name: str = ""

    def option(self, key):
        return dict(self.options).get(key, KINDS[self.kind].get(key))

    @property
    def size_bytes(self):
        """Nominal size of a sized target (tmpfs, loop), else None."""
        return parse_size(self.option("size"), f"{self.kind} size") if self.kind in SIZED else None

    @property
    def in_docker(self):
        return self.kind != "host"

    def describe(self):
        """The options as a JSON string, for the points table and run.json."""
        return json.dumps(dict(self.options, **{k: v for k, v in KINDS[self.kind].items()
                                                if v and k not in dict(self.options)}), sort_keys=True)


def parse_target(text):
    """Parse 'tmpfs:size=256m' into a TargetSpec, checking kind, keys and values."""
    kind, _, rest = str(text).partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise UsageError(f"target {text!r}: unknown kind {kind!r}; accepted: {', '.join(KINDS)}")
    options = _parse_options(text, kind, rest)
    name = options.pop("name", None) or _default_name(kind, options)
    spec = TargetSpec(kind, tuple(sorted(options.items())), check_name(name, "target name"))
    _check_values(text, spec)
    return spec


def parse_targets(texts):
    """Parse several target specs; two targets may not share a name."""
    specs = [parse_target(t) for t in texts]
    names = [s.name for s in specs]
    if not specs:
        raise UsageError("no target given: use --target KIND[:key=value], kinds: " + ", ".join(KINDS))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"two targets are named {dupes[0]!r}: add name=... to one, e.g. tmpfs:size=1g,name=tmpfs-1g")
    return specs


def _parse_options(text, kind, rest):
    options = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        allowed = sorted(set(KINDS[kind]) | {"name"})
        if not eq or key not in allowed:
            raise UsageError(f"target {text!r}: option {item!r} is not key=value with a key in {allowed}")
        options[key] = value
    missing = [k for k, v in KINDS[kind].items() if v is None and k not in options]
    if missing:
        raise UsageError(f"target {text!r}: {kind} needs {missing[0]}=..., e.g. bind:path=/srv/data")
    return options


def _default_name(kind, options):
    return f"loop-{options.get('fs', 'ext4')}" if kind == "loop" else kind


def _check_values(text, spec):
    if spec.kind in SIZED:
        spec.size_bytes  # raises UsageError on a bad size
    if spec.kind == "loop" and spec.option("fs") not in FILESYSTEMS:
        raise UsageError(f"target {text!r}: fs must be one of {', '.join(FILESYSTEMS)}")
    path = spec.option("path")
    if path:
        if not os.path.isabs(path) or ".." in Path(path).parts:
            raise UsageError(f"target {text!r}: path must be absolute with no '..', e.g. /srv/data")
        if not os.path.isdir(path):
            raise UsageError(f"target {text!r}: path {path} is not an existing directory")


@dataclass
class PreparedTarget:
    """A target set up for one run: the Docker mount it needs (if any) and how to undo it."""

    spec: TargetSpec
    run_id: str
    volume: object = None
    device: str = ""
    host_root: str = ""
    undo: list = field(default_factory=list)

    def mounts(self, read_only):
        """Docker mounts for a container using this target, at /data."""
        from docker.types import Mount

        from .config import DATA_MOUNT
        if self.volume is not None:
            return [Mount(DATA_MOUNT, self.volume.name, type="volume", read_only=read_only)]
        if self.spec.kind == "bind":
            return [Mount(DATA_MOUNT, self.spec.option("path"), type="bind", read_only=read_only)]
        return []

    def teardown(self):
        """Undo every set-up step, last first; report the first failure after trying all."""
        errors = []
        while self.undo:
            step = self.undo.pop()
            try:
                step()
            except Exception as exc:  # keep undoing; a leak is worse than a late error
                errors.append(exc)
        if errors:
            raise TargetError(f"tearing down target {self.spec.name} failed: {errors[0]}")


def prepare(client, spec, run_id):
    """Create what `spec` needs (volume, loop device); return a PreparedTarget."""
    prepared = PreparedTarget(spec, run_id)
    try:
        if spec.kind == "loop":
            _prepare_loop(prepared)
        if spec.kind in ("local", "tmpfs", "loop"):
            _create_volume(client, prepared)
        if spec.kind == "host":
            _prepare_host(prepared)
        if spec.kind == "bind":
            _remember_host_path(prepared, Path(spec.option("path")) / f"voltools-{run_id}")
    except Exception:
        prepared.teardown()
        raise
    return prepared


def _prepare_loop(prepared):
    from . import loop
    name = object_name(prepared.run_id, prepared.spec.name)
    prepared.device = loop.attach(name, prepared.spec.size_bytes, prepared.spec.option("fs"))
    prepared.undo.append(lambda: loop.detach(prepared.device))


def _create_volume(client, prepared):
    spec = prepared.spec
    opts = {}
    if spec.kind == "tmpfs":
        opts = {"type": "tmpfs", "device": "tmpfs", "o": f"size={spec.size_bytes}"}
    elif spec.kind == "loop":
        opts = {"type": spec.option("fs"), "device": prepared.device}
    prepared.volume = client.volumes.create(
        name=object_name(prepared.run_id, spec.name), driver="local", driver_opts=opts,
        labels=labels(prepared.run_id, f"volume-{spec.name}"))
    prepared.undo.append(lambda: prepared.volume.remove(force=True))


def _prepare_host(prepared):
    import shutil

    from .config import host_dir
    root = Path(prepared.spec.option("path") or host_dir()) / f"voltools-{prepared.run_id}-{prepared.spec.name}"
    _remember_host_path(prepared, root)
    root.mkdir(parents=True, exist_ok=False)
    prepared.host_root = str(root)
    prepared.undo.append(lambda: shutil.rmtree(root, ignore_errors=True))


def _remember_host_path(prepared, path):
    """Note a folder voltools makes on the host, so `voltools clean` finds it after a kill."""
    from .config import marker_dir
    marker = marker_dir() / f"voltools-{prepared.run_id}-{prepared.spec.name}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(str(path))
    prepared.undo.append(lambda: marker.unlink(missing_ok=True))
