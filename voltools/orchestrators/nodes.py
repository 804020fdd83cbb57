"""The engines of a swarm's other nodes: named by `--node` URLs, given the probe image with no
registry, watched while a job runs, and cleaned of what a run left there.

A node's engine is named by a URL (unix:///path/docker.sock, ssh://host, tcp://host:2376); voltools
asks each which swarm node it is (`docker info`: Swarm.NodeID). The probe image goes to every
engine that lacks it by `docker save` streamed into `docker load`: from the manager if it has it,
else from this machine's engine (/var/run/docker.sock), where it is built if need be. A copy the
run loaded gets a second tag, voltools-copy:<run id>; the run's end, or `voltools clean --run-id`,
removes that copy (cleanup.remove_copies) and never an image the node already had.
"""
import re
from dataclasses import dataclass

from ..config import COPY_REPO
from ..errors import EngineError, ProbeError, UsageError, cause, first_line
from ..measuring import probe
from ..measuring.engine import engine_errors

LOCAL_ENGINE = "unix:///var/run/docker.sock"
_URL = re.compile(r"(unix:///|(ssh|tcp|https?)://)\S+")


@dataclass(frozen=True)
class NodeEngine:
    """One node's engine: the URL it was named by, a client, its swarm node id and host name."""

    url: str
    client: object
    node_id: str
    hostname: str


def check_url(url):
    """`url` if it can name a Docker Engine; UsageError if not."""
    if not _URL.fullmatch(str(url)):
        raise UsageError(f"--node {url!r} is not accepted: give an engine URL, e.g. "
                         "unix:///path/docker.sock, ssh://host or tcp://host:2376")
    return url


def engine_client(url, timeout=60):
    """A docker client of the engine at `url` (not yet asked anything)."""
    import docker
    return docker.DockerClient(base_url=check_url(url), timeout=timeout)


def node_engine(value, timeout=60):
    """The engine at `value` (a URL or a docker client), asked which swarm node it is.

    EngineError if it does not answer or is in no swarm."""
    url = value if isinstance(value, str) else value.api.base_url
    try:
        client = engine_client(value, timeout) if isinstance(value, str) else value
        info = client.info()
    except engine_errors() as exc:
        raise EngineError(f"--node {url}: no Docker Engine answers there ({cause(exc)[:160]})") from None
    node_id = (info.get("Swarm") or {}).get("NodeID") or ""
    if not node_id:
        raise EngineError(f"--node {url}: that engine ({info.get('Name')}) is in no swarm")
    return NodeEngine(url, client, node_id, info.get("Name") or "?")


def node_engines(manager, values):
    """NodeEngine of each of `values`, one per swarm node, the manager's own node left out."""
    own = ((manager.info().get("Swarm") or {}).get("NodeID")) or None
    found = {}
    for value in values:
        each = node_engine(value)
        if each.node_id != own:
            found.setdefault(each.node_id, each)
    return list(found.values())


# ---------------------------------------------------------------- the probe image on every node


def probe_source(manager, image=None):
    """(image, engine holding it): the manager if it has it, else this machine's engine.

    With no `image`, voltools' probe: built on this machine's engine (the manager if that is the
    same engine or none answers) when no engine has it yet. ProbeError if `image` is on neither."""
    engines = _sources(manager)
    tag = image or probe.image_tag(probe.rootfs_files())
    for each in engines:
        if _image(each, tag) is not None:
            return tag, each
    if image:
        raise ProbeError(f"image {image!r} is not on the manager's engine nor on {LOCAL_ENGINE}: "
                         "load it (docker load) or drop --image")
    return probe.ensure_image(engines[-1]), engines[-1]


def _sources(manager):
    """[manager] and, if it is another engine that answers, this machine's own engine."""
    try:
        local = engine_client(LOCAL_ENGINE)
        if local.info()["ID"] != manager.info()["ID"]:
            return [manager, local]
    except engine_errors():
        pass
    return [manager]


