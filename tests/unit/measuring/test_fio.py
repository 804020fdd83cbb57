"""voltools.measuring.fio: parse every file of the real fio JSON corpus, and refuse bad input clearly."""
import gzip
import math
import os
import time

import pandas as pd
import pytest

from repo import CORPUS
from voltools.measuring import fio
from voltools.errors import FioParseError, VoltoolsError


NA = None  # expected missing value (NaN / <NA> / None)
KiB = 1024

# file -> number of rows; values read by hand from each file.
ROW_COUNTS = {
    "fio-2.1.4-5jobs-seq-rand-rw-disk_util.json": 5,
    "fio-2.17-randread-randwrite-2jobs-group_reporting.json": 2,
    "fio-2.18-randread-1job-usec.json": 1,
    "fio-3.1-randread-1job-disk_util-dup-percentile-keys.json": 1,
    "fio-3.7-client-server-2hosts-10jobs-read-preamble.txt": 11,
    "fio-3.16-randread-4jobs-group_reporting-disk_util.json": 1,
    "fio-3.19-rw-8jobs-disk_util.json": 16,
    "fio-3.26-windowsaio-randwrite-1job-no-eol.json": 1,
    "fio-3.26-readwrite-70-30-2disks.json": 2,
    "fio-3.29-jsonplus-randread-bins-reindented.json": 1,
    "fio-3.33-write-error22-preamble.json": 1,
    "fio-3.33-rw-group_reporting-signal-preamble.json": 2,
    "fio-3.33-randwrite-4jobs-disk_util.json": 4,
    "fio-3.36-read-2jobs-group_reporting-disk_util.json": 1,
}

