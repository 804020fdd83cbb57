"""dockerd restarted in the middle of a sweep: a clear error, then `voltools clean` removes the rest."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voltools.measuring.cleanup import leftovers
from voltools.store import load_run
from repo import ROOT



def _dockerd_pid():
    out = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True)
    pids = out.stdout.split()
    return int(pids[0]) if len(pids) == 1 else None


def _restart_dockerd(pid):
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), "dockerd did not stop"
    assert subprocess.run([str(ROOT / "scripts" / "ensure-engine.sh")]).returncode == 0


def test_dockerd_restart_mid_sweep_is_a_clear_error_and_clean_works(docker_client, run_id, raw_root):
    pid = _dockerd_pid()
    if pid is None or os.geteuid() != 0:
        pytest.skip("needs root and exactly one local dockerd to restart")
    proc = subprocess.Popen([sys.executable, "-m", "voltools", "sweep", "--target", "tmpfs:size=64m",
                             "--bs", "4k,64k", "--blocks", "1,4,16,64", "--repeat", "5", "--run-id", run_id,
                             "--data-dir", str(raw_root), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    folder = raw_root / run_id / "points.parquet"
    deadline = time.monotonic() + 120
    while not (folder.is_dir() and len(list(folder.glob("part-*"))) >= 2) and time.monotonic() < deadline:
        assert proc.poll() is None
        time.sleep(0.05)
    _restart_dockerd(pid)
    _, err = proc.communicate(timeout=180)
    first = err.strip().splitlines()[0]
    assert proc.returncode == 1 and first.startswith("voltools: error: ") and "Traceback" not in err
    assert len(load_run(run_id, raw_root)) >= 2, "points stored before the restart are kept"
    clean = subprocess.run([sys.executable, "-m", "voltools", "clean", "--run-id", run_id],
                           capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert leftovers(docker_client, run_id) == 0
