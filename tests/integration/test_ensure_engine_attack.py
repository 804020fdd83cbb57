"""scripts/ensure-engine.sh on random machines made of fakes (enginefakes.Box): whatever the
machine, the script keeps its promises (the header of the script; issue 12: set-up must never
harm a user's Docker).

A machine is drawn from: which commands are on PATH (docker, dockerd, dpkg, apt-get, systemctl,
pgrep, the tools), which Docker packages dpkg says are installed or only configured, root or not,
systemd or not, an engine that answers / answers once started / never, a dockerd already running,
a pid file of a dockerd being started, a remote DOCKER_HOST, VOLTOOLS_NO_INSTALL, apt-get or
systemctl failing, `docker info` saying permission denied. Promises checked on every one:
- apt-get is only ever `apt-get update` then `apt-get install -y --no-remove PKGS` (it aborts
  rather than remove anything), only as root, only without VOLTOOLS_NO_INSTALL, and installs
  only what is missing;
- docker.io only when no engine answers, the socket is local, dpkg says no Docker package is
  installed and there is no dockerd;
- an engine that answers, a dockerd that runs, or one being started is never started again:
  systemctl is only `systemctl start docker`, dockerd only in the background, each at most once;
- nothing at all is installed or started after `docker info` says permission denied (exit 4);
- exit 0 exactly when an engine answers at the end, else 3 (4 for permission; 3 whenever apt-get
  failed), every message one line on stderr starting "engine: ".
"""
import os
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, note, settings, strategies as st

from enginefakes import ALL_TOOLS, Box

DOCKER_PKGS = ["docker-ce", "docker-ce-cli", "moby-engine", "podman-docker", "docker.io"]
PACKAGES = DOCKER_PKGS + ["containerd.io"]
SOAK = os.environ.get("VOLTOOLS_SOAK", "") not in ("", "0")
EXAMPLES = 1000 if SOAK else 100  # machines drawn: `make soak`, `make test`


def machine(seed):
    """One machine, drawn with fixed odds from `seed`: most machines are such that the script acts
    (root, a local socket, apt-get and dpkg there), so its promises are tested where they matter."""
    r = random.Random(seed)

    def some(items, p):
        return {i for i in items if r.random() < p}

    return {
        "commands": some(["dockerd", "systemctl"], 0.5) | some(["docker", "pgrep", "dpkg", "apt-get"], 0.85),
        "tools": some(sorted(ALL_TOOLS), 0.7),
        "installed": some(PACKAGES, 0.1),
        "config_only": some(PACKAGES, 0.1),
        "root": r.random() < 0.85,
        "systemd": r.random() < 0.5,
        "engine": r.choice(["down", "up-on-second-look", "up"]),
        "dockerd_running": r.random() < 0.25,
        "being_started": r.random() < 0.15,
        "dockerd_dud": r.random() < 0.2,
        "remote": r.random() < 0.15,
        "no_install": r.random() < 0.15,
        "apt_fails": r.random() < 0.2,
        "systemctl_fails": r.random() < 0.3,
        "permission_denied": r.random() < 0.1,
    }


# `docker info` after the script started a dockerd in the background waits a moment for it, as a
# real engine's client would find it up: the script then looks once (VOLTOOLS_ENGINE_WAIT=0).
PATIENT_DOCKER = r"""
if [ "$1" = info ] && [ -s "$VOLTOOLS_STATE_DIR/dockerd.pid" ] && [ -z "${FAKE_DOCKERD_DUD:-}" ]; then
  for i in $(seq 1 20); do [ -e "$FAKE_DIR/engine-up" ] && break; sleep 0.05; done
fi
"""


