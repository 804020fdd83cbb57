"""The Docker Engine: connect, check it answers, and say plainly why it does not."""
import os
from contextlib import contextmanager

from ..errors import EngineError, first_line, no_answer

_HOWTO = "run 'make engine' as root (installs docker.io and starts dockerd) or start Docker"


def socket_path():
    """The Unix socket the client will use (DOCKER_HOST or the default)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return host[len("unix://"):] if host.startswith("unix://") else None


def connect(timeout=60):
    """Return a docker client that has answered a ping, or raise EngineError."""
    import docker
    from docker.errors import DockerException

    path = socket_path()
    if path and os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
        raise EngineError(
            f"no permission on the Docker socket {path}: run as root or as a member of its group "
            "(access to it is root-equivalent)"
        )
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        where = path or os.environ.get("DOCKER_HOST", "")
        raise EngineError(f"no Docker Engine answers at {where}: {_HOWTO} ({first_line(exc, 160)})") from None
    return client


def engine_errors():
    """What a call to the engine raises when the engine fails or goes away: Docker's errors and
    the HTTP client's (a socket that vanishes mid-call is a requests ConnectionError)."""
    from docker.errors import DockerException
    from requests import RequestException
    return (DockerException, RequestException)


@contextmanager
def translated():
    """An engine error that no step turned into an error of its own (Docker's, or the HTTP
    client's when the engine stops answering mid-call) leaves as an EngineError, its notes kept:
    one line for the CLI, one error root for the API (tests/integration/test_engine_faults.py)."""
    try:
        yield
    except engine_errors() as exc:
        said = first_line(exc, 160)  # a connection error says "the Docker Engine did not answer" itself
        error = EngineError(said if no_answer(exc) else f"the Docker Engine failed: {said}")
        for note in getattr(exc, "__notes__", ()):
            error.add_note(note)
        raise error from exc


def engine_version(client):
    """Server version string, e.g. '20.10.24+dfsg1'."""
    return client.version().get("Version", "unknown")
