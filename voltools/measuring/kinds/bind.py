"""`bind`: a folder voltools makes below the user's path=, bind-mounted into the probe containers."""
from ..targets import check_reader_enters
from . import register
from .base import HostFolderKind


class BindKind(HostFolderKind):
    name = "bind"
    help = "(a folder voltools makes below your path, bind-mounted)"
    options = {"path": None}
    example = "bind:path=/srv/data"

    def check(self, spec, text):
        check_reader_enters(text, super().check(spec, text))

    def mounts(self, prepared, read_only):
        from docker.types import Mount

        from ...config import DATA_MOUNT
        return [Mount(DATA_MOUNT, prepared.host_root, type="bind", read_only=read_only)]


register(BindKind)
