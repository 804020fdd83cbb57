"""A kind registered from a test module (tests/toykind.py) runs a real sweep on the Docker Engine
through the CLI, its volume made with its own driver options, and leaves nothing behind."""
import json

from toykind import registered

from voltools.cli import main
from voltools.config import LABEL
from voltools.measuring.cleanup import leftovers
from voltools.measuring.targets import parse_target, prepare
from voltools.naming import object_name
from voltools.store import load_run

TINY = ["--bs", "4k", "--blocks", "1,4", "--repeat", "1", "--rw", "read"]


def test_a_registered_kind_is_swept_through_the_cli_and_cleaned_up(monkeypatch, docker_client, run_id, raw_root,
                                                                     capsys):
    registered(monkeypatch)
    code = main(["sweep", "--target", "toy:size=16m,inodes=64", *TINY, "--run-id", run_id,
                 "--data-dir", str(raw_root), "--quiet"])
    assert code == 0, capsys.readouterr().err
    points = load_run(run_id, raw_root)
    assert len(points) == 2 and (points["error"] == 0).all(), points["error_msg"].tolist()
    assert set(points["target_kind"]) == {"toy"} and set(points["orchestrator"]) == {"docker"}
    assert [json.loads(o) for o in set(points["driver_opts"])] == [{"inodes": "64", "size": "16m"}]
    assert (points["fs_total_bytes"] == 16 << 20).all(), "the engine made the volume with the kind's size"
    assert (points["read_time_s"] > 0).all() and sorted(points["blocks"]) == [1, 4]
    meta = json.loads((raw_root / run_id / "run.json").read_text())
    assert meta["targets"] == [{"name": "toy", "kind": "toy", "options": '{"inodes": "64", "size": "16m"}'}]
    assert leftovers(docker_client, run_id) == 0
    assert docker_client.volumes.list(filters={"label": f"{LABEL}={run_id}"}) == []


def test_a_registered_kind_makes_its_volume_with_its_options_and_teardown_removes_it(monkeypatch, docker_client,
                                                                                    run_id):
    registered(monkeypatch)
    prepared = prepare(docker_client, parse_target("toy:inodes=128,name=toy-a"), run_id)
    try:
        volume = docker_client.volumes.get(object_name(run_id, "toy-a"))
        assert volume.attrs["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": f"size={32 << 20},nr_inodes=128"}
        assert volume.attrs["Labels"][LABEL] == run_id
    finally:
        prepared.teardown()
    assert leftovers(docker_client, run_id) == 0
