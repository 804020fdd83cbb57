"""Kubernetes: manifests checked against the client's own models, the log path with real fio output.

No cluster here: a k8s sweep runs against a fake API whose Job runs the container's argv on the host.
"""
import re
import subprocess
from types import SimpleNamespace

import pandas as pd
import pytest

from voltools.orchestrators import k8s
from voltools.measuring import taskscript
from voltools.api import sweep
from voltools.config import DATA_MOUNT
from voltools.errors import EngineError, UsageError
from voltools.store import RunStore

kubernetes = pytest.importorskip("kubernetes")
SMALL = dict(bs="4k,64k", blocks="1,8", rw="read", repeat=1)
IMAGE = "registry.example:5000/voltools-probe:0123456789ab"
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _manifests(run_id="20261127T020345Z-a908", **grid):
    plan = k8s.claim_plan("fast-ssd", "1g", **{**SMALL, "memory": "256m", **grid})
    return plan, k8s.manifests("fast-ssd", "1g", plan, run_id, IMAGE)


@pytest.mark.parametrize("index,model", [(0, "V1PersistentVolumeClaim"), (1, "V1Job")])
def test_manifests_survive_the_client_models(index, model):
    manifest = _manifests()[1][index]
    api = kubernetes.client.ApiClient()
    built = api._ApiClient__deserialize(manifest, model)
    assert api.sanitize_for_serialization(built) == manifest, "a field the model does not know was dropped"
    same = getattr(kubernetes.client, model).from_dict(manifest)
    assert api.sanitize_for_serialization(same) == manifest


def test_job_runs_the_fixed_script_on_the_claim():
    plan, (pvc, job) = _manifests()
    run_id = job["metadata"]["labels"]["voltools.run"]
    assert run_id == "20261127T020345Z-a908" and pvc["metadata"]["labels"] == job["metadata"]["labels"]
    assert all(DNS_1123.match(o["metadata"]["name"]) for o in (pvc, job))
    assert pvc["spec"]["storageClassName"] == "fast-ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == str(1 << 30)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["sh", "-c", taskscript.SCRIPT, "sh"]
    assert container["args"] == taskscript.script_args(taskscript.task_steps(plan, plan.targets[0], run_id))
    assert container["resources"]["limits"]["memory"] == str(256 << 20)
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"]
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert job["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"


@pytest.mark.parametrize("call,needle", [
    (lambda: k8s.claim_plan("Fast_SSD", "1g", **SMALL), "storage class 'Fast_SSD'"),
    (lambda: k8s.claim_plan("standard", "1m", bs="1m", blocks="8"), "holds 1 MiB"),
    (lambda: k8s.manifests("standard", "1g", k8s.claim_plan("standard", "1g", **SMALL), "run-", IMAGE),
     "label value"),
    (lambda: sweep(orchestrator="k8s", storage_class="standard", size="1g", **SMALL), "needs --image"),
    (lambda: sweep(orchestrator="k8s", storage_class="standard", size="1g", image=IMAGE, run_id="", **SMALL),
     "run id '' is not accepted"),
])
def test_bad_values_are_refused_in_one_line(call, needle):
    with pytest.raises(UsageError, match=needle) as info:
        call()
    assert "\n" not in str(info.value)


def test_without_a_kubeconfig_it_says_so_and_makes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(EngineError, match="no Kubernetes cluster configured") as info:
        sweep(orchestrator="k8s", storage_class="standard", size="1g", image=IMAGE, data_dir=tmp_path / "raw",
              **SMALL)
    assert "\n" not in str(info.value) and not (tmp_path / "raw").exists()


# ---------------------------------------------------------------- the log path, with the host's fio


def _on_host(argv, root):
    """Run a container's argv on the host with /data mapped to `root`: real fio, real output."""
    from voltools.measuring.probe import host_fio
    host_fio()
    argv = [a.replace(f"{DATA_MOUNT}/", f"{root}/") for a in argv]
    root.mkdir(exist_ok=True)
    out = subprocess.run(argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "TMPDIR": str(root)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def _recording(store):
    frames = []
    append = store.append_points
    store.append_points = lambda frame: (frames.append(frame), append(frame))
    return frames


def test_log_of_real_fio_becomes_rows(tmp_path):
    plan = k8s.claim_plan("standard", "64m", **SMALL)
    claim = plan.targets[0]
    steps = taskscript.task_steps(plan, claim, "r1", root=str(tmp_path / "pvc"))
    log = _on_host(taskscript.task_command(steps), tmp_path / "pvc")
    store = RunStore.create("r1", tmp_path / "raw")
    frames = _recording(store)
    assert k8s.store_log(store, log, plan, claim, "r1", "node-1", root=str(tmp_path / "pvc")) == 4
    rows = pd.concat(frames)
    assert (rows["storage_class"] == "standard").all() and (rows["node"] == "node-1").all()
    assert (rows["orchestrator"] == "k8s").all() and (rows["target_kind"] == "pvc").all()
    points = store.points()
    assert len(points) == 4 and (points["error"] == 0).all(), points["error_msg"].tolist()
    assert (points["read_time_s"] > 0).all() and (points["allocated_bytes"] >= points["size_bytes"]).all()
    assert set(points["target"]) == {"pvc-standard"} and points["fio_version"].str.startswith("fio-").all()


class FakeCluster:
    """The few API calls a k8s sweep makes; creating the Job runs its container on the host."""

    def __init__(self, root):
        self.root, self.created, self.deleted, self.log = root, [], [], ""

    def create_namespaced_persistent_volume_claim(self, namespace, body):
        self.created.append(body)

    def create_namespaced_job(self, namespace, body):
        self.created.append(body)
        container = body["spec"]["template"]["spec"]["containers"][0]
        self.log = _on_host([*container["command"], *container["args"]], self.root)

    def read_namespaced_job_status(self, name, namespace):
        return SimpleNamespace(status=SimpleNamespace(succeeded=1, failed=None))

    def list_namespaced_pod(self, namespace, label_selector):
        state = SimpleNamespace(waiting=None, terminated=SimpleNamespace(reason="Completed", message=None))
        return SimpleNamespace(items=[SimpleNamespace(
            metadata=SimpleNamespace(name="pod-1", creation_timestamp="2026-11-27T00:00:00Z"),
            spec=SimpleNamespace(node_name="worker-1"),
            status=SimpleNamespace(phase="Succeeded", container_statuses=[SimpleNamespace(state=state)]))])

    def read_namespaced_pod_log(self, name, namespace, container):
        return self.log

    def list_namespaced_job(self, namespace, label_selector):
        return self._listed("Job", label_selector)

    def list_namespaced_persistent_volume_claim(self, namespace, label_selector):
        return self._listed("PersistentVolumeClaim", label_selector)

    def _listed(self, kind, selector):
        key, _, value = selector.partition("=")
        return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name=o["metadata"]["name"]))
                                      for o in self.created if o["kind"] == kind and o not in self.deleted
                                      and o["metadata"]["labels"].get(key) == value])

    def delete_namespaced_job(self, name, namespace, propagation_policy=None):
        self.deleted += [o for o in self.created if o["metadata"]["name"] == name]

    delete_namespaced_persistent_volume_claim = delete_namespaced_job


