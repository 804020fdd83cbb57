"""Run ids, object names and labels: validated before anything is created."""
import re
import secrets
from datetime import datetime, timezone

from .config import LABEL, ROLE_LABEL
from .errors import UsageError

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
MAX_ID = 48


def new_run_id(now=None):
    """A sortable, unique run id: UTC time plus 4 random hex digits."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def check_name(value, what="run id"):
    """Return `value` if it is safe in a Docker object name and a path; raise UsageError if not."""
    text = str(value)
    if not _ID_RE.match(text) or ".." in text:
        raise UsageError(
            f"{what} {text!r} is not accepted: use 1-{MAX_ID} letters, digits, '_', '.' or '-', "
            "starting with a letter or digit, with no '/', '..' or spaces"
        )
    return text


def object_name(run_id, role):
    """Name of a Docker object voltools makes: voltools-<run_id>-<role>."""
    return f"voltools-{check_name(run_id)}-{check_name(role, 'role')}"


def labels(run_id, role):
    """Labels every Docker object of a run carries."""
    return {LABEL: run_id, ROLE_LABEL: role}
