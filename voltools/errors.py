"""One error root for voltools; the CLI turns any of these into one line and exit status 2."""


class VoltoolsError(Exception):
    """Root of every error voltools raises on purpose."""


class UsageError(VoltoolsError, ValueError):
    """A bad argument or input value: says what was given and what is accepted."""


class EngineError(VoltoolsError):
    """The Docker Engine is missing, unreachable or refused a request."""


class ProbeError(VoltoolsError):
    """The probe image cannot be built or found."""


class TargetError(VoltoolsError):
    """A target could not be set up, used or torn down."""


class FioError(VoltoolsError):
    """fio is missing or exited with an error; carries argv, exit status and stderr."""

    def __init__(self, message, argv=None, exit_status=None, stderr=""):
        super().__init__(message)
        self.argv = list(argv or [])
        self.exit_status = exit_status
        self.stderr = stderr


class FioParseError(VoltoolsError):
    """fio output that cannot be read as fio JSON; names the source and the reason."""


class StoreError(VoltoolsError):
    """A run directory or points table is missing, taken, or unreadable."""


class FitError(VoltoolsError):
    """The data cannot support the requested fit (too few points, no variance)."""


class ReportError(VoltoolsError):
    """A notebook or report could not be executed or rendered."""
