"""voltools.measuring.sessions: the parts that need no engine (the host session, the choice of one)."""
import pytest

from voltools.errors import TargetError
from voltools.measuring.sessions import ExecResult, HostSession, _text, open_session
from voltools.measuring.targets import PreparedTarget, parse_target


def _host(root="/srv/data"):
    return PreparedTarget(parse_target("host"), "r1", host_root=root)


def test_a_host_session_runs_an_argv_and_returns_its_status_and_both_outputs():
    session = HostSession(_host())
    result = session.run(["sh", "-c", "echo out; echo err >&2; exit 3"], "holder")
    assert result == ExecResult(3, "out\n", "err\n")
    assert session.root == "/srv/data"
    session.close()


def test_an_argv_no_shell_reads_keeps_its_metacharacters():
    assert HostSession(_host()).run(["echo", "a;b", "$HOME", "*"]).stdout == "a;b $HOME *\n"


def test_a_command_missing_on_the_host_is_a_target_error():
    with pytest.raises(TargetError, match="voltools-no-such-command is not installed on the host"):
        HostSession(_host()).run(["voltools-no-such-command"])


def test_a_host_target_gets_a_host_session_without_an_engine():
    session = open_session(None, None, _host("/x"))
    assert isinstance(session, HostSession) and session.root == "/x"


def test_container_output_is_text_whatever_bytes_came():
    assert _text(None) == "" and _text(b"ok\n") == "ok\n" and _text(b"\xff") == "\ufffd"
