"""One error root for voltools; the CLI turns any of these into one line and an exit status:
2 for bad input (and anything refused before a run makes something), 1 for a failure at run time."""


class VoltoolsError(Exception):
    """Root of every error voltools raises on purpose."""

    exit_status = 1


class UsageError(VoltoolsError, ValueError):
    """A bad argument or input value: says what was given and what is accepted."""

    exit_status = 2


class EngineError(VoltoolsError):
    """The Docker Engine is missing, unreachable or refused a request."""


class ProbeError(VoltoolsError):
    """The probe image cannot be built or found."""


class TargetError(VoltoolsError):
    """A target could not be set up, used or torn down."""


class FioParseError(VoltoolsError):
    """fio output that cannot be read as fio JSON; names the source and the reason."""

    exit_status = 2


class StoreError(VoltoolsError):
    """A run directory or points table is missing, taken, or unreadable."""


class FitError(VoltoolsError):
    """The data cannot support the requested fit (too few points, no variance)."""


class ReportError(VoltoolsError):
    """A notebook or report could not be executed or rendered."""


def first_line(error, limit=200):
    """What a one-line report says of an error or message: its first line, trimmed to `limit`
    characters (None: whole); an exception with no text gives its type's name. A Docker API error
    says its status and the engine's own words, without the request's URL (which filled the line);
    a connection that failed says so, and why, without the client library's tuples."""
    from requests.exceptions import ConnectionError as NoAnswer  # here: start-up imports no HTTP client
    explanation, status = getattr(error, "explanation", None), getattr(error, "status_code", None)
    if explanation and status:
        error = f"{status} {explanation}"
    elif isinstance(error, NoAnswer):
        error = f"the Docker Engine did not answer ({_innermost(error)})"
    lines = str(error).strip().splitlines()
    text = lines[0].strip() if lines else ("" if isinstance(error, str) else type(error).__name__)
    return text[:limit] if limit else text


def _innermost(error):
    """In words, the innermost exception an error wraps in its arguments (as requests and urllib3 do)."""
    while True:
        inner = next((a for a in reversed(error.args) if isinstance(a, BaseException)), None)
        if inner is None:
            return getattr(error, "strerror", None) or str(error) or type(error).__name__
        error = inner
