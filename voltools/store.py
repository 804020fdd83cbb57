"""data/raw/<run_id>/: write-once run folders holding raw fio output, the points table and run.json.

The points table is a folder `points.parquet/` of part files; each part is written to a temporary
name, fsynced and renamed, so a kill never leaves a half-written table behind.
"""
import gzip
import json
import os
import shutil
from pathlib import Path

from .config import raw_dir
from .errors import StoreError
from .naming import check_name
from .provenance import utc_now

_INT = "Int64"
_FLOAT = "float64"
_STR = "string"
# The points table's columns and their types: units in the names, integers where they can be.
POINT_SCHEMA = {
    "run_id": _STR, "seq": _INT, "target": _STR, "target_kind": _STR, "driver_opts": _STR,
    "engine": _STR, "orchestrator": _STR, "node": _STR, "storage_class": _STR, "rw": _STR,
    "direct": _INT,
    "iodepth": _INT, "numjobs": _INT, "bs_bytes": _INT, "blocks": _INT, "size_bytes": _INT,
    "allocated_bytes": _INT, "target_size_bytes": _INT, "fs_total_bytes": _INT,
    "fs_avail_bytes": _INT, "memory_limit_bytes": _INT, "repeat": _INT, "read_time_s": _FLOAT,
    "read_time_source": _STR, "runtime_s": _FLOAT, "bw_bytes": _INT, "iops": _FLOAT,
    "lat_mean_ns": _FLOAT, "lat_p50_ns": _INT, "lat_p99_ns": _INT, "lat_p999_ns": _INT,
    "fio_version": _STR, "error": _INT, "error_msg": _STR, "raw_file": _STR,
    "raw_job_index": _INT, "finished_at": _STR,
}
POINT_COLUMNS = list(POINT_SCHEMA)
POINTS = "points.parquet"
META = "run.json"


class RunStore:
    """One run's folder: raw outputs, points table parts, provenance."""

    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def create(cls, run_id, root=None):
        """A new run folder; refuses a run id that exists (data/raw is write-once)."""
        path = Path(root or raw_dir()) / check_name(run_id)
        try:
            (path / POINTS).mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise StoreError(f"run {run_id} exists in {path.parent}: data/raw is write-once; "
                             "choose another --run-id or carry it on with --resume") from None
        (path / "fio").mkdir()
        return cls(path)

    @classmethod
    def open(cls, run_id, root=None):
        """An existing run folder, or StoreError naming where it was looked for."""
        path = Path(root or raw_dir()) / check_name(run_id)
        if not (path / POINTS).is_dir():
            raise StoreError(f"no run {run_id} in {path.parent}: list runs with 'ls {path.parent}'")
        return cls(path)

    def write_raw(self, name, text):
        """Keep fio's output as printed (gzip-compressed); return its path inside the run."""
        relative = f"fio/{check_name(name, 'raw file name')}.json.gz"
        _atomic_write(self.path / relative, gzip.compress(text.encode(), mtime=0))
        return relative

    def append_points(self, frame):
        """Add rows as a new part file; earlier parts are never rewritten."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        part = self.path / POINTS / f"part-{len(self.parts()):06d}.parquet"
        table = pa.Table.from_pandas(typed(frame), preserve_index=False)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        _atomic_write(part, sink.getvalue().to_pybytes())

    def parts(self):
        return sorted((self.path / POINTS).glob("part-*.parquet"))

    def next_seq(self):
        """The sequence number the next point gets (one past the highest stored)."""
        seq = self.points()["seq"]
        return int(seq.max()) + 1 if len(seq) else 0

    def compact(self):
        """Merge the parts into one new part, then drop the old ones (load de-duplicates by seq)."""
        old = self.parts()
        if len(old) > 1:
            self.append_points(self.points())
            for part in old:
                part.unlink()

    def close(self, meta, keep_empty=False):
        """End a run: merge its parts and note the end in run.json; return the points table.

        A run that stored no point has its folder removed, unless `keep_empty` (a resumed run).
        """
        import pandas as pd
        if not self.parts() and not keep_empty:
            shutil.rmtree(self.path)
            return typed(pd.DataFrame())
        self.compact()
        points = self.points()
        meta.update(finished_at=utc_now(), points_stored=len(points))
        self.write_meta(meta)
        return points

    def discard_partial_writes(self):
        """Remove temporary files a killed run left half-written; finished parts are untouched."""
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink()

    def write_meta(self, meta):
        _atomic_write(self.path / META, (json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n").encode())

    def read_meta(self):
        try:
            return json.loads((self.path / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path / META} cannot be read: {exc}") from None

    def points(self):
        return load_points(self.path)


def typed(frame):
    """The frame with exactly the points table's columns, in order, each of its type."""
    frame = frame.reindex(columns=POINT_COLUMNS)
    for column, dtype in POINT_SCHEMA.items():
        if dtype == _INT:
            frame[column] = frame[column].astype(_FLOAT).round().astype(_INT)
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def load_points(run_path):
    """The points table of a run folder as one DataFrame, parts in order."""
    import pandas as pd
    import pyarrow.parquet as pq
    path = Path(run_path)
    parts = sorted((path / POINTS).glob("part-*.parquet"))
    if not (path / POINTS).is_dir():
        raise StoreError(f"{path} is not a voltools run folder (no {POINTS}/ in it)")
    frames = []
    for part in parts:
        try:
            frames.append(typed(pq.read_table(part).to_pandas()))
        except Exception as exc:
            raise StoreError(f"points part {part} is unreadable ({str(exc)[:120]}): "
                             "remove it and resume the run to measure its points again") from None
    if not frames:
        return typed(pd.DataFrame())
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates("seq", keep="first", ignore_index=True)


def load_run(run_id, root=None):
    """Points of a run by id, from data/raw (or `root`)."""
    return RunStore.open(run_id, root).points()


def list_runs(root=None):
    """Run ids under data/raw, oldest first."""
    root = Path(root or raw_dir())
    return sorted(p.name for p in root.glob("*") if (p / POINTS).is_dir()) if root.is_dir() else []


def _atomic_write(path, data):
    """Write bytes to a temporary name, fsync, rename into place, fsync the folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