# (file, row position, expected column values). fio 2.x figures are written as
# printed (usec, KiB, KiB/s) times 1000 or 1024, so the conversion is visible.
EXPECTED = [
    ("fio-2.1.4-5jobs-seq-rand-rw-disk_util.json", 0, dict(
        fio_version="fio-2.1.4", jobname="sequential_write", job_index=0, direction="write",
        rw=NA, bs_bytes=NA, ioengine=NA, iodepth=NA, numjobs=NA,
        io_bytes=361984 * KiB, bw_bytes=68118 * KiB, iops=133, total_ios=NA, runtime_ms=5314,
        clat_mean_ns=477734.84 * 1000, clat_p50_ns=444416 * 1000, clat_p99_ns=823296 * 1000,
        clat_p999_ns=872448 * 1000, lat_mean_ns=478737.47 * 1000, lat_p99_ns=NA, error=0)),
    ("fio-2.1.4-5jobs-seq-rand-rw-disk_util.json", 3, dict(
        jobname="random_read_test", job_index=3, direction="read", io_bytes=36244 * KiB,
        bw_bytes=1269 * KiB, iops=317, runtime_ms=28540, clat_mean_ns=3117.62 * 1000,
        clat_p99_ns=3728 * 1000, clat_p999_ns=6880 * 1000)),
    ("fio-2.17-randread-randwrite-2jobs-group_reporting.json", 0, dict(
        fio_version="fio-2.17", jobname="rand_16k_read_100%-io-depth-1-num-jobs-2", job_index=0,
        direction="read", rw="randread", bs_bytes=16384, ioengine="libaio", iodepth=1, numjobs=2,
        io_bytes=1294256 * KiB, bw_bytes=129386 * KiB, iops=8086.673998, total_ios=80891,
        runtime_ms=10003, clat_mean_ns=238.357679 * 1000, clat_p50_ns=96 * 1000,
        clat_p99_ns=1352 * 1000, clat_p999_ns=1896 * 1000, lat_mean_ns=245.531122 * 1000, error=0)),
    ("fio-2.17-randread-randwrite-2jobs-group_reporting.json", 1, dict(
        jobname="rand_16k_write_100%-io-depth-1-num-jobs-2", job_index=1, direction="write",
        rw="randwrite", bs_bytes=16384, io_bytes=393280 * KiB, bw_bytes=39312 * KiB,
        iops=2457.017193, total_ios=24580, clat_mean_ns=800.193694 * 1000,
        clat_p99_ns=2384 * 1000)),
    ("fio-2.18-randread-1job-usec.json", 0, dict(
        fio_version="fio-2.18-59-g618e", jobname="random-io", job_index=0, direction="read",
        rw="randread", bs_bytes=4096, ioengine="libaio", iodepth=1, numjobs=NA,
        io_bytes=17568 * KiB, bw_bytes=292 * KiB, iops=73.184143, total_ios=4392, runtime_ms=60013,
        clat_mean_ns=13636.394809 * 1000, clat_p50_ns=13504 * 1000, clat_p99_ns=22912 * 1000,
        clat_p999_ns=24960 * 1000, lat_mean_ns=13652.220173 * 1000, error=0)),
    ("fio-3.1-randread-1job-disk_util-dup-percentile-keys.json", 0, dict(
        fio_version="fio-3.1", jobname="random-read", direction="read", rw="randread",
        bs_bytes=4096, ioengine="libaio", iodepth=1, numjobs=1, io_bytes=1625501696,
        bw_bytes=26456 * KiB, iops=6614.073099, total_ios=396851, runtime_ms=60001,
        clat_mean_ns=135557.025488, clat_p50_ns=134144, clat_p99_ns=142336, clat_p999_ns=464896,
        lat_mean_ns=147792.395919, lat_p50_ns=NA, error=0)),
    ("fio-3.7-client-server-2hosts-10jobs-read-preamble.txt", 0, dict(
        fio_version="fio-3.7", jobname="job-/tmp/fio", job_index=0, direction="read", rw="read",
        bs_bytes=4096, ioengine="libaio", iodepth=32, numjobs=5, io_bytes=488804352,
        bw_bytes=32576098, iops=7951.016328, total_ios=119305, runtime_ms=15005,
        clat_mean_ns=3994084.886371, clat_p50_ns=5668864, clat_p99_ns=6193152, error=0)),
    ("fio-3.7-client-server-2hosts-10jobs-read-preamble.txt", 10, dict(
        fio_version="fio-3.7", jobname="All clients", job_index=10, direction="read", rw=NA,
        bs_bytes=4096, ioengine="libaio", iodepth=32, numjobs=NA, io_bytes=5740351488,
        bw_bytes=381824630, iops=93198.150858, total_ios=1401141, runtime_ms=15034,
        clat_mean_ns=3413511.909894, clat_p50_ns=NA, clat_p99_ns=NA, clat_p999_ns=NA,
        lat_mean_ns=3428080.742536, error=0)),
    ("fio-3.16-randread-4jobs-group_reporting-disk_util.json", 0, dict(
        fio_version="fio-3.16", jobname="iotest", direction="read", rw="randread", bs_bytes=4096,
        iodepth=16, numjobs=4, io_bytes=375017472, bw_bytes=6240514, iops=1523.563085,
        total_ios=91557, runtime_ms=60094, clat_mean_ns=41950030.440927, clat_p50_ns=25296896,
        clat_p99_ns=238026752, clat_p999_ns=442499072, error=0)),
    ("fio-3.19-rw-8jobs-disk_util.json", 0, dict(
        fio_version="fio-3.19", jobname="job-/dev/nvme8n1", job_index=0, direction="read", rw="rw",
        bs_bytes=4096, ioengine="libaio", iodepth=64, numjobs=8, io_bytes=34249953280,
        bw_bytes=396410, iops=96.77941, total_ios=8361769, runtime_ms=86400289,
        clat_mean_ns=325444045.939162, clat_p99_ns=985661440, error=0)),
    ("fio-3.19-rw-8jobs-disk_util.json", 1, dict(
        job_index=0, direction="write", io_bytes=34232373248, bw_bytes=396206, iops=96.729827,
        total_ios=8357485, clat_mean_ns=325691042.172826, clat_p99_ns=985661440)),
    ("fio-3.19-rw-8jobs-disk_util.json", 15, dict(
        job_index=7, direction="write", io_bytes=6550675456, bw_bytes=75817, iops=18.509815,
        total_ios=1599254, runtime_ms=86400324, clat_p99_ns=4110417920)),
    ("fio-3.26-windowsaio-randwrite-1job-no-eol.json", 0, dict(
        fio_version="fio-3.26", jobname="fio_randwrite_1GB_4k_d1_th1_direct", direction="write",
        rw="randwrite", bs_bytes=4096, ioengine="windowsaio", iodepth=1, numjobs=1,
        io_bytes=1073741824, bw_bytes=8876980, iops=2167.231601, total_ios=262144,
        runtime_ms=120958, clat_mean_ns=418473.267365, clat_p50_ns=91648, clat_p99_ns=264192,
        clat_p999_ns=41156608, error=0)),
    ("fio-3.26-readwrite-70-30-2disks.json", 0, dict(
        fio_version="fio-3.26-19-ge7e53", jobname="disk_fill", direction="read", rw="readwrite",
        bs_bytes=262144, iodepth=64, numjobs=1, io_bytes=740294656, bw_bytes=149343283,
        iops=569.699415, total_ios=2824, runtime_ms=4957, clat_mean_ns=76331646.873584,
        clat_p99_ns=104333312, error=0)),
    ("fio-3.26-readwrite-70-30-2disks.json", 1, dict(
        jobname="disk_fill", job_index=0, direction="write", io_bytes=333447168,
        bw_bytes=67267937, iops=256.606819, total_ios=1272, clat_mean_ns=79727338.892296,
        clat_p99_ns=151864912)),
    ("fio-3.29-jsonplus-randread-bins-reindented.json", 0, dict(
        fio_version="fio-3.29", jobname="poisson-rate-submit", direction="read", rw="randread",
        bs_bytes=NA, ioengine="libaio", iodepth=32, numjobs=NA, io_bytes=8388608, bw_bytes=201518,
        iops=49.198837, total_ios=2048, runtime_ms=41627, clat_mean_ns=313110.717773,
        clat_p99_ns=481280, lat_mean_ns=461936.892578, error=0)),
    ("fio-3.33-write-error22-preamble.json", 0, dict(
        fio_version="fio-3.33", jobname="1m", direction="write", rw="write", bs_bytes=1048576,
        ioengine="sync", iodepth=64, numjobs=1, io_bytes=0, bw_bytes=NA, iops=NA, total_ios=0,
        runtime_ms=0, clat_mean_ns=NA, clat_p50_ns=NA, clat_p99_ns=NA, clat_p999_ns=NA,
        lat_mean_ns=NA, lat_p99_ns=NA, error=22)),
    ("fio-3.33-rw-group_reporting-signal-preamble.json", 0, dict(
        fio_version="fio-3.33", jobname="sequential_read", direction="read", rw="rw",
        bs_bytes=4096, ioengine="libaio", iodepth=16, numjobs=1, io_bytes=1511751680,
        bw_bytes=31383676, iops=7662.030309, total_ios=369080, runtime_ms=48170,
        clat_mean_ns=7881155.058386, clat_p99_ns=35913728, error=0)),
    ("fio-3.33-rw-group_reporting-signal-preamble.json", 1, dict(
        direction="write", io_bytes=7761248256, bw_bytes=161128721, iops=39338.066766,
        total_ios=1894836, runtime_ms=48168, clat_mean_ns=886230.578053, clat_p99_ns=6848512)),
    ("fio-3.33-randwrite-4jobs-disk_util.json", 0, dict(
        fio_version="fio-3.33", jobname="FIOJOB", job_index=0, direction="write", rw="randwrite",
        bs_bytes=4096, ioengine="io_uring", iodepth=1, numjobs=4, io_bytes=17138372608,
        bw_bytes=285634782, iops=69735.054416, total_ios=4184173, runtime_ms=60001,
        clat_mean_ns=10527.643332, clat_p50_ns=8896, clat_p99_ns=28800, error=0)),
    ("fio-3.33-randwrite-4jobs-disk_util.json", 3, dict(
        jobname="FIOJOB", job_index=3, io_bytes=17797238784, bw_bytes=296615702,
        clat_mean_ns=10137.916635, clat_p99_ns=26240)),
    ("fio-3.36-read-2jobs-group_reporting-disk_util.json", 0, dict(
        fio_version="fio-3.36", jobname="seqread", direction="read", rw="read", bs_bytes=131072,
        ioengine="libaio", iodepth=4, numjobs=2, io_bytes=51381534720, bw_bytes=428172319,
        iops=3266.695555, total_ios=392010, runtime_ms=120002, clat_mean_ns=2353097.46419,
        clat_p50_ns=2244608, clat_p99_ns=3719168, clat_p999_ns=4816896, error=0)),
]


