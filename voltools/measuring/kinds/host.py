"""`host`: fio as a host process in a folder voltools makes below path= (default its own): the baseline."""
from ...config import host_dir
from .. import probe
from . import register
from .base import HostFolderKind


class HostKind(HostFolderKind):
    name = "host"
    help = "(fio on the host itself, no Docker: the baseline)"
    options = {"path": ""}
    in_docker = False
    has_reader = False

    def preflight(self, specs, reader):
        if reader == "fio":
            probe.host_fio()

    def default_root(self):
        return host_dir()


register(HostKind)
