"""Fuzzed command line of the commands that read runs: `summary`, `predict`, `compare` and
`report --dry-run`. Whatever the values, each answers (exit 0; 1 only for compare's gate) or
refuses in one line on stderr with exit 2; none prints a traceback, and none makes or changes a
file: the data folder, the working folder and the report's folder are the same afterwards.

The runs are copies of the committed ones (a sweep with a question, a persist run, a run of two
nodes), so an accepted input really fits and compares."""
import itertools
import shutil
import signal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from repo import ROOT
from voltools.cli import main

JUNK = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FFF, blacklist_categories=("Cs",)), max_size=12)
NUMBERS = st.integers(min_value=-2, max_value=10**13).map(str)
RUNS = ("sample", "sample-persist", "nodes")
FLAG, OUTPUT = "flag", "output"  # an option without a value; the report's path (drawn under tmp_path)
_counter = itertools.count()


def _values(*values):
    """Mostly the first value (valid), else any of them, a number or junk: both sides get tried."""
    return st.one_of(st.just(values[0]), st.just(values[0]), st.sampled_from(values), NUMBERS, JUNK)


RUN_IDS = _values("sample", "nodes", "sample-persist", "no-such-run", "../sample", "sample/", "", ".")
OPTIONS = {
    "summary": {"--json": FLAG},
    "predict": {"--dataset-size": _values("40g", "4g", "0", "-1g", "1e3", "big", "1t", "4 g"),
                "--bs": _values("64k", "4k", "0", "3", "1t", "64K", "k"), "--json": FLAG},
    "compare": {"--question": _values("4g@64k", "40g@1m", "4g", "@64k", "4g@0", "0@64k", "4g@64k@1", "4g@@64k"),
                "--fail-if-slower": _values("5%", "50%", "5", "0%", "-5%", "101%", "x", "nan%", "inf%", "%"),
                "--json": FLAG},
    "report": {"--dataset-size": _values("40g", "0", "big"), "--bs": _values("64k", "0", "x"),
               "--objective": _values("600", "0", "-1", "nan", "inf", "x", "1e309", "６00", "6_00", "1e-320"),
               "--baseline-run": RUN_IDS, "--persist-run": RUN_IDS, "-o": OUTPUT},
}


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Copies of the committed runs in a folder of their own."""
    folder = tmp_path_factory.mktemp("fuzzread") / "raw"
    for run in RUNS:
        shutil.copytree(ROOT / "data" / "raw" / run, folder / run)
    return folder


def _snapshot(*folders):
    """Every path under `folders` with its size and modification time."""
    return {(str(p), p.stat().st_size, p.stat().st_mtime_ns) for f in folders if f.exists() for p in f.rglob("*")}


def _outputs(tmp_path):
    out = tmp_path / "out"
    return _values(str(out / "r.html"), str(out / "new" / "r.html"), "", "/", str(out), "/etc/passwd/x.html",
                   str(out) + "/")


def _argv(data, command, tmp_path):
    argv = [command]
    if command == "compare":
        argv += [data.draw(RUN_IDS), data.draw(RUN_IDS)]
    else:
        argv += [f"--run-id={data.draw(RUN_IDS)}"]
    for option in data.draw(st.lists(st.sampled_from(sorted(OPTIONS[command])), unique=True)):
        strategy = OPTIONS[command][option]
        if strategy == FLAG:
            argv.append(option)
            continue
        value = data.draw(_outputs(tmp_path) if strategy == OUTPUT else strategy)
        argv.append(f"{option}={value}")
    return argv + (["--dry-run"] if command == "report" else [])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_read_commands_answer_or_refuse_in_one_line_and_make_nothing(data, raw, tmp_path, monkeypatch, capsys):
    work = tmp_path / f"work{next(_counter)}"
    work.mkdir()
    monkeypatch.chdir(work)
    (tmp_path / "out").mkdir(exist_ok=True)
    command = data.draw(st.sampled_from(sorted(OPTIONS)))
    argv = _argv(data, command, tmp_path) + ["--data-dir", str(raw)]
    before = _snapshot(raw, tmp_path / "out")

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        code = main(argv)
    finally:  # main sets its own, for a process of its own
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    out, err = capsys.readouterr()

    event(f"{command} exit {code}")
    assert "Traceback" not in out + err
    gate = command == "compare" and any(a.startswith("--fail-if-slower") for a in argv)
    if code == 0:
        assert out and not err, (argv, err)
        assert command != "report" or out.endswith("report: nothing was made (--dry-run)\n"), out
    elif code == 1:
        assert gate, (argv, err)
        assert err.startswith("voltools: error: ") and "slower by more than" in err and err.count("\n") == 1
    else:
        assert code == 2, (argv, code, err)
        assert err.startswith("voltools: error: ") and err.count("\n") == 1, (argv, err)
    assert _snapshot(raw, tmp_path / "out") == before, f"{argv} changed a file"
    assert not any(work.iterdir()), f"{argv} made {sorted(work.iterdir())}"
