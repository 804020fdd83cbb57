"""engine.translated: what the engine's client raises, and no step said in its own words, leaves
as one EngineError (the one error root), its notes kept; anything else passes untouched."""
import pytest
from docker.errors import APIError
from http.client import RemoteDisconnected

from requests.exceptions import ConnectionError as LostConnection
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from voltools.errors import EngineError, VoltoolsError
from voltools.measuring.engine import translated


@pytest.mark.parametrize("raised, said", [
    (LostConnection(ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection"))),
     "the Docker Engine did not answer (Remote end closed connection)"),
    (APIError("500 Server Error: injected"), "the Docker Engine failed: 500 Server Error: injected")])
def test_an_engine_error_leaves_as_one_line_with_its_notes(raised, said):
    raised.add_note("tearing down target local failed: volume in use")
    with pytest.raises(EngineError) as caught:
        with translated():
            raise raised
    assert str(caught.value) == said
    assert "\n" not in str(caught.value) and caught.value.__cause__ is raised
    assert caught.value.__notes__ == ["tearing down target local failed: volume in use"]


@pytest.mark.parametrize("raised", [ValueError("not the engine's"), VoltoolsError("already voltools'"),
                                    KeyboardInterrupt()])
def test_anything_else_passes_untouched(raised):
    with pytest.raises(type(raised)) as caught:
        with translated():
            raise raised
    assert caught.value is raised


def test_a_docker_api_error_says_its_status_and_the_engines_words_without_the_url():
    from requests.models import Response
    from voltools.errors import first_line
    answer = Response()
    answer.status_code, answer.reason = 409, "Conflict"
    answer.url = "http+docker://localhost/v1.41/containers/0123456789abcdef0123456789abcdef/exec"
    error = APIError("409 Client Error", response=answer, explanation="container 0123 is not running")
    assert "http+docker" in str(error)
    assert first_line(error) == "409 container 0123 is not running"
    assert first_line(APIError("500 Server Error: injected")) == "500 Server Error: injected"  # no answer to explain it


@pytest.mark.parametrize("cause, said", [(FileNotFoundError(2, "No such file or directory"), "No such file or directory"),
                                         (ConnectionRefusedError(111, "Connection refused"), "Connection refused"),
                                         (TimeoutError(), "TimeoutError")])
def test_a_connection_that_failed_says_so_and_why_without_the_librarys_tuples(cause, said):
    from voltools.errors import first_line
    error = LostConnection(ProtocolError("Connection aborted.", cause))
    assert "('Connection aborted.'" in str(error)
    assert first_line(error) == f"the Docker Engine did not answer ({said})"


def test_a_refused_tcp_connection_says_why_without_the_pool_url_or_objects():
    from voltools.errors import first_line
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    error = LostConnection(MaxRetryError(None, "/v1.41/info", refused))
    assert "Max retries exceeded" in str(error)
    assert first_line(error) == "the Docker Engine did not answer (Connection refused)"
