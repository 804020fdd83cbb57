"""Swarm: the sweep as a real job service on the real engine, its logs parsed, nothing left behind."""
import re
import time

from voltools.api import sweep
from voltools.measuring.engine import socket_path
from voltools.orchestrators import swarm
from voltools.store import load_run

SMALL = dict(bs="4k,64k", blocks="1,8", rw="read", repeat=1)


def _swarm_state(client):
    return client.info()["Swarm"]["LocalNodeState"]


def _labeled(client, run_id):
    """Services (if a manager), containers and volumes carrying the run's label."""
    found = {"containers": client.containers.list(all=True, filters={"label": f"voltools.run={run_id}"}),
             "volumes": client.volumes.list(filters={"label": f"voltools.run={run_id}"})}
    if _swarm_state(client) == "active":
        found["services"] = client.services.list(filters={"label": f"voltools.run={run_id}"})
    return {kind: items for kind, items in found.items() if items}


def test_swarm_sweep_measures_and_leaves_the_engine_as_found(docker_client, run_id, raw_root):
    before = _swarm_state(docker_client)
    networks = sorted(n.name for n in docker_client.networks.list())
    calls = []
    started = time.monotonic()
    points = sweep(["tmpfs:size=64m"], orchestrator="swarm", data_dir=raw_root, run_id=run_id,
                   progress=lambda done, label: calls.append(done), **SMALL)
    elapsed = time.monotonic() - started
    assert len(points) == 4 and sum(calls) == 4, elapsed
    assert (points["error"] == 0).all(), points["error_msg"].tolist()
    assert (points["read_time_s"] > 0).all() and (points["read_time_source"] == "lat_sum").all()
    assert (points["orchestrator"] == "swarm").all() and (points["target_kind"] == "tmpfs").all()
    assert (points["allocated_bytes"] == points["size_bytes"]).all(), "tmpfs allocates whole pages"
    assert (points["fs_total_bytes"] == 64 << 20).all()
    node = docker_client.info()["Name"]
    assert all(re.fullmatch(rf"[a-z0-9]{{25}}/{re.escape(node)}", n) for n in points["node"]), points["node"][0]
    assert len(load_run(run_id, raw_root)) == 4
    assert _swarm_state(docker_client) == before
    assert sorted(n.name for n in docker_client.networks.list()) == networks
    assert not _labeled(docker_client, run_id)


def test_global_mode_runs_once_per_node(docker_client, run_id, raw_root):
    before = _swarm_state(docker_client)
    points = sweep(["local"], orchestrator="swarm", bs="4k", blocks="1,8", rw="randread", repeat=1,
                   mode="global", data_dir=raw_root, run_id=run_id)
    nodes = points["node"].nunique()
    assert len(points) == 2 * nodes and (points["error"] == 0).all(), points["error_msg"].tolist()
    assert (points["allocated_bytes"] >= points["size_bytes"]).all()
    assert _swarm_state(docker_client) == before and not _labeled(docker_client, run_id)


def test_remove_services_finds_them_by_label(docker_client, probe_image, run_id):
    from docker.types import RestartPolicy, ServiceMode
    with swarm.swarm_for_run(docker_client):
        service = docker_client.services.create(
            probe_image, command=["true"], name=f"voltools-{run_id}-x", labels={"voltools.run": run_id},
            container_labels={"voltools.run": run_id}, mode=ServiceMode("replicated-job", replicas=1),
            restart_policy=RestartPolicy(condition="none"))
        swarm.wait_for_tasks(docker_client, service, timeout=60)
        assert swarm.remove_services(docker_client, "other-run") == []
        assert swarm.remove_services(docker_client, run_id) == [f"voltools-{run_id}-x"]
        assert not docker_client.services.list(filters={"label": f"voltools.run={run_id}"})
        swarm.remove_run_objects(docker_client, run_id)
        assert not _labeled(docker_client, run_id)


def test_distribute_image_to_the_same_engine_is_a_safe_load(docker_client, probe_image):
    image_id = docker_client.images.get(probe_image).id
    assert swarm.distribute_image(probe_image, docker_client, [docker_client]) == []
    assert swarm.distribute_image(probe_image, docker_client, [docker_client], force=True) == [docker_client]
    assert docker_client.images.get(probe_image).id == image_id
    path = socket_path()
    if path:  # the same engine again, named by a base URL this time
        assert len(swarm.distribute_image(probe_image, f"unix://{path}", [f"unix://{path}"], force=True)) == 1
