"""One error root for voltools; the CLI turns any of these into one line and an exit status:
2 for bad input (and anything refused before a run makes something), 1 for a failure at run time."""
import sys


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
    a connection that failed says so, and why (`cause`), without the client library's wrappers."""
    explanation, status = getattr(error, "explanation", None), getattr(error, "status_code", None)
    if explanation and status:
        error = f"{status} {explanation}"
    elif no_answer(error):
        error = f"the Docker Engine did not answer ({cause(error)})"
    lines = str(error).strip().splitlines()
    text = lines[0].strip() if lines else ("" if isinstance(error, str) else type(error).__name__)
    return text[:limit] if limit else text


def cause(error):
    """Why an error happened, in the words of the innermost error it wraps (requests and urllib3
    wrap the system's in arguments, `reason` and `__cause__`): "Connection refused"."""
    for _ in range(10):
        inner = next((e for e in (getattr(error, "reason", None), *reversed(error.args), error.__cause__)
                      if isinstance(e, BaseException)), None)
        if inner is None:
            break
        error = inner
    return getattr(error, "strerror", None) or first_line(error, None)


def no_answer(error):
    """A connection error of requests (the engine's HTTP client): only if requests is loaded at all,
    so that start-up imports no HTTP client (test_startup_interrupt)."""
    errors = sys.modules.get("requests.exceptions")
    return errors is not None and isinstance(error, errors.ConnectionError)