def _assert_value(column, actual, expected):
    """Compare one cell: missing, approximate float, or exact."""
    if expected is NA:
        assert pd.isna(actual), f"{column}: expected missing, got {actual!r}"
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12), column
    else:
        assert actual == expected, f"{column}: {actual!r} != {expected!r}"


@pytest.fixture(scope="module")
def parsed():
    """Each corpus file parsed once."""
    return {name: fio.parse(CORPUS / name) for name in ROW_COUNTS}


def test_table_covers_every_corpus_file():
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix in (".json", ".txt")}
    assert on_disk == set(ROW_COUNTS)


@pytest.mark.parametrize("name, rows", ROW_COUNTS.items(), ids=list(ROW_COUNTS))
def test_corpus_file_rows_and_columns(parsed, name, rows):
    frame = parsed[name]
    assert len(frame) == rows
    assert list(frame.columns) == list(fio.COLUMNS)
    assert {str(t) for t in frame.dtypes[["bs_bytes", "io_bytes", "clat_p99_ns"]]} == {"Int64"}
    assert frame["error"].dtype == "int64"
    assert frame["job_index"].is_monotonic_increasing


@pytest.mark.parametrize(
    "name, position, expected", EXPECTED, ids=[f"{n}-row{p}" for n, p, _ in EXPECTED]
)
def test_corpus_values(parsed, name, position, expected):
    row = parsed[name].iloc[position]
    for column, value in expected.items():
        _assert_value(column, row[column], value)


