"""`loop`: a Docker volume on a loop device: an image file of size= bytes formatted with fs=.

The image lives in config.loop_dir() and is made, attached and removed by measuring/loop.py,
whose rules say which images and devices are voltools'."""
from ...config import loop_dir
from ...errors import UsageError
from ...formatting import format_bytes
from ...naming import object_name
from .. import loop
from ..targets import free_bytes
from . import register
from .base import VolumeKind

FILESYSTEMS = tuple(loop.MKFS)


class LoopKind(VolumeKind):
    name = "loop"
    help = "(a volume on a loop device, fs ext4 or xfs, size default 1g; needs root)"
    options = {"fs": "ext4", "size": "1g"}
    sized = True

    def check(self, spec, text):
        super().check(spec, text)
        if spec.option("fs") not in FILESYSTEMS:
            raise UsageError(f"target {text!r}: fs must be one of {', '.join(FILESYSTEMS)}")
        folder, free = free_bytes(loop_dir())
        if free is not None and spec.size_bytes > free:
            raise UsageError(f"target {text!r}: a loop image of {format_bytes(spec.size_bytes)} is more than the "
                             f"{format_bytes(free)} free on the filesystem holding {folder}: lower its size=")

    def preflight(self, specs, reader):
        loop.check_usable({s.option("fs") for s in specs})

    def made_paths(self, spec, run_id):
        return [loop.image_path(object_name(run_id, spec.name))]

    def prepare(self, client, prepared):
        spec = prepared.spec
        prepared.device = loop.attach(object_name(prepared.run_id, spec.name), spec.size_bytes, spec.option("fs"))
        prepared.undo.append(lambda: loop.detach(prepared.device))
        super().prepare(client, prepared)

    def volume_options(self, spec, device=""):
        return {"type": spec.option("fs"), "device": device}


register(LoopKind)
