"""The same sweep on Docker Swarm: one job service per target, results read back from its logs.

Each task runs the FIXED task script (`taskscript.SCRIPT`) in the probe image; everything derived from the
user's input reaches it only as positional arguments ("$@"): a list of argv segments, each
preceded by its length (see voltools.measuring.taskscript). Its stdout comes back through the service
logs, is replayed into the same lay-out and row code as a docker sweep, and lands in the usual
points table with orchestrator="swarm" and node="<node id>/<hostname>".

Logs, not a results volume: a tmpfs volume dies with its task and a `local` volume stays on the
node that ran the task, which the manager cannot read; the logs reach the manager from every node
through the Swarm API with no extra mount, registry or network.

The probe image must be on every node. One node: it is local. Several nodes, no registry:
`distribute_image` streams `docker save` from the manager into `docker load` on each node's engine.
With a registry: `docker push registry/name:tag` the probe (or any image with fio, sh and stat)
and pass `image="registry/name:tag"` (`--image`); each node pulls it when its task starts.
"""
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .. import interrupts
from ..config import DATA_MOUNT, LABEL
from ..errors import EngineError, ProbeError, UsageError, cause, first_line
from ..measuring import engine, kinds, targets
from ..measuring.cleanup import labeled_services, remove_copies, remove_services  # noqa: F401 (part of the swarm API)
from ..measuring.taskscript import MARK, SCRIPT_COMMAND, script_args, store_task, task_steps
from ..naming import labels, object_name
from . import nodes
from .registry import Orchestrator, register

MODES = {"replicated": "replicated-job", "global": "global-job"}
TERMINAL = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
TMP_BYTES = 16 << 20
POLL_S = 0.25
LATE_TASK_S = 2.0  # after an interrupt: how long no task container may appear before the run counts clean
TASK_ATTR, NODE_ATTR = "com.docker.swarm.task.id", "com.docker.swarm.node.id"
MAX_SERVICE_NAME = 63
_SERVICE_NAME = re.compile(r"[A-Za-z0-9](?:[-_A-Za-z0-9]*[A-Za-z0-9])?", re.ASCII)  # swarmkit's rule


@dataclass(frozen=True)
class JobOptions:
    """Where and how long a target's job service runs."""

    mode: str = "replicated"
    constraints: tuple = ()
    timeout: float = 3600

# ---------------------------------------------------------------- service logs


def split_log_line(line):
    """(task id, node, message) of one service log line, its prefix stripped.

    Through the API a line carries no prefix unless asked: with details=True it starts with the
    URL-escaped attributes `com.docker.swarm.node.id=..,com.docker.swarm.service.id=..,
    com.docker.swarm.task.id=.. ` (after an RFC 3339 time with timestamps=True). The CLI's
    `name.slot.task@node    | ` prefix is also understood; any other line is returned whole.
    """
    stamp, _, unstamped = line.partition(" ")
    is_time = stamp[:4].isdigit() and stamp.endswith("Z") and "T" in stamp
    for text in (line, unstamped) if is_time else (line,):
        found = _details_prefix(text) or _cli_prefix(text)
        if found:
            return found
    return "", "", line


def _details_prefix(text):
    head, sep, message = text.partition(" ")
    if sep and TASK_ATTR in head and "=" in head:
        attrs = dict(parse_qsl(head, keep_blank_values=True, separator=","))
        return attrs.get(TASK_ATTR, ""), attrs.get(NODE_ATTR, ""), message
    return None


def _cli_prefix(text):
    prefix, bar, message = text.partition(" | ")
    task, at, node = prefix.strip().rpartition("@")
    if bar and at and task and node and " " not in prefix.strip():
        return task.rsplit(".", 1)[-1], node, message
    return None


def task_logs(frames):
    """{task id: (node id, text)} from service log frames (bytes or str), in order per task."""
    tasks = {}
    for frame in frames:
        text = frame.decode("utf-8", errors="replace") if isinstance(frame, bytes) else frame
        for line in text.splitlines(keepends=True):
            task, node, message = split_log_line(line)
            old_node, old_text = tasks.get(task, (node, ""))
            tasks[task] = (old_node or node, old_text + message)
    return tasks


# ---------------------------------------------------------------- the sweep


def check_service_names(specs, run_id):
    """UsageError unless Docker Swarm accepts each target's service name, voltools_<run>_<target>."""
    for spec in specs:
        name = object_name(run_id, spec.name)
        if len(name) > MAX_SERVICE_NAME or not _SERVICE_NAME.fullmatch(name):
            raise UsageError(f"swarm service name {name!r} (voltools_<run id>_<target>) is not accepted by "
                             f"Docker Swarm, which allows at most {MAX_SERVICE_NAME} letters, digits, '-' "
                             "and '_' (no '.'): shorten or change --run-id or the target's name=")


