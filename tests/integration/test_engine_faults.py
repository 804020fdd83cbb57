"""An engine call that fails at a random moment of a run ("an exception in the middle"), a
container of the run killed or removed from outside at a random moment, and dockerd restarted at a
random moment.

A relay (enginerelay) between voltools and the engine cuts the connection at a random request of a
sweep: before the engine sees it (the engine is unreachable for that call), or after (the engine
carries it out and its answer is lost). Whatever request it is, the run ends with exit 0, or 1
(2 where nothing was made yet: a refusal), a one-line error and no traceback; it leaves nothing on the engine, or says to run `voltools
clean`, which then leaves nothing; `--resume` then finishes it, every point once, the points
stored before the fault unchanged. The seed is printed (VOLTOOLS_SOAK_SEED replays it).
"""
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from voltools.measuring.cleanup import label_filter, leftover_names
from voltools.naming import is_runs
from voltools.points import POINT_KEY
from voltools.store import load_run

from enginerelay import CUT_AFTER, CUT_BEFORE, PASS, Relay
from repo import ROOT
from soaking import SEED, cli, remove_named, unlabeled_volumes

SOAK = os.environ.get("VOLTOOLS_SOAK", "") not in ("", "0")
TRIALS = 40 if SOAK else 6
RESTARTS = 20 if SOAK else 3
GRID = ["--bs", "4k,64k", "--blocks", "1,8", "--rw", "read", "--repeat", "2"]


def _sweep(raw, run_id, relay_path=None, resume=False, extra=()):
    env = dict(os.environ, **({"DOCKER_HOST": f"unix://{relay_path}"} if relay_path else {}))
    args = ("sweep", "--resume", run_id) if resume else ("sweep", "--target", "local", *GRID, *extra, "--run-id", run_id)
    return subprocess.run(cli(*args, "--data-dir", str(raw)), env=env, capture_output=True, text=True, timeout=180)


def _points(raw, run_id):
    """{point key: (seq, read_time_s)} of the run's error-free points ({} without a run folder)."""
    if not (raw / run_id).exists():
        return {}
    table = load_run(run_id, raw)
    assert not table.duplicated(POINT_KEY).any()
    width = len(POINT_KEY)
    rows = table[table["error"] == 0][POINT_KEY + ["seq", "read_time_s"]].itertuples(index=False)
    return {tuple(r[:width]): (r[width], r[width + 1]) for r in rows}


def _left(client, run_id):
    return leftover_names(client, run_id) + [f"unlabeled volume {v.name}" for v in unlabeled_volumes(client, run_id)]


def _requests_of_a_run(client, raw, path):
    """How many requests a whole sweep makes through the relay (and that it passes untouched)."""
    relay = Relay(path, lambda number, data: PASS)
    try:
        done = _sweep(raw, f"faults{SEED}count", path)
    finally:
        relay.close()
    assert done.returncode == 0, done.stderr
    assert not _left(client, f"faults{SEED}count")
    return len(relay.requests)


def test_a_request_cut_at_random_is_a_clear_error_that_leaves_nothing(docker_client, probe_image, tmp_path):
    rng = random.Random(SEED)
    raw = tmp_path / "raw"
    total = _requests_of_a_run(docker_client, raw, tmp_path / "count.sock")
    print(f"engine faults: seed {SEED}, {TRIALS} trials over {total} requests a run")
    for trial in range(TRIALS):
        number, cut = rng.randint(1, total), rng.choice([CUT_BEFORE, CUT_AFTER])
        run_id = f"faults{SEED}x{trial}"
        relay = Relay(tmp_path / f"{trial}.sock", lambda n, data: cut if n == number else PASS)
        try:
            done = _sweep(raw, run_id, tmp_path / f"{trial}.sock")
            relay.close()
            request = relay.requests[number - 1] if number <= len(relay.requests) else "none: the run ended first"
            _check_stop(docker_client, raw, run_id, done, f"request {number} of {total} ({request}) {cut}")
        finally:
            relay.close()
            remove_named(docker_client, run_id)


