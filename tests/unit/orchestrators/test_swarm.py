"""voltools.orchestrators.swarm without an engine: what Swarm cannot do is refused, the service logs
are parsed, the task script runs its argv segments without a shell (tests/integration/test_swarm_sweep.py
has the real service on the real engine)."""
import shutil
import subprocess

import pytest

from voltools.api import sweep
from voltools.errors import UsageError
from voltools.measuring import taskscript
from voltools.measuring.plan import make_plan
from voltools.orchestrators import swarm

SMALL = dict(bs="4k,64k", blocks="1,8", rw="read", repeat=1)
DETAILS = ("com.docker.swarm.node.id=n0d3,com.docker.swarm.service.id=s3rv,"
           "com.docker.swarm.task.id={task} ")


@pytest.mark.parametrize("kwargs,needle", [
    (dict(targets=["loop:fs=ext4,size=128m"]), "accepted kinds are local, tmpfs"),
    (dict(targets=["layer"]), "accepted kinds are local, tmpfs"),
    (dict(targets=["tmpfs"], mode="everywhere"), "use replicated or global"),
    (dict(targets=["tmpfs"], run_id="r1.2"), "no '.'"),
    (dict(targets=["tmpfs:name=t.1"], run_id="r1"), "not accepted by Docker Swarm"),
    (dict(targets=["tmpfs:name=" + "t" * 40], run_id="r" * 20), "at most 63"),
    (dict(targets=["tmpfs"], run_id="r_1"), "no '_'"),
    (dict(targets=["tmpfs"], run_id=""), "run id '' is not accepted"),
])
def test_refuses_what_swarm_cannot_do(kwargs, needle):
    with pytest.raises(UsageError, match=needle) as info:
        sweep(orchestrator="swarm", **{**SMALL, **kwargs})
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- logs and the task script


def test_split_log_line_strips_api_and_cli_prefixes():
    assert swarm.split_log_line(DETAILS.format(task="t1") + "hello world\n") == ("t1", "n0d3", "hello world\n")
    stamped = "2026-11-27T02:03:46.090631758Z " + DETAILS.format(task="t1") + "x | y\n"
    assert swarm.split_log_line(stamped) == ("t1", "n0d3", "x | y\n")
    escaped = "com.docker.swarm.node.id=a%2Cb,com.docker.swarm.task.id=t%202 msg"
    assert swarm.split_log_line(escaped) == ("t 2", "a,b", "msg")
    cli = "voltools-r-tmpfs.1.y32y5rfinwtyh41k87gkvxubk@vm    | {\n"
    assert swarm.split_log_line(cli) == ("y32y5rfinwtyh41k87gkvxubk", "vm", "{\n")
    for plain in ("plain text\n", '  "jobname" : "p0",\n', "a=b c\n", "x@y z | w\n", "",
                  "2026-11-27T02:03:46.09Z only a time\n"):
        assert swarm.split_log_line(plain) == ("", "", plain)


def test_task_logs_group_interleaved_tasks_and_join_partial_frames():
    frames = [DETAILS.format(task="a") + "@@voltools:out:0\n", DETAILS.format(task="b") + "one\n",
              (DETAILS.format(task="a") + "par").encode(), DETAILS.format(task="a") + "tial\n"]
    logs = swarm.task_logs(frames)
    assert logs["a"] == ("n0d3", "@@voltools:out:0\npartial\n") and logs["b"] == ("n0d3", "one\n")


@pytest.mark.parametrize("shell", [[], ["busybox"]], ids=["sh", "busybox"])
def test_script_runs_argv_segments_without_a_shell_reading_them(shell, tmp_path):
    if shell and not shutil.which(shell[0]):
        pytest.skip("no busybox on this host")
    hostile = ["printf", "%s|", "$(touch pwned)", "`touch pwned`", "a b; touch pwned", "*"]
    steps = [hostile, ["sh", "-c", "echo oops >&2; exit 3"], ["no-such-command"], ["printf", "no newline"]]
    out = subprocess.run([*shell, *taskscript.task_command(steps)], capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}, check=True).stdout
    results = taskscript.parse_sections(out)
    assert not (tmp_path / "pwned").exists()
    assert results[0].stdout == "$(touch pwned)|`touch pwned`|a b; touch pwned|*|" and results[0].exit_code == 0
    assert (results[1].exit_code, results[1].stderr) == (3, "oops\n")
    assert results[2].exit_code == 127 and "no-such-command" in results[2].stderr
    assert results[3].stdout == "no newline" and out.rstrip().endswith("@@voltools:done")


def test_replay_refuses_commands_out_of_step():
    plan = make_plan(["tmpfs:size=64m"], "4k", "1")
    steps = taskscript.task_steps(plan, plan.targets[0], "r1")
    replay = taskscript.TaskReplay(steps, taskscript.parse_sections(""))
    assert replay.run(steps[0]).exit_code == -1, "a step the task never reached reads as failed"
    with pytest.raises(Exception, match="out of step"):
        replay.run(["rm", "-rf", "/"])


def test_task_steps_work_in_the_targets_own_folder_and_check_the_reader():
    plan = make_plan(["tmpfs:size=64m", "local"], "4k", "1")
    first, second = (taskscript.task_steps(plan, spec, "r1") for spec in plan.targets)
    assert first[0] == ["mkdir", "-p", "/data/voltools_r1_tmpfs"] and second[0][-1] == "/data/voltools_r1_local"
    assert first[5][:2] == ["sh", "-c"] and first[5][4:] == ["/data/voltools_r1_tmpfs/vt-4096.dat"]
    assert taskscript.node_tag("abc_DEF.123456789/host") == "abcDEF1234" and taskscript.node_tag("/") == "node"
