"""One run lifecycle, orchestrators as backends: a registry by name, options refused not ignored,
and whatever way a run ends, its objects removed, its table closed, its lock let go."""
import subprocess
import sys

import pytest

from voltools.orchestrators import registry
from voltools.api import dry_run, start_sweep
from voltools.cli import main
from voltools.errors import UsageError
from voltools.measuring.plan import SweepRequest
from voltools.runlock import is_live
from voltools.store import RunStore

HOST = ["--target", "host", "--bs", "4k", "--blocks", "1", "--repeat", "1"]


@pytest.mark.parametrize("args,needle", [
    (["--orchestrator", "swarm", "--target", "tmpfs", "--reader", "python"],
     "--reader python is not supported by --orchestrator swarm"),
    (["--orchestrator", "swarm", "--target", "tmpfs", "--question", "4g@64k"],
     "--question is not supported by --orchestrator swarm"),
    (["--orchestrator", "k8s", "--storage-class", "standard", "--image", "r/p:1", "--max-point-size", "1g"],
     "--max-point-size is not supported by --orchestrator k8s"),
    (["--orchestrator", "swarm", "--target", "tmpfs", "--dry-run"], "--dry-run is not supported by --orchestrator swarm"),
    (["--orchestrator", "swarm", "--resume", "r1"], "--resume is not supported by --orchestrator swarm"),
    (["--orchestrator", "swarm", "--target", "tmpfs", "--fresh-rounds"],
     "--fresh-rounds is not supported by --orchestrator swarm"),
    (["--orchestrator", "k8s", "--storage-class", "standard", "--image", "r/p:1", "--fresh-rounds"],
     "--fresh-rounds is not supported by --orchestrator k8s"),
    (["--resume", "r1", "--fresh-rounds"], "give no --fresh-rounds"),
    (["--target", "tmpfs", "--mode", "global"], "--mode is not an option of --orchestrator docker"),
    (["--target", "tmpfs", "--constraint", "node.role==manager"], "--constraint is not an option of --orchestrator docker"),
    (["--target", "tmpfs", "--timeout", "5"], "--timeout is not an option of --orchestrator docker"),
    (["--orchestrator", "swarm", "--target", "tmpfs", "--storage-class", "standard"],
     "--storage-class is not an option of --orchestrator swarm"),
    (["--orchestrator", "k8s", "--storage-class", "standard", "--image", "r/p:1", "--node", "ssh://n2"],
     "--node is not an option of --orchestrator k8s"),
    (["--resume", "r1", "--bs", "4k"], "carries on a run with its own settings: give no --bs"),
    (["--resume", "r1", "--dry-run"], "give no --dry-run"),
])
def test_an_option_the_backend_cannot_honour_is_refused_in_one_line(args, needle, raw_root, isolated_state, capsys):
    assert main(["sweep", *args, "--data-dir", str(raw_root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err
    assert not raw_root.exists() and not isolated_state.exists()


def test_resuming_a_swarm_run_says_swarm_runs_cannot_be_resumed(raw_root, capsys):
    request = SweepRequest.of(["tmpfs"], bs="4k", blocks="1")
    RunStore.create("r1", raw_root, {"run_id": "r1", "orchestrator": "swarm", "request": request.grid()})
    assert main(["sweep", "--resume", "r1", "--data-dir", str(raw_root)]) == 2
    assert "--resume is not supported by --orchestrator swarm" in capsys.readouterr().err


def test_an_unknown_orchestrator_names_the_registered_ones():
    with pytest.raises(UsageError, match="--orchestrator 'nomad' is not accepted: use docker, swarm, k8s"):
        registry.backend("nomad")


def test_the_default_grid_lives_in_the_request_only(tmp_path):
    plan = dry_run(["host"], data_dir=tmp_path)
    default = SweepRequest()
    assert (default.bs, default.blocks, default.rw, default.batch) == ("4k,16k,64k,256k,1m", "1,16,64,256",
                                                                       "read,randread", 1)
    assert plan.bs == [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20] and plan.blocks == [1, 16, 64, 256]
    assert (plan.rw, plan.batch, plan.repeat, plan.total_points()) == (["read", "randread"], 1, 3, 120)
    makefile = (registry.__file__.rsplit("/voltools/", 1)[0] + "/Makefile")
    sweep_line = next(line for line in open(makefile) if line.startswith("SWEEP"))
    assert "--bs" not in sweep_line and "--blocks" not in sweep_line, "the Makefile passes only what it changes"


def test_swarm_and_k8s_do_not_import_the_docker_backend():
    code = ("import sys, voltools.orchestrators.swarm, voltools.orchestrators.k8s; "
            "print('voltools.orchestrators.docker' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class Fake(registry.Orchestrator):
    """A backend that measures nothing: what the lifecycle does around it is what is tested."""

    name = "fake"
    options = {"fail": None}
    calls = []

    def measure(self, run, progress=None):
        Fake.calls.append(("measure", is_live(run.run_id), run.store.path.is_dir()))
        if self.settings["fail"]:
            raise self.settings["fail"]

    def remove(self, run_id, settle=False):
        Fake.calls.append(("remove", settle))
        return []


@pytest.fixture
def fake():
    registry.register("fake", Fake)
    Fake.calls = []
    yield Fake
    registry._REGISTRY.pop("fake")


@pytest.mark.parametrize("fail", [None, RuntimeError("boom"), KeyboardInterrupt()])
def test_the_run_removes_closes_and_unlocks_whatever_way_the_backend_ends(fail, fake, raw_root, isolated_state):
    assert "fake" in registry.names()
    run = start_sweep(["host"], orchestrator="fake", fail=fail, data_dir=raw_root, run_id="r1", bs="4k", blocks="1")
    assert is_live("r1") and (raw_root / "r1" / "run.json").is_file()
    if fail is None:
        assert len(run.measure()) == 0
    else:
        with pytest.raises(type(fail)):
            run.measure()
    assert fake.calls == [("measure", True, True), ("remove", fail is not None)], "settle after a failure"
    assert not is_live("r1") and not (raw_root / "r1").exists(), "a run that stored nothing leaves no folder"


def test_a_backend_without_resume_or_question_is_refused_them(fake, raw_root):
    with pytest.raises(UsageError, match="--question is not supported by --orchestrator fake"):
        start_sweep(["host"], orchestrator="fake", question="4g@64k", data_dir=raw_root)
    with pytest.raises(UsageError, match="--max-point-size is not an option of --orchestrator fake"):
        start_sweep(["host"], orchestrator="fake", max_point_size="1g", data_dir=raw_root)
    assert not raw_root.exists()


@pytest.mark.parametrize("fail,status", [(None, 0), ("engine", 1), ("interrupt", 130)])
def test_exit_statuses_do_not_depend_on_the_backend(fail, status, fake, monkeypatch, raw_root, isolated_state,
                                                    capsys):
    from voltools.errors import EngineError
    failure = {"engine": EngineError("the engine went away"), "interrupt": KeyboardInterrupt()}.get(fail)
    monkeypatch.setattr(Fake, "options", {"fail": failure})
    assert main(["sweep", "--orchestrator", "fake", *HOST, "--data-dir", str(raw_root)]) == status
    assert main(["sweep", "--orchestrator", "fake", *HOST, "--question", "4g@64k"]) == 2
    assert "--question is not supported by --orchestrator fake" in capsys.readouterr().err
