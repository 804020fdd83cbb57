"""voltools.run: the parts of a run's life that need no engine (what is done, what was asked,
what run.json starts with, the checks a dry run makes)."""
import numpy as np
import pandas as pd
import pytest

from voltools.errors import StoreError, TargetError, UsageError
from voltools.measuring.plan import SweepRequest
from voltools.points import POINT_KEY
from voltools.run import _stored_request, check, finished_keys, reported, start_meta


def _points(errors):
    rows = [dict(target="t", rw="read", direct=1, iodepth=1, bs_bytes=4096, blocks=n, repeat=0, error=e)
            for n, e in enumerate(errors, start=1)]
    return pd.DataFrame(rows)


def test_finished_keys_are_the_points_measured_without_error():
    keys = finished_keys(_points([0, 1, np.nan, 0]))
    assert keys == {("t", "read", 1, 1, 1, 4096, 1, 0), ("t", "read", 1, 1, 1, 4096, 4, 0)}
    assert all(len(key) == len(POINT_KEY) for key in keys)


def test_a_stored_request_is_rebuilt_with_the_runs_id_orchestrator_and_image():
    meta = {"run_id": "r1", "request": SweepRequest.of(["tmpfs:size=16m"], bs="4k").grid(),
            "probe_image_requested": "img:1"}
    request = _stored_request(None, meta)
    assert request == SweepRequest.of(["tmpfs:size=16m"], bs="4k", run_id="r1", image="img:1")
    assert request.orchestrator == "docker"


def test_a_run_json_without_a_request_cannot_be_resumed():
    class Store:
        path = "/data/raw/r1"
    with pytest.raises(StoreError, match="/data/raw/r1/run.json has no request to resume from"):
        _stored_request(Store(), {"run_id": "r1"})


def test_run_json_starts_with_the_grid_the_request_and_the_backends_facts():
    request = SweepRequest.of(["host"], bs="4k,64k", blocks="1,16", rw="read", repeat=2)
    plan = request.plan()
    meta = start_meta("r1", plan, "docker", request, {"probe_image": "p:1", "docker_engine_version": "27",
                                                      "swarm": "none"})
    assert meta["run_id"] == "r1" and meta["orchestrator"] == "docker"
    assert meta["grid"]["bs_bytes"] == [4096, 65536] and meta["grid"]["blocks"] == [1, 16]
    assert meta["grid"]["repeat"] == 2 and meta["request"] == request.grid()
    assert meta["points_planned"] == plan.total_points() == 2 * 2 * 1 * 2
    assert meta["targets"] == [{"name": "host", "kind": "host", "options": plan.targets[0].describe()}]
    assert meta["probe_image"] == "p:1" and meta["docker_engine_version"] == "27" and meta["swarm"] == "none"
    assert meta["question"] is None and meta["started_at"]


def test_a_dry_run_check_of_a_host_sweep_makes_nothing_and_names_the_run(tmp_path, isolated_state):
    orchestrator, plan, run_id = check(SweepRequest.of(["host"], bs="4k", blocks="1", run_id="r1",
                                                       data_dir=str(tmp_path)), dry_run=True)
    assert orchestrator.name == "docker" and run_id == "r1" and plan.total_points() == 2 * 3
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UsageError, match="run id 'a_b' is not accepted"):
        check(SweepRequest.of(["host"], run_id="a_b"), dry_run=True)


def test_what_a_clean_run_end_could_not_do_is_raised_whole_its_clean_hint_kept():
    """A teardown error found after an otherwise clean run is raised, and what is left to clean
    (the later problems) comes with it as notes (dockerd restarted in teardown: test_engine_faults)."""
    problems = ["tearing down target local failed: the Docker Engine did not answer",
                "removing what run r made failed: ...; run 'voltools clean --run-id r' once the engine answers"]
    with pytest.raises(TargetError) as caught:
        reported(None, problems)
    assert str(caught.value) == problems[0] and caught.value.__notes__ == problems[1:]


def test_what_a_run_end_could_not_do_rides_on_the_error_on_its_way_out():
    exc = KeyboardInterrupt()
    reported(exc, ["a", "b"])
    assert exc.__notes__ == ["a", "b"]
    reported(None, [])
