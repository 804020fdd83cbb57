"""Targets: the storage under test. Parse `kind[:key=value,...]`, set it up, tear it down.

What a kind is and does is its kind object's (voltools.measuring.kinds); this module holds what
every kind shares: the spec, parsing, the host-folder and volume mechanics, and teardown.

A bind or host target works in a folder it makes itself, `<path>/voltools_<run>_<target>`: made
with one exclusive mkdir (anything of that name, a file, folder or symlink, is refused and left
alone), never followed through a symlink, holding only the data files voltools writes. Teardown
removes those files and the folder and nothing else; what else is found there is left, with its
marker, and reported. A marker in config.marker_dir() names the folder from before it is made
until after it is gone, so `voltools clean` finds it after a kill.
"""
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .. import interrupts
from ..config import NOBODY_UID, marker_dir, state_dir, system_folder
from ..errors import TargetError, UsageError, first_line
from ..naming import check_name, is_runs, labels, object_name
from ..units import parse_size
from . import jobs, kinds
from .exclusive import created

FOLDER_MODE = 0o755  # the reader (uid 65534) enters the working folder


@dataclass(frozen=True)
class TargetSpec:
    """What to measure: a kind, its options, and the name its rows carry."""

    kind: str
    options: tuple = ()
    name: str = ""

    @property
    def target_kind(self):
        """The kind object (voltools.measuring.kinds) that says what this target is and does."""
        return kinds.lookup(self.kind)

    def option(self, key):
        return dict(self.options).get(key, self.target_kind.options.get(key))

    @property
    def size_bytes(self):
        """Nominal size of a sized target (tmpfs, loop), else None."""
        return parse_size(self.option("size"), f"{self.kind} size") if self.target_kind.sized else None

    @property
    def in_docker(self):
        return self.target_kind.in_docker

    @property
    def has_reader(self):
        return self.target_kind.has_reader

    def describe(self):
        """The options as a JSON string, for the points table and run.json."""
        return json.dumps(dict(self.options, **{k: v for k, v in self.target_kind.options.items()
                                                if v and k not in dict(self.options)}), sort_keys=True)


def parse_target(text):
    """Parse 'tmpfs:size=256m' into a TargetSpec, checking kind, keys and values."""
    kind, _, rest = str(text).partition(":")
    kind = kinds.lookup(kind.strip(), text)
    options = _parse_options(text, kind, rest)
    name = options.pop("name", None) or kind.default_name(options)
    spec = TargetSpec(kind.name, tuple(sorted(options.items())), check_name(name, "target name"))
    kind.check(spec, text)
    return spec


def parse_targets(texts):
    """Parse several target specs; two targets may not share a name."""
    specs = [parse_target(t) for t in texts]
    names = [s.name for s in specs]
    if not specs:
        raise UsageError("no target given: use --target KIND[:key=value], kinds: " + ", ".join(kinds.names()))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"two targets are named {dupes[0]!r}: add name=... to one, e.g. tmpfs:size=1g,name=tmpfs-1g")
    return specs


def _parse_options(text, kind, rest):
    """{key: value} of a --target's options; UsageError for a key `kind` does not take or lacks."""
    options = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        allowed = sorted(set(kind.options) | {"name"})
        if not eq or key not in allowed:
            raise UsageError(f"target {text!r}: option {item!r} is not key=value with a key in {allowed}")
        options[key] = value
    missing = [k for k, v in kind.options.items() if v is None and k not in options]
    if missing:
        raise UsageError(f"target {text!r}: {kind.name} needs {missing[0]}=..., e.g. {kind.example or kind.usage()}")
    return options


# ---------------------------------------------------------------- host folders: which are allowed


def checked_root(spec, text=None):
    """The resolved folder a bind or host target works below; UsageError if it is not one of the
    user's existing folders (relative, '..', a system folder, voltools' state, not a folder).
    With no path=, the kind's own folder (voltools' state), if it has one."""
    path = spec.option("path")
    if not path and spec.target_kind.default_root() is not None:
        return str(spec.target_kind.default_root())
    where = f"target {text or spec.name!r}: path"
    if "\x00" in path or not _encodable(path):
        raise UsageError(f"{where} {path!r} is not a usable file name: use an absolute folder, e.g. /srv/data")
    if not os.path.isabs(path) or ".." in Path(path).parts:
        raise UsageError(f"{where} must be absolute with no '..', e.g. /srv/data")
    real = os.path.realpath(path)
    system = system_folder(real)
    if system:
        shown = _shown(path) if real == path else f"{_shown(path)} (= {_shown(real)})"
        what = "voltools' state folder" if system == os.path.realpath(state_dir()) else "a system folder"
        raise UsageError(f"{where} {shown} is {'' if real == system else 'below '}{system}, {what}, where "
                         "voltools never writes: use a folder of your own, e.g. /srv/data")
    if not os.path.isdir(real):
        raise UsageError(f"{where} {_shown(path)} is not an existing directory")
    return real


