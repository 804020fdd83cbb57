"""Read fio JSON output (fio 2.x and 3.x, plain jobs or client/server) into tidy rows.

One row per job entry and direction with I/O, units normalised to bytes and nanoseconds:
fio 2.x prints latencies in usec, `io_bytes` in KiB and `bw` in KiB/s; fio 3.x prints `*_ns`
latencies, `io_bytes` in bytes and (mostly) `bw_bytes` in bytes/s.
"""
import json
import os
import re
import stat
import sys
import zlib
from pathlib import Path

import pandas as pd

from ..errors import FioParseError, VoltoolsError
from ..points import LATENCY_PERCENTILES
from ..units import parse_size

DIRECTIONS = ("read", "write", "trim")
COLUMNS = {
    "fio_version": object,
    "jobname": object,
    "job_index": "int64",
    "direction": object,
    "rw": object,
    "bs_bytes": "Int64",
    "ioengine": object,
    "iodepth": "Int64",
    "numjobs": "Int64",
    "io_bytes": "Int64",
    "bw_bytes": "Int64",
    "iops": "float64",
    "total_ios": "Int64",
    "runtime_ms": "Int64",
    "clat_mean_ns": "float64",
    "clat_p50_ns": "Int64",
    "clat_p99_ns": "Int64",
    "clat_p999_ns": "Int64",
    "lat_mean_ns": "float64",
    "lat_p50_ns": "Int64",
    "lat_p99_ns": "Int64",
    "lat_p999_ns": "Int64",
    "error": "int64",
}
_BS_INDEX = {"read": 0, "write": 1, "trim": 2}
_LINE_START_BRACE = re.compile(r"(?<![^\r\n])\{")
_TEXT_LABEL = "<text>"
_HINT = "fio prints one with --output-format=json"
MAX_BYTES = 64 << 20  # a file (or its gunzipped content) larger than this is not read
MAX_TRIES = 1000  # places a top-level object may start that are tried before giving up
_INT64 = (1 << 63) - 1
_FILE_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


# ---------------------------------------------------------------- public API


def read_json(source):
    """Return fio's top-level JSON object from a path, a .gz file, output text or a dict."""
    if isinstance(source, dict):
        return _check_fio(source, "<dict>")
    text, label = _read_text(source)
    return _check_fio(_decode_object(text, label), label)


def read_json_file(path):
    """fio's top-level JSON object from a file (plain or .gz): a regular file of at most 64 MiB."""
    text, label = read_file(path)
    return _check_fio(_decode_object(text, label), label)


def parse(source):
    """Parse fio JSON output into a DataFrame: one row per job entry and direction with I/O."""
    return frame(read_json(source))


def parse_many(paths, stdin=None):
    """Parse several fio output files into one DataFrame with a leading `source` column.
    A path "-" is fio's JSON read from `stdin` (a binary stream, default sys.stdin.buffer)."""
    frames = [frame(_read_path(path, stdin)).assign(source=str(path)) for path in paths]
    if frames:
        joined = pd.concat(frames, ignore_index=True)
    else:
        joined = frame({"jobs": []}).assign(source=None)
    return joined.astype({"source": object})[["source", *COLUMNS]]


def read_json_stdin(stream=None, limit=MAX_BYTES):
    """fio's top-level JSON object from a binary stream (default stdin): at most `limit` bytes,
    gunzipped if it is gzip."""
    stream = sys.stdin.buffer if stream is None else stream
    label = "<stdin>"
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_big(label, limit)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(label, data, limit)
    return _check_fio(_decode_object(_decode_bytes(data), label), label)


def _read_path(path, stdin):
    return read_json_stdin(stdin) if str(path) == "-" else read_json_file(path)


def frame(obj):
    """Turn an already decoded fio JSON object into the tidy DataFrame of `parse`."""
    rows = list(_rows(_check_fio(obj, "<dict>")))
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    return pd.DataFrame({name: pd.Series(columns[name], dtype=t) for name, t in COLUMNS.items()})


# ---------------------------------------------------------------- reading text


def _error(label, reason):
    """A one-line FioParseError naming the source and the reason."""
    return FioParseError(" ".join(f"fio output {label}: {reason}".split()))


def _is_text(source):
    """A str is fio output text (not a path) when it has a newline or a '{', or is blank."""
    return isinstance(source, str) and ("\n" in source or "{" in source or not source.strip())


def _read_text(source):
    """Return (text, label) for output text, bytes, or a plain or gzip-compressed file."""
    if isinstance(source, (bytes, bytearray)):
        return _decode_bytes(bytes(source)), _TEXT_LABEL
    if _is_text(source):
        return source.lstrip("\ufeff"), _TEXT_LABEL
    return read_file(source)


def read_file(path, limit=MAX_BYTES):
    """(text, label) of a regular file, gunzipped if it is gzip; at most `limit` bytes either way."""
    path = Path(path)
    data = _read_regular(path, limit)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(path, data, limit)
    return _decode_bytes(data), str(path)


