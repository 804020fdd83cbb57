"""The same probe on Kubernetes: a PersistentVolumeClaim and a Job per run, results from pod logs.

The Job's container runs the task script (`taskscript.SCRIPT`, fixed; the data only in args) on
the claim mounted at /data, as uid 65534 with fsGroup 65534, no privilege escalation, no
capabilities and a read-only root filesystem. Its log is replayed into the usual points table
with orchestrator="k8s", node=<the pod's node> and storage_class=<the claim's class>.

The cluster pulls the image: pass `image="registry/name:tag"` of the probe pushed to a registry
it can reach. Untested against a live cluster: only the manifests (against the client's models)
and the log path (with real fio output) are tested here.
"""
import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ..config import DATA_MOUNT, LABEL, NOBODY_UID, ROLE_LABEL
from ..errors import EngineError, UsageError, first_line
from ..measuring import taskscript
from ..measuring.plan import SweepRequest
from ..naming import check_name
from ..units import parse_size
from .registry import Orchestrator, register

ORCHESTRATOR = "k8s"
CONTAINER = "probe"
POLL_S = 2.0
STUCK = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
         "CreateContainerError"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,42}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class ClaimTarget:
    """A claim of one storage class, shaped like the TargetSpec that rows.point_rows reads."""

    storage_class: str
    size_bytes: int
    kind: str = "pvc"
    has_reader = True  # the Job's one container lays out and reads as uid 65534: check it can

    @property
    def name(self):
        return f"pvc-{self.storage_class}"

    def describe(self):
        return json.dumps({"size": self.size_bytes, "storage_class": self.storage_class}, sort_keys=True)


def claim_target(storage_class, size):
    """A checked ClaimTarget: a DNS-label storage class name and a size such as '1g'."""
    if not _DNS_LABEL.match(str(storage_class)):
        raise UsageError(f"storage class {storage_class!r} is not accepted: use 1-44 lowercase letters, "
                         "digits, '-' or '.', e.g. standard")
    return ClaimTarget(storage_class, parse_size(size, "claim size"))


def claim_plan(storage_class, size, request=None, **grid):
    """A validated SweepPlan whose one target is the claim (its size checked against the layout).

    The grid is `request`'s (a SweepRequest, which must name no target), else `grid`'s keywords."""
    request = request or SweepRequest.of(**grid)
    if request.targets:
        raise UsageError("--orchestrator k8s measures a claim: give --storage-class NAME (and --size), no --target")
    plan = replace(request, targets=("local",)).plan()
    plan.targets = [claim_target(storage_class, size)]
    return plan.validate()


def dns_name(run_id, role):
    """A DNS-1123 name for a run's object: voltools-<run id, lowercased, '.' as '-'>-<hash>-<role>.

    Lowercasing and '.' -> '-' would give runs 'A.b' and 'a-b' one name; the first 8 hex digits of
    the exact run id's SHA-256 keep the names of two runs apart (the run's objects are still found
    and deleted by their label, never by name).
    """
    readable = re.sub(r"[^a-z0-9-]", "-", str(run_id).lower())[:40].strip("-")
    digest = hashlib.sha256(str(run_id).encode()).hexdigest()[:8]
    return "-".join(part for part in ("voltools", readable, digest, role) if part)


def manifests(storage_class, size, plan, run_id, image, timeout=3600):
    """[PersistentVolumeClaim, Job] (plain dicts, API field names) for one claim and the plan."""
    claim = claim_target(storage_class, size)
    if not _LABEL_VALUE.match(check_name(run_id)):
        raise UsageError(f"run id {run_id!r} cannot be a Kubernetes label value: end it with a letter or digit")
    labels = {LABEL: run_id, ROLE_LABEL: CONTAINER}
    pvc_name, job_name = dns_name(run_id, "pvc"), dns_name(run_id, "job")
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": pvc_name, "labels": labels},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": claim.storage_class,
                    "resources": {"requests": {"storage": str(claim.size_bytes)}}}}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job_name, "labels": labels},
           "spec": {"backoffLimit": 0, "activeDeadlineSeconds": int(timeout),
                    "ttlSecondsAfterFinished": 86400,  # a safety net if voltools is killed
                    "template": {"metadata": {"labels": labels},
                                 "spec": _pod_spec(claim, plan, run_id, image, pvc_name)}}}
    return [pvc, job]


