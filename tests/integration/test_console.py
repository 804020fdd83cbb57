"""The console of `voltools sweep`: a plan header before the first point, one bar redraw per point
on a terminal, nothing drawn into a log or with --quiet, a closing table in words and units, and
`make report`'s sweep and report under one run id. Sweeps here read the `host` target with the
host's fio (no Docker)."""
import fcntl
import io
import itertools
import os
import re
import struct
import termios
import shutil
import subprocess
import sys
import tty

import pytest

from repo import RAW, ROOT
from voltools.cli import _progress, main

HOST_SWEEP = ["sweep", "--target", "host", "--bs", "4k,8k,16k", "--blocks", "1,2", "--rw", "read",
              "--repeat", "2"]  # 12 points
POINTS = 12
needs_fio = pytest.mark.skipif(not shutil.which("fio"), reason="the host target's sweep needs fio")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _sweep_in_a_terminal(argv, env):
    """Run the CLI with stderr on a pseudo-terminal; (exit status, stdout, what the terminal got)."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no "\n" -> "\r\n": every "\r" seen is the bar's
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    proc = subprocess.Popen([sys.executable, "-m", "voltools", *argv], stdout=subprocess.PIPE,
                            stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = proc.stdout.read().decode()
    return proc.wait(timeout=120), out, seen.decode(errors="replace")


@pytest.fixture
def env(tmp_path, isolated_state):
    return dict(os.environ, VOLTOOLS_STATE_DIR=str(isolated_state))


def test_480_points_redraw_the_bar_at_most_once_each(monkeypatch):
    clock = itertools.count(0, 0.3)  # each look at the clock 0.3 s on, as a point takes: no redraw held back
    monkeypatch.setattr("tqdm.std.time", lambda: next(clock))
    terminal = Terminal()
    with _progress(480, stream=terminal) as progress:
        for i in range(480):
            progress(1, f"host read round {i // 160 + 1}")
    redraws = terminal.getvalue().count("\r")
    assert 480 <= redraws <= 480 + 4, redraws  # one a point, plus the bar's first and last draw


def test_a_label_alone_is_drawn_but_counts_no_point():
    """A swarm task's state change names itself on the bar without a point done."""
    terminal = Terminal()
    with _progress(4, stream=terminal) as progress:
        progress(0, "tmpfs pending")
        progress(0, "tmpfs running")
        assert "tmpfs running" in terminal.getvalue() and "0/4" in terminal.getvalue()


@pytest.mark.parametrize("stream,quiet", [(io.StringIO(), False), (Terminal(), True)])
def test_no_bar_in_a_log_or_when_quiet(stream, quiet):
    with _progress(10, quiet, stream=stream) as progress:
        for _ in range(10):
            progress(1, "host read round 1")
    assert stream.getvalue() == ""


@needs_fio
def test_a_sweep_in_a_terminal_prints_the_plan_then_one_redraw_a_call(env, raw_root):
    status, out, err = _sweep_in_a_terminal([*HOST_SWEEP, "--data-dir", str(raw_root), "--run-id", "tty1"], env)
    assert status == 0, err
    header = err.split("\r")[0].splitlines()
    assert header[0] == "plan: run tty1: 12 points on 1 target(s) in 2 round(s)"
    assert header[1] == "plan:   host  12 points, 60 KiB laid out, 112 KiB read"  # the 1-block points: first blocks of the 2-block reads
    assert header[2].startswith("plan: estimated time about ") and "not measured here" in header[2]
    assert header[2].split(": ")[2].startswith("2 fio calls x ")  # one replayed call a round
    assert 2 <= err.count("\r") <= 2 + 4, err.count("\r")  # one a call, plus the first and last draw
    assert f"run tty1: {POINTS} points in {raw_root.resolve() / 'tty1'}" in out


@needs_fio
def test_quiet_draws_nothing_on_the_terminal_but_the_table(env, raw_root):
    status, out, err = _sweep_in_a_terminal([*HOST_SWEEP, "--data-dir", str(raw_root), "--quiet"], env)
    assert status == 0 and err == ""
    assert out.splitlines()[-1].split()[:3] == ["host", str(POINTS), "0"]


@needs_fio
def test_a_log_gets_the_plan_and_no_bar(env, raw_root):
    done = subprocess.run([sys.executable, "-m", "voltools", *HOST_SWEEP, "--data-dir", str(raw_root)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and len(done.stderr.splitlines()) == 3
    assert done.stderr.startswith("plan: run ")


def test_quiet_still_prints_errors(raw_root, capsys):
    assert main(["sweep", "--target", "host", "--bs", "4q", "--quiet", "--data-dir", str(raw_root)]) == 2
    assert capsys.readouterr().err.startswith("voltools: error: ")


def test_a_dry_run_prints_the_plan_header_and_makes_nothing(raw_root, isolated_state, capsys):
    assert main([*HOST_SWEEP, "--data-dir", str(raw_root), "--run-id", "d1", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "plan: run d1: 12 points on 1 target(s) in 2 round(s)" and not err
    assert lines[2].startswith("plan: estimated time about ")
    assert lines[-1] == "plan: nothing was made (--dry-run)" and not raw_root.exists()


def test_the_closing_table_says_what_its_columns_are_in_words_and_units(capsys):
    assert main(["summary", "--run-id", "sample", "--data-dir", str(RAW)]) == 0
    header = capsys.readouterr().out.splitlines()[1]
    for words in ("read MiB/s (largest B and N)", "p50 latency µs (smallest B)",
                  "allocated / data size (largest file)", "read time from"):
        assert words in header
    assert "_" not in header


def test_make_report_sweeps_and_reports_the_same_run_id(tmp_path):
    """A `date` that answers differently each call: the id is still computed once."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "date").write_text('#!/bin/sh\nn=$(cat "$0.n" 2>/dev/null || echo 0); echo $((n+1)) > "$0.n"; '
                               'echo "20260101T0000${n}Z"\n')
    (fake / "date").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    env.pop("RUN_ID", None)
    lines = subprocess.run(["make", "-n", "--no-print-directory", "report"], capture_output=True, text=True,
                           env=env, cwd=ROOT, check=True).stdout
    ids = re.findall(r"--run-id (\S+)", lines)
    assert len(ids) == 2 and ids[0] == ids[1] and ids[0].endswith("-report"), ids
    assert f"reports/{ids[0]}.html" in lines
