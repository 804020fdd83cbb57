"""`local`: a Docker volume of the local driver on the engine's own disk."""
from . import register
from .base import VolumeKind


class LocalKind(VolumeKind):
    name = "local"
    help = "(a Docker volume on the engine's disk)"
    orchestrators = ("docker", "swarm")


register(LocalKind)
