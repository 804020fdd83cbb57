"""`voltools compare RUN_A RUN_B`: ratio of expected full-read times with its interval, a verdict,
and a --fail-if-slower gate."""
import json

import pytest

from voltools.cli import main
from voltools.analysis.compare import compare_runs, gate, parse_percent
from voltools.errors import UsageError
from voltools.store import RunStore, load_run
from repo import RAW

SAMPLE = RunStore.open("sample", RAW)


@pytest.fixture(scope="module")
def slower_root(tmp_path_factory):
    """data dir with the sample and a copy whose tmpfs read times are 1.3x, same question."""
    root = tmp_path_factory.mktemp("raw")
    points = SAMPLE.points()
    meta = SAMPLE.read_meta()
    for run_id, factor in (("sample", 1.0), ("slower", 1.3)):
        copy = points.copy()
        copy["run_id"] = run_id
        copy.loc[copy["target"] == "tmpfs", "read_time_s"] *= factor
        store = RunStore.create(run_id, root, meta={**meta, "run_id": run_id})
        store.append_points(copy)
    return root


def _compare(capsys, *args):
    status = main(["compare", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_sample_against_itself_is_no_change(capsys):
    status, out, err = _compare(capsys, "sample", "sample", "--data-dir", str(RAW), "--fail-if-slower", "5%")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("sample over sample: 4 GiB read in 64 KiB blocks")
    assert len(lines) == 10 and all(line.endswith("no detectable change") for line in lines[1:9])
    # the sample was laid out once: the interval leaves out where its files lie, and says so
    assert lines[9].startswith("note: run A and B laid each target out once") and "--fresh-rounds" in lines[9]


def test_sample_against_itself_json(capsys):
    status, out, _ = _compare(capsys, "sample", "sample", "--data-dir", str(RAW), "--json")
    rows = json.loads(out)
    assert status == 0 and len(rows) == 8
    for row in rows:
        assert row["ratio"] == pytest.approx(1) and row["beta_ratio"] == pytest.approx(1)
        assert row["alpha_ratio"] == pytest.approx(1)
        assert row["ratio_low"] < 1 < row["ratio_high"] and row["verdict"] == "no detectable change"
        assert (row["dataset_bytes"], row["bs_bytes"]) == (4 << 30, 64 << 10)
        assert row["fresh_rounds_a"] is False and row["fresh_rounds_b"] is False


def test_scaled_target_is_slower_and_fails_the_gate(capsys, slower_root):
    status, out, err = _compare(capsys, "sample", "slower", "--data-dir", str(slower_root), "--json",
                                "--fail-if-slower", "5%")
    rows = json.loads(out)
    assert status == 1 and err.count("\n") == 1 and "slower by more than 5%: first tmpfs" in err
    for row in rows:
        if row["target"] == "tmpfs":
            assert row["verdict"] == "slower" and row["ratio"] == pytest.approx(1.3)
            assert row["ratio_low"] > 1.05 and row["beta_ratio"] == pytest.approx(1 / 1.3)
        else:
            assert row["verdict"] == "no detectable change" and row["ratio"] == pytest.approx(1)


def test_gate_passes_the_others_and_a_loose_threshold(capsys, slower_root):
    points_a, points_b = load_run("sample", slower_root), load_run("slower", slower_root)
    table = compare_runs(points_a, points_b, 4 << 30, 64 << 10)
    assert set(gate(table, 5)["target"]) == {"tmpfs"}
    assert gate(table[table["target"] != "tmpfs"], 5).empty
    assert main(["compare", "sample", "slower", "--data-dir", str(slower_root), "--fail-if-slower", "200%"]) == 0
    assert main(["compare", "slower", "sample", "--data-dir", str(slower_root), "--fail-if-slower", "5"]) == 0
    out = capsys.readouterr().out
    assert "faster" in out  # the reverse comparison: tmpfs got faster


def test_unknown_group_never_fails_the_gate(slower_root):
    points_a = load_run("sample", slower_root)
    tiny = points_a.groupby(["target", "rw"]).head(1)  # one point per group: cannot be fitted
    table = compare_runs(points_a, tiny, 4 << 30, 64 << 10)
    assert set(table["verdict"]) == {"unknown"} and all(table["why"].str.startswith("run B: "))
    assert gate(table, 0).empty


def test_question_from_run_a_else_a_usage_error(capsys, tmp_path):
    points = SAMPLE.points()
    meta = {k: v for k, v in SAMPLE.read_meta().items() if k != "question"}
    RunStore.create("asked", tmp_path, meta={**SAMPLE.read_meta(), "run_id": "asked"}).append_points(points)
    RunStore.create("plain", tmp_path, meta={**meta, "run_id": "plain"}).append_points(points)
    assert main(["compare", "asked", "plain", "--data-dir", str(tmp_path)]) == 0
    assert "4 GiB read in 64 KiB blocks" in capsys.readouterr().out
    assert main(["compare", "plain", "plain", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give --question SIZE@BS" in err
    assert main(["compare", "plain", "plain", "--data-dir", str(tmp_path), "--question", "1g@1m"]) == 0
    assert "1 GiB read in 1 MiB blocks" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--fail-if-slower", "abc"], "--fail-if-slower 'abc' is not a percentage"),
    (["--fail-if-slower=-5%"], "is not a percentage"),
    (["--question", "4g"], "is not SIZE@BS"),
])
def test_bad_options_are_one_line_exit_2(capsys, args, message):
    status, out, err = _compare(capsys, "sample", "sample", "--data-dir", str(RAW), *args)
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err


def test_missing_run_is_one_line_exit_2(capsys):
    status, out, err = _compare(capsys, "sample", "nope", "--data-dir", str(RAW))
    assert status == 2 and out == "" and err.count("\n") == 1 and "no run nope" in err


def test_the_placement_note_names_the_runs_laid_out_once():
    from voltools.analysis.compare import placement_note
    fresh, once = {"request": {"fresh_rounds": True}}, {"request": {"fresh_rounds": False}}
    assert placement_note(fresh, fresh) == ""
    assert placement_note(once, fresh).startswith("run A laid each target out once")
    assert placement_note(fresh, {}).startswith("run B laid")  # a run made before the option


def test_parse_percent():
    assert parse_percent("10%") == 10 and parse_percent("2.5") == 2.5
    with pytest.raises(UsageError):
        parse_percent("ten")
