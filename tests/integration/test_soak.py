"""Kill soak against the real engine: a sweep (a third with --fresh-rounds) stopped at random
moments, by every signal, then carried on with --resume (after SIGKILL sometimes with `voltools
clean --run-id` first), until it ends. Nothing finished is lost or doubled; a stop by SIGINT, SIGTERM
or SIGHUP leaves nothing it made (what a SIGKILL left stays until a resume gets to removing it);
at the end nothing is left on the engine, loop devices or host.

`make test` runs a few kills (VOLTOOLS_SOAK_KILLS, default 6); `make soak` runs at least 30.
The seed is printed, so a failure can be replayed with VOLTOOLS_SOAK_SEED.
"""
import os
import random
import signal
import subprocess
import time

import pytest

from voltools.measuring import loop
from voltools.measuring.cleanup import clean, label_filter, leftover_names, leftovers, markers, runs_selector
from voltools.config import loop_dir
from voltools.points import POINT_KEY
from voltools.store import load_run

from soaking import KILLS, SEED, SIGNALS, cli, interpreter_start_up, unlabeled_volumes, user_files_kept, user_folder

GRID = ["--bs", "4k,64k", "--blocks", "1,8", "--rw", "read", "--repeat", "2"]  # 8 points a target


def _targets(tmp_path, rng):
    """One or two targets of the kinds that make different objects (volume, loop device, folder)."""
    bind = user_folder(tmp_path)
    kinds = ["tmpfs:size=32m", "local", f"bind:path={bind}"] + (["loop:size=64m"] if os.geteuid() == 0 else [])
    return rng.sample(kinds, rng.choice([1, 2]))


class Soak:
    """One run id, started, stopped and resumed until it ends; counts what happened."""

    def __init__(self, client, run_id, raw_root, targets, rng):
        self.client, self.run_id, self.raw, self.targets, self.rng = client, run_id, raw_root, targets, rng
        self.kept = {}  # key -> (seq, read_time_s) of every error-free point seen so far
        self.fresh = ["--fresh-rounds"] if rng.random() < 1 / 3 else []  # targets set up anew each round
        self.kills = []

    def command(self):
        if (self.raw / self.run_id).exists():
            return cli("sweep", "--resume", self.run_id, "--data-dir", str(self.raw))
        targets = [a for t in self.targets for a in ("--target", t)]
        return cli("sweep", *targets, *GRID, *self.fresh, "--run-id", self.run_id, "--data-dir", str(self.raw))

    def attempt(self, kill):
        """Start (or resume), maybe stop it after a random delay; return the exit status."""
        self.existed = (self.raw / self.run_id).exists()  # a resume: its folder is there before it starts
        self.before = objects(self.client, self.run_id)  # what a SIGKILL left, if anything
        proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sig = None
        if kill:
            time.sleep(self.rng.uniform(0.0, 5.0))
            sig = self.rng.choice(SIGNALS)
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=180)
        if sig is not None:
            self.kills.append((sig.name, proc.returncode))
        self.check_stop(sig, proc.returncode, err)
        return proc.returncode

    def check_stop(self, sig, code, err):
        assert "Traceback" not in err or interpreter_start_up(sig, code, err), err
        if code == 0:
            return
        if sig == signal.SIGKILL:
            assert code == -signal.SIGKILL
            if self.rng.random() < 0.5:
                out = subprocess.run(cli("clean", "--run-id", self.run_id), capture_output=True, text=True)
                assert out.returncode == 0, out.stderr
                assert leftovers(self.client, self.run_id) == 0
        elif code == -sig or interpreter_start_up(sig, code, err):  # before voltools' handlers: made nothing
            assert self.existed or not (self.raw / self.run_id).exists()
            assert not objects(self.client, self.run_id) - self.before
        else:
            assert code == 130, (sig, code, err)
            assert "interrupted" in err and "warning" not in err, err
            made = objects(self.client, self.run_id) - self.before  # a resume stopped before its first
            # step (removing what the SIGKILL left) made nothing and removed nothing: the next one will
            left = leftover_names(self.client, self.run_id)
            assert not made, f"{sig.name} left {sorted(made)} of {left}; stderr: {err!r}"
        self.check_kept()

    def check_kept(self):
        """Every point seen before is still there, once, with the same figures."""
        if not (self.raw / self.run_id).exists():
            assert not self.kept
            return
        points = load_run(self.run_id, self.raw)
        assert not points.duplicated(POINT_KEY).any()
        width = len(POINT_KEY)
        now = {tuple(r[:width]): (r[width], r[width + 1]) for r in
               points[points["error"] == 0][POINT_KEY + ["seq", "read_time_s"]].itertuples(index=False)}
        lost = {k: v for k, v in self.kept.items() if now.get(k) != v}
        assert not lost, f"points lost or changed: {list(lost)[:3]}"
        self.kept = now