def _shown(path):
    """A path as it can be shown on one line: itself, or its repr if it holds a newline or the like."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _encodable(path):
    try:
        os.fsencode(path)
    except UnicodeError:
        return False
    return True


def check_reader_enters(text, real):
    """UsageError unless uid 65534 (the reader) may enter the bind folder."""
    try:
        info = os.stat(real)
    except OSError as exc:
        raise UsageError(f"target {text!r}: path {_shown(real)} cannot be read: {exc.strerror}") from None
    who = "u" if info.st_uid == NOBODY_UID else "g" if info.st_gid == NOBODY_UID else "o"
    bit = {"u": stat.S_IXUSR, "g": stat.S_IXGRP, "o": stat.S_IXOTH}[who]
    if not info.st_mode & bit:
        raise UsageError(f"target {text!r}: the reader (uid {NOBODY_UID}) cannot enter {_shown(real)} "
                         f"(mode {stat.S_IMODE(info.st_mode):04o}): it needs {who}+x, e.g. chmod {who}+x {_shown(real)}")


# ---------------------------------------------------------------- sizes the host can hold


def memory_total_bytes():
    """MemTotal of /proc/meminfo in bytes, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def free_bytes(path):
    """(nearest existing folder of `path`, bytes free to unprivileged users on its filesystem),
    the bytes None where they cannot be known."""
    folder = Path(path)
    while not os.path.isdir(folder) and folder != folder.parent:
        folder = folder.parent
    try:
        info = os.statvfs(folder)
    except OSError:
        return folder, None
    return folder, info.f_bavail * info.f_frsize


# ---------------------------------------------------------------- what a run will make


def host_workdir(spec, run_id):
    """The host folder a bind or host target of this run works in (None for other kinds)."""
    if not spec.target_kind.host_folder:
        return None
    return os.path.join(checked_root(spec), object_name(run_id, spec.name))


def marker_path(run_id, target):
    """The file naming the host folder of one target of a run, while that folder may exist."""
    return marker_dir() / object_name(run_id, target)


def check_new_run(specs, run_id):
    """Refuse, before anything is made, a run whose working folder, marker or loop image exists."""
    for spec in specs:
        workdir = host_workdir(spec, run_id)
        if workdir and os.path.lexists(workdir):
            raise UsageError(
                f"target {spec.name}: {_shown(workdir)} exists ({_what_is(workdir)}); voltools works only in a "
                "folder it creates itself and leaves this one alone: move it away or choose another --run-id")
        for path in spec.target_kind.made_paths(spec, run_id):
            if os.path.lexists(path):
                raise UsageError(f"target {spec.name}: {_shown(path)} of run {run_id} is left from an earlier try: "
                                 f"run 'voltools clean --run-id {run_id}' first, or choose another --run-id")


def _what_is(path):
    mode = os.lstat(path).st_mode
    return "a symlink" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else "a file"


# ---------------------------------------------------------------- set up and tear down


@dataclass
class PreparedTarget:
    """A target set up for one run: the Docker mount it needs (if any) and how to undo it.

    `host_root` is the resolved folder a bind or host target works below, `workdir` the folder
    voltools made in it."""

    spec: TargetSpec
    run_id: str
    volume: object = None
    device: str = ""
    host_root: str = ""
    workdir: str = ""
    undo: list = field(default_factory=list)

    def mounts(self, read_only):
        """Docker mounts for a container using this target, at /data."""
        return self.spec.target_kind.mounts(self, read_only)

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
            raise TargetError(f"tearing down target {self.spec.name} failed: {first_line(errors[0], None)}")


def prepare(client, spec, run_id):
    """Create what `spec` needs (loop device, volume, working folder); return a PreparedTarget."""
    prepared = PreparedTarget(spec, run_id)
    try:
        spec.target_kind.prepare(client, prepared)
    except BaseException as exc:
        try:
            prepared.teardown()
        except TargetError as error:
            exc.add_note(str(error))
        raise
    return prepared


def volume_labels(run_id, target):
    """The labels of a target's volume: also on every mount of it, so that a volume the engine
    makes anew (a container made after the volume was removed) is the run's too."""
    return labels(run_id, f"volume-{target}")


def refuse_foreign_volume(client, name, run_id, where):
    """TargetError if a volume `name` is there and is not the run's: someone else's, which a mount
    of that name would use as it is (a Swarm task's mount does)."""
    from docker.errors import NotFound
    try:
        refuse_foreign(client.volumes.get(name), run_id, where)
    except NotFound:
        pass


