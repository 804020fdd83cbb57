"""fio's verify headers: write a data set that can be checked later, check it, count the blocks.

The data set is written with `verify=crc32c`: fio puts a header at the start of every block (magic,
length, offset, the crc32c of the block). It is checked with a read job carrying the same
`verify=crc32c` (fio's read-verify, what `verify_only` does for a write job; a read job also runs
under `--readonly` and on a read-only mount): every block read has its header and checksum checked.
`continue_on_error=verify` keeps the read going past a bad block instead of stopping at the
first, and makes fio count the failures: each block that fails verification is one error (EILSEQ)
in the job's `total_err`. So, from fio's JSON:

    blocks_bad = total_err + the blocks of the data set fio did not read (a short file)
    blocks_ok  = read total_ios - total_err

A missing file is not read at all: 0 ok, every block bad, reason "empty volume".
"""
import os
from dataclasses import dataclass

from ..errors import FioParseError, first_line
from .fio import read_json

BS = 64 << 10  # the data set's block: one verify header per 64 KiB
EILSEQ = 84  # what fio records for a block that fails verification
EMPTY, WRONG, MOUNT, FIO = "empty volume", "wrong data", "mount error", "fio error"
_COMMON = ["--ioengine=psync", f"--bs={BS}", "--verify=crc32c", "--verify_state_save=0"]


@dataclass(frozen=True)
class Verified:
    """What one verification found: good and bad blocks, why it failed ('' if it passed), detail."""

    blocks_ok: int
    blocks_bad: int
    reason: str = ""
    detail: str = ""
    raw: tuple = ()  # fio's JSON outputs, as printed

    @property
    def passed(self):
        return not self.reason


def blocks(size_bytes):
    """How many verify blocks a data set of `size_bytes` holds."""
    return int(size_bytes) // BS


def write_argv(path, size_bytes):
    """Write `size_bytes` to `path` with a verify header in every block, fsynced at its end."""
    return ["fio", "--output-format=json", "--name=persist-write", f"--filename={path}", "--rw=write",
            f"--size={int(size_bytes)}", "--do_verify=0", "--end_fsync=1", *_COMMON]


def verify_argv(path, size_bytes):
    """Read `size_bytes` of `path` (page cache dropped first) and verify every block's header."""
    return ["fio", "--output-format=json", "--name=persist-verify", f"--filename={path}", "--rw=read",
            f"--size={int(size_bytes)}", "--readonly", "--invalidate=1", "--continue_on_error=verify",
            "--verify_fatal=0", *_COMMON]


def size_argv(path):
    """Print the size of `path` in bytes (fails if it is not there)."""
    return ["stat", "-c", "%s", path]


def readable_bytes(expected_bytes, found_bytes):
    """How much of a file of `found_bytes` to verify: whole blocks, at most the data set."""
    return min(int(expected_bytes), int(found_bytes) // BS * BS)


def missing(expected_bytes, what):
    """The verification of a data set that is not there."""
    return Verified(0, blocks(expected_bytes), EMPTY, what)


def counted(expected_bytes, found_bytes, stdout, stderr):
    """The blocks fio's read-verify of a file of `found_bytes` (a data set of `expected_bytes`) found good and bad."""
    job, total = _job(stdout), blocks(expected_bytes)
    if job is None:
        lines = stderr.strip().splitlines()
        return Verified(0, total, FIO, first_line(lines[-1] if lines else "fio printed no JSON"), (stdout,))
    error = int(job.get("error", 0))
    if error not in (0, EILSEQ):  # fio stopped on an error that is not a failed verify
        return Verified(0, total, FIO, f"fio stopped: error {error}, {os.strerror(error)}", (stdout,))
    read, failed = int(job["read"]["total_ios"]), int(job.get("total_err", 0))
    short = max(total - read, 0)
    bad = failed + short
    return Verified(read - failed, bad, WRONG if bad else "", _detail(failed, short, found_bytes, expected_bytes),
                    (stdout,))


def _detail(failed, short, found_bytes, expected_bytes):
    parts = [f"{failed} block(s) failed verify"] if failed else []
    if short:
        parts.append(f"{short} block(s) missing (the file holds {found_bytes} of {int(expected_bytes)} bytes)")
    return "; ".join(parts)


def _job(stdout):
    """The one job of fio's JSON output (fio.read_json, as for every fio output), or None when
    there is none."""
    try:
        jobs = read_json(stdout.encode()).get("jobs") or []
    except FioParseError:
        return None
    return jobs[0] if jobs else None
