"""verify.py: the fio command lines and the block counts, checked on real fio runs of the host's fio
(files in a temporary folder, no Docker)."""
import subprocess

import pytest

from voltools.measuring import verify
from voltools.measuring.verify import BS

SIZE = 64 * BS  # 4 MiB, 64 blocks


def _fio(argv):
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    return out.returncode, out.stdout, out.stderr


def _verified(path, size=SIZE):
    found = path.stat().st_size
    code, out, err = _fio(verify.verify_argv(str(path), verify.readable_bytes(size, found)))
    return verify.counted(size, found, out, err)


def _corrupt(path, block):
    """Overwrite 4 KiB in the middle of one block with a pattern, as fio writes it (no truncation)."""
    code, _, err = _fio(["fio", "--name=corrupt", f"--filename={path}", "--rw=write", "--bs=4k", "--size=4k",
                         f"--offset={block * BS + 8192}", "--buffer_pattern=0xdeadbeef", "--allow_file_create=0"])
    assert code == 0, err


@pytest.fixture
def data_set(tmp_path):
    path = tmp_path / "vt-4194304.dat"
    code, _, err = _fio(verify.write_argv(str(path), SIZE))
    assert code == 0, err
    assert path.stat().st_size == SIZE and not list(tmp_path.glob("*.state")), "no verify state file is left"
    return path


def test_a_data_set_as_written_verifies_every_block(data_set):
    found = _verified(data_set)
    assert (found.blocks_ok, found.blocks_bad, found.reason, found.passed) == (64, 0, "", True)
    assert len(found.raw) == 1 and '"total_err" : 0' in found.raw[0]


def test_corrupted_blocks_are_each_counted_bad_and_the_read_goes_on(data_set):
    for block in (0, 5, 63):
        _corrupt(data_set, block)
    found = _verified(data_set)
    assert (found.blocks_ok, found.blocks_bad, found.reason) == (61, 3, verify.WRONG)
    assert found.detail == "3 block(s) failed verify"


def test_a_file_of_zeros_has_no_good_block(tmp_path):
    path = tmp_path / "zeros.dat"
    path.write_bytes(bytes(SIZE))
    found = _verified(path)
    assert (found.blocks_ok, found.blocks_bad, found.reason) == (0, 64, verify.WRONG)


def test_a_short_file_counts_its_missing_blocks_bad(data_set):
    with open(data_set, "r+b") as handle:
        handle.truncate(10 * BS + 100)
    found = _verified(data_set)
    assert (found.blocks_ok, found.blocks_bad, found.reason) == (10, 54, verify.WRONG)
    assert "54 block(s) missing" in found.detail and f"holds {10 * BS + 100} of {SIZE} bytes" in found.detail


def test_fio_without_json_is_a_fio_error_with_its_last_line(tmp_path):
    code, out, err = _fio(verify.verify_argv(str(tmp_path / "absent.dat"), SIZE))
    found = verify.counted(SIZE, 0, out if code == 0 else "", err)
    assert (found.blocks_ok, found.blocks_bad, found.reason) == (0, 64, verify.FIO) and found.detail


def test_missing_data_set_is_an_empty_volume():
    found = verify.missing(SIZE, "vt-4194304.dat is not there")
    assert (found.blocks_ok, found.blocks_bad, found.reason, found.passed) == (0, 64, verify.EMPTY, False)


def test_command_lines_carry_the_verify_options():
    write, check = verify.write_argv("/d/f", SIZE), verify.verify_argv("/d/f", SIZE)
    assert {"--rw=write", "--verify=crc32c", "--end_fsync=1", "--verify_state_save=0", f"--bs={BS}"} <= set(write)
    assert {"--rw=read", "--readonly", "--verify=crc32c", "--continue_on_error=verify", "--invalidate=1"} <= set(check)
    assert verify.readable_bytes(SIZE, SIZE + 5) == SIZE and verify.readable_bytes(SIZE, BS + 1) == BS