def _pod_spec(claim, plan, run_id, image, pvc_name):
    steps = taskscript.task_steps(plan, claim, run_id)
    container = {
        "name": CONTAINER, "image": image, "imagePullPolicy": "IfNotPresent",
        "command": list(taskscript.SCRIPT_COMMAND), "args": taskscript.script_args(steps),
        "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT}, {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}}}
    if plan.memory_bytes:
        container["resources"] = {"limits": {"memory": str(plan.memory_bytes)}}
    return {"restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
            "securityContext": {"runAsUser": NOBODY_UID, "runAsGroup": NOBODY_UID, "runAsNonRoot": True,
                                "fsGroup": NOBODY_UID, "fsGroupChangePolicy": "OnRootMismatch",
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": pvc_name}},
                        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}]}


def store_log(store, log, plan, claim, run_id, node, seq=0, progress=None, root=DATA_MOUNT):
    """Parse one pod's log into the points table; return the next seq."""
    steps = taskscript.task_steps(plan, claim, run_id, root)
    return taskscript.store_task(store, log, steps, plan, claim, run_id, seq, node or "", ORCHESTRATOR,
                            extra={"storage_class": claim.storage_class}, progress=progress, root=root)


def connect(kubeconfig=None, context=None):
    """(CoreV1Api, BatchV1Api) from a kubeconfig (or in-cluster config), else EngineError."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise EngineError("the Kubernetes client is not installed: pip install 'voltools[k8s]'") from None
    try:
        if kubeconfig or context or not os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_kube_config(config_file=kubeconfig, context=context)
        else:
            config.load_incluster_config()
    except (config.ConfigException, OSError) as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise EngineError(f"no Kubernetes cluster configured (no usable kubeconfig at {where}: "
                          f"{first_line(exc, 120)}): set KUBECONFIG or pass a kubeconfig") from None
    return client.CoreV1Api(), client.BatchV1Api()


class K8sOrchestrator(Orchestrator):
    """A PersistentVolumeClaim of `storage_class` and a Job reading it. `api`: a (CoreV1Api,
    BatchV1Api) pair to use instead of the kubeconfig's."""

    name = ORCHESTRATOR
    options = {"storage_class": None, "size": "1g", "namespace": "default", "kubeconfig": None,
               "context": None, "timeout": 3600, "api": None}
    core = batch_api = image = None

    def plan(self, request):
        """The claim's plan; the cluster pulls the image, so `request` must name one."""
        if not self.settings["storage_class"]:
            raise UsageError("--orchestrator k8s measures a claim: give --storage-class NAME (and --size), no --target")
        plan = claim_plan(self.settings["storage_class"], self.settings["size"], request)
        plan.pack = False  # the Job's script runs one fio call per batch
        if not request.image:
            raise UsageError("a Kubernetes run needs --image REGISTRY/NAME:TAG the cluster can pull "
                             "(docker tag and push the voltools-probe image there first)")
        self.image = request.image
        return plan

    def check(self, plan, run_id):
        self.manifests = manifests(self.settings["storage_class"], self.settings["size"], plan, run_id,
                                   self.image, self.settings["timeout"])

    def connect(self, plan):
        self.core, self.batch_api = self.settings["api"] or connect(self.settings["kubeconfig"],
                                                                    self.settings["context"])

    def prepare(self, plan, image):
        return {"probe_image": image,
                "k8s": {"namespace": self.settings["namespace"], "storage_class": self.settings["storage_class"]}}

    def measure(self, run, progress=None):
        """Submit the claim and the Job, wait for it, store its pod's log."""
        namespace, (pvc, job) = self.settings["namespace"], self.manifests
        with _api_errors(namespace):
            _create(self.core, self.batch_api, namespace, pvc, job)
            pod = wait_for_job(self.core, self.batch_api, namespace, job["metadata"]["name"], run.run_id,
                               self.settings["timeout"], progress)
            log = self.core.read_namespaced_pod_log(pod.metadata.name, namespace, container=CONTAINER)
        if taskscript.MARK not in (log or ""):
            raise EngineError(f"job {job['metadata']['name']} printed no results: {_pod_problem(pod)}")
        store_log(run.store, log, run.plan, run.plan.targets[0], run.run_id, pod.spec.node_name,
                  seq=run.store.next_seq(), progress=progress)

    def remove(self, run_id, settle=False):
        try:
            remove_run_objects(self.core, self.batch_api, self.settings["namespace"], run_id)
        except EngineError as exc:
            return [str(exc)]
        return []


