"""Swarm sweeps on a real 3-node cluster (scripts/cluster.sh, as in tests/test_cluster.py): the probe
image copied to every node with no registry, rows from every node, a chosen node, a node that goes
down mid-run, and nothing left on any node, nor on this machine, afterwards."""
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from test_cluster import (NODES, dockerd_pids, down_leaves_nothing, host_view, main_engine_view, node_client,
                          node_sockets, require_root, run_script, short_state_dir)
from voltools.store import load_run

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--target", "tmpfs:size=64m", "--target", "local", "--bs", "64k", "--blocks", "1,16"]


@pytest.fixture(scope="module")
def cluster3(docker_client, probe_image):
    """`up 3` in a fresh state folder; afterwards `down` leaves the machine as it was."""
    require_root()
    state = short_state_dir()
    before, engine_before = host_view(), main_engine_view(docker_client)
    up = run_script("up", str(NODES), state=state)
    try:
        assert up.returncode == 0, up.stderr
        socks, during = node_sockets(up.stdout)[1], host_view()
        yield {"state": state, "socks": socks,
               "images": {name: node_images(sock) for name, sock in socks.items()}}
        down_leaves_nothing(state, before, during, docker_client, engine_before)
    finally:
        run_script("down", state=state)
        shutil.rmtree(state, ignore_errors=True)


def voltools(cluster, *args, popen=False):
    """The CLI of this checkout against the cluster's manager."""
    env = {**os.environ, "DOCKER_HOST": f"unix://{cluster['socks']['node1']}",
           "VOLTOOLS_STATE_DIR": str(cluster["state"])}
    argv = [sys.executable, "-m", "voltools", *args]
    if popen:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def node_urls(cluster):
    return [arg for sock in cluster["socks"].values() for arg in ("--node", f"unix://{sock}")]


def sweep(cluster, run_id, data_dir, *extra, popen=False):
    return voltools(cluster, "sweep", "--orchestrator", "swarm", *GRID, "--run-id", run_id,
                    "--data-dir", str(data_dir), *node_urls(cluster), *extra, popen=popen)


def node_images(sock):
    return sorted(tag for image in node_client(sock).images.list() for tag in image.tags)


def left_on(sock, run_id):
    """The run's containers and volumes on a node's engine, and its image copies there."""
    client = node_client(sock)
    label = {"label": f"voltools.run={run_id}"}
    return ([c.name for c in client.containers.list(all=True, filters=label)]
            + [v.name for v in client.volumes.list(filters=label)]
            + [t for t in node_images(sock) if t.startswith("voltools-copy:")])


def assert_nodes_clean(cluster, run_id):
    for name, sock in cluster["socks"].items():
        assert not left_on(sock, run_id), (name, left_on(sock, run_id))
        assert node_images(sock) == cluster["images"][name], f"{name}: images the run loaded are left"


def new_run_id():
    return f"n{uuid.uuid4().hex[:8]}"


def test_global_sweep_measures_on_every_node_and_leaves_nothing(cluster3, tmp_path, docker_client):
    run_id = new_run_id()
    started = time.monotonic()
    done = sweep(cluster3, run_id, tmp_path, "--mode", "global", "--repeat", "1")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    points = load_run(run_id, tmp_path)
    hosts = points["node"].str.split("/").str[1]
    assert sorted(hosts.unique()) == ["node1", "node2", "node3"], points["node"].unique()
    assert points["node"].nunique() == 3 and (points["error"] == 0).all()
    assert points.groupby(["node", "target"]).size().tolist() == [4] * 6
    assert_nodes_clean(cluster3, run_id)
    print(f"\n3-node global sweep: {took:.1f} s wall")


def test_replicated_sweep_measures_the_chosen_node(cluster3, tmp_path):
    run_id = new_run_id()
    started = time.monotonic()
    done = sweep(cluster3, run_id, tmp_path, "--mode", "replicated", "--constraint", "node.hostname==node2",
                 "--repeat", "1")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    points = load_run(run_id, tmp_path)
    assert set(points["node"].str.split("/").str[1]) == {"node2"} and len(points) == 8
    assert_nodes_clean(cluster3, run_id)
    print(f"\n1-node replicated sweep: {took:.1f} s wall")


