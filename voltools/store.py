"""data/raw/<run_id>/: write-once run folders holding raw fio output, the points table and run.json.

The points table is a folder `points.parquet/` of part files. A part is named by the seq range it
holds and a random token, so no two writes ever share a name; it is written to a temporary name,
fsynced and renamed. Compaction writes the merged part under a new name, reads it back, and only
then removes exactly the parts it merged. A crash between any two file operations therefore leaves
a table that loads with every stored point exactly once (copies of one seq are the same row).
"""
import functools
import gzip
import json
import os
import re
import secrets
import shutil
import tempfile
import warnings
from pathlib import Path

from .config import raw_dir
from .errors import StoreError
from .naming import check_name
from .points import ADDED_COLUMNS, NODE_POINT_KEY, POINT_COLUMNS, POINT_SCHEMA, RENAMED_COLUMNS
from .provenance import utc_now

_INT = "Int64"
_FLOAT = "float64"
POINTS = "points.parquet"
META = "run.json"
PERSIST = "persist.parquet"      # voltools persist: one row per target and check
MIGRATION = "migration.parquet"  # voltools persist --migrate-to: one row per timed copy
RAW = "fio"
_RAW_SEQ = re.compile(r"-(\d+)\.json\.gz$")


def _root_renamed(func):
    """`root=`, the old name of `data_dir=` (the folder holding runs): accepted for one release,
    with a DeprecationWarning."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if "root" in kwargs:
            if "data_dir" in kwargs:
                raise TypeError(f"{func.__qualname__}() got both data_dir= and root=, its old name")
            warnings.warn(f"{func.__qualname__}(root=...) is deprecated: use data_dir=...",
                          DeprecationWarning, stacklevel=2)
            kwargs["data_dir"] = kwargs.pop("root")
        return func(*args, **kwargs)
    return wrapper


class Disk:
    """The store's file operations, one method each, so a test can crash between any two."""

    def write(self, path, data):
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def rename(self, source, target):
        os.replace(source, target)

    def unlink(self, path):
        Path(path).unlink(missing_ok=True)

    def sync(self, folder):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