def _check_stop(client, raw, run_id, done, what):
    err = done.stderr
    assert done.returncode in (0, 1, 2), f"{what}: exit {done.returncode}: {err}"
    assert "Traceback" not in err, f"{what}: {err}"
    if done.returncode == 2:  # refused before the run made anything (errors.py): nothing to carry on
        assert not (raw / run_id).exists() and not _left(client, run_id), f"{what}: {err}"
    if done.returncode != 0:
        errors = [line for line in err.splitlines() if line.startswith("voltools: error:")]
        assert len(errors) == 1, f"{what}: {err}"
    left = _left(client, run_id)
    if left:
        assert "voltools clean" in err, f"{what}: left {left} without saying so: {err}"
        cleaned = subprocess.run(cli("clean", "--run-id", run_id), capture_output=True, text=True)
        assert cleaned.returncode == 0, cleaned.stderr
        assert not _left(client, run_id), f"{what}: clean left {_left(client, run_id)}"
    kept = _points(raw, run_id)
    if done.returncode != 0:
        again = _sweep(raw, run_id, resume=(raw / run_id).exists())
        assert again.returncode == 0, f"{what}: the resume failed: {again.stderr}"
        assert not _left(client, run_id)
    now = _points(raw, run_id)
    assert len(now) == 8, f"{what}: {len(now)} points"
    assert all(now[k] == v for k, v in kept.items()), f"{what}: points stored before the fault changed"


def test_a_container_of_the_run_stopped_from_outside_at_random_is_a_clear_error(docker_client, probe_image, tmp_path):
    """Someone kills (SIGKILL) or removes a random container of a running sweep, at a random moment
    of the time its containers live: the same promises as for a cut request."""
    rng = random.Random(SEED + 1)
    raw = tmp_path / "raw"
    window = _containers_live(docker_client, raw, f"outside{SEED}clean")
    print(f"containers stopped from outside: seed {SEED}, {TRIALS} trials in a window of {window:.1f} s")
    for trial in range(TRIALS):
        run_id = f"outside{SEED}x{trial}"
        _disturbed(docker_client, raw, run_id, rng.uniform(0.0, window), lambda: _stop_one(docker_client, run_id, rng))


