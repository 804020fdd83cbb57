"""Bad input: one line on stderr (`voltools: error: ...`), exit status 2, no traceback, nothing
created. Then a fuzz test: the parsers return a valid value or raise UsageError, nothing else."""
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltools import naming, units
from voltools.measuring import kinds, plan, targets
from voltools.cli import main
from voltools.errors import UsageError
from voltools.naming import object_name

RUN = "badinput1"

BAD_SWEEPS = [
    # numbers: ASCII digits only, by full match
    (["--target", "host", "--blocks", "²"], "ASCII digits"),
    (["--target", "host", "--iodepth", "¹"], "ASCII digits"),
    (["--target", "host", "--repeat", "３"], "--repeat"),
    (["--target", "host", "--batch", "1_0"], "--batch"),
    (["--target", "host", "--bs", "４k"], "not a size"),
    (["--target", "host", "--bs", "4k\n"], "not a size"),
    (["--target", "host", "--memory", "３m"], "--memory"),
    (["--target", "host", "--blocks", "9" * 5000], "ASCII digits"),
    # names: no trailing newline, no '_', nothing outside ASCII
    (["--target", "host", "--run-id", "x\n"], "not accepted"),
    (["--target", "host", "--run-id", "a_b"], "no '_'"),
    (["--target", "host", "--run-id", "advR_a"], "no '_'"),
    (["--target", "host", "--run-id", "é"], "not accepted"),
    (["--target", "local:name=a_b"], "no '_'"),
    # system folders and what the host cannot hold
    (["--target", "host:path=/proc"], "is /proc, a system folder, where voltools never writes"),
    (["--target", "host:path=/proc/self"], "system"),
    (["--target", "bind:path=/"], "system"),
    (["--target", "bind:path=/etc"], "system"),
    (["--target", "bind:path=/var/lib/docker"], "system"),
    (["--target", "bind:path=/var/run"], "system"),
    (["--target", "bind:path={tmp}/etc-link"], "(= /etc)"),
    (["--target", "host:path={state}"], "voltools' state folder"),
    (["--target", "bind:path={tmp}/private"], "chmod o+x"),
    (["--target", "bind:path="], "absolute"),
    (["--target", "bind:path=/tmp/a\0b"], "not a usable file name"),
    (["--target", "tmpfs:size=1t"], "MemTotal"),
    (["--target", "loop:size=1t"], "free on the filesystem holding"),
    # README's "Bad input" table
    (["--target", "nfs"], "unknown kind 'nfs'"),
    (["--target", "tmpfs", "--bs", "0"], "at least 1 byte"),
    (["--target", "tmpfs", "--bs=-4k"], "not a size"),
    (["--target", "tmpfs", "--bs", "fast"], "not a size"),
    (["--target", "tmpfs", "--bs", "1000"], "not a multiple of 512"),
    (["--target", "tmpfs", "--blocks", "0"], "whole number >= 1"),
    (["--target", "tmpfs", "--blocks", "-1"], "whole number >= 1"),
    (["--target", "tmpfs:size=16m", "--bs", "1m", "--blocks", "64"], "holds 16 MiB"),
    (["--target", "tmpfs:speed=1"], "not key=value"),
    (["--target", "local", "--run-id", "a;rm -rf ~"], "not accepted"),
    (["--target", "local", "--run-id", "../up"], "not accepted"),
    (["--target", "local", "--run-id", "x" * 60], "not accepted"),
    (["--target", "local:name=a/b"], "not accepted"),
    (["--target", "bind:path=data"], "absolute"),
    (["--target", "bind:path=/no/such/place"], "not an existing directory"),
    (["--target", "local", "--rw", "write"], "--rw 'write'"),
    (["--target", "local", "--direct", "yes"], "--direct"),
    (["--target", "local", "--memory", "much"], "--memory"),
    (["--target", "local", "--repeat", "x"], "--repeat"),
    (["--target", "local", "--reader", "python"], "measures host targets only"),
    (["--target", "host", "--reader", "python", "--iodepth", "4"], "queue depth 1 only"),
    (["--target", "host", "--reader", "spdk"], "--reader 'spdk'"),
    (["--target", "host", "--reader", "python", "--numjobs", "2"], "with one job"),
    (["--target", "host", "--reader", "python", "--fio-opt", "nice=1"], "--fio-opt is for --reader fio"),
    # presets, numjobs and fio options
    (["--target", "local", "--preset", "fast"], "--preset 'fast' is not accepted: use quick, default, thorough"),
    (["--target", "local", "--numjobs", "65"], "--numjobs 65 is out of range"),
    (["--target", "local", "--fio-opt", "size=1g"], "--fio-opt 'size' is not an option voltools passes"),
    (["--target", "local", "--fio-opt", "filename=/etc/passwd"], "use one of ioengine, fadvise_hint"),
    (["--target", "local", "--fio-opt", "ioengine=mmap"], "use psync or pvsync or pvsync2"),
    (["--target", "local", "--fio-opt", "cpus_allowed=0;reboot"], "--fio-opt cpus_allowed='0;reboot'"),
    (["--target", "local", "--fio-opt", "ioengine"], "is not KEY=VALUE"),
    # an empty run id is refused, not replaced by a made-up one
    (["--orchestrator", "swarm", "--target", "tmpfs", "--run-id", ""], "run id '' is not accepted"),
    (["--orchestrator", "k8s", "--storage-class", "standard", "--image", "r/p:1", "--run-id", ""],
     "run id '' is not accepted"),
]


