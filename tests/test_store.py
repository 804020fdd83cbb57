import gzip

import pandas as pd
import pytest

from voltools.errors import StoreError, UsageError
from voltools.store import POINT_COLUMNS, RunStore, list_runs, load_points, load_run


def rows(n, start=0):
    return pd.DataFrame({"run_id": ["r"] * n, "seq": range(start, start + n), "target": ["tmpfs"] * n,
                         "bs_bytes": [4096] * n, "blocks": [1] * n, "read_time_s": [1e-4] * n, "error": [0] * n})


def test_parts_append_in_order_with_the_full_schema(raw_root):
    store = RunStore.create("r", raw_root)
    store.append_points(rows(3))
    store.append_points(rows(2, start=3))
    table = load_run("r", raw_root)
    assert list(table.columns) == POINT_COLUMNS
    assert table["seq"].tolist() == [0, 1, 2, 3, 4]
    assert [p.name for p in store.parts()] == ["part-000000.parquet", "part-000001.parquet"]
    assert not list(store.path.rglob(".*.tmp")), "no temporary file is left behind"


def test_run_folders_are_write_once(raw_root):
    RunStore.create("r", raw_root)
    with pytest.raises(StoreError, match="write-once"):
        RunStore.create("r", raw_root)


def test_raw_output_is_kept_as_printed(raw_root):
    store = RunStore.create("r", raw_root)
    relative = store.write_raw("tmpfs-0000", '{"fio version": "fio-3.33"}\n')
    assert gzip.decompress((store.path / relative).read_bytes()).decode() == '{"fio version": "fio-3.33"}\n'


def test_meta_round_trip_and_listing(raw_root):
    store = RunStore.create("b", raw_root)
    RunStore.create("a", raw_root)
    store.write_meta({"run_id": "b", "n": 1})
    assert store.read_meta() == {"run_id": "b", "n": 1}
    assert list_runs(raw_root) == ["a", "b"]


def test_corrupted_part_is_named_on_load(raw_root):
    store = RunStore.create("r", raw_root)
    store.append_points(rows(2))
    part = store.parts()[0]
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(StoreError, match="part-000000.parquet is unreadable"):
        load_points(store.path)


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
    table = pd.read_parquet(store.path / "points.parquet")
    assert len(table) == 3 and str(table["memory_limit_bytes"].dtype) == "Int64"
    assert table["memory_limit_bytes"].isna().sum() == 2