@pytest.mark.parametrize("name", [n for n in ROW_COUNTS if n.startswith("fio-2.")])
def test_fio2_usec_and_kib_are_converted(parsed, name):
    entries = fio.read_json(CORPUS / name)["jobs"]
    for row in parsed[name].itertuples():
        stats = entries[row.job_index][row.direction]
        assert row.io_bytes == stats["io_bytes"] * 1024
        assert row.bw_bytes == stats["bw"] * 1024
        assert row.clat_mean_ns == pytest.approx(stats["clat"]["mean"] * 1000, rel=1e-12)
        assert row.lat_mean_ns == pytest.approx(stats["lat"]["mean"] * 1000, rel=1e-12)
        assert row.clat_p99_ns == stats["clat"]["percentile"]["99.000000"] * 1000


def test_client_server_rows(parsed):
    frame = parsed["fio-3.7-client-server-2hosts-10jobs-read-preamble.txt"]
    assert frame["job_index"].tolist() == list(range(11))
    assert set(frame["direction"]) == {"read"}
    clients = frame.iloc[10]
    assert clients["io_bytes"] == frame["io_bytes"].iloc[:10].sum()
    assert clients["total_ios"] == frame["total_ios"].iloc[:10].sum()


def test_read_json_returns_raw_object():
    raw = fio.read_json(CORPUS / "fio-3.33-write-error22-preamble.json")
    assert raw["fio version"] == "fio-3.33"
    assert raw["jobs"][0]["error"] == 22


def test_duplicate_keys_last_wins():
    raw = fio.read_json(CORPUS / "fio-3.1-randread-1job-disk_util-dup-percentile-keys.json")
    assert raw["jobs"][0]["read"]["clat_ns"]["percentile"]["0.00"] == 0


def test_path_str_text_and_bytes_agree():
    path = CORPUS / "fio-3.33-rw-group_reporting-signal-preamble.json"
    expected = fio.parse(path)
    pd.testing.assert_frame_equal(fio.parse(str(path)), expected)
    pd.testing.assert_frame_equal(fio.parse(path.read_text()), expected)
    pd.testing.assert_frame_equal(fio.parse(path.read_bytes()), expected)


