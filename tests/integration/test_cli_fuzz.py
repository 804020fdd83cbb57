"""Fuzzed command line: whatever the option values, `voltools sweep` either accepts them or answers
with one line on stderr and exit status 2, and creates nothing (no run folder, no state).

`--dry-run` runs every check a sweep runs (the same functions) and stops before anything is made,
so every accepted input is checked without measuring; every refused input is then given to a real
sweep too, which must refuse it with the same line.
"""
import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from voltools.cli import main

JUNK = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FFF, blacklist_categories=("Cs",)), max_size=12)
NUMBERS = st.integers(min_value=-2, max_value=10**13).map(str)


def _values(*values):
    """Mostly the first value (valid), else any of them, a number or junk: both sides get tried."""
    return st.one_of(st.just(values[0]), st.just(values[0]), st.just(values[0]),
                     st.sampled_from(values), NUMBERS, JUNK)


GRID = {
    "--bs": _values("4k", "64k,1m", "512", "1000", "0", "4k,4k", "1t", "²", "4 k"),
    "--blocks": _values("1", "1,16", "0", "-1", "²", "1,1", "10000000000"),
    "--rw": _values("read", "randread", "read,randread", "read,read", "write", ""),
    "--direct": _values("1", "0", "0,1", "yes", "１"),
    "--iodepth": _values("1", "1,8", "¹", "0", "1025"),
    "--repeat": _values("1", "3", "３", "0", "1001"),
    "--memory": _values("256m", "much", "0"),
    "--run-id": _values("r1", "a_b", "x\n", "", "../up", "a;rm -rf ~", "x" * 49),
    "--batch": _values("1", "50", "0"),
    "--preset": _values("quick", "default", "thorough", "fast", "Quick", ""),
    "--numjobs": _values("1", "1,4", "0", "65", "²"),
    "--fio-opt": _values("ioengine=pvsync2", "rate_iops=100", "size=1g", "bs=4k", "ioengine=mmap", "ioengine",
                         "nice=99", "cpus_allowed=0;1", "=1", "write_lat_log=x"),
}
FLAGS = ["--fresh-rounds", "--no-pack", "-q"]
_counter = itertools.count()


def _targets(bind):
    specs = ["tmpfs:size=32m", "local", "layer", "host", f"bind:path={bind}", "tmpfs:size=1t",
             "loop:size=1t", "host:path=/proc", "bind:path=/", "bind:path=/etc", "nfs", "tmpfs:speed=1"]
    return st.lists(st.one_of(st.sampled_from(specs[:5]), st.sampled_from(specs), JUNK), min_size=1, max_size=3)


def _accepted_or_refused(argv, raw, isolated_state, capsys):
    """--dry-run accepts argv (a plan, nothing made) or refuses it in one line, exit 2, as a real run does."""
    code, out, err = _run(argv + ["--dry-run"], capsys)
    assert "Traceback" not in err
    event(f"exit {code}")
    if code == 0:
        assert out.startswith("plan: run ") and out.endswith("plan: nothing was made (--dry-run)\n") and not err
    else:
        assert code == 2, (argv, code, err)
        assert err.startswith("voltools: error: ") and err.count("\n") == 1, (argv, err)
        again = _run(argv, capsys)
        assert again[0] == 2 and again[2] == err, (argv, again, err)
    assert not raw.exists(), f"{argv} created {raw}"
    assert not isolated_state.exists() or not any(isolated_state.rglob("*")), f"{argv} made state"


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_sweep_options_are_accepted_or_refused_in_one_line(data, tmp_path, isolated_state, capsys):
    bind = tmp_path / "bind"
    bind.mkdir(exist_ok=True, mode=0o755)
    raw = tmp_path / f"raw{next(_counter)}"
    argv = ["sweep"]
    for target in data.draw(_targets(bind)):
        argv.append(f"--target={target}")
    for option in data.draw(st.lists(st.sampled_from(sorted(GRID)), unique=True, max_size=len(GRID))):
        argv.append(f"{option}={data.draw(GRID[option])}")
    argv += data.draw(st.lists(st.sampled_from(FLAGS), unique=True))
    argv += ["--data-dir", str(raw)]

    _accepted_or_refused(argv, raw, isolated_state, capsys)


PERSIST = {
    "--size": _values("32m", "16m", "128k", "100k", "0", "1t", "fast", "３m"),
    "--run-id": GRID["--run-id"],
    "--migrate-to": _values("tmpfs:size=512m,name=d", "local:name=d", "tmpfs:size=16m,name=d", "layer:name=d", "host",
                            "local", "loop:fs=ext4,size=2g,name=d", "nfs:x=1", ""),
    "--migrate-sizes": _values("64m,128m", "8m,32m", "100k", "0", "1t", "x", "64m,,128m", ""),
    "--migrate-repeat": _values("1", "3", "0", "-1", "x", "1e9"),
    "--move-size": _values("40g", "0", "big", "1e3", "-4g"),
}


def _persist_targets(bind):
    good = ["tmpfs:size=64m", "local", "layer", f"bind:path={bind}", "local:name=b"]
    return st.lists(st.one_of(st.sampled_from(good), st.sampled_from(good), _targets(bind).map(lambda t: t[0])),
                    min_size=1, max_size=3)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_persist_options_are_accepted_or_refused_in_one_line(data, tmp_path, isolated_state, capsys):
    """The same for `voltools persist`: --dry-run runs its checks; a refused input is refused by a real
    run with the same line, before anything is made."""
    bind = tmp_path / "bind"
    bind.mkdir(exist_ok=True, mode=0o755)
    raw = tmp_path / f"raw{next(_counter)}"
    argv = ["persist", *(f"--target={t}" for t in data.draw(_persist_targets(bind)))]
    for option in data.draw(st.lists(st.sampled_from(sorted(PERSIST)), unique=True)):
        argv.append(f"{option}={data.draw(PERSIST[option])}")
    argv += ["--data-dir", str(raw)]

    _accepted_or_refused(argv, raw, isolated_state, capsys)