class SwarmOrchestrator(Orchestrator):
    """One Swarm job service per target, on one node ("replicated") or every node ("global").

    `nodes`: docker clients (or base URLs) of the other nodes' engines, used to copy the probe
    image to them, to tell a node that goes down, and to remove the task containers, volumes and
    image copies left there (see voltools.orchestrators.nodes)."""

    name = "swarm"
    options = {"mode": "replicated", "constraints": (), "nodes": (), "timeout": 3600}
    client, image, source, others, watch, run_id = None, None, None, (), None, None

    def check(self, plan, run_id):
        kinds.refuse_unsupported(plan.targets, self.name)
        if self.settings["mode"] not in MODES:
            raise UsageError(f"--mode {self.settings['mode']!r} is not accepted: use {' or '.join(MODES)}")
        check_service_names(plan.targets, run_id)
        self.run_id = run_id

    def connect(self, plan):
        self.client = engine.connect()
        self.others = nodes.node_engines(self.client, self.settings["nodes"])

    def prepare(self, plan, image):
        self.image, self.source = _image_source(self.client, image)
        return {"docker_engine_version": engine.engine_version(self.client), "probe_image": self.image,
                "swarm": {"mode": MODES[self.settings["mode"]], "constraints": list(self.settings["constraints"])}}

    def measure(self, run, progress=None):
        """Each target's job service in turn, inside a swarm (one made for the run if there was none)."""
        options = JobOptions(self.settings["mode"], tuple(self.settings["constraints"]), self.settings["timeout"])
        with swarm_for_run(self.client) as created:
            run.meta["swarm"]["swarm_created"] = created
            self.watch = nodes.NodeWatch(self.client, self.others)
            try:
                run.meta["swarm"]["nodes"] = self._spread_image(run.run_id)
                seq = run.store.next_seq()
                for spec in run.plan.targets:
                    self._refuse_foreign_volume(run.run_id, spec)
                    seq = _measure_target(self.client, self.image, spec, run, seq, options, progress, self.watch)
                lost = self.watch.error(run.run_id)
                if lost:
                    raise lost
            finally:  # services go before a swarm made for the run is left
                run.problems += self.remove(run.run_id)

    def _refuse_foreign_volume(self, run_id, spec):
        """A task's mount uses a node's volume of the target's name as it is: one not the run's is
        refused, on the manager and every --node that answers, just before the target's service (a
        node not given with --node is not seen)."""
        name = object_name(run_id, spec.name)
        reachable = self.watch.reachable() if self.watch else self.others
        for where, each in [("the manager", self.client), *((e.url, e.client) for e in reachable)]:
            try:
                targets.refuse_foreign_volume(each, name, run_id, f"swarm node {where}")
            except engine.engine_errors() as exc:
                raise EngineError(f"swarm node {where}: no Docker Engine answers there ({cause(exc)})") from None

    def _spread_image(self, run_id):
        """The probe image onto every engine that lacks it; {engine: what was done}."""
        if self.source is None:  # a registry image: each node pulls it
            return {e.url: "pulls it" for e in self.others}
        return nodes.spread_image(self.image, self.source, self.client, self.others, self.watch, run_id)

    def remove(self, run_id, settle=False):
        """The run's services, task containers, volumes and image copies, on every engine that answers
        (a node that went down mid-run is named by the run's error instead); with `settle`, also
        what a node makes late (remove_run_objects)."""
        problems = []
        reachable = self.watch.reachable() if self.watch else self.others
        for name, each in [("manager", self.client), *((e.url, e.client) for e in reachable)]:
            try:
                remove_run_objects(each, run_id, settle=settle)
                problems += remove_copies(each, run_id).left
            except (EngineError, *engine.engine_errors()) as exc:
                problems.append(f"{name}: {first_line(exc)}")
        return problems

    def expected_points(self, plan):
        return plan.total_points() if self.settings["mode"] == "replicated" else None


register(SwarmOrchestrator.name, SwarmOrchestrator)