def test_text_after_the_json_is_ignored():
    path = CORPUS / "fio-3.16-randread-4jobs-group_reporting-disk_util.json"
    text = path.read_text() + "\nRun status group 0 (all jobs):\n   READ: bw=6094KiB/s\n"
    pd.testing.assert_frame_equal(fio.parse(text), fio.parse(path))


def test_gzip_file_parses_like_the_original(tmp_path):
    original = CORPUS / "fio-3.7-client-server-2hosts-10jobs-read-preamble.txt"
    packed = tmp_path / "fio-result.txt.gz"
    packed.write_bytes(gzip.compress(original.read_bytes()))
    pd.testing.assert_frame_equal(fio.parse(packed), fio.parse(original))


def test_parse_many_adds_source(parsed):
    names = ["fio-2.18-randread-1job-usec.json", "fio-3.19-rw-8jobs-disk_util.json"]
    paths = [CORPUS / name for name in names]
    frame = fio.parse_many(paths)
    assert list(frame.columns) == ["source", *fio.COLUMNS]
    assert frame["source"].tolist() == [str(paths[0])] + [str(paths[1])] * 16
    assert frame["io_bytes"].sum() == sum(parsed[name]["io_bytes"].sum() for name in names)


def test_parse_many_of_nothing_is_empty_with_columns():
    frame = fio.parse_many([])
    assert frame.empty and list(frame.columns) == ["source", *fio.COLUMNS]


def test_minimal_fio3_without_bw_bytes_uses_bw_kib():
    text = """{"fio version": "fio-3.1", "jobs": [{"jobname": "j", "error": 0,
      "job options": {"rw": "randrw", "bs": "4k,16k", "iodepth": "x"},
      "read": {"io_bytes": 8192, "io_kbytes": 8, "bw": 4, "iops": 1.0, "runtime": 2000,
               "total_ios": 2, "clat_ns": {"mean": 5.5}},
      "write": {"io_bytes": 0, "io_kbytes": 0, "bw": 0, "total_ios": 0}}]}"""
    frame = fio.parse(text)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["direction"], row["bs_bytes"], row["bw_bytes"]) == ("read", 4096, 4096)
    assert pd.isna(row["iodepth"]) and pd.isna(row["clat_p50_ns"])
    assert row["clat_mean_ns"] == 5.5


def test_bs_per_direction_and_unparseable():
    assert fio._block_size("4k,16k", "write") == 16384
    assert fio._block_size("4k", "trim") == 4096
    assert fio._block_size("1m", "read") == 1024 * 1024
    assert fio._block_size("4096", "read") == 4096
    assert fio._block_size("4k-16k", "read") is None
    assert fio._block_size(None, "read") is None


# ---------------------------------------------------------------- bad input


def _one_line_error(source):
    """Parse source, expecting a FioParseError; return its message after checking it is one line."""
    with pytest.raises(FioParseError) as caught:
        fio.parse(source)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("fio output ")
    assert isinstance(caught.value, VoltoolsError)
    return message


def test_empty_text_is_refused():
    assert _one_line_error("") == (
        "fio output <text>: empty output, no JSON object (fio prints one with --output-format=json)"
    )


def test_text_without_json_is_refused():
    message = _one_line_error("fio: pid=0, err=22/file:filesetup.c:1155, func=total_file_size\n")
    assert message == (
        "fio output <text>: no JSON object found (fio prints one with --output-format=json)"
    )


def test_file_without_json_names_the_file(tmp_path):
    path = tmp_path / "stderr.json"
    path.write_text("fio: terminating on signal 2\n")
    assert _one_line_error(path).startswith(f"fio output {path}: no JSON object found")


