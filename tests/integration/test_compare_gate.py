"""`voltools compare A B --fail-if-slower 5%` on real runs (issue 14 item 3), sweeps made with
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


def compare(runs, a, b, gate="5%"):
    ids, raw, env = runs
    return voltools("compare", ids[a], ids[b], "--data-dir", str(raw), "--fail-if-slower", gate, env=env)


def test_two_runs_of_the_same_volume_pass_the_5pct_gate(runs):
    """With --fresh-rounds each round reads a new volume: where a tmpfs's pages lie, which moves
    its reads by 8-40% from one volume (or file) to the next on this VM, is a round effect that
    the drift term holds. Without it, 20 runs of this module (2026-11-27) passed the 5% gate 18
    times. With it and the whole grid's model, 23 of 24 pairs (x1.18 [1.07, 1.30] failed). With
    the answer on the question's own line (2026-12-06 15:20 UTC, benchmarks/gate_pairs.sh),
    36 of 36 pairs passed at 5%, ratios x0.86-x1.18, the highest lower bound 1.02; the loop image
    failed in 3 of 3. A 95% interval still lets about 1 pair in 40 or more fail by chance."""
    done = compare(runs, "a", "b")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "vol     read" in done.stdout and done.stderr == ""


def test_a_run_on_a_slower_medium_fails_the_gate_with_one_line(runs):
    done = compare(runs, "a", "slow")
    assert done.returncode == 1, done.stdout + done.stderr
    assert " slower" in done.stdout
    assert done.stderr.startswith("voltools: error: 1 (target, rw) slower by more than 5%: first vol read x")
    assert done.stderr.count("\n") == 1


def test_the_gate_in_json_says_the_same(runs):
    ids, raw, env = runs
    done = voltools("compare", ids["a"], ids["slow"], "--data-dir", str(raw), "--json", env=env)
    (row,) = json.loads(done.stdout)
    assert done.returncode == 0 and row["verdict"] == "slower" and row["ratio_low"] > 1.05


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
