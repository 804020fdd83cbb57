"""Restart the local dockerd (`voltools persist --engine-restart`): root only, the local engine only.

Where systemd runs: `systemctl restart docker`. Elsewhere the one running dockerd is sent SIGTERM,
waited for, and started again with the same command line, in the background, as
scripts/ensure-engine.sh starts it (log and pid in the state folder). Either way the restart is
done when a new client's ping answers.
"""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ..config import state_dir
from ..errors import EngineError, UsageError, first_line
from .engine import connect, socket_path

SYSTEMD_DIR = Path("/run/systemd/system")
WAIT_S = 120


def check_restartable():
    """UsageError unless this process may restart the engine it talks to (nothing is made)."""
    if os.geteuid() != 0:
        raise UsageError("--engine-restart restarts dockerd, which needs root: run as root or drop --engine-restart")
    if socket_path() is None:
        raise UsageError(f"--engine-restart restarts the local dockerd, but DOCKER_HOST is "
                         f"{os.environ.get('DOCKER_HOST')!r}: unset it or drop --engine-restart")
    if not _systemd() and len(dockerd_pids()) != 1:
        raise UsageError(f"--engine-restart needs exactly one local dockerd to restart, found "
                         f"{len(dockerd_pids())}: drop --engine-restart")


def restart_engine():
    """Restart dockerd; return a client of the new engine once it answers (EngineError if it does not)."""
    if _systemd():
        out = subprocess.run(["systemctl", "restart", "docker"], capture_output=True, text=True, timeout=WAIT_S)
        if out.returncode != 0:
            raise EngineError(f"systemctl restart docker failed: {first_line(out.stderr or out.stdout)}")
    else:
        _restart_by_hand()
    return _answering()


def dockerd_pids():
    out = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _systemd():
    return SYSTEMD_DIR.is_dir() and shutil.which("systemctl") is not None


def _restart_by_hand():
    pids = dockerd_pids()
    if len(pids) != 1:
        raise EngineError(f"found {len(pids)} dockerd processes, not one: restart the engine yourself")
    pid = pids[0]
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + WAIT_S
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise EngineError(f"dockerd (pid {pid}) did not stop within {WAIT_S} s of SIGTERM")
        time.sleep(0.2)
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "dockerd.log", "ab") as log:
        started = subprocess.Popen([os.fsdecode(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    (folder / "dockerd.pid").write_text(f"{started.pid}\n")


def _answering():
    """A client of the engine once it answers again."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            return connect(timeout=10)
        except EngineError:
            if time.monotonic() > deadline:
                raise EngineError(f"the engine did not answer within {WAIT_S} s of its restart: "
                                  f"see {state_dir() / 'dockerd.log'}") from None
            time.sleep(0.5)
