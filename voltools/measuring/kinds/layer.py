"""`layer`: the data lives in the one probe container's own writable layer (overlay2); no volume."""
from . import register
from .base import TargetKind


class LayerKind(TargetKind):
    name = "layer"
    help = "(the container's own writable layer)"
    has_reader = False
    data_in_layer = True


register(LayerKind)
