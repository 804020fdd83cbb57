"""scripts/cluster.sh: a real 3-node swarm of dockerd nodes on this machine, and nothing left after down.

Each cluster here lives in its own state folder (VOLTOOLS_STATE_DIR), so a cluster someone has up in
/var/lib/voltools/cluster is neither used nor removed. The machine's own engine must come out of every
test as it went in: same engine (ID, pid), same swarm state, networks, containers and volumes.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import docker
import pytest
from docker.types import RestartPolicy, ServiceMode

from repo import ROOT

SCRIPT = ROOT / "scripts" / "cluster.sh"
NODES = 3


def run_script(*args, state, env=None, check=False):
    full_env = {**os.environ, "VOLTOOLS_STATE_DIR": str(state), **(env or {})}
    full_env.pop("DOCKER_HOST", None)
    done = subprocess.run(["bash", str(SCRIPT), *args], env=full_env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, (args, done.returncode, done.stderr)
    return done


def short_state_dir():
    """A short folder: the nodes' containerd sockets must fit a unix socket path (108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="vtc-test-", dir="/tmp"))


def host_view():
    """What the machine has now: network namespaces, links, FORWARD rules, mounts, processes."""
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    forward = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, check=True).stdout
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True, check=True).stdout
    return {
        "netns": {line.split()[0] for line in netns.splitlines() if line.strip()},
        "links": {line.split(": ")[1].split("@")[0] for line in links.splitlines()},
        "forward": forward.splitlines(),
        "mounts": mounts.splitlines(),
        "cgroups": {str(p) for p in Path("/sys/fs/cgroup").glob("*/voltools-cluster-*")},
    }


def main_engine_view(client):
    """The machine's own engine. Containers and volumes of voltools runs are left out: other runs
    on this machine may start and end them meanwhile; the cluster makes nothing on this engine."""
    info = client.info()

    def kept(obj):
        return "voltools.run" not in (obj.attrs.get("Labels") or {})
    return {
        "id": info["ID"],
        "name": info["Name"],
        "swarm": info["Swarm"]["LocalNodeState"],
        "pid": Path("/var/run/docker.pid").read_text().strip() if Path("/var/run/docker.pid").exists() else None,
        "networks": sorted(n.name for n in client.networks.list()),
        "containers": sorted(c.id for c in client.containers.list(all=True, sparse=True) if kept(c)),
        "volumes": sorted(v.name for v in client.volumes.list() if kept(v)),
    }