@pytest.fixture
def places(tmp_path, isolated_state):
    """A symlink to /etc, a folder the reader cannot enter, voltools' (isolated) state folder."""
    (tmp_path / "etc-link").symlink_to("/etc")
    (tmp_path / "private").mkdir()
    (tmp_path / "private").chmod(0o700)
    isolated_state.mkdir()
    return {"tmp": str(tmp_path), "state": str(isolated_state)}


def _one_error_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("voltools: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("args,needle", BAD_SWEEPS)
def test_bad_sweep_input_is_one_line_and_makes_nothing(args, needle, places, raw_root, capsys):
    args = [a.replace("{tmp}", places["tmp"]).replace("{state}", places["state"]) for a in args]
    run_id = [] if "--run-id" in args else ["--run-id", RUN]
    assert main(["sweep", *args, *run_id, "--data-dir", str(raw_root)]) == 2
    assert needle in _one_error_line(capsys)
    assert not raw_root.exists(), "a refused sweep creates nothing"
    assert os.listdir(places["state"]) == [], "nor anything in voltools' state folder"


def test_the_old_engine_option_still_works_and_says_it_is_deprecated(raw_root, capsys):
    assert main(["sweep", "--target", "host", "--engine", "spdk", "--data-dir", str(raw_root)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "voltools: warning: --engine is deprecated: use --reader",
        "voltools: error: --reader 'spdk' is not accepted: use fio, python"]
    assert not raw_root.exists()


@pytest.mark.parametrize("kind", ["bind", "host"])
def test_a_working_folder_that_exists_is_refused(kind, tmp_path, raw_root, isolated_state, capsys):
    root = tmp_path / "user"
    root.mkdir()
    existing = root / object_name(RUN, kind)
    existing.mkdir()
    (existing / "thesis.txt").write_text("chapter 1")
    with pytest.raises(UsageError, match="exists"):
        targets.check_new_run([targets.parse_target(f"{kind}:path={root}")], RUN)
    code = main(["sweep", "--target", f"{kind}:path={root}", "--bs", "4k", "--blocks", "1", "--repeat", "1",
                 "--run-id", RUN, "--data-dir", str(raw_root)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.split("\r")[-1].startswith("voltools: error: ")
    assert "exists" in err and "Traceback" not in err
    assert [p.name for p in root.iterdir()] == [existing.name] and os.listdir(existing) == ["thesis.txt"]
    assert not (raw_root / RUN).exists()


@pytest.fixture
def not_fio_files(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(65 << 20)
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    return {"zero": "/dev/zero", "fifo": str(fifo), "folder": str(tmp_path), "big": str(big),
            "notes": str(notes), "absent": str(tmp_path / "absent.json")}


@pytest.mark.parametrize("which,needle", [
    ("zero", "is a character device, not a regular file"), ("fifo", "is a FIFO, not a regular file"),
    ("folder", "is a folder, not a regular file"), ("big", "larger than 64 MiB"),
    ("notes", "no JSON object found"), ("absent", "No such file or directory"),
])
def test_parse_fio_refuses_what_is_not_a_fio_output_file(which, needle, not_fio_files, capsys):
    assert main(["parse-fio", not_fio_files[which]]) == 2
    err = _one_error_line(capsys)
    assert needle in err and f"fio output {not_fio_files[which]}:" in err


@pytest.mark.parametrize("args,needle", [
    (["clean", "--run-id", ""], "run id '' is not accepted"),
    (["clean", "--run-id", "a_b"], "no '_'"),
    (["clean", "--run-id", "x\n"], "not accepted"),
    (["clean", "--run-id", "a*"], "not accepted"),
    (["summary", "--run-id", "a_b"], "not accepted"),
    (["report", "--run-id", "sample", "--persist-run", "a_b"], "not accepted"),
    (["report", "--run-id", "sample", "--persist-run", "no-such-run"], "no run no-such-run in"),
    (["report", "--run-id", "sample", "-o", "/etc/passwd/r.html"], "goes through /etc/passwd, which is not a folder"),
    (["report", "--run-id", "sample", "-o", "/etc/r.html"], "lies in /etc, a folder voltools never writes in"),
    (["report", "--run-id", "sample", "-o", "-"], "must be a file path"),
    (["report", "--run-id", "sample", "-o", "/tmp/"], "must be a file path"),
    (["report", "--run-id", "sample", "--objective", "nan"], "read-time objective 'nan' must be a number"),
])
def test_bad_run_ids_elsewhere(args, needle, raw_root, isolated_state, capsys):
    assert main(args) == 2
    assert needle in _one_error_line(capsys)


def test_clean_refuses_an_empty_or_invalid_run_id_itself():
    from voltools.measuring.cleanup import clean, leftovers
    for bad in ["", "a_b", "x\n", "a..b"]:
        with pytest.raises(UsageError):
            clean(None, bad)
        with pytest.raises(UsageError):
            leftovers(None, bad)


# ---------------------------------------------------------------- fuzz: UsageError or a valid value

TOKENS = ["4k", "64k", "1m", "0", "1", "16", "read", "randread", "1,16", "4k,64k", "²", "３", ",", " ",
          "_", "..", "/", "\n", "\0", "=", ":", "host", "bind", "tmpfs", "loop", "path=", "size=", "name=",
          "/tmp", "/etc", "/proc", "1t", "9" * 30, "-", "é", "\ud800", "fio", "python"]
ANY_TEXT = st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=8).map("".join),
                     st.text(alphabet=string.printable, max_size=30))
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _value_or_usage_error(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc) and "\r" not in str(exc), "one line"
        return None


@FUZZ
@given(ANY_TEXT)
def test_fuzz_parse_size(text):
    value = _value_or_usage_error(units.parse_size, text)
    assert value is None or (type(value) is int and 1 <= value <= units.MAX_BYTES)


@FUZZ
@given(ANY_TEXT)
def test_fuzz_parse_count_list(text):
    values = _value_or_usage_error(units.parse_count_list, text)
    assert values is None or (values and all(type(v) is int and v >= 1 for v in values)
                              and len(set(values)) == len(values))


@FUZZ
@given(ANY_TEXT)
def test_fuzz_check_name(text):
    value = _value_or_usage_error(naming.check_name, text)
    assert value is None or (value == text and naming.split_name(naming.object_name(value, "x")) == (value, "x"))


@FUZZ
@given(st.one_of(ANY_TEXT, st.tuples(st.sampled_from(["host:", "bind:", "tmpfs:", "loop:", "local:"]),
                                      ANY_TEXT).map("".join)))
def test_fuzz_parse_target(text):
    spec = _value_or_usage_error(targets.parse_target, text)
    if spec is not None:
        assert spec.kind in kinds.names() and naming.is_name(spec.name)
        if spec.target_kind.host_folder and spec.option("path"):
            real = os.path.realpath(spec.option("path"))
            assert os.path.isdir(real) and targets.system_folder(real) is None


GRID_TEXT = st.one_of(ANY_TEXT, st.sampled_from(["4k", "4k,64k", "1", "1,16", "read", "read,randread", "0,1"]))


@FUZZ
@given(st.fixed_dictionaries({"bs": GRID_TEXT, "blocks": GRID_TEXT, "rw": GRID_TEXT, "direct": GRID_TEXT,
                              "iodepth": GRID_TEXT, "repeat": GRID_TEXT, "memory": GRID_TEXT,
                              "batch": GRID_TEXT, "reader": st.sampled_from(["fio", "python", "x"])}),
       st.sampled_from([["host"], ["host", "host:path=/tmp,name=h2"]]))
def test_fuzz_make_plan_with_host_targets(kwargs, host_targets):
    made = _value_or_usage_error(plan.make_plan, host_targets, **kwargs)
    if made is not None:
        assert made.bs and made.blocks and made.total_points() >= 1
        assert len(set(made.rw)) == len(made.rw) and set(made.rw) <= set(plan.RW_MODES)