def test_k8s_sweep_creates_waits_parses_and_deletes(tmp_path):
    cluster = FakeCluster(tmp_path / "pvc")
    labels = []
    points = sweep(orchestrator="k8s", storage_class="standard", size="64m", image=IMAGE, run_id="r2",
                   data_dir=tmp_path / "raw", api=(cluster, cluster), progress=lambda n, label: labels.append(label),
                   **SMALL)
    assert len(points) == 4 and (points["error"] == 0).all() and (points["node"] == "worker-1").all()
    assert (points["orchestrator"] == "k8s").all()
    assert [o["kind"] for o in cluster.created] == ["PersistentVolumeClaim", "Job"]
    assert sorted(o["kind"] for o in cluster.deleted) == ["Job", "PersistentVolumeClaim"], "both deleted"
    assert any("Succeeded" in label for label in labels)


def test_an_unreachable_api_is_one_engine_error_and_leaves_no_run(tmp_path):
    config = kubernetes.client.Configuration()
    config.host, config.retries = "http://127.0.0.1:9", 0  # nothing listens on the discard port
    client = kubernetes.client.ApiClient(config)
    api = (kubernetes.client.CoreV1Api(client), kubernetes.client.BatchV1Api(client))
    with pytest.raises(EngineError, match="does not answer") as info:
        sweep(orchestrator="k8s", storage_class="standard", size="1g", image=IMAGE, data_dir=tmp_path / "raw",
              api=api, **SMALL)
    assert "\n" not in str(info.value) and not list((tmp_path / "raw").iterdir())


def test_object_names_of_two_runs_never_coincide():
    names = {k8s.dns_name(run_id, "pvc") for run_id in ["A.b", "a-b", "a.b", "A-B", "x" * 48, "x" * 47 + "y"]}
    assert len(names) == 6 and all(DNS_1123.match(name) for name in names)