register(K8sOrchestrator.name, K8sOrchestrator)


def _create(core, batch_api, namespace, pvc, job):
    """Submit the manifests as plain dicts (every client version serialises those as they are)."""
    core.create_namespaced_persistent_volume_claim(namespace, pvc)
    batch_api.create_namespaced_job(namespace, job)


@contextmanager
def _api_errors(namespace):
    """Turn the client's API and connection errors into one-line EngineErrors."""
    from kubernetes.client import ApiException
    from urllib3.exceptions import HTTPError
    try:
        yield
    except ApiException as exc:
        raise EngineError(f"the Kubernetes API refused a request in namespace {namespace}: "
                          f"{exc.status} {exc.reason}") from None
    except HTTPError as exc:
        raise EngineError(f"the Kubernetes API does not answer: {first_line(exc, 160)}") from None


def wait_for_job(core, batch_api, namespace, name, run_id, timeout, progress=None):
    """Poll until the Job succeeded or failed; return its (last) pod. Fails fast on image errors."""
    deadline, seen = time.monotonic() + timeout, None
    while True:
        job = batch_api.read_namespaced_job_status(name, namespace)
        pods = core.list_namespaced_pod(namespace, label_selector=f"{LABEL}={run_id}").items
        pod = max(pods, key=lambda p: str(p.metadata.creation_timestamp or ""), default=None)
        state = _pod_problem(pod) if pod else "pending"
        if progress and state != seen:
            progress(0, f"{name} {state}")
        seen = state
        done = job.status and ((job.status.succeeded or 0) > 0 or (job.status.failed or 0) > 0)
        if pod and done:
            return pod
        if pod and any(reason in state for reason in STUCK):
            raise EngineError(f"job {name} cannot start: {state}")
        if time.monotonic() > deadline:
            raise EngineError(f"job {name} did not finish in {timeout} s ({state})")
        time.sleep(POLL_S)


def _pod_problem(pod):
    """The pod's phase and the first container's waiting or terminated reason, in one line."""
    status = pod.status
    parts = [status.phase or "Unknown"]
    for container in status.container_statuses or []:
        state = container.state
        for detail in (state.waiting, state.terminated) if state else ():
            if detail is not None:
                parts.append(f"{detail.reason or ''} {first_line(detail.message or '', None)}".strip())
    return " ".join(parts)[:300]


def remove_run_objects(core, batch_api, namespace, run_id):
    """Delete the run's Jobs (their pods with them) and claims, found by label."""
    selector = f"{LABEL}={run_id}"
    with _api_errors(namespace):
        for job in batch_api.list_namespaced_job(namespace, label_selector=selector).items:
            _unless_gone(batch_api.delete_namespaced_job, job.metadata.name, namespace,
                         propagation_policy="Background")
        for claim in core.list_namespaced_persistent_volume_claim(namespace, label_selector=selector).items:
            _unless_gone(core.delete_namespaced_persistent_volume_claim, claim.metadata.name, namespace)


def _unless_gone(call, *args, **kwargs):
    from kubernetes.client import ApiException
    try:
        call(*args, **kwargs)
    except ApiException as exc:
        if exc.status != 404:
            raise
