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
from dataclasses import dataclass

from . import taskscript
from .measure import start_meta
from .plan import make_plan
from .config import DATA_MOUNT, LABEL, NOBODY_UID, ROLE_LABEL
from .errors import EngineError, UsageError, first_line
from .naming import check_name, new_run_id
from .store import RunStore
from .units import parse_size

ORCHESTRATOR = "k8s"
CONTAINER = "probe"
POLL_S = 2.0
STUCK = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
         "CreateContainerError"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,42}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class ClaimTarget:
    """A claim of one storage class, shaped like the TargetSpec that measure's row builder reads."""

    storage_class: str
    size_bytes: int
    kind: str = "pvc"

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


def claim_plan(storage_class, size, bs, blocks, rw="read", direct="1", iodepth="1", repeat=3,
               memory=None, batch=None):
    """A validated SweepPlan whose one target is the claim (its size checked against the layout)."""
    plan = make_plan(["local"], bs, blocks, rw, direct, iodepth, repeat, memory,
                     **({"batch": batch} if batch else {}))
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
        raise EngineError("the kubernetes package is not installed: pip install kubernetes") from None
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


def k8s_sweep(storage_class, size, bs="4k,64k,1m", blocks="1,16,256", rw="read", direct="1",
              iodepth="1", repeat=3, memory=None, run_id=None, data_dir=None, image=None,
              namespace="default", kubeconfig=None, context=None, timeout=3600, batch=None,
              progress=None, api=None):
    """Measure a claim of `storage_class` with a Job on the cluster; return the points table.

    `api`: a (CoreV1Api, BatchV1Api) pair to use instead of the kubeconfig's.
    """
    plan = claim_plan(storage_class, size, bs, blocks, rw, direct, iodepth, repeat, memory, batch)
    if not image:
        raise UsageError("a Kubernetes run needs --image REGISTRY/NAME:TAG the cluster can pull "
                         "(docker tag and push the voltools-probe image there first)")
    run_id = check_name(new_run_id() if run_id is None else run_id)
    pvc, job = manifests(storage_class, size, plan, run_id, image, timeout)
    core, batch_api = api or connect(kubeconfig, context)
    store = RunStore.create(run_id, data_dir)
    meta = start_meta(run_id, plan, image, orchestrator=ORCHESTRATOR,
                      k8s={"namespace": namespace, "storage_class": storage_class})
    store.write_meta(meta)
    try:
        with _api_errors(namespace):
            _create(core, batch_api, namespace, pvc, job)
            pod = wait_for_job(core, batch_api, namespace, job["metadata"]["name"], run_id, timeout, progress)
            log = core.read_namespaced_pod_log(pod.metadata.name, namespace, container=CONTAINER)
        if taskscript.MARK not in (log or ""):
            raise EngineError(f"job {job['metadata']['name']} printed no results: {_pod_problem(pod)}")
        store_log(store, log, plan, plan.targets[0], run_id, pod.spec.node_name, progress=progress)
    finally:
        try:
            remove_run_objects(core, batch_api, namespace, run_id)
        finally:
            points = store.close(meta)
    return points


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