def _measure_target(client, image, spec, run, seq, options, progress, watch=None):
    """Run one target's job service, store every task's points; return the next seq.

    A task on a node `watch` finds lost is not waited for and stores nothing (the run's end says so)."""
    plan, store, run_id = run.plan, run.store, run.run_id
    steps = task_steps(plan, spec, run_id)
    service = _create_service(client, image, spec, run_id, steps, plan.memory_bytes, options)
    lost = watch.reason if watch else None
    tasks = wait_for_tasks(client, service, options.timeout, progress, spec.name, lost)
    live = [t for t in tasks if not (lost and lost(t.get("NodeID", "")))]
    logs = fetch_logs(service, live)
    failures = []
    for task in sorted(live, key=lambda t: t.get("NodeID", "")):
        node = _node_label(client, task.get("NodeID", ""))
        text = logs.get(task["ID"], ("", ""))[1]
        status = task["Status"]
        if MARK not in text:
            failures.append(f"task on {node} {status['State']}: {status.get('Err') or status.get('Message')}")
            continue
        seq = store_task(store, text, steps, plan, spec, run_id, seq, node, "swarm", progress=progress)
    if failures:
        raise EngineError(f"swarm target {spec.name}: {failures[0]}")
    return seq


def fetch_logs(service, tasks, wait_s=10):
    """{task id: (node id, text)} of the job's logs, re-read while a finished task's log is short."""
    from docker.errors import APIError
    deadline = time.monotonic() + wait_s
    while True:
        try:
            logs = task_logs(service.logs(stdout=True, stderr=True, details=True, follow=False))
        except APIError as exc:
            raise EngineError(f"reading the logs of swarm service {service.name} failed: "
                              f"{first_line(exc)}") from None
        short = [t for t in tasks if t["Status"]["State"] == "complete"
                 and f"{MARK}done" not in logs.get(t["ID"], ("", ""))[1]]
        if not short or time.monotonic() > deadline:
            return logs
        time.sleep(POLL_S)


def _create_service(client, image, spec, run_id, steps, memory_bytes, options):
    """One job service for one target: fixed script, data as args, the volume made per node."""
    from docker.errors import DockerException
    from docker.types import Mount, Resources, RestartPolicy, ServiceMode

    mode = MODES[options.mode]
    service_mode = ServiceMode(mode, replicas=1) if mode == "replicated-job" else ServiceMode(mode)
    mounts = [_volume_mount(spec, run_id), Mount("/tmp", None, type="tmpfs", tmpfs_size=TMP_BYTES)]
    try:
        with interrupts.creating():
            return client.services.create(
                image, command=list(SCRIPT_COMMAND), args=script_args(steps),
                name=object_name(run_id, spec.name),
                labels=labels(run_id, f"service-{spec.name}"), container_labels=labels(run_id, f"task-{spec.name}"),
                mode=service_mode, mounts=mounts, restart_policy=RestartPolicy(condition="none"),
                constraints=list(options.constraints), log_driver="json-file",
                user="0:0", read_only=True, cap_drop=["ALL"],  # root, but with no capabilities at all
                resources=Resources(mem_limit=memory_bytes) if memory_bytes else None)
    except DockerException as exc:
        raise EngineError(f"creating the swarm service for {spec.name} failed: {first_line(exc)}") from None


def _volume_mount(spec, run_id):
    """The target's volume, created by each node's engine when its task starts, with its kind's options."""
    from docker.types import DriverConfig, Mount
    options = spec.target_kind.volume_options(spec) or None
    return Mount(DATA_MOUNT, object_name(run_id, spec.name), type="volume",
                 driver_config=DriverConfig("local", options=options),
                 labels=targets.volume_labels(run_id, spec.name))


def wait_for_tasks(client, service, timeout, progress=None, label="", lost=None):
    """Poll until every task of the job has ended, or is on a node `lost(node id)` says is lost;
    return the tasks. Progress gets state changes."""
    deadline, seen = time.monotonic() + timeout, None
    while True:
        tasks = service.tasks()
        states = sorted(t["Status"]["State"] for t in tasks)
        if progress and states != seen:
            progress(0, f"{label} {','.join(states) or 'pending'}")
        seen = states
        ended = [t for t in tasks if t["Status"]["State"] in TERMINAL or (lost and lost(t.get("NodeID", "")))]
        if tasks and len(ended) == len(tasks) and len(tasks) >= _desired(client, service):
            return tasks
        if time.monotonic() > deadline:
            raise EngineError(f"swarm job {service.name} did not finish in {timeout} s (tasks: {states})")
        time.sleep(POLL_S)


def _desired(client, service):
    found = client.services.list(filters={"id": service.id}, status=True)
    return (found[0].attrs.get("ServiceStatus") or {}).get("DesiredTasks", 1) if found else 1


def _node_label(client, node_id):
    """'<node id>/<hostname>' of a swarm node."""
    try:
        hostname = client.nodes.get(node_id).attrs["Description"]["Hostname"]
    except Exception:  # a node that left: keep its id
        hostname = "?"
    return f"{node_id}/{hostname}"


# ---------------------------------------------------------------- swarm state, images, clean-up


