"""`--fio-opt KEY=VALUE`: read-side fio options the grid does not name, from an allow-list.

Each key has a pattern its value must match in full. Options that change what is read (size, bs,
rw, direct, iodepth, numjobs, filename, ...), write, or redirect fio's output are not on the list:
the grid names what is read, and the points table must describe it. A run with options reads one
fio job a point with the options appended (never replayed: the replay call's options are fixed).
"""
import re

from ..errors import UsageError

IOENGINES = ("psync", "pvsync", "pvsync2", "libaio", "io_uring", "posixaio")
_BOOL = r"[01]"
_NUMBER = r"[0-9]{1,12}"
# key -> (pattern of its value, what the pattern accepts in words)
ALLOWED = {
    "ioengine": ("|".join(IOENGINES), " or ".join(IOENGINES)),
    "fadvise_hint": (r"[01]|sequential|random", "0, 1, sequential or random"),
    "norandommap": (_BOOL, "0 or 1"),
    "random_distribution": (r"random|(zipf|pareto|normal):[0-9]{1,6}(\.[0-9]{1,6})?",
                            "random, zipf:F, pareto:F or normal:F, e.g. zipf:1.2"),
    "thinktime": (_NUMBER + r"(us|ms|s)?", "a time, e.g. 100us, 2ms"),
    "rate": (_NUMBER + r"[kmg]?", "bytes per second, e.g. 50m"),
    "rate_iops": (_NUMBER, "reads per second, e.g. 1000"),
    "invalidate": (_BOOL, "0 or 1"),
    "hipri": (_BOOL, "0 or 1 (io_uring, pvsync2)"),
    "fixedbufs": (_BOOL, "0 or 1 (io_uring)"),
    "cpus_allowed": (r"[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?){0,31}", "CPUs, e.g. 1 or 0-3,6"),
    "nice": (r"-(1?[0-9]|20)|1?[0-9]", "a niceness from -20 to 19"),
    "prio": (r"[0-7]", "a priority from 0 to 7"),
}


def parse_fio_opts(items):
    """'KEY=VALUE' strings -> ((key, value), ...) in the order given; a key given twice keeps its
    last value. UsageError naming the first bad KEY or VALUE and what is accepted."""
    opts = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep:
            raise UsageError(f"--fio-opt {item!r} is not KEY=VALUE, e.g. --fio-opt ioengine=pvsync2")
        if key not in ALLOWED:
            raise UsageError(f"--fio-opt {key!r} is not an option voltools passes to fio: use one of "
                             f"{', '.join(ALLOWED)} (what is read is set by --bs, --blocks, --rw, --direct, "
                             "--iodepth, --numjobs)")
        pattern, accepted = ALLOWED[key]
        if not re.fullmatch(pattern, value, re.ASCII):
            raise UsageError(f"--fio-opt {key}={value!r} is not accepted: use {accepted}")
        opts.pop(key, None)
        opts[key] = value
    return tuple(opts.items())
