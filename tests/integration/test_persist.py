"""`voltools persist` on the real engine: each check on each target kind with the outcome it must
have on this machine, a corrupted block caught and counted, the containers locked down, the run
stored with its provenance, bad input refused in one line, nothing left behind."""
import json
import os

import pandas as pd
import pytest

from voltools.cli import main
from voltools.measuring import persist as checks
from voltools.measuring import verify
from voltools.measuring.targets import parse_target, prepare
from voltools import persist
from voltools.store import PERSIST, load_persist

# target -> the checks that must fail on this machine, and why
EXPECTED_FAILURES = {
    "local": {},
    "tmpfs": {"no_holder": verify.EMPTY},  # a tmpfs volume is empty again once no container holds it
    "loop-ext4": {},
    "bind": {},
    "layer": dict.fromkeys(("container_replaced", "shared", "no_holder"), verify.EMPTY),  # its own layer
}
SIZE = "16m"
BLOCKS = verify.blocks(16 << 20)


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "bind"
    folder.mkdir(mode=0o755)
    (folder / "keep.txt").write_text("user data")
    return folder


def test_every_check_on_every_kind_has_the_outcome_it_must(docker_client, run_id, raw_root, isolated_state,
                                                            user_folder):
    specs = ["local", "tmpfs:size=64m", "loop:fs=ext4,size=128m", f"bind:path={user_folder}", "layer"]
    table = persist(specs, size=SIZE, run_id=run_id, data_dir=raw_root)
    assert list(zip(table["target"], table["check"])) == [
        (t, c) for t in EXPECTED_FAILURES for c in ("container_replaced", "shared", "no_holder")]
    for row in table.itertuples():
        must_fail = EXPECTED_FAILURES[row.target].get(row.check)
        expected = BLOCKS * (3 if row.check == "shared" else 2) // 2
        assert row.blocks_ok + row.blocks_bad == expected, row
        if must_fail:
            assert (row.passed, row.reason, row.blocks_ok) == (False, must_fail, 0), row
        else:
            assert (row.passed, row.reason, row.blocks_bad) == (True, "", 0), row
        assert 0 < row.seconds < 60
    assert sorted(p.name for p in user_folder.iterdir()) == ["keep.txt"], "only voltools' own files were removed"
    assert table.equals(load_persist(run_id, raw_root))


def test_the_run_keeps_a_sweeps_provenance_and_fio_output(docker_client, run_id, raw_root):
    table = persist(["tmpfs:size=64m"], size=SIZE, run_id=run_id, data_dir=raw_root)
    folder = raw_root / run_id
    meta = json.loads((folder / "run.json").read_text())
    assert meta["command"] == "persist" and meta["checks_stored"] == 3 and meta["finished_at"]
    assert meta["fio_version"].startswith("fio-") and meta["docker_engine_version"] and meta["host"]["kernel"]
    assert meta["probe_image"].startswith("voltools-probe:")
    assert meta["persist"] == {"size_bytes": 16 << 20, "bs_bytes": verify.BS, "verify": "crc32c",
                               "checks": ["container_replaced", "shared", "no_holder"]}
    assert set(table["run_id"]) == {run_id} and (folder / PERSIST).is_file()
    raws = [r for joined in table["raw_files"] for r in joined.split(",") if r]
    assert len(raws) == 3 and all((folder / r).is_file() for r in raws), "the failed check read nothing"


def _corrupt_argv(path, block):
    return ["fio", "--name=corrupt", f"--filename={path}", "--rw=write", "--bs=4k", "--size=4k",
            f"--offset={block * verify.BS + 4096}", "--buffer_pattern=0xdeadbeef", "--allow_file_create=0"]


def test_a_block_corrupted_through_the_holder_is_caught_and_counted(docker_client, probe_image, run_id):
    prepared = prepare(docker_client, parse_target("local"), run_id)
    bench = checks.Bench(docker_client, probe_image, prepared, 16 << 20)

    def replaced_after_corruption(bench):
        writer = bench.written("replaced-w")
        for block in (1, 100, 200):
            assert bench.run(writer, _corrupt_argv(bench.data_set, block)).exit_code == 0
        reader = bench.start("replaced-r")
        bench.remove("replaced-w")
        return bench.verify(reader, bench.data_set)

    try:
        outcome = checks.run_check(bench, "container_replaced", replaced_after_corruption)
    finally:
        bench.remove_all()
        prepared.teardown()
    assert (outcome.passed, outcome.blocks_ok, outcome.blocks_bad) == (False, BLOCKS - 3, 3)
    assert outcome.reason == verify.WRONG and outcome.detail == "3 block(s) failed verify"


@pytest.mark.parametrize("spec", ["tmpfs:size=64m", "layer"])
def test_writer_and_reader_are_locked_down_and_labeled(spec, docker_client, probe_image, run_id):
    prepared = prepare(docker_client, parse_target(spec), run_id)
    bench = checks.Bench(docker_client, probe_image, prepared, 16 << 20)
    try:
        for role, write in (("replaced-w", True), ("replaced-r", False)):
            container = bench.start(role, write)
            container.reload()
            host = container.attrs["HostConfig"]
            assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and not host["CapAdd"]
            assert "no-new-privileges" in host["SecurityOpt"]
            assert host["ReadonlyRootfs"] == (not (write and spec == "layer"))
            assert container.attrs["Config"]["User"] == ("0:0" if write else "65534:65534")
            assert container.labels["voltools.run"] == run_id
            data = [m["RW"] for m in container.attrs["Mounts"] if m["Destination"] == "/data"]
            assert data == ([] if spec == "layer" else [write])
        denied = bench.run(bench.containers["replaced-r"], ["sh", "-c", "echo x > /data/x"])
        assert denied.exit_code != 0
    finally:
        bench.remove_all()
        prepared.teardown()


