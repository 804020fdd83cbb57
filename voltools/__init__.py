"""voltools: measure the storage containers keep their data on, and fit volume models to it.

The measuring side (`voltools.sweep`) needs Docker; the analysis side (`load_run`, models, plots)
does not, and importing voltools does not import Docker.
"""
from .errors import VoltoolsError
from .provenance import voltools_version

__version__ = voltools_version()
__all__ = ["VoltoolsError", "__version__", "sweep", "start_sweep", "resume_sweep", "persist", "load_run", "load_persist"]


def __getattr__(name):
    if name in ("sweep", "start_sweep", "resume_sweep", "persist"):
        from . import api
        return getattr(api, name)
    if name == "load_run":
        from .store import load_run
        return load_run
    if name == "load_persist":
        from .persist_run import load_persist
        return load_persist
    raise AttributeError(f"module 'voltools' has no attribute {name!r}")
