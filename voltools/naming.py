"""Run ids, object names and labels: validated before anything is created.

Every name voltools gives a Docker object, loop image, host folder or marker is
`voltools_<run id>_<role>`. A run id, target name or role may not contain '_', so the name
splits back into exactly one run id and role: run `a` with role `b-c` and run `a-b` with role `c`
give different names, and `voltools_a_*` never matches an object of run `a-b`.
"""
import re
import secrets
from datetime import datetime, timezone

from .config import LABEL, ROLE_LABEL
from .errors import UsageError

MAX_ID = 48
PREFIX = "voltools"
SEP = "_"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,%d}" % (MAX_ID - 1), re.ASCII)


def new_run_id(now=None):
    """A sortable, unique run id: UTC time plus 8 random hex digits (two runs in one second
    collide once in 4 billion; with 4 digits a test of 20 ids met one)."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def is_name(value):
    """True for a str that check_name accepts."""
    return isinstance(value, str) and bool(_NAME_RE.fullmatch(value)) and ".." not in value


def check_name(value, what="run id"):
    """Return `value` if it is safe in a Docker object name and a path; raise UsageError if not."""
    text = value if isinstance(value, str) else str(value)
    if not is_name(text):
        raise UsageError(
            f"{what} {text!r} is not accepted: use 1-{MAX_ID} ASCII letters, digits, '.' or '-', "
            "starting with a letter or digit, with no '_', '/', '..' or spaces"
        )
    return text


def object_name(run_id, role):
    """Name of what voltools makes for a run: voltools_<run_id>_<role>."""
    return SEP.join((PREFIX, check_name(run_id), check_name(role, "role")))


def split_name(name):
    """(run id, role) of a name object_name made, else None."""
    parts = str(name).split(SEP)
    if len(parts) == 3 and parts[0] == PREFIX and is_name(parts[1]) and is_name(parts[2]):
        return parts[1], parts[2]
    return None


def run_of(name):
    """The run id in a name object_name made, else None."""
    found = split_name(name)
    return found[0] if found else None


def default_target_name(kind, options):
    """The name of a target whose --target gives none: its kind, then '-<fs>' where it has a
    filesystem option (loop-ext4). One rule for every kind, so stored rows can be turned back into
    --target text without knowing the kind."""
    return f"{kind}-{options['fs']}" if options.get("fs") else kind


def labels(run_id, role):
    """Labels every Docker object of a run carries."""
    return {LABEL: run_id, ROLE_LABEL: role}


def is_runs(found_labels, run_id):
    """Whether an object's labels mark it as run `run_id`'s: the rule clean removes by."""
    return (found_labels or {}).get(LABEL) == run_id