def _disturbed(client, raw, run_id, delay, disturb, extra=(), after=None, cleanup=None):
    """A sweep (with `extra` arguments) disturbed `delay` s after its first container by `disturb()`
    (which says what it did); then `after(what)`, if given, and the promises of _check_stop.
    Whatever happens, `cleanup()` and then the removal of what is named as the run's. Returns
    whether the sweep was still running when disturbed."""
    proc = subprocess.Popen(_command(raw, run_id, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _first_container(client, run_id, proc)
        time.sleep(delay)
        running = proc.poll() is None
        what = f"{disturb()} {delay:.2f} s after the first container{'' if running else ', after the end'}"
        out, err = proc.communicate(timeout=180)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        said = [line for line in err.splitlines() if line.startswith("voltools: error:")]
        print(f"  {run_id}: {what}: exit {done.returncode} {said[0] if said else ''}")
        if after:
            after(what)
        _check_stop(client, raw, run_id, done, what)
        return running
    finally:
        proc.kill()
        if cleanup:
            cleanup()
        remove_named(client, run_id)


def _command(raw, run_id, *extra):
    return cli("sweep", "--target", "local", *GRID, *extra, "--run-id", run_id, "--data-dir", str(raw))


def _first_container(client, run_id, proc):
    """Wait until the run has a container (or has ended); return when."""
    while proc.poll() is None and not client.containers.list(all=True, filters=label_filter(run_id), sparse=True):
        time.sleep(0.02)
    return time.monotonic()


def _containers_live(client, raw, run_id, *extra):
    """Seconds from a clean sweep's first container to its end: where a stop can land."""
    proc = subprocess.Popen(_command(raw, run_id, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = _first_container(client, run_id, proc)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    return time.monotonic() - first


def _stop_one(client, run_id, rng):
    """Kill or remove one of the run's running containers, if it has any; say what was done."""
    running = client.containers.list(filters=label_filter(run_id))
    if not running:
        return "nothing running to stop"
    container, how = rng.choice(running), rng.choice(["kill", "remove"])
    try:
        container.kill() if how == "kill" else container.remove(force=True)
    except Exception as exc:  # it went by itself meanwhile: the run goes on as it would
        return f"{how} {container.name} found it gone ({exc})"
    return f"{how} {container.name}"


def test_dockerd_restarted_at_random_is_a_clear_error_and_clean_works(docker_client, probe_image, tmp_path):
    """dockerd stopped (SIGTERM) at a random moment of the time a sweep's containers live, and
    started again: the same promises as for a cut request. It restarts the machine's engine (the
    one of /var/run/docker.pid, which make engine starts), stopping every container on it."""
    if os.geteuid() != 0 or _dockerd_pid() is None:
        pytest.skip("needs root and a dockerd of /var/run/docker.pid to restart")
    rng = random.Random(SEED + 2)
    raw = tmp_path / "raw"
    window = _containers_live(docker_client, raw, f"restart{SEED}clean")
    print(f"dockerd restarted: seed {SEED}, {RESTARTS} trials in a window of {window:.1f} s")
    mid_run = [_disturbed(docker_client, raw, f"restart{SEED}x{trial}", rng.uniform(0.0, window), _restart_dockerd)
               for trial in range(RESTARTS)]
    assert any(mid_run), "every restart came after its sweep had ended"


def _dockerd_pid():
    """The engine's pid, from its pid file, if that process is a dockerd."""
    try:
        pid = int(Path("/var/run/docker.pid").read_text())
    except (OSError, ValueError):
        return None
    comm = Path(f"/proc/{pid}/comm")
    return pid if comm.exists() and comm.read_text().strip() == "dockerd" else None


def _restart_dockerd():
    """SIGTERM to the one dockerd, wait until it is gone, start it again as make does."""
    pid = _dockerd_pid()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "dockerd did not stop"
    started = subprocess.run([str(ROOT / "scripts" / "ensure-engine.sh")], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    return "dockerd restarted"


def test_a_users_container_holding_a_volume_of_the_run_at_random_is_a_clear_error(docker_client, probe_image, tmp_path):
    """With --fresh-rounds (a new volume each round), a user's container (created, or running) mounts
    a random volume of the run at a random moment, or, when the run has none just then (between
    rounds, at its end; one trial in three waits for that), the name its volume had: that mount
    makes the user a volume of the run's name, which the run must neither use nor remove. Every
    third trial wins that race on purpose (_first_to_the_name). The user's container and volume
    stay as they were; once the user has removed them, the promises of a cut request hold."""
    rng = random.Random(SEED + 3)
    raw = tmp_path / "raw"
    window = _containers_live(docker_client, raw, f"held{SEED}clean", "--fresh-rounds")
    print(f"a user's container holds a volume: seed {SEED}, {TRIALS} trials in a window of {window:.1f} s")
    for trial in range(TRIALS):
        user = UserHolder(docker_client, probe_image, f"held{SEED}x{trial}", rng)
        if trial % 3 == 0:
            _first_to_the_name(docker_client, raw, user, rng.choice([1, 2]), tmp_path / f"{trial}.sock")
        else:
            _disturbed(docker_client, raw, user.run_id, rng.uniform(0.0, window), user.hold,
                       extra=("--fresh-rounds",), after=user.kept_then_removed, cleanup=user.remove)


def _first_to_the_name(client, raw, user, which, path):
    """The race a user's mount can win, won on purpose: the relay lets the user's container mount
    the run's volume name just before the run's `which`-th volume create (of round `which`) reaches
    the engine, which then answers it with the user's volume. The run must refuse it."""
    name, creates = f"voltools_{user.run_id}_local", []

    def decide(number, data):
        line = data.split(b"\r\n", 1)[0]
        if line.startswith(b"POST ") and b"/volumes/create" in line:
            creates.append(number)
            if len(creates) == which:
                user.mount(name)
        return PASS
    relay = Relay(path, decide)
    try:
        done = _sweep(raw, user.run_id, path, extra=("--fresh-rounds",))
        relay.close()
        what = f"the user's {user.state} container mounted {name} just before the run's volume create {which}"
        print(f"  {user.run_id}: {what}: exit {done.returncode} {done.stderr.strip().splitlines()[-1:]}")
        assert user.own_volume and f"a volume named {name} exists that run {user.run_id} did not make" in done.stderr, \
            f"{what}: {done.stderr}"
        user.kept_then_removed(what)
        _check_stop(client, raw, user.run_id, done, what)
    finally:
        relay.close()
        user.remove()
        remove_named(client, user.run_id)


class UserHolder:
    """A container of the user's (labeled owner=user) that mounts a volume of the run, or its name."""

    def __init__(self, client, image, run_id, rng):
        self.client, self.image, self.run_id, self.rng = client, image, run_id, rng
        self.container, self.state, self.own_volume = None, None, None

    def hold(self):
        # None there (between rounds, or at the end): the user mounts the name the run's had. One
        # time in three the user waits for the run's volume to go, and mounts its name at once.
        if self.rng.random() < 1 / 3:
            self._until_the_volume_goes()
        names = [v.name for v in self.client.volumes.list(filters=label_filter(self.run_id))]
        name = self.rng.choice(names or [f"voltools_{self.run_id}_local"])
        self.mount(name)
        made = " (made anew: the user's)" if self.own_volume else ""
        return f"a user's {self.state} container holds {name}{made}"

    def mount(self, name):
        """The user's container (created, or running) mounting volume `name`, which the engine
        makes, the user's, if it is not there."""
        running = self.rng.random() < 0.5
        self.container = self.client.containers.create(
            self.image, ["sleep", "600"] if running else ["true"], network_mode="none", labels={"owner": "user"},
            volumes={name: {"bind": "/held", "mode": self.rng.choice(["ro", "rw"])}})
        if running:
            self.container.start()
        self.state = "running" if running else "created"
        if not is_runs(self.client.volumes.get(name).attrs.get("Labels"), self.run_id):
            self.own_volume = name  # gone just before: the mount made it, the user's; held, none can remake it

    def _until_the_volume_goes(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.client.volumes.list(filters=label_filter(self.run_id)) and time.monotonic() < deadline:
            time.sleep(0.005)

    def kept_then_removed(self, what):
        """The user's container as it was, and a volume its mount made still the user's and empty
        (the run laid nothing out in it); then the user removes them."""
        if self.container:
            self.container.reload()
            assert self.container.status == self.state, f"{what}: the user's container is {self.container.status}"
        if self.own_volume:
            kept = self.client.volumes.get(self.own_volume)
            assert not is_runs(kept.attrs.get("Labels"), self.run_id), f"{what}: {kept.attrs.get('Labels')}"
            inside = self.client.containers.run(self.image, ["ls", "-A", "/v"], remove=True, network_mode="none",
                                                volumes={self.own_volume: {"bind": "/v", "mode": "ro"}})
            assert inside == b"", f"{what}: the run wrote into the user's volume: {inside!r}"
        self.remove()

    def remove(self):
        if self.container:
            self.container.remove(force=True)
            self.container = None
        if self.own_volume:
            found = [v for v in self.client.volumes.list() if v.name == self.own_volume]
            if found and not is_runs(found[0].attrs.get("Labels"), self.run_id):
                found[0].remove(force=True)
            self.own_volume = None
