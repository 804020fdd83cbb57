"""What the kill soaks share: how many kills and the seed (VOLTOOLS_SOAK_KILLS, VOLTOOLS_SOAK_SEED),
the signals, the command line, the one traceback a signal may cause, and the user's files in a
bind folder that no stop may touch."""
import os
import random
import signal
import sys
from pathlib import Path

import voltools
from voltools.naming import is_runs

KILLS = int(os.environ.get("VOLTOOLS_SOAK_KILLS", "6"))
SEED = int(os.environ.get("VOLTOOLS_SOAK_SEED", str(random.SystemRandom().randrange(10**6))))
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL]


def cli(*args):
    return [sys.executable, "-m", "voltools", *args]


def interpreter_start_up(sig, code, err):
    """SIGINT in the interpreter's own start-up (~30 ms, before any voltools code runs: no frame of
    voltools in the traceback) gets Python's KeyboardInterrupt: death by SIGINT, or, while `site`
    imports the venv's packages (the editable install's finder among them), Python's "Fatal Python
    error: init_import_site" and exit 1 (a fresh clone's CI run hit it on 2026-12-06);
    test_startup_interrupt attacks the rest."""
    package = str(Path(voltools.__file__).parent) + os.sep
    in_site = code == 1 and err.startswith("Fatal Python error: init_import_site")
    return sig == signal.SIGINT and (code == -signal.SIGINT or in_site) and package not in err


USER_FILES = {"keep.txt": b"user data\n", "sub/notes.md": b"# mine\n"}  # what the user keeps in the bind folder


def user_folder(tmp_path):
    """The bind folder, holding USER_FILES."""
    folder = tmp_path / "bind"
    for name, data in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        (folder / name).write_bytes(data)
    folder.chmod(0o755)
    return folder


def user_files_kept(folder):
    """The folder holds exactly USER_FILES, byte for byte, and nothing else."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    return files == USER_FILES and sorted(p.name for p in folder.iterdir()) == ["keep.txt", "sub"]


def named_objects(client, run_id):
    """Every container, volume and (in a swarm) service named as the run's, labeled or not."""
    prefix = f"voltools_{run_id}_"
    found = [f"container {c.name}" for c in _containers(client, prefix)]
    found += [f"volume {v.name}" for v in client.volumes.list() if v.name.startswith(prefix)]
    return found + [f"service {s.name}" for s in _services(client, prefix)]


def unlabeled_volumes(client, run_id):
    """Volumes named as the run's but not labeled as its: what the engine makes when a container
    is created after its named volume was removed (interrupts.creating); no clean by label finds them."""
    return [v for v in client.volumes.list() if v.name.startswith(f"voltools_{run_id}_")
            and not is_runs(v.attrs.get("Labels"), run_id)]


def _services(client, prefix):
    if client.info()["Swarm"]["LocalNodeState"] != "active":
        return []
    return [s for s in client.services.list(filters={"name": prefix}) if s.name.startswith(prefix)]


def _containers(client, prefix):
    return [c for c in client.containers.list(all=True, filters={"name": prefix}, ignore_removed=True)
            if c.name.startswith(prefix)]


def remove_named(client, run_id):
    """Remove what named_objects finds (a failed test's leavings, so that they do not fail the next)."""
    prefix = f"voltools_{run_id}_"
    for s in _services(client, prefix):
        s.remove()
    for c in _containers(client, prefix):
        c.remove(force=True)
    for v in client.volumes.list():
        if v.name.startswith(prefix):
            v.remove(force=True)
