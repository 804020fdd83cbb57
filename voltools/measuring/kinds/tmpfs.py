"""`tmpfs`: a Docker volume of the local driver backed by a tmpfs of size= bytes (memory)."""
from ...errors import UsageError
from ...formatting import format_bytes
from ..targets import memory_total_bytes
from . import register
from .base import VolumeKind


class TmpfsKind(VolumeKind):
    name = "tmpfs"
    help = "(a volume in memory, size default 512m)"
    options = {"size": "512m"}
    sized = True
    orchestrators = ("docker", "swarm")

    def check(self, spec, text):
        super().check(spec, text)
        memory = memory_total_bytes()
        if memory and spec.size_bytes > memory:
            raise UsageError(f"target {text!r}: a tmpfs of {format_bytes(spec.size_bytes)} is more than this "
                             f"host's memory, {format_bytes(memory)} (MemTotal): lower its size=")

    def volume_options(self, spec, device=""):
        return {"type": "tmpfs", "device": "tmpfs", "o": f"size={spec.size_bytes}"}


register(TmpfsKind)
