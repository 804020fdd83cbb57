"""The store: write-once run folders, a points table that never loses or doubles a point.

The state machine at the end attacks it: appends, re-measurements, compactions and corruptions,
with a crash injected before any file operation (or halfway through a write), then a restart.
"""
import gzip
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from voltools.errors import StoreError, UsageError
from voltools.runlock import RunLock, is_live
from voltools.points import POINT_COLUMNS
from voltools.store import Disk, RunStore, list_runs, load_points, load_run, renamed_meta, typed


def rows(n, start=0, value=1e-4):
    """n rows of distinct points (repeat = seq), seqs from `start`."""
    seqs = list(range(start, start + n))
    return pd.DataFrame({"run_id": "r", "seq": seqs, "target": "tmpfs", "node": "n1", "rw": "read",
                         "direct": 1, "iodepth": 1, "bs_bytes": 4096, "blocks": 1, "repeat": seqs,
                         "read_time_s": value, "error": 0})


def test_parts_append_in_order_with_the_full_schema(raw_root):
    store = RunStore.create("r", raw_root)
    store.append_points(rows(3))
    store.append_points(rows(2, start=3))
    table = load_run("r", raw_root)
    assert list(table.columns) == POINT_COLUMNS
    assert table["seq"].tolist() == [0, 1, 2, 3, 4]
    names = [p.name for p in store.parts()]
    assert len(names) == 2 and names[0].startswith("part-00000000-00000002-")
    assert not list(store.path.rglob(".*.tmp")), "no temporary file is left behind"


def test_a_new_run_folder_is_whole_from_the_start(raw_root):
    store = RunStore.create("r", raw_root, {"run_id": "r", "request": {}})
    # a request without them predates them: one fio call a point, one job, voltools' own options
    assert store.read_meta() == {"run_id": "r", "request": {"pack": False, "numjobs": "1", "fio_opt": [],
                                                            "fresh_rounds": False, "prefix": False}}
    assert sorted(p.name for p in store.path.iterdir()) == ["fio", "points.parquet", "run.json"]
    assert [p.name for p in raw_root.iterdir()] == ["r"], "no draft folder is left"


def test_run_folders_are_write_once(raw_root):
    RunStore.create("r", raw_root)
    with pytest.raises(StoreError, match="write-once"):
        RunStore.create("r", raw_root)


def test_a_data_dir_that_cannot_hold_a_run_is_one_error(tmp_path):
    plain = tmp_path / "file"
    plain.write_text("x")
    with pytest.raises(StoreError, match="cannot hold a run"):
        RunStore.create("r", plain)
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:
        with pytest.raises(StoreError, match="cannot hold a run"):
            RunStore.create("r", locked)


def test_an_incomplete_run_folder_is_named(raw_root):
    store = RunStore.create("r", raw_root)
    (store.path / "fio").rmdir()
    with pytest.raises(StoreError, match="incomplete: its folder of raw fio outputs fio is missing"):
        RunStore.open("r", raw_root)


def test_raw_output_is_kept_as_printed_and_never_overwritten(raw_root):
    store = RunStore.create("r", raw_root)
    relative = store.write_raw("tmpfs-00000", '{"fio version": "fio-3.33"}\n')
    assert gzip.decompress((store.path / relative).read_bytes()).decode() == '{"fio version": "fio-3.33"}\n'
    with pytest.raises(StoreError, match="never overwritten"):
        store.write_raw("tmpfs-00000", "{}")
    assert store.next_seq() == 1, "a seq named by a raw file is never given again"


def _old_part(store, frame, renames):
    """A part written by an older release: some columns under their old names, some not yet there."""
    table = pa.Table.from_pandas(typed(frame), preserve_index=False)
    old = table.rename_columns([renames.get(n, n) for n in table.column_names]).drop_columns(["round"])
    pq.write_table(old, store.path / "points.parquet" / "part-00000000-00000002-0ld0.parquet")