def refuse_foreign(volume, run_id, where):
    """TargetError if `volume` is not the run's (by its labels, as clean tells): left as it is."""
    if not is_runs(volume.attrs.get("Labels"), run_id):
        raise TargetError(f"{where}: a volume named {volume.name} exists that run {run_id} did not make; voltools "
                          "leaves it as it is: remove it yourself, or choose another --run-id")


def create_volume(client, prepared, driver_opts):
    """A volume of the local driver with `driver_opts`, named and labeled for the run.

    The engine answers a create of a name that exists with the volume that is there: one not the
    run's is someone else's, refused and left as it is (never used, never removed)."""
    spec, run_id = prepared.spec, prepared.run_id
    with interrupts.creating():
        volume = client.volumes.create(name=object_name(run_id, spec.name), driver="local",
                                       driver_opts=driver_opts, labels=volume_labels(run_id, spec.name))
        refuse_foreign(volume, run_id, f"target {spec.name}")
        prepared.volume = volume
        prepared.undo.append(lambda: prepared.volume.remove(force=True))


def make_workdir(prepared):
    """Write the marker, then make the working folder with one exclusive mkdir."""
    spec, run_id = prepared.spec, prepared.run_id
    root = checked_root(spec)
    if not spec.option("path"):
        Path(root).mkdir(parents=True, exist_ok=True)  # the kind's own folder, in voltools' state
    workdir = os.path.join(root, object_name(run_id, spec.name))
    marker = _write_marker(run_id, spec.name, workdir)
    try:
        os.mkdir(workdir, 0o700)
    except BaseException as exc:
        marker.unlink(missing_ok=True)
        if isinstance(exc, FileExistsError):
            raise UsageError(f"target {spec.name}: {_shown(workdir)} exists; voltools works only in a folder it "
                             "creates itself and leaves this one alone: move it away or choose another "
                             "--run-id") from None
        if isinstance(exc, OSError):
            raise TargetError(f"target {spec.name}: cannot create {_shown(workdir)}: {exc.strerror}") from None
        raise
    prepared.host_root, prepared.workdir = root, workdir
    prepared.undo.append(lambda: _remove_workdir(workdir, marker, run_id))
    _open_to_reader(workdir)


def _write_marker(run_id, target, workdir):
    marker = marker_path(run_id, target)
    taken = (f"marker {marker} of run {run_id} is left from an earlier try: run 'voltools clean "
             f"--run-id {run_id}', which removes its folder or says what keeps it")
    with created(marker, 0o644, taken) as fd:
        os.write(fd, os.fsencode(workdir))
        os.fsync(fd)
    return marker


def read_marker(marker):
    """The folder a marker names (exactly as written)."""
    return os.fsdecode(Path(marker).read_bytes())


def _open_to_reader(workdir):
    """chmod 0755 the folder just made, through a descriptor that never follows a symlink."""
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, FOLDER_MODE)
    finally:
        os.close(fd)


def _remove_workdir(workdir, marker, run_id):
    left = remove_host_folder(workdir, run_id)
    if left:
        raise TargetError(left)
    marker.unlink(missing_ok=True)


def remove_host_folder(workdir, run_id):
    """Remove the data files voltools wrote in `workdir`, then the folder itself.

    Nothing else is touched: a symlink or file now bearing the folder's name, or any entry that is
    not a regular data file (jobs.data_file names), is left. Returns '' when the folder is gone,
    else one sentence saying what was left where.
    """
    try:
        fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"left {_shown(workdir)}: it is not the folder voltools made any more ({exc.strerror})"
    try:
        others = _unlink_data_files(fd)
    except OSError as exc:
        return f"left {_shown(workdir)}: removing its data files failed ({exc.strerror})"
    finally:
        os.close(fd)
    if others:
        shown = ", ".join(map(_shown, sorted(others)[:5])) + (", ..." if len(others) > 5 else "")
        return (f"left {_shown(workdir)}: it holds {len(others)} entr{'y' if len(others) == 1 else 'ies'} voltools "
                f"did not make ({shown}); move them out, then run 'voltools clean --run-id {run_id}'")
    try:
        os.rmdir(workdir)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"left {_shown(workdir)}: {exc.strerror}; run 'voltools clean --run-id {run_id}' later"
    return ""


def _unlink_data_files(dir_fd):
    """Unlink the regular data files in an open folder; return the names of everything else."""
    others = []
    for name in os.listdir(dir_fd):
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        if jobs.is_data_file(name) and stat.S_ISREG(mode):
            os.unlink(name, dir_fd=dir_fd)
        else:
            others.append(name)
    return others
