"""Scriptable output: summary --json, doctor --json, parse-fio - (stdin) and --format json."""
import json
import math
import subprocess
import sys

from repo import CORPUS, RAW
from voltools.measuring import doctor
from voltools.cli import main
from voltools.store import load_run
from voltools.analysis.summary import target_summary

CORPUS_FILE = CORPUS / "fio-3.33-randwrite-4jobs-disk_util.json"
SUMMARY_FIELDS = ["target", "points", "errors", "read_mib_per_s_at_max_bs", "p50_latency_us_at_min_bs",
                  "allocated_over_logical_ratio", "read_time_source"]


def _run(args, stdin=b""):
    return subprocess.run([sys.executable, "-m", "voltools", *args], input=stdin, capture_output=True)


def test_summary_json_has_the_table_figures(capsys):
    assert main(["summary", "--run-id", "sample", "--data-dir", str(RAW), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    table = target_summary(load_run("sample", RAW))
    assert [r["target"] for r in rows] == list(table["target"])
    for row, (_, want) in zip(rows, table.iterrows()):
        assert list(row) == SUMMARY_FIELDS
        assert row["points"] == want["points"] and row["errors"] == want["errors"]
        assert math.isclose(row["read_mib_per_s_at_max_bs"], want["read_MiB_s_max_bs"])
        assert math.isclose(row["p50_latency_us_at_min_bs"], want["p50_us_min_bs"])


def test_summary_json_missing_run_is_one_line(tmp_path, capsys):
    assert main(["summary", "--run-id", "nope", "--data-dir", str(tmp_path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1


def test_doctor_json(monkeypatch, capsys):
    found = [doctor.Check("fio", True, "fio-3.33 at /usr/bin/fio"),
             doctor.Check("docker engine", False, "no engine", "start Docker")]
    monkeypatch.setattr(doctor, "checks", lambda: found)
    assert main(["doctor", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"check": "fio", "ok": True, "detail": "fio-3.33 at /usr/bin/fio", "fix": ""},
        {"check": "docker engine", "ok": False, "detail": "no engine", "fix": "start Docker"}]
    monkeypatch.setattr(doctor, "checks", lambda: found[:1])
    assert main(["doctor", "--json"]) == 0
    capsys.readouterr()


def test_parse_fio_json_rows_with_null(capsys):
    assert main(["parse-fio", "--format", "json", str(CORPUS_FILE)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and rows[0]["source"] == str(CORPUS_FILE)
    assert rows[0]["rw"] == "randwrite" and rows[0]["bs_bytes"] == 4096 and rows[0]["numjobs"] == 4
    assert rows[0]["lat_p50_ns"] is None  # NaN/NA as null


def test_parse_fio_stdin_matches_the_file():
    from_file = _run(["parse-fio", str(CORPUS_FILE)])
    from_stdin = _run(["parse-fio", "-"], CORPUS_FILE.read_bytes())
    assert from_stdin.returncode == 0 and from_file.returncode == 0
    strip = lambda out: [line.split(",", 1)[1] for line in out.decode().splitlines()]  # noqa: E731
    assert strip(from_stdin.stdout) == strip(from_file.stdout)
    assert from_stdin.stdout.decode().splitlines()[1].startswith("-,fio-3.33,")


def test_parse_fio_stdin_json_format():
    out = _run(["parse-fio", "--format", "json", "-"], CORPUS_FILE.read_bytes())
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 4


def test_parse_fio_stdin_not_fio_is_one_line():
    out = _run(["parse-fio", "-"], b"hello world\n")
    assert out.returncode == 2 and out.stdout == b""
    assert out.stderr.decode() == ("voltools: error: fio output <stdin>: no JSON object found "
                                   "(fio prints one with --output-format=json)\n")


def test_parse_fio_stdin_over_64_mib_is_one_line():
    out = _run(["parse-fio", "-"], b" " * ((64 << 20) + 1))
    err = out.stderr.decode()
    assert out.returncode == 2 and err.count("\n") == 1 and "larger than 64 MiB" in err


def test_parse_fio_stdin_once(capsys):
    assert main(["parse-fio", "-", "-"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_parse_fio_bad_format(capsys):
    assert main(["parse-fio", "--format", "xml", str(CORPUS_FILE)]) == 2
    assert "invalid choice" in capsys.readouterr().err
