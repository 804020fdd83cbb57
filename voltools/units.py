"""Byte sizes and counts: parse '64k', '1g', '512' (binary multiples), '1,16,256'.

Only ASCII is accepted: str.isdigit() and int() take '²', '３' or '1_0', these patterns do not.
"""
import re

from .errors import UsageError
from .formatting import format_bytes

_SUFFIX = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE_RE = re.compile(r"[ \t]*([0-9]{1,19})[ \t]*([kmgt]?)(i?b)?[ \t]*", re.IGNORECASE | re.ASCII)
_COUNT_RE = re.compile(r"[0-9]{1,18}", re.ASCII)
MAX_BYTES = 1 << 60
MAX_COUNT = 10**12


def parse_size(text, what="size"):
    """Return the byte count of '4k', '64KiB', '1m', '1g' or a plain integer (1 B to 1 EiB)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE_RE.fullmatch(text if isinstance(text, str) else str(text))
        if not match:
            raise UsageError(
                f"{what} {text!r} is not a size: use a whole number of bytes "
                "with an optional binary suffix k, m, g or t (e.g. 4k, 64k, 1m, 2g)"
            )
        value = int(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if value <= 0:
        raise UsageError(f"{what} {text!r} must be at least 1 byte (e.g. 4k)")
    if value > MAX_BYTES:
        raise UsageError(f"{what} {text!r} is larger than {format_bytes(MAX_BYTES)}: use a smaller size")
    return value


def parse_size_list(text, what="size"):
    """Parse a comma-separated list of sizes, keeping order and dropping repeats."""
    items = [item for item in str(text).split(",") if item.strip()]
    if not items:
        raise UsageError(f"{what} list {text!r} is empty: give one or more sizes, e.g. 4k,64k,1m")
    return list(dict.fromkeys(parse_size(item, what) for item in items))


def parse_count(text, what="count"):
    """A whole number from 1 to 10^12 written in ASCII digits (or an int), else UsageError."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        item = str(text).strip(" \t")
        value = int(item) if _COUNT_RE.fullmatch(item) else 0
    if not 1 <= value <= MAX_COUNT:
        raise UsageError(f"{what} {text!r} must be a whole number >= 1 and <= {MAX_COUNT} "
                         "in ASCII digits 0-9, e.g. 16")
    return value


def parse_count_list(text, what="count"):
    """Parse a comma-separated list of positive integers, keeping order and dropping repeats."""
    values = []
    for item in str(text).split(","):
        try:
            values.append(parse_count(item, what))
        except UsageError:
            raise UsageError(f"{what} {item.strip()!r} in {text!r} must be a whole number >= 1 "
                             f"and <= {MAX_COUNT} in ASCII digits 0-9, e.g. 1,16,256") from None
    return list(dict.fromkeys(values))