def _read_regular(path, limit):
    """The bytes of a regular file; FioParseError for anything else or more than `limit` bytes."""
    try:
        _check_regular(path, os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise _error(path, f"cannot read file: {exc.strerror or exc}") from exc
    except ValueError as exc:  # an embedded NUL: no such file can exist
        raise _error(repr(str(path)), f"cannot read file: {exc}") from None
    try:
        info = os.fstat(fd)
        _check_regular(path, info.st_mode)
        if info.st_size > limit:
            raise _too_big(path, limit)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _error(path, f"cannot read file: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if size > limit:
        raise _too_big(path, limit)
    return b"".join(chunks)


def _check_regular(path, mode):
    if not stat.S_ISREG(mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a file")
        raise _error(path, f"is {kind}, not a regular file: give files fio wrote (plain or .gz, "
                           f"up to {MAX_BYTES >> 20} MiB)")


def _too_big(path, limit, what="is"):
    return _error(path, f"{what} larger than {limit >> 20} MiB, the most parse-fio reads: "
                        "fio's JSON output is far smaller; give the file fio wrote")


def _gunzip(path, data, limit):
    """Decompress every gzip member of `data`, refusing more than `limit` bytes of output."""
    out, size = [], 0
    try:
        while data and data.strip(b"\0"):
            inflater = zlib.decompressobj(wbits=31)
            chunk = inflater.decompress(data, limit + 1 - size)
            out.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _too_big(path, limit, "gunzips to")
            if not inflater.eof:
                raise EOFError("compressed file ended before the end-of-stream marker was reached")
            data = inflater.unused_data
    except (EOFError, zlib.error) as exc:
        raise _error(path, f"cannot gunzip: {exc}") from None
    return b"".join(out)


def _decode_bytes(data):
    """Decode UTF-8 (or UTF-16 with a BOM, as Windows shells write redirects)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _candidates(text):
    """Offsets where the top-level object may start, lazily: '{' at a line start, else the first '{'."""
    found = False
    for match in _LINE_START_BRACE.finditer(text):
        found = True
        yield match.start()
    if not found and "{" in text:
        yield text.index("{")


def _decode_object(text, label):
    """Decode the first fio JSON object in text, tolerating text before and after it.

    Each character is decoded at most once (a start inside text already read is skipped) and at
    most MAX_TRIES starts are tried, so junk costs time linear in its size.
    """
    if not text.strip():
        raise _error(label, f"empty output, no JSON object ({_HINT})")
    if "{" not in text:
        raise _error(label, f"no JSON object found ({_HINT})")
    decoder = json.JSONDecoder(object_pairs_hook=dict)
    first_error, first_object, resume_at, tries = None, None, 0, 0
    for start in _candidates(text):
        if start < resume_at:
            continue
        if tries == MAX_TRIES:
            break
        tries += 1
        try:
            obj, resume_at = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            first_error, resume_at = first_error or exc, exc.pos
            continue
        except RecursionError:
            raise _error(label, "JSON nested too deeply to be fio output") from None
        if _entries_key(obj):
            return obj
        first_object = first_object if first_object is not None else obj
    if first_object is not None:
        return first_object
    raise _error(label, _describe(first_error, text))


def _describe(exc, text):
    """Say why the JSON did not decode: cut short, or invalid at a line and column."""
    end = len(text.rstrip())
    if exc.pos >= end or exc.msg.startswith("Unterminated string"):
        line = text.count("\n", 0, end) + 1
        return f"JSON ends early at line {line} (truncated output, e.g. fio killed?)"
    return f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"


def _entries_key(obj):
    """'jobs' or 'client_stats', whichever holds fio's list of job entries, else None."""
    if not isinstance(obj, dict):
        return None
    for key in ("jobs", "client_stats"):
        if isinstance(obj.get(key), list):
            return key
    return None


def _check_fio(obj, label):
    """Return obj if it looks like fio's output, else raise FioParseError."""
    key = _entries_key(obj)
    if key is None:
        raise _error(label, "JSON has no 'jobs' or 'client_stats' list: not fio output")
    for index, entry in enumerate(obj[key]):
        if not isinstance(entry, dict):
            raise _error(label, f"{key}[{index}] is not a JSON object")
    return obj


# ---------------------------------------------------------------- building rows


def _rows(obj):
    """Yield one row dict per job entry and direction."""
    version = obj.get("fio version")
    global_options = _options(obj.get("global options"))
    for index, entry in enumerate(obj[_entries_key(obj)]):
        options = {**global_options, **_options(entry.get("job options"))}
        for direction, stats in _directions(entry, options.get("rw")):
            yield _row(version, index, entry, options, direction, stats)


def _options(value):
    """An options mapping; a list of them (newer client/server output) is merged."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {k: v for item in value if isinstance(item, dict) for k, v in item.items()}
    return {}


def _stats(entry, direction):
    """The entry's stats object for a direction, or {}."""
    stats = entry.get(direction)
    return stats if isinstance(stats, dict) else {}


def _did_io(stats):
    """True when a direction moved data (total_ios > 0 or io_bytes > 0)."""
    return (_int(stats.get("total_ios")) or 0) > 0 or (_int(stats.get("io_bytes")) or 0) > 0


def _directions(entry, rw):
    """(direction, stats) pairs with I/O; 'mixed' (unified_rw_reporting) if only it has I/O;
    one pair for a failed entry without I/O."""
    found = [(d, _stats(entry, d)) for d in DIRECTIONS if _did_io(_stats(entry, d))]
    if not found and _did_io(_stats(entry, "mixed")):
        found = [("mixed", _stats(entry, "mixed"))]
    if not found and _error_code(entry) != 0:
        direction = _rw_direction(rw)
        found = [(direction, _stats(entry, direction))]
    return found


def _rw_direction(rw):
    """The main direction of an rw mode: write/randwrite -> write, *trim* -> trim, else read."""
    mode = str(rw or "").split(":")[0].strip().lower()
    if "trim" in mode:
        return "trim"
    return "write" if mode in ("write", "randwrite") else "read"


def _error_code(entry):
    """fio's error number for the entry (0 when absent)."""
    return _int(entry.get("error")) or 0


def _row(version, index, entry, options, direction, stats):
    """One tidy row for a job entry and direction."""
    did_io = _did_io(stats)
    return {
        "fio_version": version,
        "jobname": entry.get("jobname"),
        "job_index": index,
        "direction": direction,
        "rw": options.get("rw"),
        "bs_bytes": _block_size(options.get("bs"), direction),
        "ioengine": options.get("ioengine"),
        "iodepth": _int(options.get("iodepth")),
        "numjobs": _int(options.get("numjobs")),
        "io_bytes": _io_bytes(stats),
        "bw_bytes": _bw_bytes(stats) if did_io else None,
        "iops": _float(stats.get("iops")) if did_io else None,
        "total_ios": _int(stats.get("total_ios")),
        "runtime_ms": _int(stats.get("runtime")),
        **_latency_columns(stats, "clat", did_io),
        **_latency_columns(stats, "lat", did_io),
        "error": _error_code(entry),
    }


def _block_size(text, direction):
    """Bytes of fio's bs for a direction ('4k', '1m', '4096', 'read,write[,trim]'), else None."""
    if text is None:
        return None
    parts = str(text).split(",")
    part = parts[min(_BS_INDEX.get(direction, 0), len(parts) - 1)].strip()
    try:
        return parse_size(part, "bs")
    except VoltoolsError:
        return None


def _byte_units(stats):
    """True for fio 3.x stats (io_bytes in bytes), False for fio 2.x (io_bytes in KiB)."""
    return any(key in stats for key in ("io_kbytes", "clat_ns", "lat_ns", "slat_ns"))


def _io_bytes(stats):
    """Bytes moved in this direction."""
    value = _int(stats.get("io_bytes"))
    if value is None or _byte_units(stats):
        return value
    return value * 1024


def _bw_bytes(stats):
    """Bandwidth in bytes/s: `bw_bytes`, else `bw` (KiB/s) x 1024."""
    if "bw_bytes" in stats:
        return _int(stats["bw_bytes"])
    kib = _float(stats.get("bw"))
    return None if kib is None else round(kib * 1024)


def _latency_block(stats, name):
    """(latency object, factor to ns): `<name>_ns` in ns (3.x) or `<name>` in usec (2.x)."""
    if isinstance(stats.get(f"{name}_ns"), dict):
        return stats[f"{name}_ns"], 1
    if isinstance(stats.get(name), dict):
        return stats[name], 1000
    return {}, 1


def _latency_columns(stats, name, did_io):
    """Mean and p50/p99/p99.9 of one latency kind in ns; None when no I/O was done."""
    block, factor = _latency_block(stats, name) if did_io else ({}, 1)
    mean = _float(block.get("mean"))
    columns = {f"{name}_mean_ns": None if mean is None else _ns(mean, factor)}
    percentiles = block.get("percentile")
    for label, quantile in LATENCY_PERCENTILES.items():
        value = _float(_percentile_at(percentiles, quantile))
        columns[f"{name}_{label}_ns"] = None if value is None else round(value * factor)
    return columns


def _ns(value, factor):
    """Scale a latency to ns, trimming float noise from the usec -> ns product."""
    return value if factor == 1 else round(value * factor, 3)


def _percentile_at(percentiles, quantile):
    """The value whose key ('99.000000', '99.90', ...) equals quantile numerically, else None."""
    if not isinstance(percentiles, dict):
        return None
    found = None
    for key, value in percentiles.items():
        try:
            if abs(float(key) - quantile) < 1e-6:
                found = value
        except (TypeError, ValueError):
            continue
    return found


def _float(value):
    """A finite float from a number or numeric string, else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value):
    """A whole number from an int, integral float or string such as '01', else None."""
    number = _float(value)
    if number is None or not number.is_integer() or abs(number) > _INT64:
        return None
    whole = int(value) if isinstance(value, int) else int(number)
    return whole if abs(whole) <= _INT64 else None