def objects(client, run_id):
    """The run's objects, each as one that is remade under the same name would not be: containers
    by id, volumes (labeled, or named as the run's) by name and creation time, loop images and folder markers by inode and mtime
    (loop devices by name and run only)."""
    wanted = runs_selector(run_id)
    found = {("container", c.id) for c in client.containers.list(all=True, filters=label_filter(run_id), sparse=True)}
    found |= {("volume", v.name, v.attrs.get("CreatedAt")) for v in client.volumes.list(filters=label_filter(run_id))}
    found |= {("volume", v.name, v.attrs.get("CreatedAt")) for v in unlabeled_volumes(client, run_id)}
    found |= {("loop device", d, run) for d, run in loop.devices(wanted)}
    paths = [p for p, _ in loop.leftover_images(wanted)] + [m for m, _ in markers(wanted)]
    return found | {("file", str(p), os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in paths}


def _soak_one(client, run_id, raw_root, tmp_path, rng, kills):
    soak = Soak(client, run_id, raw_root, _targets(tmp_path, rng), rng)
    print(f"kill soak: run {run_id}: {' '.join(soak.targets)} {' '.join(soak.fresh)}")
    while len(soak.kills) < kills:
        if soak.attempt(kill=True) == 0:
            break
    while soak.attempt(kill=False) != 0:
        pass
    points = load_run(run_id, raw_root)
    assert len(points) == 8 * len(soak.targets) and (points["error"] == 0).all()
    assert not points.duplicated(POINT_KEY).any()
    assert leftovers(client, run_id) == 0
    assert not unlabeled_volumes(client, run_id)
    assert not list(loop_dir().glob(f"*{run_id}*")) if loop_dir().is_dir() else True
    assert user_files_kept(tmp_path / "bind"), "the bind folder holds only what the user put there, unchanged"
    return soak.kills


def test_kill_soak(docker_client, probe_image, raw_root, tmp_path):
    """KILLS stops at random moments; each run is stopped up to 3 times before it may finish."""
    rng = random.Random(SEED)
    print(f"kill soak: seed {SEED}, {KILLS} kills")
    kills, runs = [], 0
    try:
        while len(kills) < KILLS:
            run_id = f"soak{SEED}x{runs}"
            runs += 1
            kills += _soak_one(docker_client, run_id, raw_root, tmp_path, rng, min(3, KILLS - len(kills)))
    finally:  # a failed soak must not leave its runs' objects to the tests after it
        for number in range(runs):
            clean(docker_client, f"soak{SEED}x{number}")
    by_signal = {name: sum(1 for n, _ in kills if n == name) for name in {n for n, _ in kills}}
    print(f"kill soak: {len(kills)} kills survived over {runs} runs: {by_signal}")
    assert len(kills) >= KILLS


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_and_third_interrupt_during_teardown_wait_for_it(sig, docker_client, probe_image,
                                                                    run_id, raw_root):
    proc = subprocess.Popen(cli("sweep", "--target", "tmpfs:size=32m", "--target", "local", *GRID,
                                 "--run-id", run_id, "--data-dir", str(raw_root)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = raw_root / run_id / "points.parquet"
    deadline = time.monotonic() + 60
    while not (parts.is_dir() and any(parts.glob("part-*"))):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.02)
    for _ in range(3):
        proc.send_signal(sig)
        time.sleep(0.15)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert leftovers(docker_client, run_id) == 0
    assert len(load_run(run_id, raw_root)) >= 1