def test_bad_node_url_is_refused_with_nothing_made(cluster3, tmp_path):
    run_id = new_run_id()
    done = voltools(cluster3, "sweep", "--orchestrator", "swarm", *GRID, "--run-id", run_id,
                    "--data-dir", str(tmp_path), "--node", "node2")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--node 'node2' is not accepted" in done.stderr
    assert not (tmp_path / run_id).exists()
    assert_nodes_clean(cluster3, run_id)


def test_a_users_volume_with_the_runs_name_on_a_node_is_refused_before_its_service(cluster3, tmp_path):
    """A Swarm task's mount uses a node's volume of that name as it is: a volume of the user's on
    node2 named voltools_<run>_tmpfs (the first target's) is refused in one line naming node2, before
    any service is made (the manager's events show none), and left as it was."""
    run_id = new_run_id()
    name, node2 = f"voltools_{run_id}_tmpfs", node_client(cluster3["socks"]["node2"])
    manager = node_client(cluster3["socks"]["node1"])
    mine = node2.volumes.create(name=name, labels={"owner": "user"})
    try:
        since = f"{time.time():.6f}"  # the nodes share this machine's clock
        done = sweep(cluster3, run_id, tmp_path, "--mode", "global", "--repeat", "1", "--quiet")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1, done.stderr
        assert (f"swarm node unix://{cluster3['socks']['node2']}: a volume named {name} exists that run "
                f"{run_id} did not make") in lines[0], lines
        kept = node2.volumes.get(name)
        assert kept.id == mine.id and kept.attrs["Labels"] == {"owner": "user"}
        until = f"{time.time():.6f}"
        services = list(manager.events(since=since, until=until, filters={"type": "service"}, decode=True))
        assert not [e for e in services if e.get("Action") == "create"], services
        assert_nodes_clean(cluster3, run_id)
    finally:
        mine.remove(force=True)


def wait_for_task_on(cluster, service, hostname, timeout=120):
    """Until `service` has a running task on node `hostname`."""
    manager = node_client(cluster["socks"]["node1"])
    node_id = next(n.id for n in manager.nodes.list() if n.attrs["Description"]["Hostname"] == hostname)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = manager.services.list(filters={"name": service})
        tasks = found[0].tasks() if found else []
        if any(t.get("NodeID") == node_id and t["Status"]["State"] == "running" for t in tasks):
            return
        time.sleep(0.2)
    raise AssertionError(f"no running task of {service} on {hostname} within {timeout} s")


def test_a_node_that_goes_down_mid_run(cluster3, tmp_path):
    """node3's dockerd stopped while its task runs: one line naming node3, exit 1, node1's and
    node2's points stored; clean removes what is left on the nodes that are up, and, once node3
    is back, on node3 too."""
    run_id, state = new_run_id(), cluster3["state"]
    running = sweep(cluster3, run_id, tmp_path, "--mode", "global", "--repeat", "3", "--quiet", popen=True)
    try:
        wait_for_task_on(cluster3, f"voltools_{run_id}_tmpfs", "node3")
        os.kill(dockerd_pids(state)["node3"], signal.SIGTERM)
        _, stderr = running.communicate(timeout=300)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "node node3 (" in lines[0] and "went down mid-run" in lines[0], lines
    assert f"clean --run-id {run_id} --node unix://{cluster3['socks']['node3']}" in lines[0]
    points = load_run(run_id, tmp_path)
    assert set(points["node"].str.split("/").str[1]) == {"node1", "node2"}
    assert (points["error"] == 0).all() and len(points) == 2 * 2 * 12
    clean = voltools(cluster3, "clean", "--run-id", run_id, *node_urls(cluster3))
    assert clean.returncode == 1 and "does not answer" in clean.stderr, clean.stderr
    for name in ("node1", "node2"):
        assert not left_on(cluster3["socks"][name], run_id), name
    back = run_script("up", str(NODES), state=state)
    assert back.returncode == 0, back.stderr
    clean = voltools(cluster3, "clean", "--run-id", run_id, *node_urls(cluster3))
    assert clean.returncode == 0, clean.stderr
    assert_nodes_clean(cluster3, run_id)