def cluster_pids(state):
    """Processes whose command line names the cluster's folder (its dockerds, containerds, shims)."""
    out = subprocess.run(["pgrep", "-f", f"{state}/cluster/"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def dockerd_pids(state):
    """The nodes' dockerd processes, by their pid files; each must be running."""
    pids = {}
    for pidfile in sorted((state / "cluster").glob("node*/dockerd.pid")):
        pid = int(pidfile.read_text())
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd", pidfile
        pids[pidfile.parent.name] = pid
    return pids


def assert_nothing_left(state, before, during):
    after = host_view()
    made_netns = during["netns"] - before["netns"]
    made_links = during["links"] - before["links"]
    assert not made_netns & after["netns"], "network namespaces left behind"
    assert not made_links & after["links"], "links left behind"
    assert not [r for r in after["forward"] if r not in before["forward"]], "FORWARD rules left behind"
    assert not [m for m in after["mounts"] if m.startswith(f"{state}/")], "mounts left under the cluster folder"
    assert not cluster_pids(state), "processes of the cluster left behind"
    assert not (state / "cluster").exists(), "the cluster folder is left behind"
    assert not after["cgroups"] - before["cgroups"], "cgroups left behind"


def down_leaves_nothing(state, before, during, client, engine_before):
    """`down` succeeds, leaves nothing of the cluster, and the machine's engine as it was."""
    down = run_script("down", state=state)
    assert down.returncode == 0, down.stderr
    assert_nothing_left(state, before, during)
    assert main_engine_view(client) == engine_before


def require_root():
    if os.geteuid() != 0:
        pytest.skip("scripts/cluster.sh needs root")
    if not shutil.which("dockerd"):
        pytest.skip("no dockerd here")


@pytest.fixture(scope="module")
def cluster(docker_client):
    """`up 3` in a fresh state folder; `down` afterwards whatever happened."""
    require_root()
    state = short_state_dir()
    before = host_view()
    engine_before = main_engine_view(docker_client)
    up = run_script("up", str(NODES), state=state)
    try:
        assert up.returncode == 0, up.stderr
        yield {"state": state, "up": up, "before": before, "during": host_view(),
               "engine_before": engine_before}
    finally:
        run_script("down", state=state)
        shutil.rmtree(state, ignore_errors=True)


def node_sockets(up_stdout):
    lines = up_stdout.strip().splitlines()
    nodes = [line.split() for line in lines[:-1]]
    return lines, {name: sock for name, sock in nodes}


def node_client(sock):
    return docker.DockerClient(base_url=f"unix://{sock}", timeout=60)


def copy_image(image, sock):
    """docker save | docker load: how an image reaches a node without a registry."""
    copy = subprocess.run(f"docker save {image} | docker -H unix://{sock} load", shell=True,
                          capture_output=True, text=True, timeout=300)
    assert copy.returncode == 0, copy.stderr


def test_up_prints_the_nodes_and_the_managers_socket(cluster):
    state = cluster["state"]
    lines, socks = node_sockets(cluster["up"].stdout)
    assert len(lines) == NODES + 1
    assert sorted(socks) == [f"node{k}" for k in range(1, NODES + 1)]
    for name, sock in socks.items():
        assert sock == f"{state}/cluster/{name}/docker.sock" and Path(sock).is_socket()
    assert lines[-1] == f"DOCKER_HOST=unix://{socks['node1']}"
    made = cluster["during"]["netns"] - cluster["before"]["netns"]
    assert len(made) == NODES, made


def test_three_nodes_ready_with_distinct_host_names_and_engines(cluster, docker_client):
    _, socks = node_sockets(cluster["up"].stdout)
    manager = node_client(socks["node1"])
    nodes = manager.nodes.list()
    assert len(nodes) == NODES
    assert all(n.attrs["Status"]["State"] == "ready" for n in nodes), [n.attrs["Status"] for n in nodes]
    hostnames = sorted(n.attrs["Description"]["Hostname"] for n in nodes)
    assert hostnames == sorted(socks), hostnames
    infos = [node_client(sock).info() for sock in socks.values()]
    engine_ids = {i["ID"] for i in infos}
    assert len(engine_ids) == NODES and docker_client.info()["ID"] not in engine_ids
    assert all(i["Swarm"]["LocalNodeState"] == "active" for i in infos)
    assert sum(bool(i["Swarm"]["ControlAvailable"]) for i in infos) == 1
    addrs = {i["Swarm"]["NodeAddr"] for i in infos}
    assert len(addrs) == NODES and all(re.fullmatch(r"10\.213\.\d+\.\d+", a) for a in addrs), addrs


def test_status_says_up(cluster):
    status = run_script("status", state=cluster["state"])
    assert status.returncode == 0, status.stderr
    _, socks = node_sockets(cluster["up"].stdout)
    assert status.stdout.splitlines()[-1] == f"DOCKER_HOST=unix://{socks['node1']}"
    assert status.stdout.count("swarm active") == NODES


def test_up_again_is_the_same_cluster(cluster):
    state = cluster["state"]
    pids = dockerd_pids(state)
    assert len(pids) == NODES
    again = run_script("up", str(NODES), state=state)
    assert again.returncode == 0, again.stderr
    assert again.stdout == cluster["up"].stdout
    assert dockerd_pids(state) == pids, "up again started or stopped a dockerd"
    _, socks = node_sockets(again.stdout)
    assert len(node_client(socks["node1"]).nodes.list()) == NODES
    other = run_script("up", str(NODES + 1), state=state)
    assert other.returncode == 1 and len(other.stderr.strip().splitlines()) == 1, other.stderr


def test_the_probe_image_runs_on_every_node_without_a_registry(cluster, probe_image):
    _, socks = node_sockets(cluster["up"].stdout)
    for sock in socks.values():
        copy_image(probe_image, sock)
    manager = node_client(socks["node1"])
    service = manager.services.create(
        probe_image, command=["sh", "-c", 'echo "on $NODE"; fio --version'], name="cluster-test",
        env=["NODE={{.Node.Hostname}}"], mode=ServiceMode("global-job"),
        restart_policy=RestartPolicy(condition="none"))
    try:
        for _ in range(120):
            tasks = service.tasks()
            if len(tasks) == NODES and all(t["Status"]["State"] in ("complete", "failed", "rejected")
                                           for t in tasks):
                break
            time.sleep(0.5)
        assert [t["Status"]["State"] for t in tasks] == ["complete"] * NODES, [t["Status"] for t in tasks]
        logs = b"".join(service.logs(stdout=True, stderr=True)).decode()
        assert {f"on {name}" for name in socks} <= set(re.findall(r"on node\d+", logs)), logs
        assert logs.count("fio-") == NODES, logs
    finally:
        service.remove()


def listed(socks):
    """The manager's node list: host name -> status (ready, down, ...)."""
    return {n.attrs["Description"]["Hostname"]: n.attrs["Status"]["State"]
            for n in node_client(socks["node1"]).nodes.list()}


def until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        time.sleep(0.5)


def test_a_node_the_manager_keeps_down_is_restarted_once_then_named(cluster):
    """node3 answers and says its swarm is active, but cannot reach the manager (its packets to
    port 2377 dropped in its own namespace), so the manager lists it Down: up restarts node3's
    dockerd once, then fails in one final line naming node3 and what it now says (pending: it
    cannot reach the manager). Once node3 can, up brings the whole cluster back Ready."""
    state = cluster["state"]
    _, socks = node_sockets(cluster["up"].stdout)
    subnet = re.search(r"^subnet=(\S+)$", (state / "cluster" / "cluster.env").read_text(), re.M)[1]
    netns = subprocess.run(["ip", "netns", "identify", str(dockerd_pids(state)["node3"])],
                           capture_output=True, text=True, check=True).stdout.strip()
    block = ["OUTPUT", "-d", f"{subnet}.11", "-p", "tcp", "--dport", "2377", "-j", "DROP"]
    in_node3 = ["nsenter", f"--net=/var/run/netns/{netns}", "iptables"]
    subprocess.run([*in_node3, "-I", *block], check=True)
    try:
        until(lambda: listed(socks)["node3"] == "down", 90, "node3 listed Down")
        before = dockerd_pids(state)["node3"]
        stalled = run_script("up", str(NODES), state=state, env={"VOLTOOLS_CLUSTER_WAIT": "30"})
        lines = stalled.stderr.strip().splitlines()
        assert stalled.returncode == 1, stalled.stderr
        assert len(lines) == 2 and "node3: its engine answers" in lines[0] and "restarting" in lines[0], lines
        assert "manager lists: node3 Down/Active; node3 swarm pending" in lines[1], lines
        assert dockerd_pids(state)["node3"] != before, "node3's dockerd was not restarted"
    finally:
        subprocess.run([*in_node3, "-D", *block], check=True)
        back = run_script("up", str(NODES), state=state)  # the cluster as it was, for the tests after
    assert back.returncode == 0, back.stderr
    assert set(listed(socks).values()) == {"ready"}


def test_down_removes_everything_even_a_dead_nodes_containers(cluster, docker_client, probe_image):
    """node2 holds a container and a tmpfs volume when down stops it; node3's dockerd is killed
    (-9) first, leaving its container running with nobody to stop it: down removes both."""
    state = cluster["state"]
    _, socks = node_sockets(cluster["up"].stdout)
    held = []
    for name in ("node2", "node3"):
        copy_image(probe_image, socks[name])
        client = node_client(socks[name])
        client.volumes.create("held", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=16m"})
        container = client.containers.run(probe_image, ["sleep", "600"], detach=True, stop_signal="KILL",
                                          volumes={"held": {"bind": "/held", "mode": "rw"}})
        container.reload()
        held.append(container.attrs["State"]["Pid"])
    os.kill(dockerd_pids(state)["node3"], 9)
    for pid in held:  # in the node's own cgroup, which down must remove too
        assert "/voltools-cluster-" in Path(f"/proc/{pid}/cgroup").read_text()
    down = run_script("down", state=state)
    assert down.returncode == 0, down.stderr
    assert_nothing_left(state, cluster["before"], cluster["during"])
    assert not [pid for pid in held if Path(f"/proc/{pid}").exists()], "a node's container still runs"
    assert main_engine_view(docker_client) == cluster["engine_before"]
    again = run_script("down", state=state)
    assert again.returncode == 0, again.stderr
    status = run_script("status", state=state)
    assert status.returncode == 3 and "no cluster" in status.stderr


def test_a_failed_up_names_the_node_and_down_cleans_it(docker_client):
    require_root()
    state = short_state_dir()
    try:
        before = host_view()
        engine_before = main_engine_view(docker_client)
        failed = run_script("up", "3", state=state, env={"VOLTOOLS_CLUSTER_FAIL_NODE": "2"})
        assert failed.returncode == 1
        err = failed.stderr.strip().splitlines()
        assert len(err) == 1 and "node2" in err[0] and f"{state}/cluster/node2/dockerd.log" in err[0], err
        during = host_view()
        assert len(during["netns"] - before["netns"]) == NODES, "up made every namespace before failing"
        assert cluster_pids(state), "node1 and node3 were started"
        status = run_script("status", state=state)
        assert status.returncode == 3 and "node2" in status.stdout and "down" in status.stdout
        assert main_engine_view(docker_client) == engine_before
        completed = run_script("up", "3", state=state)  # up again completes what is missing
        assert completed.returncode == 0, completed.stderr
        assert len(node_sockets(completed.stdout)[1]) == NODES
        status = run_script("status", state=state)
        assert status.returncode == 0 and status.stdout.count("swarm active") == NODES, status
        down_leaves_nothing(state, before, during, docker_client, engine_before)
    finally:
        run_script("down", state=state)
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.parametrize("args", [("up", "2"), ("up", "x"), ("up",), (), ("sideways",), ("status", "x")])
def test_bad_usage_is_one_line_and_exit_2(args, tmp_path):
    require_root()
    done = run_script(*args, state=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "cluster").exists()


def test_not_root_is_refused():
    require_root()  # to become someone else
    place = short_state_dir()  # a copy of the script that nobody (uid 65534) may read
    try:
        place.chmod(0o755)
        script = shutil.copy(SCRIPT, place / "cluster.sh")
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               "bash", script, "up", "3"], capture_output=True, text=True, timeout=60,
                              env={"PATH": os.environ["PATH"], "VOLTOOLS_STATE_DIR": str(place)})
        assert done.returncode == 2 and "root" in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert not (place / "cluster").exists()
    finally:
        shutil.rmtree(place, ignore_errors=True)
