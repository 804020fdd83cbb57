"""The command line: bad input is one line on stderr, exit status 2, nothing created."""
import subprocess
import sys


from repo import CORPUS
from voltools.cli import main


# Bad sweep input, one case per row of the README's table: tests/test_bad_input.py.


def test_no_engine_is_one_line_exit_2(raw_root, tmp_path):
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "voltools", "sweep", "--target", "local",
                          "--data-dir", str(raw_root)], capture_output=True, text=True, env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("voltools: error: no Docker Engine answers") and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr and not raw_root.exists()


def test_unknown_command_and_missing_run(capsys, raw_root):
    assert main(["frobnicate"]) == 2
    assert main(["summary", "--run-id", "nope", "--data-dir", str(raw_root)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "invalid choice" in err[0] and "no run nope" in err[1]


def test_parse_fio_prints_csv(capsys):
    assert main(["parse-fio", str(CORPUS / "fio-2.18-randread-1job-usec.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("source,fio_version,jobname") and len(lines) == 2
    assert ",random-io,0,read,randread,4096," in lines[1]


def test_parse_fio_refuses_non_fio(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    assert main(["parse-fio", str(bad)]) == 2
    assert f"fio output {bad}: no JSON object found" in capsys.readouterr().err


def test_a_reader_that_leaves_early_is_no_error():
    """`voltools parse-fio ... | head -1`: more output than a pipe holds, the reader gone after one
    line; the closed pipe ends the command quietly, exit 0, no traceback."""
    import subprocess as sp
    files = [str(CORPUS / "fio-2.18-randread-1job-usec.json")] * 400  # ~120 KB of CSV
    proc = sp.Popen([sys.executable, "-m", "voltools", "parse-fio", *files], stdout=sp.PIPE, stderr=sp.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in proc.stderr.read()
