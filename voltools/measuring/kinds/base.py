"""TargetKind: one kind of target, with everything voltools must know about it.

A subclass sets the class attributes that differ and overrides the steps it needs. `VolumeKind`
(a Docker volume of the local driver) and `HostFolderKind` (a folder voltools makes on the host,
with targets.py's marker and exclusive-creation rules) carry the two common ways of holding data.
"""
from ...naming import default_target_name
from ..targets import checked_root, create_volume, make_workdir, marker_path, volume_labels


class TargetKind:
    """A kind of target: its options, facts and steps. Registered with `kinds.register(cls)`."""

    name = ""
    help = ""  # one line, for --target's help
    options = {}  # option -> default; None: required, "": optional with no default
    example = ""  # a whole --target text, shown when a required option is missing
    sized = False  # has a size= option: the nominal size the lay-out must fit in
    in_docker = True  # read in probe containers; False: fio runs on the host
    has_reader = True  # a separate read-only reader container; False: what writes also reads
    data_in_layer = False  # the data lives in the holder container's own writable layer
    host_folder = False  # works in a folder it makes on the host (targets.make_workdir)
    orchestrators = ("docker",)  # the --orchestrator backends that can run it

    def usage(self):
        """'bind:path=...', 'tmpfs[:size=...]' or 'local': the options a --target may give."""
        required = [f"{k}=..." for k, v in self.options.items() if v is None]
        optional = [f"{k}=..." for k, v in self.options.items() if v is not None]
        text = self.name + (":" + ",".join(required) if required else "")
        sep = "," if required else ":"
        return text + (f"[{sep}{','.join(optional)}]" if optional else "")

    def default_name(self, options):
        """The name a target of this kind gets when its --target gives none (naming's one rule,
        which the analysis side also applies to stored rows)."""
        return default_target_name(self.name, {**self.options, **options})

    def check(self, spec, text):
        """UsageError (naming `text`) for a value this kind refuses; make nothing."""
        if self.sized:
            spec.size_bytes  # noqa: B018 (raises UsageError on a bad size)

    def preflight(self, specs, reader):
        """Refuse (a VoltoolsError saying what to install or change) what this host lacks to run
        `specs`, all of this kind, read by `reader`."""

    def made_paths(self, spec, run_id):
        """Host files a run makes for this target besides its folder: none may exist before it."""
        return []

    def default_root(self):
        """The folder a host-folder target works below when it names no path= (None: it must)."""
        return None

    def prepare(self, client, prepared):
        """Make what the target needs on `prepared` (a targets.PreparedTarget), pushing one undo
        step onto `prepared.undo` as each thing is made."""

    def mounts(self, prepared, read_only):
        """Docker mounts for a container using the target, at /data, carrying the volume's labels
        (targets.volume_labels: a create whose answer was lost may make the volume anew)."""
        from docker.types import Mount

        from ...config import DATA_MOUNT
        if prepared.volume is None:
            return []
        return [Mount(DATA_MOUNT, prepared.volume.name, type="volume", read_only=read_only,
                      labels=volume_labels(prepared.run_id, prepared.spec.name))]


class VolumeKind(TargetKind):
    """A Docker volume of the local driver, made per run and removed with it."""

    def volume_options(self, spec, device=""):
        """The local driver's options for the volume (`device`: a block device made for it)."""
        return {}

    def prepare(self, client, prepared):
        create_volume(client, prepared, self.volume_options(prepared.spec, prepared.device))


class HostFolderKind(TargetKind):
    """A folder voltools makes below a host folder, named by a marker while it may exist."""

    host_folder = True

    def check(self, spec, text):
        """As TargetKind.check; return the resolved folder the target works below."""
        super().check(spec, text)
        return checked_root(spec, text)

    def made_paths(self, spec, run_id):
        return [marker_path(run_id, spec.name)]

    def prepare(self, client, prepared):
        make_workdir(prepared)