def spread_image(image, source, manager, engines, watch, run_id):
    """Copy `image` from `source` to the manager and each NodeEngine that lacks it; a node that
    goes down meanwhile is left to `watch`. Returns {engine: 'copied'|'had it'|'lost'}."""
    dests = [("manager", manager, ""), *((e.url, e.client, e.node_id) for e in engines)]
    done = {}
    for name, client, node_id in dests:
        if client is source:
            continue
        try:
            done[name] = copy_to(image, source, client, run_id)
        except (ProbeError, *engine_errors()) as exc:
            if not watch.reason(node_id):
                raise EngineError(f"copying {image} to {name} failed: {first_line(exc)}") from None
            done[name] = "lost"
    return done


def copy_to(tag, source, dest, run_id):
    """Load `tag` from `source` into `dest` if it lacks it, and tag the copy voltools-copy:<run_id>;
    return 'copied' or 'had it'.

    An engine that has the image as another run's copy gets this run's tag too (the copy goes
    when the last run using it ends); one that has it otherwise is left alone."""
    from .swarm import distribute_image
    have = _image(dest, tag)
    if have is None:
        distribute_image(tag, source, [dest])
    elif not any(t.startswith(f"{COPY_REPO}:") for t in have.tags):
        return "had it"
    _mark_copy(dest, tag, run_id)
    return "copied"


def _mark_copy(client, tag, run_id):
    try:
        client.images.get(tag).tag(COPY_REPO, run_id)
    except engine_errors() as exc:
        raise ProbeError(f"tagging the copy of {tag} on {client.api.base_url} failed: {first_line(exc)}") from None


def _image(client, tag):
    from docker.errors import ImageNotFound
    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None


# ---------------------------------------------------------------- nodes that go down


class NodeWatch:
    """Which swarm nodes went down while the run's jobs ran: their engine (when named by `--node`)
    does not answer, or the manager marks them down. Once lost, a node stays lost for the run."""

    def __init__(self, manager, engines):
        self.manager, self.engines, self.lost = manager, {e.node_id: e for e in engines}, {}

    def reason(self, node_id):
        """Why node `node_id` is lost, or None if it is not."""
        if node_id and node_id not in self.lost:
            why = _engine_silent(self.engines.get(node_id)) or _marked_down(self.manager, node_id)
            if why:
                self.lost[node_id] = why
        return self.lost.get(node_id)

    def error(self, run_id):
        """EngineError naming the first lost node (None if none): what happened, what to do."""
        if not self.lost:
            return None
        node_id, why = next(iter(self.lost.items()))
        url = self.engines[node_id].url if node_id in self.engines else "URL-OF-ITS-ENGINE"
        return EngineError(
            f"node {_hostname(self.manager, node_id)} ({node_id}) went down mid-run: {why}; its points "
            f"are missing, the other nodes' are stored; once it is back, 'voltools clean --run-id "
            f"{run_id} --node {url}' removes what the run left there")

    def reachable(self):
        """The node engines not lost."""
        return [e for e in self.engines.values() if e.node_id not in self.lost]


def _engine_silent(each):
    if each is None:
        return None
    try:
        each.client.ping()
    except engine_errors():
        return f"its engine at {each.url} does not answer"
    return None


def _marked_down(manager, node_id):
    try:
        state = manager.nodes.get(node_id).attrs["Status"]["State"]
    except engine_errors():
        return None
    return "the swarm marks it down" if state == "down" else None


def _hostname(manager, node_id):
    try:
        return manager.nodes.get(node_id).attrs["Description"]["Hostname"]
    except (*engine_errors(), KeyError):
        return "?"


# ---------------------------------------------------------------- voltools clean --node


def clean_nodes(urls, run_id, removed, keep=None):
    """`cleanup.clean` on each node engine at `urls` (checked by the caller), added to `removed`
    (a cleanup.Removed); a node that does not answer is said in `removed.left`."""
    from ..measuring.cleanup import clean
    for url in urls:
        try:
            client = engine_client(url, timeout=10)
            client.ping()
        except engine_errors():
            removed.left.append(f"node {url} does not answer: clean it again once it is back")
            continue
        for kind, names in vars(clean(client, run_id, keep=keep)).items():
            getattr(removed, kind).extend(names)