def test_the_command_prints_each_check_and_json_objects(docker_client, run_id, raw_root, capsys):
    argv = ["persist", "--target", "tmpfs:size=64m", "--size", SIZE, "--data-dir", str(raw_root), "--quiet"]
    assert main([*argv, "--run-id", run_id]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"run {run_id}: a 16 MiB data set per target") and out[1].split()[:3] == [
        "target", "check", "outcome"]
    assert [line.split()[:4] for line in out[2:]] == [
        ["tmpfs", "container_replaced", "passed", f"{BLOCKS}/{BLOCKS}"],
        ["tmpfs", "shared", "passed", f"{3 * BLOCKS // 2}/{3 * BLOCKS // 2}"],
        ["tmpfs", "no_holder", "FAILED", f"0/{BLOCKS}"]]
    assert "empty volume: vt-16777216.dat is not there" in out[4]
    second = f"{run_id}b"
    assert main([*argv, "--run-id", second, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["target"], r["check"], r["passed"], r["blocks_bad"]) for r in rows] == [
        ("tmpfs", "container_replaced", True, 0), ("tmpfs", "shared", True, 0), ("tmpfs", "no_holder", False, BLOCKS)]
    assert {"target", "check", "passed", "blocks_ok", "blocks_bad", "seconds", "reason"} <= set(rows[0])
    from voltools.measuring.cleanup import leftovers
    assert leftovers(docker_client, second) == 0


BAD = [
    ([], "no target given"),
    (["--target", "host"], "a host target has none"),
    (["--target", "nfs"], "unknown kind 'nfs'"),
    (["--target", "tmpfs:size=32m"], "more than its size= (32 MiB)"),
    (["--target", "loop:size=64m"], "more than half its size="),
    (["--target", "local", "--size", "100k"], "must be a multiple of 128 KiB"),
    (["--target", "local", "--size", "fast"], "not a size"),
    (["--target", "local", "--size", "0"], "at least 1 byte"),
    (["--target", "local", "--run-id", "a_b"], "no '_'"),
    (["--target", "local:name=" + "x" * 40], "at most 37 characters"),
    (["--target", "bind:path=/etc"], "system"),
    (["--target", "local", "--target", "local"], "two targets are named 'local'"),
    (["--target", "local", "--image", "no-such-image:1"], "is not on this engine"),
    (["--target", "layer", "--migrate-to", "local:name=d"], "no second container can mount"),
    (["--target", "local", "--migrate-to", "local"], "has the name of a --target"),
    (["--target", "local", "--migrate-to", "tmpfs:size=16m", "--migrate-sizes", "8m,32m"], "lower --migrate-sizes"),
    (["--target", "local", "--migrate-to", "tmpfs", "--migrate-sizes", "100k"], "multiple of 64 KiB"),
    (["--target", "local", "--migrate-to", "tmpfs", "--migrate-repeat", "0"], "--migrate-repeat"),
    (["--target", "local", "--migrate-to", "tmpfs", "--move-size", "big"], "--move-size"),
]


@pytest.mark.parametrize("args,needle", BAD)
def test_bad_input_is_one_line_exit_2_and_makes_nothing(args, needle, docker_client, raw_root, isolated_state,
                                                        capsys):
    assert main(["persist", *args, "--data-dir", str(raw_root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("voltools: error: ") and needle in err, err
    assert not raw_root.exists() and not (isolated_state.exists() and any(isolated_state.rglob("*")))


def test_moves_skip_a_layer_source_and_say_so_in_the_plan(raw_root, capsys):
    assert main(["persist", "--target", "layer", "--target", "local", "--migrate-to", "tmpfs:size=512m,name=d",
                 "--dry-run", "--data-dir", str(raw_root)]) == 0
    out = capsys.readouterr().out
    assert "plan: moves to d: 64 MiB, 128 MiB, 256 MiB from each target a second container can mount (not layer)" in out
    assert not raw_root.exists()


def test_engine_restart_is_refused_before_anything_is_made_when_not_possible(raw_root, monkeypatch, capsys):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    assert main(["persist", "--target", "local", "--engine-restart", "--data-dir", str(raw_root)]) == 2
    err = capsys.readouterr().err
    assert "restarts the local dockerd" in err and err.count("\n") == 1 and not raw_root.exists()


def test_the_stored_table_has_its_types(docker_client, run_id, raw_root):
    table = persist(["local"], size="128k", run_id=run_id, data_dir=raw_root)
    stored = pd.read_parquet(raw_root / run_id / PERSIST)
    assert str(stored["passed"].dtype) == "bool" and str(stored["blocks_ok"].dtype) == "Int64"
    assert list(stored["blocks_ok"]) == [2, 3, 2] and table["passed"].all()
    assert os.listdir(raw_root) == [run_id]


def test_an_interrupt_removes_everything_and_exits_130(docker_client, run_id, raw_root, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from voltools.measuring.cleanup import label_filter
    folder = tmp_path / "bind"
    folder.mkdir(mode=0o755)
    proc = subprocess.Popen([sys.executable, "-m", "voltools", "persist", "--target", f"bind:path={folder}",
                             "--target", "local", "--size", SIZE, "--run-id", run_id, "--data-dir", str(raw_root),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    try:  # sparse: a holder container can go between the list and its inspect (NotFound, 2026-12-07)
        while not docker_client.containers.list(all=True, filters=label_filter(run_id), sparse=True):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.startswith("voltools: interrupted: ") and "Traceback" not in err, err
    assert list(folder.iterdir()) == [], "the working folder voltools made is gone"