def _build(box, m):
    docker = box.avail / "docker"
    lines = docker.read_text().split("\n")
    docker.write_text("\n".join(lines[:2] + [PATIENT_DOCKER] + lines[2:]))  # after the shebang and the log line
    box.bin.joinpath("id").unlink()  # Box puts id, dpkg, apt-get and pgrep on PATH: the draw decides
    for name in ("dpkg", "apt-get", "pgrep"):
        box.bin.joinpath(name).unlink()
    box.have("id", *m["commands"], *m["tools"])
    env = box.env
    env["FAKE_UID"] = "0" if m["root"] else "1000"
    env["FAKE_DPKG_INSTALLED"] = " ".join(sorted(m["installed"]))
    env["FAKE_DPKG_CONFIG_ONLY"] = " ".join(sorted(m["config_only"] - m["installed"]))
    env["VOLTOOLS_ENGINE_WAIT"] = "0"  # one look after starting (PATIENT_DOCKER)
    if m["systemd"]:
        box.systemd_runs()
    if m["engine"] == "up":
        box.engine_up()
    elif m["engine"] == "up-on-second-look":
        env["FAKE_UP_AFTER"] = "2"
    if m["dockerd_running"]:
        env["FAKE_PGREP"] = "1"
    if m["being_started"]:
        box.state.mkdir(parents=True, exist_ok=True)
        (box.state / "dockerd.pid").write_text(f"{os.getpid()}\n")  # a live pid
    for flag, name in (("dockerd_dud", "FAKE_DOCKERD_DUD"), ("no_install", "VOLTOOLS_NO_INSTALL"),
                       ("systemctl_fails", "FAKE_SYSTEMCTL_FAIL")):
        if m[flag]:
            env[name] = "1"
    if m["apt_fails"]:
        env["FAKE_APT_FAIL"] = "Unable to locate package fio"
    if m["remote"]:
        env["DOCKER_HOST"] = "tcp://192.0.2.1:2375"
    if m["permission_denied"]:
        env["FAKE_DOCKER_ERR"] = "permission denied while trying to connect to the Docker daemon socket"


def _answers_at_start(m):
    return "docker" in m["commands"] and m["engine"] == "up"


def _check(box, m, proc):
    apt, systemctl, dockerd = box.apt, box.called("systemctl"), box.called("dockerd")
    installs = [c for c in apt if c.startswith("apt-get install")]
    assert apt in ([], ["apt-get update"], ["apt-get update", installs[0] if installs else None]), apt
    if installs:
        assert installs[0].startswith("apt-get install -y --no-remove "), installs
        assert m["root"] and not m["no_install"] and "apt-get" in m["commands"], apt
        packages = installs[0].split()[4:]
        tools_missing = {ALL_TOOLS[t] for t in ALL_TOOLS if t not in m["tools"]}
        assert set(packages) <= tools_missing | {"docker.io"}, (packages, tools_missing)
        if "docker.io" in packages:
            assert not _answers_at_start(m) and not m["remote"] and "dpkg" in m["commands"], m
            assert not (m["installed"] & set(DOCKER_PKGS)) and "dockerd" not in m["commands"], m
    assert set(systemctl) <= {"systemctl start docker"} and len(systemctl) <= 1, systemctl
    assert len(dockerd) <= 1 and all(c == "dockerd " for c in dockerd), dockerd
    if systemctl or dockerd:
        assert m["root"] and not m["remote"], (systemctl, dockerd)
        assert not _answers_at_start(m) and not m["being_started"], (systemctl, dockerd)
        assert not (m["dockerd_running"] and "pgrep" in m["commands"]), (systemctl, dockerd)
    if m["permission_denied"] and not _answers_at_start(m) and "docker" in m["commands"]:
        assert not apt and not systemctl and not dockerd, proc.stderr
    answers = (box.bin / "docker").exists() and (box.root / "engine-up").exists()
    if installs and m["apt_fails"]:
        assert proc.returncode == 3 and "engine: apt-get failed" in proc.stderr, proc.stderr
    elif _answers_at_start(m):
        assert proc.returncode == 0, proc.stderr
    elif m["permission_denied"] and "docker" in m["commands"]:
        assert proc.returncode == 4, proc.stderr
    else:
        assert proc.returncode == (0 if answers else 3), (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert all(line.startswith("engine: ") for line in lines), proc.stderr
    assert proc.returncode == 0 or lines, "a failure says why"


def _outcome(box, proc):
    """What the script did, for hypothesis' statistics (--hypothesis-show-statistics)."""
    did = [what for what, done in (("installed docker.io", any("docker.io" in c for c in box.apt)),
                                   ("installed tools", any(c.startswith("apt-get install") for c in box.apt)),
                                   ("systemctl", box.called("systemctl")), ("dockerd", box.called("dockerd")))
           if done]
    return f"exit {proc.returncode}: {', '.join(did) or 'nothing done'} | {proc.stderr.splitlines()[-1][:50] if proc.stderr else ''}"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**64 - 1))
def test_no_machine_makes_the_set_up_break_its_promises(real_tools, seed):
    m = machine(seed)
    note(f"machine: {m}")
    with tempfile.TemporaryDirectory() as root:
        box = Box(Path(root), real_tools)
        _build(box, m)
        proc = box.run()
        _check(box, m, proc)
        event(_outcome(box, proc))
