"""Faults against the real engine: nothing leaked, nothing lost, a stopped run carries on."""
import os
import signal
import subprocess
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltools.measuring.cleanup import leftovers
from voltools.cli import main
from voltools.errors import EngineError, StoreError
from voltools.api import resume_sweep, start_sweep
from voltools.points import POINT_KEY
from voltools.runlock import is_live
from voltools.store import load_run

from soaking import cli

# 128 points in 8 rounds: a round of a target is one fio call (one part), so a sweep has parts to stop between
GRID = ["--bs", "4k,64k", "--blocks", "1,4,16,64", "--rw", "read,randread", "--repeat", "8"]
POINTS = 128
SMALL = dict(bs="4k,64k", blocks="1,8", rw="read", repeat=2)


def _start_cli_sweep(run_id, raw_root, target="tmpfs:size=64m"):
    return subprocess.Popen(cli("sweep", "--target", target, *GRID, "--run-id", run_id,
                                 "--data-dir", str(raw_root)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_parts(raw_root, run_id, count, proc, timeout=120):
    folder = raw_root / run_id / "points.parquet"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.is_dir() and len(list(folder.glob("part-*.parquet"))) >= count:
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    pytest.fail(f"no {count} parts within {timeout} s")


def _assert_each_point_once(points, expected):
    assert len(points) == expected
    assert not points.duplicated(POINT_KEY).any()


def _containers(client, run_id, role=None):
    label = [f"voltools.run={run_id}"] + ([f"voltools.role={role}"] if role else [])
    return client.containers.list(filters={"label": label})


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_sweep_cleans_up_and_keeps_finished_points(sig, docker_client, run_id, raw_root):
    proc = _start_cli_sweep(run_id, raw_root)
    _wait_for_parts(raw_root, run_id, 3, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err.splitlines()[-1]
    points = load_run(run_id, raw_root)
    assert 3 <= len(points) < POINTS and (points["error"] == 0).all()
    assert len(list((raw_root / run_id / "points.parquet").iterdir())) == 1, "parts were merged"


def test_sigkill_then_clean_then_resume_measures_each_point_once(docker_client, run_id, raw_root):
    proc = _start_cli_sweep(run_id, raw_root)
    _wait_for_parts(raw_root, run_id, 5, proc)
    proc.kill()
    proc.communicate()
    assert leftovers(docker_client, run_id) > 0, "a killed run cannot clean up after itself"
    before = load_run(run_id, raw_root)
    clean = subprocess.run(cli("clean", "--run-id", run_id), capture_output=True, text=True)
    assert clean.returncode == 0 and "object(s) removed" in clean.stdout
    assert leftovers(docker_client, run_id) == 0
    resumed = subprocess.run(cli("sweep", "--resume", run_id, "--data-dir", str(raw_root)),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    points = load_run(run_id, raw_root)
    _assert_each_point_once(points, POINTS)
    kept = points.merge(before[POINT_KEY + ["seq", "read_time_s"]], on=POINT_KEY + ["seq"])
    assert (kept["read_time_s_x"] == kept["read_time_s_y"]).all() and len(kept) == len(before)


def test_resume_after_sigkill_without_clean_removes_the_leftovers_itself(docker_client, run_id, raw_root):
    proc = _start_cli_sweep(run_id, raw_root, target="loop:size=64m")
    _wait_for_parts(raw_root, run_id, 2, proc)
    proc.kill()
    proc.communicate()
    points = resume_sweep(run_id, raw_root).measure()
    _assert_each_point_once(points, POINTS)


def test_exception_in_the_middle_leaves_nothing(docker_client, run_id, raw_root):
    calls = []

    def explode(done, label):
        calls.append(done)
        if len(calls) == 2:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        start_sweep(["tmpfs:size=64m", "loop:size=64m"], data_dir=raw_root, run_id=run_id, **SMALL).measure(explode)
    assert len(load_run(run_id, raw_root)) == sum(calls) == 8  # the two calls done: one a target of round 1


def test_probe_container_killed_from_outside_is_a_clear_error(docker_client, run_id, raw_root):
    stored = []

    def kill_reader(done, label):
        stored.append(done)
        for container in _containers(docker_client, run_id, "reader"):
            container.kill()

    with pytest.raises(EngineError, match="exec in voltools_.*-reader failed"):
        start_sweep(["tmpfs:size=64m"], data_dir=raw_root, run_id=run_id, **SMALL).measure(kill_reader)
    assert len(load_run(run_id, raw_root)) == sum(stored) == 4  # the first call's points, no more


def _remove_data(client, run_id):
    def remove(done, label):
        holder = _containers(client, run_id, "holder")[0]
        holder.exec_run(["sh", "-c", "rm -f /data/voltools*/vt-*.dat"])
    return remove


def test_failing_fio_gives_error_rows_and_the_sweep_goes_on(docker_client, run_id, raw_root):
    points = start_sweep(["tmpfs:size=64m"], data_dir=raw_root, run_id=run_id, **SMALL).measure(
        _remove_data(docker_client, run_id))
    assert len(points) == 8  # two calls (rounds) of 4 points: the data gone after the first
    assert (points["error"] == 0).sum() == 4 and (points["error"] != 0).sum() == 4
    failed = points[points["error"] != 0]
    assert failed["error_msg"].str.len().gt(0).all() and failed["read_time_s"].isna().all()
    again = resume_sweep(run_id, raw_root).measure()
    assert len(again) == 8 and (again["error"] == 0).all(), "resume measures the error rows again"
    first = again[again["seq"] < 4].sort_values("seq")
    assert first["read_time_s"].tolist() == points[points["error"] == 0].sort_values("seq")["read_time_s"].tolist()
    assert len(list((raw_root / run_id / "fio").iterdir())) == 2 + 1, "the raw output of every call is kept"


def test_a_sweep_that_stored_error_rows_exits_1_saying_how_many(docker_client, run_id, raw_root,
                                                                 capsys, monkeypatch):
    import voltools.orchestrators.docker as measure
    real, calls = measure.replay.argv, []

    def all_but_the_first_read_a_missing_folder(workdir, points, seed, prefixed=False):
        calls.append(workdir)
        return real(workdir if len(calls) == 1 else f"{workdir}-missing", points, seed, prefixed)

    monkeypatch.setattr(measure.replay, "argv", all_but_the_first_read_a_missing_folder)
    code = main(["sweep", "--target", "tmpfs:size=64m", "--bs", "4k,64k", "--blocks", "1,8", "--rw", "read",
                 "--repeat", "2", "--run-id", run_id, "--data-dir", str(raw_root), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err  # --quiet: no plan header, the error still printed
    assert err[0].startswith("voltools: error: 4 of 8 points failed; first: tmpfs read")
    assert f"--resume {run_id}" in err[0]


def _failing_argv(real, failing, how):
    """replay.argv whose calls numbered in `failing` break `how`: a folder that is not there (the
    script exits 125), fio's place taken by a command that exits 0 printing an empty JSON object,
    or a latency log cut after 3 reads."""
    made = []

    def argv(workdir, points, seed, prefixed=False):
        made.append(workdir)
        out = real(workdir, points, seed, prefixed)
        if len(made) - 1 not in failing:
            return out
        if how == "missing":
            return real(f"{workdir}-missing", points, seed, prefixed)
        if how == "silent":
            return ["sh", "-c", "echo '{}'"]
        return out[:2] + [out[2].replace('cat "$d/vt_lat.1.log"', 'head -n 3 "$d/vt_lat.1.log"')] + out[3:]
    return argv


@given(failing=st.sets(st.integers(0, 3)), how=st.sampled_from(["missing", "silent", "truncated"]))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_failed_calls_are_counted_exactly_and_resume_measures_them(docker_client, tmp_path, capsys,
                                                                       failing, how):
    """No silent failure, attacked: any subset of a sweep's 4 calls (a round each, 4 points, 16
    reads: the 1-block points are the first blocks of the 8-block ones) breaks in one of three ways. The sweep exits 1 exactly when it stored error rows, names
    their number, and stores every point once; a call that exits 0 with nothing to show is error
    rows, not a gap; --resume then measures exactly the failed points again. A cut log leaves the
    1-block points known where their read got that far (they are its first blocks)."""
    import voltools.orchestrators.docker as measure
    run_id, raw_root = f"t{uuid.uuid4().hex[:10]}", tmp_path / f"raw-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(measure.replay, "argv", _failing_argv(measure.replay.argv, failing, how))
        code = main(["sweep", "--target", "tmpfs:size=64m", "--bs", "4k,64k", "--blocks", "1,8", "--rw", "read",
                     "--repeat", "4", "--run-id", run_id, "--data-dir", str(raw_root), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    first = load_run(run_id, raw_root)
    failed = int((first["error"] != 0).sum())
    _assert_each_point_once(first, 16)
    assert 2 * len(failing) <= failed <= 4 * len(failing)  # each broken call: its two 8-block points at least
    if how != "truncated":
        assert failed == 4 * len(failing)
    assert code == (1 if failed else 0), err
    if failed:
        assert err[0].startswith(f"voltools: error: {failed} of 16 points failed; first: tmpfs read"), err
    good = first[first["error"] == 0].set_index(POINT_KEY)["read_time_s"]
    assert main(["sweep", "--resume", run_id, "--data-dir", str(raw_root), "--quiet"]) == 0
    again = load_run(run_id, raw_root)
    _assert_each_point_once(again, 16)
    assert (again["error"] == 0).all()
    assert again.set_index(POINT_KEY)["read_time_s"].loc[good.index].equals(good), "a stored point was measured again"
    assert leftovers(docker_client, run_id) == 0


def test_two_resumes_of_one_run_at_once_one_is_refused(docker_client, run_id, raw_root):
    proc = _start_cli_sweep(run_id, raw_root)
    _wait_for_parts(raw_root, run_id, 2, proc)
    proc.kill()
    proc.communicate()
    resume = cli("sweep", "--resume", run_id, "--data-dir", str(raw_root))
    first = subprocess.Popen(resume, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not is_live(run_id):
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
        time.sleep(0.01)
    second = subprocess.run(resume, capture_output=True, text=True)
    assert second.returncode == 2 and "being measured by another voltools process" in second.stderr
    assert second.stderr.count("\n") == 1
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    _assert_each_point_once(load_run(run_id, raw_root), POINTS)


def test_an_interrupt_before_the_first_point_leaves_no_folder_or_a_resumable_one(docker_client, run_id,
                                                                                raw_root):
    proc = _start_cli_sweep(run_id, raw_root)
    time.sleep(0.6)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert leftovers(docker_client, run_id) == 0
    if (raw_root / run_id).exists():
        resumed = subprocess.run(cli("sweep", "--resume", run_id, "--data-dir", str(raw_root)),
                                 capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        _assert_each_point_once(load_run(run_id, raw_root), POINTS)


def test_enospc_on_a_filesystem_smaller_than_its_nominal_size(docker_client, run_id, raw_root, capsys):
    code = main(["sweep", "--target", "loop:size=16m", "--bs", "1m", "--blocks", "1,13", "--rw", "read",
                 "--repeat", "1", "--run-id", run_id, "--data-dir", str(raw_root), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()[0]
    assert code == 1 and "loop-ext4 has" in err and "free but the sweep lays out 14 MiB" in err
    assert not (raw_root / run_id).exists(), "a run that stored nothing leaves no folder"


def test_resume_refuses_a_corrupted_points_table(docker_client, run_id, raw_root, capsys):
    start_sweep(["tmpfs:size=64m"], data_dir=raw_root, run_id=run_id, **SMALL).measure()
    part = next((raw_root / run_id / "points.parquet").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    assert main(["sweep", "--resume", run_id, "--data-dir", str(raw_root)]) == 2
    err = capsys.readouterr().err
    assert "is unreadable" in err and err.count("\n") == 1
    with pytest.raises(StoreError):
        load_run(run_id, raw_root)


def test_same_run_id_is_refused_without_resume(docker_client, run_id, raw_root, capsys):
    start_sweep(["tmpfs:size=64m"], data_dir=raw_root, run_id=run_id, **SMALL).measure()
    assert main(["sweep", "--target", "tmpfs:size=64m", "--bs", "4k", "--blocks", "1", "--run-id", run_id,
                 "--data-dir", str(raw_root)]) == 2
    assert "write-once" in capsys.readouterr().err
    assert len(load_run(run_id, raw_root)) == 8


def test_bind_folder_left_by_a_kill_is_found_by_clean(docker_client, run_id, raw_root, tmp_path):
    folder = tmp_path / "bind"
    folder.mkdir()
    proc = _start_cli_sweep(run_id, raw_root, target=f"bind:path={folder}")
    _wait_for_parts(raw_root, run_id, 1, proc)
    proc.kill()
    proc.communicate()
    assert (folder / f"voltools_{run_id}_bind").is_dir()
    assert subprocess.run(cli("clean", "--run-id", run_id), capture_output=True).returncode == 0
    assert list(folder.iterdir()) == []


def test_no_permission_on_the_socket_and_loop_without_root(raw_root, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = dict(os.environ, HOME=str(tmp_path))
    out = subprocess.run(drop + cli("sweep", "--target", "local", "--data-dir", str(tmp_path / "r")),
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "no permission on the Docker socket" in out.stderr
    out = subprocess.run(drop + cli("sweep", "--target", "loop", "--data-dir", str(tmp_path / "r")),
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "loop targets need root" in out.stderr
    assert not (tmp_path / "r").exists()


def test_no_fio_on_the_host(raw_root, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    out = subprocess.run(cli("sweep", "--target", "host", "--data-dir", str(raw_root)),
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "no fio on this host" in out.stderr and out.stderr.count("\n") == 1
    assert not raw_root.exists()


def test_clean_of_a_live_run_is_refused_like_a_resume(docker_client, run_id, capsys):
    """A run whose lock another process holds: clean removes nothing and says so in one line,
    exit 2 (a request refused before anything was done), as a second resume is."""
    from voltools.runlock import RunLock
    lock = RunLock(run_id)
    lock.acquire()
    try:
        assert main(["clean", "--run-id", run_id]) == 2
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"run {run_id} is running: stop it first" in err


@pytest.mark.parametrize("racers", [3, 5])
def test_resumes_and_cleans_racing_for_one_run_leave_one_writer(docker_client, run_id, raw_root, racers):
    """Attacked: a run killed mid-sweep, then `racers` resumes and a clean of it started at once,
    their start-ups overlapping. Exactly one process writes at a time: every resume ends with
    exit 0 (it measured, or found nothing left to measure) or is refused in one line (exit 2,
    another process is measuring it); clean either removes nothing of a live run (refused, one
    line) or runs before any resume holds it; the table ends with every point once and nothing
    is left on the engine."""
    proc = _start_cli_sweep(run_id, raw_root)
    _wait_for_parts(raw_root, run_id, 2, proc)
    proc.kill()
    proc.communicate()
    assert main(["clean", "--run-id", run_id]) == 0
    argv = [cli("sweep", "--resume", run_id, "--data-dir", str(raw_root), "-q")] * racers
    argv.insert(racers // 2, cli("clean", "--run-id", run_id))
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in argv]
    results = [(a[a.index("voltools") + 1], p.wait(timeout=180), p.stderr.read()) for a, p in zip(argv, procs)]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    resumes = [(code, err) for command, code, err in results if command == "sweep"]
    assert any(code == 0 for code, _ in resumes), results
    for code, err in resumes:
        assert code == 0 or (code == 2 and err.count("\n") == 1
                             and "being measured by another voltools process" in err), results
    (_, clean_code, clean_err), = [r for r in results if r[0] == "clean"]
    assert clean_code == 0 or (clean_code == 2 and clean_err.count("\n") == 1 and "is running" in clean_err), results
    _assert_each_point_once(load_run(run_id, raw_root), POINTS)
    assert leftovers(docker_client, run_id) == 0
