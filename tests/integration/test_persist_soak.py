"""Kill soak of `voltools persist`: runs on every kind of object it makes (a tmpfs and a local
volume, a loop image, a working folder in the user's bind folder) stopped at a random moment by a
random signal. After each stop: no traceback, exit 130 (or the signal's own death before voltools'
handlers, or SIGKILL's), nothing of the run left once it has stopped (after SIGKILL once `voltools
clean --run-id` has run), and the user's folder holding exactly what the user put there, unchanged.

`make test` runs VOLTOOLS_SOAK_KILLS kills (default 6), `make soak` 30; VOLTOOLS_SOAK_SEED replays."""
import os
import random
import signal
import subprocess
import time

from soaking import KILLS, SEED, SIGNALS, cli, interpreter_start_up, user_files_kept, user_folder
from voltools.config import loop_dir
from voltools.measuring.cleanup import clean, leftovers



def _stop_one(client, run_id, raw_root, bind, rng):
    """One persist run stopped after a random delay by a random signal; returns (signal, status)."""
    targets = ["tmpfs:size=64m", "local", f"bind:path={bind}"] + (["loop:size=64m"] if os.geteuid() == 0 else [])
    argv = cli("persist", *(a for t in rng.sample(targets, rng.choice([1, 2])) for a in ("--target", t)),
                "--size", "16m", "--run-id", run_id, "--data-dir", str(raw_root))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(rng.uniform(0.0, 6.0))
    sig = rng.choice(SIGNALS)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=180)
    code = proc.returncode
    assert "Traceback" not in err or interpreter_start_up(sig, code, err), err
    if code == -signal.SIGKILL:
        out = subprocess.run(cli("clean", "--run-id", run_id), capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
    elif code not in (0, -sig) and not interpreter_start_up(sig, code, err):  # Python's own start-up: nothing made
        assert code == 130, (sig, code, err)
        assert "interrupted" in err, err
    folder = raw_root / run_id
    assert not folder.exists() or (folder / "run.json").is_file(), f"{folder} holds no run.json"
    assert leftovers(client, run_id) == 0, f"{sig.name} (exit {code}) left objects of {run_id}: {err!r}"
    assert not list(loop_dir().glob(f"*{run_id}*")) if loop_dir().is_dir() else True
    assert user_files_kept(bind), f"{sig.name} (exit {code}) left the user's folder as {sorted(bind.rglob('*'))}"
    return sig.name, code


def test_persist_kill_soak(docker_client, probe_image, raw_root, tmp_path):
    rng = random.Random(SEED)
    bind = user_folder(tmp_path)
    print(f"persist kill soak: seed {SEED}, {KILLS} kills")
    stops = []
    try:
        for number in range(KILLS):
            stops.append(_stop_one(docker_client, f"psoak{SEED}x{number}", raw_root, bind, rng))
    finally:  # a failed soak must not leave its runs' objects to the tests after it
        for number in range(KILLS):
            clean(docker_client, f"psoak{SEED}x{number}")
    print(f"persist kill soak: {stops}")
    assert len(stops) == KILLS
    assert any(code in (130, -signal.SIGKILL) for _, code in stops), "no stop hit a running persist"