def test_an_old_part_loads_with_its_renamed_columns_under_the_new_names(raw_root):
    store = RunStore.create("r", raw_root)
    _old_part(store, rows(3).assign(reader="python"), {"reader": "engine"})
    table = load_run("r", raw_root)
    assert list(table.columns) == POINT_COLUMNS and "engine" not in table.columns
    assert table["reader"].tolist() == ["python"] * 3 and table["round"].isna().all()
    store.append_points(rows(1, start=3).assign(reader="fio"))
    store.compact()  # the merged part is written under the new names
    assert pq.read_schema(store.parts()[0]).names == POINT_COLUMNS


def test_an_old_run_json_reads_with_the_new_names(raw_root):
    old = {"run_id": "r", "grid": {"engine": "python"}, "request": {"engine": "python", "bs": "4k"}}
    store = RunStore.create("r", raw_root, old)
    meta = store.read_meta()
    assert meta["grid"] == {"reader": "python"}
    assert meta["request"] == {"reader": "python", "bs": "4k", "pack": False, "numjobs": "1",
                               "fio_opt": [], "fresh_rounds": False, "prefix": False}  # made before them: resumes so


def test_a_new_run_json_keeps_its_own_request():
    request = {"bs": "4k", "pack": True, "numjobs": "1,4", "fio_opt": ["ioengine=pvsync2"], "fresh_rounds": True,
               "prefix": True}
    meta = renamed_meta({"request": dict(request), "grid": {"reader": "fio"}})
    assert meta["request"] == request and meta["grid"] == {"reader": "fio"}


def test_the_committed_sample_loads_under_the_new_names():
    points, meta = load_run("sample"), RunStore.open("sample").read_meta()
    assert (points["reader"] == "fio").all() and meta["request"]["reader"] == "fio"


def test_meta_round_trip_and_listing(raw_root):
    store = RunStore.create("b", raw_root)
    RunStore.create("a", raw_root)
    store.write_meta({"run_id": "b", "n": 1})
    assert store.read_meta() == {"run_id": "b", "n": 1}
    assert list_runs(raw_root) == ["a", "b"]


def test_data_dir_is_the_name_and_root_still_works_for_a_release_with_a_warning(raw_root):
    RunStore.create("r", data_dir=raw_root).append_points(rows(2))
    assert len(load_run("r", data_dir=raw_root)) == 2 and list_runs(data_dir=raw_root) == ["r"]
    with pytest.warns(DeprecationWarning, match=r"load_run\(root=...\) is deprecated: use data_dir=") as said:
        assert len(load_run("r", root=raw_root)) == 2
    assert said[0].filename == __file__, "the warning names the caller's line"
    with pytest.warns(DeprecationWarning, match=r"RunStore.open\(root="):
        assert RunStore.open("r", root=raw_root).path == raw_root / "r"
    with pytest.warns(DeprecationWarning, match=r"RunStore.create\(root="):
        RunStore.create("s", root=raw_root)
    with pytest.warns(DeprecationWarning, match=r"list_runs\(root="):
        assert list_runs(root=raw_root) == ["r", "s"]
    with pytest.raises(TypeError, match="both data_dir= and root="):
        load_run("r", data_dir=raw_root, root=raw_root)


def test_corrupted_part_is_named_on_load(raw_root):
    store = RunStore.create("r", raw_root)
    store.append_points(rows(2))
    part = store.parts()[0]
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(StoreError, match=f"{part.name} is unreadable"):
        load_points(store.path)


def test_a_part_of_another_schema_is_refused_by_name(raw_root):
    store = RunStore.create("r", raw_root)
    store.append_points(rows(2))
    stray = store.path / "points.parquet" / "part-stray.parquet"
    pq.write_table(pa.table({"seq": [7], "something": ["else"]}), stray)
    with pytest.raises(StoreError, match="part-stray.parquet is not a voltools points table"):
        load_points(store.path)
    wrong_type = typed(rows(1, start=9)).assign(bs_bytes="4k")
    pq.write_table(pa.Table.from_pandas(wrong_type, preserve_index=False), stray)
    with pytest.raises(StoreError, match="column bs_bytes is (large_)?string, not int64"):
        load_points(store.path)


def test_a_remeasured_point_supersedes_the_earlier_row(raw_root):
    store = RunStore.create("r", raw_root)
    first = rows(2).assign(error=[0, 5], read_time_s=[1.0, None])
    store.append_points(first)
    store.append_points(rows(1, start=2).assign(repeat=1, read_time_s=2.0))
    table = load_run("r", raw_root)
    assert table["seq"].tolist() == [0, 2] and table["error"].tolist() == [0, 0]
    assert table["read_time_s"].tolist() == [1.0, 2.0]


