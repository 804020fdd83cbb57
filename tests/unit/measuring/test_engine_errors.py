"""engine.translated: what the engine's client raises, and no step said in its own words, leaves
as one EngineError (the one error root), its notes kept; anything else passes untouched."""
import pytest
from docker.errors import APIError
from requests.exceptions import ConnectionError as LostConnection

from voltools.errors import EngineError, VoltoolsError
from voltools.measuring.engine import translated


@pytest.mark.parametrize("raised", [LostConnection("('Connection aborted.', RemoteDisconnected())"),
                                    APIError("500 Server Error: injected")])
def test_an_engine_error_leaves_as_one_line_with_its_notes(raised):
    raised.add_note("tearing down target local failed: volume in use")
    with pytest.raises(EngineError) as caught:
        with translated():
            raise raised
    assert str(caught.value).startswith("the Docker Engine failed: ")
    assert "\n" not in str(caught.value) and caught.value.__cause__ is raised
    assert caught.value.__notes__ == ["tearing down target local failed: volume in use"]


@pytest.mark.parametrize("raised", [ValueError("not the engine's"), VoltoolsError("already voltools'"),
                                    KeyboardInterrupt()])
def test_anything_else_passes_untouched(raised):
    with pytest.raises(type(raised)) as caught:
        with translated():
            raise raised
    assert caught.value is raised