class RunStore:
    """One run's folder: raw outputs, points table parts, provenance."""

    def __init__(self, path, disk=None):
        self.path = Path(path)
        self.disk = disk or Disk()

    @classmethod
    @_root_renamed
    def create(cls, run_id, data_dir=None, meta=None):
        """A new run folder with run.json in it; refuses a run id that exists (write-once).

        The folder is made under a temporary name and renamed into place, so a run folder always
        holds points.parquet/, fio/ and run.json, whatever moment a kill comes at.
        """
        data_dir = Path(data_dir or raw_dir())
        path = data_dir / check_name(run_id)
        if os.path.lexists(path):
            raise _exists(run_id, data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            draft = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=data_dir))
        except OSError as exc:
            raise StoreError(f"data dir {data_dir} cannot hold a run: {_reason(exc)}") from None
        try:
            (draft / POINTS).mkdir()
            (draft / RAW).mkdir()
            store = cls(draft)
            store.write_meta(meta or {"run_id": run_id, "started_at": utc_now()})
            os.rename(draft, path)  # fails on an existing folder: ours is never empty
        except BaseException as exc:
            shutil.rmtree(draft, ignore_errors=True)
            if isinstance(exc, OSError) and os.path.lexists(path):
                raise _exists(run_id, data_dir) from None
            if isinstance(exc, (OSError, StoreError)):
                reason = exc.reason if isinstance(exc, StoreError) else _reason(exc)
                raise StoreError(f"data dir {data_dir} cannot hold a run: {reason}") from None
            raise
        return cls(path)

    @classmethod
    @_root_renamed
    def open(cls, run_id, data_dir=None):
        """An existing, complete run folder, or StoreError naming what is missing."""
        path = Path(data_dir or raw_dir()) / check_name(run_id)
        if not (path / POINTS).is_dir():
            raise StoreError(f"no run {run_id} in {path.parent}: list runs with 'ls {path.parent}'")
        for part, what in ((RAW, "folder of raw fio outputs"), (META, "provenance file")):
            if not (path / part).exists():
                raise StoreError(f"run {run_id} in {path.parent} is incomplete: its {what} {part} is missing")
        return cls(path)

    def write_raw(self, name, text):
        """Keep fio's output as printed (gzip-compressed at level 6, gzip's own default: a replayed
        call's 0.9 MB of latency log in 29 ms, 0.6% larger than Python's level 9 in 120 ms);
        return its path inside the run."""
        relative = f"{RAW}/{check_name(name, 'raw file name')}.json.gz"
        if (self.path / relative).exists():
            raise StoreError(f"{self.path / relative} exists: raw outputs are never overwritten")
        self._write(self.path / relative, gzip.compress(text.encode(), compresslevel=6, mtime=0))
        return relative

    def write_table(self, name, frame):
        """Write a table of the run other than the points (e.g. persist.parquet) whole, atomically."""
        self._write(self.path / name, _parquet(frame))

    def append_points(self, frame):
        """Add rows as a new part file; earlier parts are never rewritten."""
        frame = typed(frame)
        self._write(self.path / POINTS / _part_name(frame["seq"]), _parquet(frame))

    def parts(self):
        return sorted((self.path / POINTS).glob("part-*.parquet"))

    def next_seq(self):
        """One past the highest seq in the table or in a raw file name: seqs are never reused."""
        stored = self.points()["seq"]
        raw = [int(m.group(1)) for p in (self.path / RAW).glob("*.json.gz") if (m := _RAW_SEQ.search(p.name))]
        return max([int(stored.max()) if len(stored) else -1, *raw]) + 1

    def compact(self):
        """Merge the parts into one new part, check it reads back whole, then drop exactly those."""
        old = self.parts()
        if len(old) < 2:
            return
        merged = _dedupe_copies(_read_parts(old))
        part = self.path / POINTS / _part_name(merged["seq"])
        self._write(part, _parquet(merged))
        if not _reads_back(part, merged):
            self.disk.unlink(part)
            raise StoreError(f"compacting {self.path / POINTS} failed: {part.name} did not read back whole")
        for each in old:
            self.disk.unlink(each)
        self.disk.sync(self.path / POINTS)

    def close(self, meta, keep_empty=False):
        """End a run: merge its parts and note the end in run.json; return the points table.

        A run that stored no point has its folder removed, unless `keep_empty` (a resumed run).
        """
        import pandas as pd
        if not self.parts() and not keep_empty:
            shutil.rmtree(self.path, ignore_errors=True)
            return typed(pd.DataFrame())
        self.compact()
        points = self.points()
        meta.update(finished_at=utc_now(), points_stored=len(points))
        self.write_meta(meta)
        return points

    def discard_partial_writes(self):
        """Remove temporary files a killed run left half-written; finished parts are untouched."""
        for tmp in self.path.rglob(".*.tmp"):
            self.disk.unlink(tmp)

    def write_meta(self, meta):
        text = json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
        self._write(self.path / META, text.encode())

    def read_meta(self):
        try:
            meta = json.loads((self.path / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path / META} cannot be read: {exc}") from None
        return renamed_meta(meta)

    def points(self):
        return load_points(self.path)

    def _write(self, path, data):
        """Write bytes to a temporary name, fsync, rename into place, fsync the folder."""
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            self.disk.write(tmp, data)
            self.disk.rename(tmp, path)
            self.disk.sync(path.parent)
        except OSError as exc:
            error = StoreError(f"cannot write {path}: {_reason(exc)}")
            error.reason = exc.strerror or str(exc)
            raise error from None


def typed(frame):
    """The frame with exactly the points table's columns, in order, each of its type."""
    frame = frame.reindex(columns=POINT_COLUMNS)
    for column, dtype in POINT_SCHEMA.items():
        if dtype == _INT:
            frame[column] = frame[column].astype(_FLOAT).round().astype(_INT)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def read_part(part):
    """One part as a typed frame; StoreError naming the part if it is unreadable or not ours."""
    import pyarrow.parquet as pq
    try:
        table = pq.read_table(part)
    except Exception as exc:
        raise StoreError(f"points part {part} is unreadable ({str(exc)[:120]}): "
                         "remove it and resume the run to measure its points again") from None
    table = renamed(table)
    wrong = _schema_difference(table.schema)
    if wrong:
        raise StoreError(f"points part {part} is not a voltools points table ({wrong}): "
                         "move it out of the run folder")
    return typed(table.to_pandas())


def renamed(table):
    """An arrow table with its old column names (RENAMED_COLUMNS) replaced by the new ones."""
    names = table.column_names
    return table.rename_columns([RENAMED_COLUMNS[n] if n in RENAMED_COLUMNS and RENAMED_COLUMNS[n] not in names
                                 else n for n in names])


# Request fields added after a release, with the value that does what runs made before them did:
# a run resumes as it was started (before `pack`, every point was a fio call of its own; before
# `numjobs` and `fio_opt`, every point was one job with voltools' own options; before `prefix`,
# every point read its own file).
ADDED_REQUEST_FIELDS = {"pack": False, "numjobs": "1", "fio_opt": [], "fresh_rounds": False, "prefix": False}


def renamed_meta(meta):
    """run.json with the old names in its request and grid replaced by the new ones, and the
    request's later fields given the values its run was made with."""
    for section in (meta.get("request"), meta.get("grid")):
        for old, new in RENAMED_COLUMNS.items():
            if isinstance(section, dict) and old in section and new not in section:
                section[new] = section.pop(old)
    if isinstance(meta.get("request"), dict):
        for name, value in ADDED_REQUEST_FIELDS.items():
            meta["request"].setdefault(name, value)
    return meta


def load_points(run_path):
    """The points table of a run folder: each point once, its latest measurement, in seq order."""
    path = Path(run_path)
    if not (path / POINTS).is_dir():
        raise StoreError(f"{path} is not a voltools run folder (no {POINTS}/ in it)")
    table = _dedupe_copies(_read_parts(sorted((path / POINTS).glob("part-*.parquet"))))
    return table.drop_duplicates(NODE_POINT_KEY, keep="last", ignore_index=True)


@_root_renamed
def load_run(run_id, data_dir=None):
    """Points of a run by id, from `data_dir` (default: config.raw_dir(), ./data/raw)."""
    return RunStore.open(run_id, data_dir).points()


def load_persist(run_id, data_dir=None):
    """The persist table of a stored run (StoreError if the run has none)."""
    return _table(run_id, data_dir, PERSIST, "a 'voltools persist' run")


def load_moves(run_id, data_dir=None, missing_ok=False):
    """The migration table of a stored run (StoreError if the run moved nothing, or None with
    `missing_ok` where it is a persist run without --migrate-to)."""
    folder = _folder(run_id, data_dir)
    if missing_ok and (folder / PERSIST).is_file() and not (folder / MIGRATION).is_file():
        return None
    return _table(run_id, data_dir, MIGRATION, "a 'voltools persist --migrate-to' run")


def _table(run_id, data_dir, name, what):
    """A table of a run folder other than the points (a persist run has no points.parquet/)."""
    import pandas as pd
    folder = _folder(run_id, data_dir)
    if not (folder / META).is_file():
        raise StoreError(f"no run {run_id} in {folder.parent}")
    if not (folder / name).is_file():
        raise StoreError(f"run {run_id} has no {name}: it was not {what}")
    return pd.read_parquet(folder / name)


def _folder(run_id, data_dir):
    """The folder of run `run_id` in `data_dir` (default: config.raw_dir()); the id checked."""
    return Path(data_dir or raw_dir()) / check_name(run_id)


@_root_renamed
def list_runs(data_dir=None):
    """Run ids in `data_dir` (default: config.raw_dir()), oldest first."""
    folder = Path(data_dir or raw_dir())
    return sorted(p.name for p in folder.glob("[!.]*") if (p / POINTS).is_dir()) if folder.is_dir() else []


def _reads_back(part, frame):
    """True if `part` reads back with exactly the rows (by seq) of `frame`."""
    try:
        back = read_part(part)
    except StoreError:
        return False
    return len(back) == len(frame) and set(back["seq"]) == set(frame["seq"])


def _read_parts(parts):
    import pandas as pd
    frames = [read_part(part) for part in parts]
    return pd.concat(frames, ignore_index=True) if frames else typed(pd.DataFrame())


def _dedupe_copies(table):
    """Rows in seq order, each seq once (a crash mid-compaction leaves two copies of a row)."""
    table = table.sort_values("seq", kind="stable", ignore_index=True)
    return table.drop_duplicates("seq", keep="first", ignore_index=True)


def _parquet(frame):
    import pyarrow as pa
    import pyarrow.parquet as pq
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def _part_name(seqs):
    """part-<first seq>-<last seq>-<random>.parquet: unique whatever was written before."""
    low, high = (int(seqs.min()), int(seqs.max())) if len(seqs) and seqs.notna().any() else (0, 0)
    return f"part-{low:08d}-{high:08d}-{secrets.token_hex(4)}.parquet"


def _schema_difference(schema):
    """'' if the part's columns and types are the points table's, else what differs."""
    expected = _arrow_schema()
    names = list(schema.names)
    missing = [n for n in expected.names if n not in names and n not in ADDED_COLUMNS]
    extra = [n for n in names if n not in expected.names]
    if missing or extra:
        return f"missing columns {missing[:3]}, unknown {extra[:3]}"
    for field in expected:
        if field.name not in names:
            continue
        if _kind(schema.field(field.name).type) != _kind(field.type):
            return f"column {field.name} is {schema.field(field.name).type}, not {field.type}"
    return ""


def _arrow_schema():
    import pandas as pd
    import pyarrow as pa
    return pa.Schema.from_pandas(typed(pd.DataFrame()), preserve_index=False)


def _kind(arrow_type):
    """Arrow types that hold the same values compare equal (string and large_string)."""
    import pyarrow as pa
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_null(arrow_type):
        return "null"
    return str(arrow_type)


def _exists(run_id, data_dir):
    return StoreError(f"run {run_id} exists in {data_dir}: data/raw is write-once; "
                      "choose another --run-id or carry it on with --resume")


def _reason(exc):
    return f"{exc.strerror or exc} ({exc.filename})" if getattr(exc, "filename", None) else str(exc)