def test_missing_run_and_bad_id(raw_root):
    with pytest.raises(StoreError, match="no run nope"):
        load_run("nope", raw_root)
    with pytest.raises(UsageError):
        RunStore.create("../escape", raw_root)
    assert not raw_root.exists() or not any(raw_root.iterdir())


def test_parts_share_one_schema_even_with_all_missing_columns(raw_root):
    store = RunStore.create("r", raw_root)
    first = rows(2).assign(memory_limit_bytes=None, target_size_bytes=None)
    store.append_points(first)
    store.append_points(rows(1, start=2).assign(memory_limit_bytes=256 << 20, target_size_bytes=1 << 30))
    table = load_run("r", raw_root)
    assert len(table) == 3 and str(table["memory_limit_bytes"].dtype) == "Int64"
    assert table["memory_limit_bytes"].isna().sum() == 2


def test_compaction_keeps_the_old_parts_when_the_merged_one_does_not_read_back(raw_root):
    class Garbling(Disk):
        def write(self, path, data):
            super().write(path, data[: len(data) // 2] if "part-" in str(path) and self.armed else data)

    disk = Garbling()
    disk.armed = False
    store = RunStore(RunStore.create("r", raw_root).path, disk)
    store.append_points(rows(2))
    store.append_points(rows(2, start=2))
    before = [p.name for p in store.parts()]
    disk.armed = True
    with pytest.raises(StoreError, match="did not read back whole"):
        store.compact()
    assert [p.name for p in store.parts()] == before
    assert load_run("r", raw_root)["seq"].tolist() == [0, 1, 2, 3]


def test_one_writer_per_run(isolated_state):
    lock = RunLock("r").acquire()
    try:
        assert is_live("r")
        with pytest.raises(StoreError, match="being measured by another voltools process"):
            RunLock("r").acquire()
    finally:
        lock.release()
    assert not is_live("r")
    RunLock("r").acquire().release()


# ------------------------------------------------------------------ the attack


class Crash(BaseException):
    """A kill: nothing after it runs (not an Exception, so no handler catches it)."""


class CrashingDisk(Disk):
    """A Disk that crashes before its `fuse`-th operation from now; a write may crash halfway."""

    def __init__(self):
        self.fuse = None
        self.half = False

    def _tick(self):
        if self.fuse is not None:
            self.fuse -= 1
            if self.fuse < 0:
                self.fuse = None
                raise Crash

    def write(self, path, data):
        if self.fuse == 0 and self.half:
            with open(path, "wb") as handle:
                handle.write(data[: len(data) // 2])
        self._tick()
        super().write(path, data)

    def rename(self, source, target):
        self._tick()
        super().rename(source, target)

    def unlink(self, path):
        self._tick()
        super().unlink(path)

    def sync(self, folder):
        self._tick()
        super().sync(folder)


KEYS = st.integers(min_value=0, max_value=11)  # few keys, so points are measured again often
FUSE = st.one_of(st.none(), st.integers(min_value=0, max_value=8))


SOAK = os.environ.get("VOLTOOLS_SOAK", "") not in ("", "0")


@settings(max_examples=400 if SOAK else 40, stateful_step_count=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
class StoreUnderAttack(RuleBasedStateMachine):
    """Model: every row whose append returned is stored ("sure"); a row whose append crashed may
    or may not be ("maybe"). The loaded table holds each key once: its latest row by seq."""

    def __init__(self):
        super().__init__()
        import tempfile
        self.root = tempfile.mkdtemp(prefix="vt-store-")
        self.disk = CrashingDisk()
        self.store = RunStore(RunStore.create("r", self.root).path, self.disk)
        self.sure, self.maybe = {}, {}  # seq -> (key, value)
        self.crashed = False

    def _arm(self, fuse, half):
        self.disk.fuse, self.disk.half = fuse, half

    def _restart(self):
        """What a resume does after a kill: a new process, partial writes removed."""
        self.disk = CrashingDisk()
        self.store = RunStore(self.store.path, self.disk)
        self.store.discard_partial_writes()
        self.crashed = False

    @precondition(lambda self: not self.crashed)
    @rule(keys=st.lists(KEYS, min_size=1, max_size=3, unique=True), fuse=FUSE, half=st.booleans(),
          value=st.floats(min_value=1e-6, max_value=10))
    def append(self, keys, fuse, half, value):
        seq = self.store.next_seq()
        frame = rows(len(keys), start=seq, value=value).assign(repeat=keys)
        new = {seq + i: (k, value) for i, k in enumerate(keys)}
        self._arm(fuse, half)
        try:
            self.store.write_raw(f"tmpfs-{seq:05d}", "{}")
            self.store.append_points(frame)
        except Crash:
            self.maybe.update(new)
            self.crashed = True
            return
        finally:
            self._arm(None, False)
        self.sure.update(new)

    @precondition(lambda self: not self.crashed)
    @rule(fuse=FUSE, half=st.booleans())
    def compact(self, fuse, half):
        self._arm(fuse, half)
        try:
            self.store.compact()
        except Crash:
            self.crashed = True
        finally:
            self._arm(None, False)

    @precondition(lambda self: self.crashed)
    @rule()
    def restart(self):
        self._restart()

    @precondition(lambda self: not self.crashed and len(self.store.parts()) > 0)
    @rule(data=st.data())
    def corrupt_and_remove_a_part(self, data):
        """A part damaged on disk: named on load; removed as advised, the rest still loads."""
        parts = self.store.parts()
        part = data.draw(st.sampled_from(parts))
        gone = set(pq.read_table(part, columns=["seq"]).column("seq").to_pylist())
        elsewhere = set()
        for other in parts:
            if other != part:
                elsewhere |= set(pq.read_table(other, columns=["seq"]).column("seq").to_pylist())
        part.write_bytes(part.read_bytes()[:64])
        with pytest.raises(StoreError, match=part.name):
            self.store.points()
        part.unlink()
        for seq in gone - elsewhere:
            self.sure.pop(seq, None)
            self.maybe.pop(seq, None)

    @invariant()
    def every_finished_point_once_with_its_latest_value(self):
        if self.crashed:
            return  # a dead process reads nothing; the restart rule brings it back
        table = self.store.points()
        assert not table["seq"].duplicated().any()
        assert not table["repeat"].duplicated().any(), "each key once"
        loaded = {int(r.repeat): (int(r.seq), float(r.read_time_s)) for r in table.itertuples()}
        for key in {k for k, _ in self.sure.values()}:
            latest_sure = max(s for s, (k, _) in self.sure.items() if k == key)
            assert key in loaded, f"finished point {key} lost"
            seq, value = loaded[key]
            assert seq >= latest_sure, f"point {key}: an older row {seq} shadows {latest_sure}"
            assert seq in self.sure or seq in self.maybe
            assert value == (self.sure.get(seq) or self.maybe.get(seq))[1]
        attempted = {k for k, _ in self.sure.values()} | {k for k, _ in self.maybe.values()}
        assert set(loaded) <= attempted, "no point appears that was never written"

    def teardown(self):
        import shutil
        shutil.rmtree(self.root, ignore_errors=True)


TestStoreUnderAttack = StoreUnderAttack.TestCase


@pytest.mark.parametrize("more", [0, 1])
@pytest.mark.parametrize("fuse", range(7))
def test_a_crash_at_any_step_of_compaction_then_compacting_again_keeps_every_point(raw_root, fuse, more):
    """The sequence that lost whole runs: stop mid-compaction, resume (measuring `more` points),
    compact again."""
    disk = CrashingDisk()
    store = RunStore(RunStore.create("r", raw_root).path, disk)
    store.append_points(rows(3))
    store.append_points(rows(2, start=3))
    disk.fuse = fuse
    try:
        store.compact()
    except Crash:
        pass
    disk.fuse = None
    store = RunStore(store.path)
    store.discard_partial_writes()
    if more:
        store.append_points(rows(1, start=store.next_seq()))
    store.compact()
    store.compact()
    assert load_run("r", raw_root)["seq"].tolist() == list(range(5 + more))
