"""Ctrl-C while a request that makes an object is on its way to the engine (interrupts.creating).

A relay between voltools and the engine's socket (enginerelay) holds the run's first request of
one kind back for HOLD_S seconds; SIGINT comes while it is held. Cut short, voltools would tear down and exit
while the engine had not yet seen the request, which it then carries out: a container made after
its named volume was removed brings the volume back unlabeled (no clean by label finds it), a
volume made after teardown stays. Held back, the interrupt waits for the answer, and teardown
removes what the request made. The attack fails with `interrupts.creating` made a no-op.
"""
import os
import signal
import subprocess
import threading
import time
from contextlib import nullcontext

import pytest

from voltools.measuring.cleanup import leftover_names
from voltools.orchestrators import swarm

from enginerelay import PASS, Relay
from soaking import cli, named_objects, remove_named
from test_soak import unlabeled_volumes

HOLD_S = 2.0  # how long the request is held: voltools has long finished its teardown by then


def holding(marker, seen):
    """Relay's decision: hold the first request that contains `marker` for HOLD_S (sets `seen`)."""
    def decide(number, data):
        if marker in data and not seen.is_set():
            seen.set()
            return ("hold", HOLD_S)
        return PASS
    return decide


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
        seen = threading.Event()
        relay = Relay(tmp_path / "engine.sock", holding(marker, seen))
        env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path / 'engine.sock'}")
        command = cli(*command, "--run-id", run_id, "--data-dir", str(tmp_path / "raw"))
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert seen.wait(60), f"no {marker.decode()} request reached the relay"
            time.sleep(0.3)  # the request is held: voltools waits for its answer
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            time.sleep(HOLD_S + 1.0)  # the held request reaches the engine and is carried out
            assert proc.returncode == 130, err
            assert "Traceback" not in err, err
            assert not unlabeled_volumes(docker_client, run_id), named_objects(docker_client, run_id)
            assert not named_objects(docker_client, run_id), f"left {named_objects(docker_client, run_id)}; stderr: {err!r}"
            assert not leftover_names(docker_client, run_id)
        finally:
            proc.kill()
            relay.close()
            remove_named(docker_client, run_id)
