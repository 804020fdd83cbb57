"""Fixtures of the integration tests that use no engine: the real tools a fake machine may run."""
import pytest

from enginefakes import link_real_tools


@pytest.fixture(scope="session")
def real_tools(tmp_path_factory):
    return link_real_tools(tmp_path_factory.mktemp("real-tools"))
