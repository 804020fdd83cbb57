"""Places a run cannot live in, and runs that cannot be carried on: one line, exit 2, nothing made.

The full and read-only data dirs are real filesystems (small tmpfs mounts), so they need root.
"""
import os
import shutil
import subprocess

import pytest

from voltools.cli import main
from voltools.store import RunStore

SWEEP = ["sweep", "--target", "host", "--bs", "4k", "--blocks", "1", "--repeat", "1"]


@pytest.fixture
def mounted(tmp_path):
    """mount(options) -> a fresh tmpfs folder mounted with those options; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = []

    def mount(options):
        folder = tmp_path / f"mnt{len(made)}"
        folder.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
        made.append(folder)
        return folder

    yield mount
    for folder in made:
        subprocess.run(["umount", str(folder)], check=False)


def _refused(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("voltools: error: ") and err.count("\n") == 1, (code, err)
    assert "Traceback" not in err
    return err


def test_a_data_dir_that_is_a_plain_file(tmp_path, capsys, isolated_state):
    plain = tmp_path / "data"
    plain.write_text("notes\n")
    err = _refused(SWEEP + ["--data-dir", str(plain)], capsys)
    assert f"data dir {plain} cannot hold a run" in err
    assert plain.read_text() == "notes\n"


def test_a_data_dir_on_a_read_only_filesystem(mounted, capsys, isolated_state):
    folder = mounted("ro,size=1m")
    err = _refused(SWEEP + ["--data-dir", str(folder)], capsys)
    assert "cannot hold a run" in err and "Read-only file system" in err
    assert not os.listdir(folder)


def test_a_full_data_dir(mounted, capsys, isolated_state):
    folder = mounted("size=64k")
    with open(folder / "filler", "wb") as handle:
        try:
            handle.write(b"x" * (1 << 20))
        except OSError:
            pass
    err = _refused(SWEEP + ["--data-dir", str(folder)], capsys)
    assert "cannot hold a run" in err and "No space left on device" in err
    assert sorted(os.listdir(folder)) == ["filler"], "no draft folder is left"


@pytest.mark.parametrize("missing, words", [("fio", "folder of raw fio outputs fio is missing"),
                                            ("run.json", "provenance file run.json is missing")])
def test_a_run_folder_missing_a_part_cannot_be_resumed(missing, words, raw_root, capsys, isolated_state):
    store = RunStore.create("r1", raw_root, {"run_id": "r1", "request": {}})
    target = store.path / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    err = _refused(["sweep", "--resume", "r1", "--data-dir", str(raw_root)], capsys)
    assert words in err


def test_summary_of_a_run_with_no_points(raw_root, capsys):
    RunStore.create("r1", raw_root, {"run_id": "r1"})
    err = _refused(["summary", "--run-id", "r1", "--data-dir", str(raw_root)], capsys)
    assert "run r1 has no points yet" in err
