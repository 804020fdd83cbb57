"""voltools: measure the storage containers keep their data on, and fit volume models to it.

The measuring side (`voltools.sweep`) needs Docker; the analysis side (`load_run`, models, plots)
does not, and importing voltools does not import Docker.
"""
from .errors import VoltoolsError

__all__ = ["VoltoolsError", "__version__", "sweep", "start_sweep", "resume_sweep", "persist", "load_run", "load_persist"]


def __getattr__(name):
    if name == "__version__":  # computed when asked: `import voltools` stays light (start-up, signals)
        from .provenance import voltools_version
        return voltools_version()
    if name in ("sweep", "start_sweep", "resume_sweep", "persist"):
        from . import api
        return getattr(api, name)
    if name in ("load_run", "load_persist"):
        from . import store
        return getattr(store, name)
    raise AttributeError(f"module 'voltools' has no attribute {name!r}")
