"""Real-engine sweeps users ask for: queue-depth and numjobs series, and --fio-opt, through the CLI."""
import gzip
import json

import matplotlib
import pytest

from voltools.analysis import plots
from voltools.api import resume_sweep
from voltools.cli import main
from voltools.store import RunStore, load_run

matplotlib.use("Agg")


def _sweep(argv, raw_root, run_id, capsys):
    code = main(["sweep", "--target", "local", "--data-dir", str(raw_root), "--run-id", run_id, "-q", *argv])
    capsys.readouterr()
    assert code == 0
    return load_run(run_id, raw_root)


@pytest.fixture
def series(docker_client, run_id, raw_root, capsys):
    return _sweep(["--iodepth", "1,4", "--numjobs", "1,2", "--bs", "64k", "--blocks", "16", "--repeat", "1"],
                  raw_root, run_id, capsys)


def test_a_depth_and_jobs_series_stores_each_point_with_its_depth_jobs_and_time_source(series, raw_root, run_id):
    assert (series["error"] == 0).all(), series["error_msg"].tolist()
    assert sorted(zip(series["rw"], series["iodepth"], series["numjobs"])) == [
        (rw, q, j) for rw in ("randread", "read") for q in (1, 4) for j in (1, 2)]
    for row in series.itertuples():
        alone = row.iodepth == 1 and row.numjobs == 1
        assert row.read_time_source == ("lat_log" if alone else "runtime_ms"), row
        assert row.read_time_s > 0 and row.bw_bytes > 0 and row.lat_p50_ns > 0
    several = series[series["numjobs"] == 2].iloc[0]
    raw = json.loads(gzip.decompress((raw_root / run_id / several["raw_file"]).read_bytes()))
    job = raw["jobs"][int(several["raw_job_index"])]
    assert job["job options"]["numjobs"] == "2" and job["read"]["total_ios"] == 2 * 16  # each job reads the file
    request = RunStore.open(run_id, raw_root).read_meta()["request"]
    assert request["numjobs"] == "1,2" and request["iodepth"] == "1,4" and request["fio_opt"] == []


def test_the_depth_plot_draws_a_line_per_target_rw_and_numjobs(series):
    assert plots.has_depth_series(series)
    axes = plots.throughput_vs_depth(series)
    assert len(axes[0].lines) == len(axes[1].lines) == 4  # local x {read, randread} x numjobs {1, 2}
    for line in axes[0].lines:
        assert list(line.get_xdata()) == [1, 4] and (line.get_ydata() > 0).all()
    assert {line.get_label() for line in axes[1].lines} == {
        f"local {rw} numjobs={j}" for rw in ("read", "randread") for j in (1, 2)}
    table = plots.depth_table(series)
    first = table.iloc[0]
    rows = series[(series["rw"] == first["rw"]) & (series["iodepth"] == first["iodepth"])
                  & (series["numjobs"] == first["numjobs"])]
    assert first["mib_s"] == pytest.approx(rows["bw_bytes"].median() / 2**20)
    assert "MiB/s" in axes[0].get_ylabel() and "µs" in axes[1].get_ylabel()


def test_a_fio_option_reaches_fio_and_its_run_is_not_packed(docker_client, run_id, raw_root, capsys):
    points = _sweep(["--fio-opt", "ioengine=pvsync2", "--bs", "4k", "--blocks", "1,16", "--rw", "read",
                     "--repeat", "1"], raw_root, run_id, capsys)
    assert (points["error"] == 0).all(), points["error_msg"].tolist()
    assert (points["read_time_source"] == "lat_sum").all() and points["raw_file"].nunique() == 2
    for raw_file in points["raw_file"]:
        raw = json.loads(gzip.decompress((raw_root / run_id / raw_file).read_bytes()))
        assert [j["job options"]["ioengine"] for j in raw["jobs"]] == ["pvsync2"]
    assert RunStore.open(run_id, raw_root).read_meta()["request"]["fio_opt"] == ["ioengine=pvsync2"]


def test_a_plain_run_has_no_depth_series(docker_client, run_id, raw_root, capsys):
    points = _sweep(["--preset", "quick", "--bs", "4k", "--repeat", "1"], raw_root, run_id, capsys)
    assert sorted(zip(points["bs_bytes"], points["blocks"])) == [(4096, 1), (4096, 16)]  # quick's N, our B
    assert not plots.has_depth_series(points)


def test_a_run_made_before_numjobs_and_fio_opt_resumes_as_it_was(docker_client, run_id, raw_root, capsys):
    """A finished run whose request predates the new fields resumes with nothing left to measure:
    its rows' keys (numjobs 1) are the plan's, so no point is read again."""
    before = _sweep(["--bs", "4k", "--blocks", "1,16", "--rw", "read", "--repeat", "1"], raw_root, run_id, capsys)
    store = RunStore.open(run_id, raw_root)
    meta = store.read_meta()
    for name in ("numjobs", "fio_opt"):
        del meta["request"][name]
    store.write_meta(meta)
    run = resume_sweep(run_id, raw_root)
    assert run.plan.numjobs == [1] and run.plan.fio_opts == ()
    assert len(run.done) == len(before) == run.plan.total_points()
    after = run.measure()
    assert after["seq"].tolist() == before["seq"].tolist()  # nothing measured again
    assert RunStore.open(run_id, raw_root).read_meta()["request"]["numjobs"] == "1"
