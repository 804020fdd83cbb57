"""The built-in python reader on real files: byte counts, O_DIRECT, the buffered fall-back, bad input."""
import os
import tempfile
from pathlib import Path

import pytest

from voltools.measuring import fio, pyreader
from voltools.errors import UsageError
from voltools.provenance import voltools_version

B, N = 4096, 64


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(B * N))
    return path


def _direct_supported(path):
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("rw", ["read", "randread"])
def test_reads_exactly_n_blocks_and_returns_a_fio_shaped_row(data_file, rw):
    row = pyreader.read_blocks(str(data_file), B, N, rw=rw, direct=0)
    assert set(fio.COLUMNS) <= set(row)
    assert row["io_bytes"] == B * N and row["total_ios"] == N and row["error"] == 0
    assert row["rw"] == rw and row["bs_bytes"] == B and row["iodepth"] == 1
    assert row["fio_version"] == f"python-{voltools_version()}"
    assert row["read_time_ns_sum"] > 0 and row["read_time_ns_sum"] == pytest.approx(row["lat_mean_ns"] * N)
    assert 0 < row["lat_p50_ns"] <= row["lat_p99_ns"] <= row["lat_p999_ns"]
    assert row["clat_mean_ns"] == row["lat_mean_ns"] and isinstance(row["runtime_ms"], int)
    assert row["bw_bytes"] > 0 and row["iops"] > 0
    assert row["direct"] == 0 and row["direct_fallback"] is False and row["fallback_reason"] == ""


def test_a_prefix_of_a_larger_file_is_read(data_file):
    row = pyreader.read_blocks(str(data_file), 2 * B, N // 4)
    assert row["io_bytes"] == 2 * B * N // 4 and row["total_ios"] == N // 4


def test_direct_reads_use_o_direct_where_the_filesystem_allows_it(data_file):
    candidates = [data_file.parent, Path("/var/tmp"), Path(__file__).parent]  # tmpfs refuses it before Linux 6.6
    for folder in candidates:
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            path = Path(scratch) / "data.bin"
            path.write_bytes(data_file.read_bytes())
            if _direct_supported(path):
                row = pyreader.read_blocks(str(path), B, N, direct=1)
                assert row["direct"] == 1 and row["direct_fallback"] is False
                assert row["io_bytes"] == B * N and row["error"] == 0
                return
    pytest.skip(f"no filesystem here accepts O_DIRECT: {candidates}")


def test_refused_o_direct_falls_back_to_buffered_reads_and_says_so(data_file):
    row = pyreader.read_blocks(str(data_file), B, N, rw="randread", direct=1, allow_direct=False)
    assert row["direct"] == 0 and row["direct_fallback"] is True
    assert "O_DIRECT" in row["fallback_reason"]
    assert row["io_bytes"] == B * N and row["total_ios"] == N and row["error"] == 0


def test_random_order_is_a_seeded_permutation():
    first = pyreader._offsets(100, B, "randread", seed=3)
    assert first == pyreader._offsets(100, B, "randread", seed=3)
    assert first != pyreader._offsets(100, B, "randread", seed=4)
    assert sorted(first) == pyreader._offsets(100, B, "read", seed=3) == [i * B for i in range(100)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(bs_bytes=0), "block size"), (dict(bs_bytes=True), "block size"), (dict(blocks=-1), "blocks"),
    (dict(blocks=1.5), "blocks"), (dict(rw="write"), "rw"), (dict(direct=2), "direct"),
    (dict(bs_bytes=1000, blocks=1), "multiple of 512"), (dict(blocks=N + 1), "fewer than"),
])
def test_bad_input_is_refused_with_a_usage_error(data_file, kwargs, match):
    args = {"path": str(data_file), "bs_bytes": B, "blocks": N, **kwargs}
    with pytest.raises(UsageError, match=match):
        pyreader.read_blocks(**args)


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    for path in (tmp_path / "missing.bin", tmp_path):
        with pytest.raises(UsageError, match="regular file"):
            pyreader.read_blocks(str(path), B, 1)

