"""`voltools persist --engine-restart`: dockerd restarted by voltools itself, then each target's
data set verified by a new container; local, loop and bind keep it, tmpfs and layer do not.

It restarts the engine, stopping every container on it: run it only where nothing else uses the
engine (CI, `make test`). Like the restart attack in test_engine_faults.py it needs root and exactly one local dockerd."""
import os
import subprocess

import pytest

from voltools.measuring import verify
from voltools.measuring.engine import connect
from voltools.measuring.restart import dockerd_pids
from voltools import persist
from repo import ROOT

KEEPS = {"local": True, "tmpfs": False, "loop-ext4": True, "bind": True, "layer": False}


def test_data_after_an_engine_restart_is_there_on_disk_targets_only(docker_client, run_id, raw_root, tmp_path):
    if os.geteuid() != 0 or len(dockerd_pids()) != 1:
        pytest.skip("needs root and exactly one local dockerd to restart")
    before = dockerd_pids()
    folder = tmp_path / "bind"
    folder.mkdir(mode=0o755)
    specs = ["local", "tmpfs:size=64m", "loop:fs=ext4,size=128m", f"bind:path={folder}", "layer"]
    try:
        table = persist(specs, size="16m", engine_restart=True, run_id=run_id, data_dir=raw_root)
    finally:
        try:
            connect(timeout=10)
        except Exception:  # never leave the machine without an engine
            subprocess.run([str(ROOT / "scripts" / "ensure-engine.sh")], check=False)
    assert dockerd_pids() != before, "dockerd was restarted"
    print(table[["target", "check", "passed", "blocks_ok", "blocks_bad", "seconds", "reason"]].to_string())
    restarted = table[table["check"] == "engine_restarted"]
    assert list(restarted["target"]) == list(KEEPS)
    for row in restarted.itertuples():
        assert row.passed == KEEPS[row.target], row
        assert (row.blocks_ok, row.blocks_bad) == ((256, 0) if row.passed else (0, 256)), row
        assert row.reason == ("" if row.passed else verify.EMPTY), row
    assert len(table) == 4 * len(KEEPS) and list(folder.iterdir()) == []