@contextmanager
def swarm_for_run(client, advertise_addr="127.0.0.1"):
    """Yield True if this engine had no swarm and one was made for the run (and left after it)."""
    from docker.errors import APIError
    state = client.info().get("Swarm") or {}
    local = state.get("LocalNodeState", "inactive")
    if local == "active":
        if not state.get("ControlAvailable"):
            raise EngineError("this engine is a swarm worker: run voltools on a manager node")
        yield False
        return
    if local != "inactive":
        raise EngineError(f"this engine's swarm state is {local!r}: fix it (docker swarm leave) and retry")
    had_bridge = bool(client.networks.list(names=["docker_gwbridge"]))
    try:
        client.swarm.init(advertise_addr=advertise_addr, listen_addr=f"{advertise_addr}:2377")
    except APIError as exc:
        raise EngineError(f"docker swarm init failed: {first_line(exc)}") from None
    try:
        yield True
    finally:
        try:
            client.swarm.leave(force=True)
        except APIError as exc:
            raise EngineError(f"leaving the swarm voltools made failed: {first_line(exc)}; "
                              "run 'docker swarm leave --force'") from None
        if not had_bridge:
            for network in client.networks.list(names=["docker_gwbridge"]):
                _quietly(network.remove)


def remove_run_objects(client, run_id, wait_s=15, settle=False):
    """Services, then task containers (Swarm keeps job containers: moby#42789), then volumes.

    `settle` (after an interrupt): a node given a task before its service went still makes the
    task's container and volume, 0.1-0.2 s later here (test_inflight_creation), so removal goes on
    until none has appeared for LATE_TASK_S."""
    remove_services(client, run_id)
    deadline = time.monotonic() + wait_s
    quiet_since = time.monotonic()
    while True:
        if _remove_tasks(client, run_id, deadline):
            quiet_since = time.monotonic()
        if not settle or time.monotonic() - quiet_since >= LATE_TASK_S or time.monotonic() > deadline:
            return
        time.sleep(POLL_S)


def _remove_tasks(client, run_id, deadline):
    """Remove the run's task containers, then its volumes (waiting while swarm still removes a
    container that uses one, until `deadline`); True if there was any."""
    from docker.errors import APIError, NotFound
    filters = {"label": f"{LABEL}={run_id}"}
    containers = client.containers.list(all=True, filters=filters, ignore_removed=True)
    for container in containers:
        _quietly(container.remove, force=True)
    volumes = client.volumes.list(filters=filters)
    for volume in volumes:
        while True:
            try:
                volume.remove(force=True)
                break
            except NotFound:
                break
            except APIError as exc:  # still in use by a container swarm is removing
                if time.monotonic() > deadline:
                    raise EngineError(f"volume {volume.name} stays in use: {first_line(exc)}") from None
                for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
                    _quietly(container.remove, force=True)
                time.sleep(POLL_S)
    return bool(containers or volumes)


def distribute_image(image, source, destinations, force=False):
    """Copy an image to other engines with no registry: `docker save` streamed into `docker load`.

    `source` and `destinations` are docker clients or base URLs (e.g. "ssh://node2",
    "tcp://node2:2376"). An engine that already holds the same image id is skipped unless
    `force`. Returns the destinations that were loaded.
    """
    from docker.errors import DockerException, ImageNotFound
    source = _client(source)
    try:
        wanted = source.images.get(image)
    except ImageNotFound:
        raise ProbeError(f"image {image!r} is not on the source engine") from None
    loaded = []
    for dest in map(_client, destinations):
        if not force and _image_id(dest, image) == wanted.id:
            continue
        try:
            dest.images.load(wanted.save(named=image if image in wanted.tags else True))
        except DockerException as exc:
            raise ProbeError(f"loading {image} into {dest.api.base_url} failed: {first_line(exc)}") from None
        if _image_id(dest, image) != wanted.id:
            raise ProbeError(f"{dest.api.base_url} did not end up with {image} ({wanted.short_id})")
        loaded.append(dest)
    return loaded


def _image_source(client, image):
    """(probe image, engine holding it) to copy to the nodes; (the user's image, None) for a
    registry reference found on no engine here: every node pulls it when its task starts."""
    try:
        return nodes.probe_source(client, image)
    except ProbeError:
        if image and "/" in image:
            return image, None
        raise


def _image_id(client, image):
    from docker.errors import ImageNotFound
    try:
        return client.images.get(image).id
    except ImageNotFound:
        return None


def _client(value):
    import docker
    return docker.DockerClient(base_url=value) if isinstance(value, str) else value


def _quietly(action, **kwargs):
    from docker.errors import NotFound
    try:
        action(**kwargs)
    except NotFound:
        pass