def test_truncated_json_is_refused(tmp_path):
    text = (CORPUS / "fio-3.33-randwrite-4jobs-disk_util.json").read_text()
    half = text[: len(text) // 2]
    assert "truncated" in _one_line_error(half)
    path = tmp_path / "half.json"
    path.write_text(half)
    message = _one_line_error(path)
    assert message.startswith(f"fio output {path}: JSON ends early at line ")


def test_invalid_json_reports_position():
    message = _one_line_error('{"jobs": [}\n')
    assert message.startswith("fio output <text>: invalid JSON at line 1 column 11")


def test_json_without_jobs_is_refused():
    message = _one_line_error('{"fio version": "fio-3.33", "time": "now"}\n')
    assert message == (
        "fio output <text>: JSON has no 'jobs' or 'client_stats' list: not fio output"
    )


def test_job_entry_not_an_object_is_refused():
    assert _one_line_error('{"jobs": [1]}').endswith("jobs[0] is not a JSON object")


def test_missing_path_is_refused(tmp_path):
    path = tmp_path / "absent.json"
    expected = f"fio output {path}: cannot read file: No such file or directory"
    assert _one_line_error(path) == expected
    assert _one_line_error(str(path)).startswith(f"fio output {path}: cannot read file")


def test_corrupt_gzip_is_refused(tmp_path):
    path = tmp_path / "bad.json.gz"
    path.write_bytes(gzip.compress(b'{"jobs": []}')[:12])
    assert _one_line_error(path).startswith(f"fio output {path}: cannot gunzip")


def test_failed_job_without_stats_gives_missing_not_zero():
    text = '{"jobs": [{"jobname": "x", "error": 5, "job options": {"rw": "randtrim"}}]}'
    frame = fio.parse(text)
    row = frame.iloc[0]
    assert (row["direction"], row["error"]) == ("trim", 5)
    assert all(pd.isna(row[c]) for c in ("io_bytes", "bw_bytes", "iops", "clat_mean_ns"))
    assert not math.isnan(row["job_index"])


# ---------------------------------------------------------------- what is not a fio output file


def _refused_file(path):
    with pytest.raises(FioParseError) as caught:
        fio.parse_many([path])
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"fio output {path}: ")
    return message


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "is a FIFO, not a regular file" in _refused_file(fifo), "opening it must not block"
    assert "is a character device" in _refused_file("/dev/zero")
    assert "is a folder" in _refused_file(tmp_path)
    with pytest.raises(FioParseError, match="is a FIFO"):
        fio.read_json(str(fifo))


def test_files_over_the_limit_are_refused_quickly(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(fio.MAX_BYTES + 1)
    assert "larger than 64 MiB" in _refused_file(big)
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (fio.MAX_BYTES + 1)))
    start = time.monotonic()
    assert "gunzips to larger than 64 MiB" in _refused_file(bomb)
    assert time.monotonic() - start < 10


def test_a_file_name_with_a_brace_is_a_file_not_text(tmp_path):
    path = tmp_path / "run{1}.json"
    path.write_bytes((CORPUS / "fio-2.18-randread-1job-usec.json").read_bytes())
    assert len(fio.parse_many([path])) == 1


def test_multi_member_gzip_reads_every_member(tmp_path):
    text = (CORPUS / "fio-2.18-randread-1job-usec.json").read_bytes()
    path = tmp_path / "two.json.gz"
    path.write_bytes(gzip.compress(text[:100]) + gzip.compress(text[100:]))
    pd.testing.assert_frame_equal(fio.parse(path), fio.parse(CORPUS / "fio-2.18-randread-1job-usec.json"))


@pytest.mark.parametrize("junk", ['{"a":[1,\n' * 400_000, "{\n" * 2_000_000, "{}\n" * 2_000_000,
                                  "[" * 100_000, '{"jobs": [' * 50_000])
def test_junk_costs_linear_time(tmp_path, junk):
    path = tmp_path / "junk.json"
    path.write_text(junk)
    start = time.monotonic()
    _refused_file(path)
    assert time.monotonic() - start < 5


def test_huge_numbers_are_missing_values_not_errors():
    text = '{"jobs": [{"jobname": "j", "error": 1e400, "read": {"io_bytes": 1%s, "total_ios": 3}}]}' % ("0" * 400)
    row = fio.parse(text).iloc[0]
    assert pd.isna(row["io_bytes"]) and row["error"] == 0
