"""voltools.measuring.rows: a fio call's output as one row per point, error rows where fio failed."""
import math

import pytest

from repo import CORPUS
from voltools.measuring.layout import Layout
from voltools.measuring.plan import Point, make_plan
from voltools.measuring.rows import point_rows, read_time
from voltools.measuring.sessions import ExecResult
from voltools.measuring.targets import parse_target
from voltools.points import POINT_KEY

USEC = (CORPUS / "fio-2.18-randread-1job-usec.json").read_text()  # one randread job, 4392 x 4 KiB


def _point(blocks=4392, iodepth=1, rw="randread"):
    return Point("tmpfs", rw, 1, iodepth, 4096, blocks, 0)


def _rows(stdout, points, exit_code=0, stderr=""):
    spec = parse_target("tmpfs:size=32m")
    plan = make_plan(["tmpfs:size=32m"], bs="4k", blocks="16")
    layout = Layout("/data/voltools_r1_tmpfs", {4096 * 4392: 18 * 2**20}, 32 * 2**20, 10 * 2**20)
    return point_rows(points, ExecResult(exit_code, stdout, stderr), "fio/tmpfs-0001.json.gz", spec, layout,
                      plan, "r1", 7, node="n1")


def test_read_time_is_the_latency_sum_at_queue_depth_1_else_the_runtime():
    job = {"lat_mean_ns": 1500.0, "total_ios": 16, "runtime_ms": 5}
    assert read_time(job, _point(16)) == (pytest.approx(24e-6), "lat_sum")
    assert read_time(job, _point(16, iodepth=4)) == (0.005, "runtime_ms")
    assert read_time({"runtime_ms": 5, "total_ios": 16}, _point(16)) == (0.005, "runtime_ms")
    assert read_time({"lat_mean_ns": 1500.0, "total_ios": 0, "runtime_ms": 5}, _point(16))[1] == "runtime_ms"


def test_a_real_fio_result_becomes_a_row_with_the_point_and_target_beside_its_figures():
    rows = _rows(USEC, [_point()])
    assert len(rows) == 1
    row = rows.iloc[0]
    assert set(POINT_KEY) <= set(rows.columns)
    assert (row.run_id, row.seq, row.target, row.target_kind, row.node) == ("r1", 7, "tmpfs", "tmpfs", "n1")
    assert (row.orchestrator, row.raw_file, row.raw_job_index) == ("docker", "fio/tmpfs-0001.json.gz", 0)
    assert (row.bs_bytes, row.blocks, row.size_bytes) == (4096, 4392, 4096 * 4392)
    assert row.allocated_bytes == 18 * 2**20 and row.target_size_bytes == 32 * 2**20
    assert row.read_time_s == pytest.approx(13652220.173 * 4392 / 1e9) and row.read_time_source == "lat_sum"
    assert row.runtime_s == pytest.approx(60.013) and row.fio_version == "fio-2.18-59-g618e"
    assert row.error == 0 and row.error_msg == ""


def test_fewer_ios_than_the_point_asks_for_is_said_in_the_row():
    row = _rows(USEC, [_point(blocks=5000)]).iloc[0]
    assert row.error == 0 and row.error_msg == "fio did 4392 I/Os, expected 5000"


def test_a_job_fio_did_not_report_is_an_error_row_and_the_others_keep_their_seq():
    rows = _rows(USEC, [_point(), _point(blocks=16)])
    assert list(rows.seq) == [7, 8] and list(rows.error) == [0, -1]
    assert rows.iloc[1].error_msg == "no result for this job"


def test_output_that_is_not_fio_json_gives_an_error_row_per_point_with_fios_last_line():
    rows = _rows("", [_point(), _point(blocks=16)], exit_code=1, stderr="fio: some warning\nfio: file not found\n")
    assert list(rows.error) == [-1, -1]
    assert set(rows.error_msg) == {"fio exit 1: fio: file not found"}
    assert rows.read_time_s.isna().all() if "read_time_s" in rows else True


def test_a_job_fio_reports_an_errno_for_is_an_error_row_named_by_it():
    failed = USEC.replace('"error" : 0', '"error" : 5', 1)
    assert failed != USEC
    row = _rows(failed, [_point()]).iloc[0]
    assert row.error == 5 and row.error_msg == "fio error 5: Input/output error"
    assert row.read_time_s is None or math.isnan(row.read_time_s)
