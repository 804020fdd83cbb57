"""Ctrl-C while a request that makes an object is on its way to the engine (interrupts.creating).

A relay between voltools and the engine's socket holds the run's first request of one kind back
for HOLD_S seconds; SIGINT comes while it is held. Cut short, voltools would tear down and exit
while the engine had not yet seen the request, which it then carries out: a container made after
its named volume was removed brings the volume back unlabeled (no clean by label finds it), a
volume made after teardown stays. Held back, the interrupt waits for the answer, and teardown
removes what the request made. The attack fails with `interrupts.creating` made a no-op.
"""
import os
import signal
import socket
import subprocess
import threading
import time
from contextlib import nullcontext

import pytest

from voltools.measuring.cleanup import leftover_names
from voltools.orchestrators import swarm

from soaking import cli
from test_soak import unlabeled_volumes

HOLD_S = 2.0  # how long the request is held: voltools has long finished its teardown by then
ENGINE = "/var/run/docker.sock"


class HoldingRelay:
    """A Unix-socket relay to the engine that holds the first request containing `marker` back
    for HOLD_S seconds, then passes it on. A client's end never ends the engine's side (the
    engine would cancel the request it is still to read): the relay keeps it open and drains it."""

    def __init__(self, path, marker):
        self.marker, self.seen, self.links = marker, threading.Event(), []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(ENGINE)
            self.links += [client, engine]
            threading.Thread(target=self._pump, args=(client, engine, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(engine, client, False), daemon=True).start()

    def _pump(self, source, sink, requests):
        while True:
            try:
                data = source.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            if requests and self.marker in data and not self.seen.is_set():
                self.seen.set()
                time.sleep(HOLD_S)
            try:
                sink.sendall(data)
            except OSError:
                if requests:
                    return  # the engine's end went away

    def close(self):
        self.server.close()
        for link in self.links:
            link.close()


def _named(client, run_id):
    """Every container and volume named as the run's, labeled or not."""
    prefix = f"voltools_{run_id}_"
    found = [f"container {c.name}" for c in _containers(client, prefix)]
    found += [f"volume {v.name}" for v in client.volumes.list() if v.name.startswith(prefix)]
    return found + [f"service {s.name}" for s in _services(client, prefix)]


def _services(client, prefix):
    if client.info()["Swarm"]["LocalNodeState"] != "active":
        return []
    return [s for s in client.services.list(filters={"name": prefix}) if s.name.startswith(prefix)]


def _containers(client, prefix):
    return [c for c in client.containers.list(all=True, filters={"name": prefix}, ignore_removed=True)
            if c.name.startswith(prefix)]


def _remove_named(client, run_id):
    prefix = f"voltools_{run_id}_"
    for s in _services(client, prefix):
        s.remove()
    for c in _containers(client, prefix):
        c.remove(force=True)
    for v in client.volumes.list():
        if v.name.startswith(prefix):
            v.remove(force=True)


SWEEP = ("sweep", "--target", "local", "--bs", "4k", "--blocks", "1", "--repeat", "1")
PERSIST = ("persist", "--target", "local", "--size", "1m")


@pytest.mark.parametrize("marker, command", [(b"/containers/create", SWEEP), (b"/volumes/create", SWEEP),
                                             (b"/services/create", SWEEP + ("--orchestrator", "swarm")),
                                             (b"/containers/create", PERSIST)],
                         ids=["sweep-container", "sweep-volume", "swarm-service", "persist-container"])
def test_ctrl_c_while_a_creating_request_is_held_leaves_nothing(docker_client, probe_image, run_id, tmp_path,
                                                                 marker, command):
    """Swarm's case runs in a swarm of the user's (made before, left after): one voltools made
    for the run would be gone, and with it any service made late."""
    users_swarm = swarm.swarm_for_run(docker_client) if "swarm" in command else nullcontext()
    with users_swarm:  # a swarm that was there before the run: voltools does not leave it
        relay = HoldingRelay(tmp_path / "engine.sock", marker)
        env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path / 'engine.sock'}")
        command = cli(*command, "--run-id", run_id, "--data-dir", str(tmp_path / "raw"))
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert relay.seen.wait(60), f"no {marker.decode()} request reached the relay"
            time.sleep(0.3)  # the request is held: voltools waits for its answer
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            time.sleep(HOLD_S + 1.0)  # the held request reaches the engine and is carried out
            assert proc.returncode == 130, err
            assert "Traceback" not in err, err
            assert not unlabeled_volumes(docker_client, run_id), _named(docker_client, run_id)
            assert not _named(docker_client, run_id), f"left {_named(docker_client, run_id)}; stderr: {err!r}"
            assert not leftover_names(docker_client, run_id)
        finally:
            proc.kill()
            relay.close()
            _remove_named(docker_client, run_id)
