"""The python reader in a real sweep of the host target: no fio needed, the same rows as fio."""
import os
import shutil
import subprocess
import sys

import pytest

from voltools.measuring import fio, pyfio
from voltools.cli import main
from voltools.api import sweep


def test_host_sweep_with_the_python_reader_stores_fio_shaped_rows(raw_root, isolated_state):
    points = sweep(["host"], bs="4k,64k", blocks="1,8", rw="read,randread", repeat=1,
                   data_dir=raw_root, run_id="py1", reader="python")
    assert len(points) == 8 and (points["error"] == 0).all(), points["error_msg"].tolist()
    assert (points["reader"] == "python").all() and points["fio_version"].str.startswith("python-").all()
    assert (points["read_time_source"] == "lat_sum").all() and (points["read_time_s"] > 0).all()
    assert (points["allocated_bytes"] >= points["size_bytes"]).all()
    assert not list((isolated_state / "host").glob("*")), "the host folder is removed"


def test_pyfio_output_parses_like_fio(tmp_path):
    path = tmp_path / "f.dat"
    pyfio.write_file(path, 64 * 1024)
    out = pyfio.read_jobs([(str(path), "randread", 4096, 16, 0), (str(path), "read", 65536, 1, 0)])
    rows = fio.parse(__import__("json").dumps(out))
    assert rows["job_index"].tolist() == [0, 1] and rows["total_ios"].tolist() == [16, 1]
    assert rows["io_bytes"].tolist() == [65536, 65536] and (rows["lat_p99_ns"] > 0).all()
    assert rows["rw"].tolist() == ["randread", "read"]


def test_a_host_without_fio_can_sweep_with_the_python_reader(tmp_path, raw_root):
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("mkdir", "stat", "rm"):
        os.symlink(shutil.which(name), tools / name)
    env = dict(os.environ, PATH=str(tools), VOLTOOLS_STATE_DIR=str(tmp_path / "state"))
    argv = [sys.executable, "-m", "voltools", "sweep", "--target", "host", "--bs", "4k",
            "--blocks", "1,4", "--rw", "read", "--repeat", "1", "--data-dir", str(raw_root)]
    refused = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "no fio on this host" in refused.stderr
    done = subprocess.run(argv + ["--reader", "python"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split()[:3] == ["host", "2", "0"]


@pytest.mark.parametrize("args,needle", [
    (["--target", "tmpfs", "--reader", "python"], "host targets only"),
    (["--target", "host", "--reader", "python", "--iodepth", "8"], "queue depth 1 only"),
    (["--target", "host", "--reader", "spdk"], "--reader 'spdk' is not accepted"),
    (["--target", "tmpfs", "--engine", "python"], "--engine is deprecated: use --reader"),
])
def test_bad_reader_choices(args, needle, raw_root, capsys):
    assert main(["sweep", *args, "--data-dir", str(raw_root)]) == 2
    assert needle in capsys.readouterr().err and not raw_root.exists()
