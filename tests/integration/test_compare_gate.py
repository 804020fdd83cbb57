"""`voltools compare A B --fail-if-slower 20%` on real runs (issue 14 item 3), sweeps made with
--fresh-rounds: exit 0 for two runs of the same tmpfs volume, exit 1 when B read a volume of the
same name on a slower medium (a loop-ext4 image on this machine's disk); a report with
--baseline-run; and run.json of a real sweep names the storage each target read (item 6). Three
sweeps of 37 points, 10-25 s each."""
import json
import os
import subprocess
import sys
import uuid

import pytest

from repo import ROOT
from voltools.measuring.cleanup import leftovers
from voltools.provenance import mount_facts

SWEEP = ["sweep", "--question", "64m@64k", "--max-point-size", "64m", "--bs", "16k,64k,256k",
         "--blocks", "1,16,64", "--repeat", "3", "--rw", "read", "--fresh-rounds", "-q"]
FAST, SLOW = "tmpfs:size=128m,name=vol", "loop:fs=ext4,size=256m,name=vol"
GATE = "20%"


def voltools(*argv, env):
    return subprocess.run([sys.executable, "-m", "voltools", *argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=170)


@pytest.fixture(scope="module")
def runs(docker_client, tmp_path_factory):
    """Three real runs in one data folder: a and b on the tmpfs, slow on the loop image."""
    tmp = tmp_path_factory.mktemp("compare")
    env = dict(os.environ, VOLTOOLS_STATE_DIR=str(tmp / "state"))
    stem = f"t{uuid.uuid4().hex[:8]}"
    ids = {name: f"{stem}-{name}" for name in ("a", "b", "slow")}
    for name, target in (("a", FAST), ("b", FAST), ("slow", SLOW)):
        done = voltools(*SWEEP, "--target", target, "--run-id", ids[name], "--data-dir", str(tmp / "raw"), env=env)
        assert done.returncode == 0, done.stderr
    yield ids, tmp / "raw", env
    assert all(leftovers(docker_client, rid) == 0 for rid in ids.values())


def compare(runs, a, b, gate=GATE):
    ids, raw, env = runs
    return voltools("compare", ids[a], ids[b], "--data-dir", str(raw), "--fail-if-slower", gate, env=env)


def test_two_runs_of_the_same_volume_pass_the_gate(runs):
    """With --fresh-rounds each round reads a new volume, so where a tmpfs's pages lie (8-40% from
    one volume to the next on this VM) is a round effect that the drift term holds. A level that
    holds through a whole run is not: 40 tmpfs runs of these sweeps (2026-12-07 01:36-01:49 UTC)
    show one of sd 4-6% beyond what their rounds show, and run B, made right after A, read 5%
    slower on average (20 pairs, t = 2.8: partly the order, not only chance). So a 5% gate fails
    same-volume pairs now and then: 0 of 10 pairs then, 1 of 10 with memory compacted before each
    sweep (3 more said "slower" or "faster"), 2 of 4 in the full suite (2026-12-07 00:03-01:01
    UTC: x1.24 [1.07, 1.44], x1.21 [1.07, 1.37]); 0 of 36 on 2026-12-06 (benchmarks/gate_pairs.sh
    counts both gates). The test proves the gate, not that rate: at 20% none of the 60
    same-volume pairs measured with the question's line since 2026-12-06 came near (nor the 24
    before it; the highest lower bound 1.07), and the loop image (x5.5-x8) fails it."""
    done = compare(runs, "a", "b")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "vol     read" in done.stdout and done.stderr == ""


def test_a_run_on_a_slower_medium_fails_the_gate_with_one_line(runs):
    done = compare(runs, "a", "slow")
    assert done.returncode == 1, done.stdout + done.stderr
    assert " slower" in done.stdout
    assert done.stderr.startswith(f"voltools: error: 1 (target, rw) slower by more than {GATE}: first vol read x")
    assert done.stderr.count("\n") == 1
    assert compare(runs, "a", "slow", gate="1000%").returncode == 0  # the gate is the threshold given


def test_the_gate_in_json_says_the_same(runs):
    ids, raw, env = runs
    done = voltools("compare", ids["a"], ids["slow"], "--data-dir", str(raw), "--json", env=env)
    (row,) = json.loads(done.stdout)
    assert done.returncode == 0 and row["verdict"] == "slower" and row["ratio_low"] > 1 + float(GATE[:-1]) / 100


def test_the_report_compares_with_its_baseline_run(runs, tmp_path):
    ids, raw, env = runs
    out = tmp_path / "r.html"
    done = voltools("report", "--run-id", ids["slow"], "--baseline-run", ids["a"], "--data-dir", str(raw),
                    "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert f"against the baseline run <strong>{ids['a']}</strong>" in html and "slower" in html


def test_run_json_names_the_storage_each_target_read(runs):
    ids, raw, _ = runs
    fast = json.loads((raw / ids["a"] / "run.json").read_text())["storage"]
    slow = json.loads((raw / ids["slow"] / "run.json").read_text())["storage"]
    assert fast["storage_driver"] and os.path.isabs(fast["docker_root_dir"])
    assert fast["targets"]["vol"] == {"fs_type": "tmpfs", "device": "memory"}
    loop = slow["targets"]["vol"]
    assert loop["image_fs_type"] == "ext4" and loop["mount_options"] and loop["fs_type"]
    here = mount_facts(loop["path"])
    assert (loop["mount_point"], loop["fs_type"], loop["source"]) == (here["mount_point"], here["fs_type"], here["source"])
    with open("/proc/mounts") as fh:
        assert any(line.split()[1] == loop["mount_point"] and line.split()[2] == loop["fs_type"] for line in fh)
