"""Shared fixtures of tests/unit and tests/integration (this folder is on sys.path: `from repo import
ROOT, RAW, CORPUS`). In CI (CI=true) a skipped test is a failure: Docker tests must really run."""
import os
import uuid

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(items):
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"


@pytest.fixture(scope="session")
def docker_client():
    """A client of the real Docker Engine (`make test` starts one)."""
    from voltools.measuring.engine import connect
    from voltools.errors import EngineError
    try:
        return connect(timeout=120)
    except EngineError as exc:
        pytest.skip(f"no Docker Engine: {exc}")


@pytest.fixture(scope="session")
def probe_image(docker_client):
    from voltools.measuring.probe import ensure_image
    return ensure_image(docker_client)


@pytest.fixture
def run_id(request):
    """A fresh run id; afterwards nothing labeled with it may be left on the engine or host."""
    rid = f"t{uuid.uuid4().hex[:10]}"
    yield rid
    if "docker_client" in request.fixturenames:
        from voltools.measuring.cleanup import leftovers
        client = request.getfixturevalue("docker_client")
        assert leftovers(client, rid) == 0, f"run {rid} left containers, volumes or loop devices behind"


@pytest.fixture
def raw_root(tmp_path):
    return tmp_path / "raw"


@pytest.fixture
def isolated_state(tmp_path, monkeypatch):
    """Point voltools' state folder (loop images, host files) at a temporary place."""
    monkeypatch.setenv("VOLTOOLS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"
