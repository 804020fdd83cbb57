"""The sweeps users ask for: presets, numjobs series, and --fio-opt (no engine needed)."""
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltools.errors import UsageError
from voltools.measuring import jobs, replay, rows
from voltools.measuring.fioopts import ALLOWED, IOENGINES, parse_fio_opts
from voltools.measuring.plan import GRID_FIELDS, PRESETS, Point, SweepRequest, make_plan
from voltools.points import POINT_KEY
from voltools.store import ADDED_REQUEST_FIELDS


# ---------------------------------------------------------------- presets

def test_the_default_preset_is_the_request_defaults():
    assert SweepRequest.of("local", preset="default") == SweepRequest.of("local") == SweepRequest(("local",))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_gives_its_grid_and_given_options_override_it(name):
    request = SweepRequest.of("local", preset=name, bs="8k", repeat=1)
    assert request.bs == "8k" and request.repeat == 1  # given: kept
    assert request.blocks == PRESETS[name]["blocks"] and request.rw == PRESETS[name]["rw"]
    assert set(PRESETS[name]) <= set(GRID_FIELDS)


def test_presets_grow_from_quick_to_thorough():
    plans = {name: make_plan(["local"], **grid) for name, grid in PRESETS.items()}
    points = [plans[n].total_points() for n in ("quick", "default", "thorough")]
    assert points == sorted(points) and len(set(points)) == 3
    assert plans["thorough"].repeat == 5 and plans["thorough"].iodepth == [1]
    assert all(c.replayed for c in plans["thorough"].calls("local") if c.points[0].blocks <= 256)


def test_an_unknown_preset_is_refused_naming_the_presets():
    with pytest.raises(UsageError, match="--preset 'fast' is not accepted: use quick, default, thorough"):
        SweepRequest.of("local", preset="fast")


def test_a_preset_is_not_stored_but_its_grid_is():
    grid = SweepRequest.of("local", preset="quick").grid()
    assert "preset" not in grid and grid["bs"] == PRESETS["quick"]["bs"]


# ---------------------------------------------------------------- numjobs

def test_a_point_built_positionally_has_one_job_and_its_key_follows_point_key():
    point = Point("t", "read", 1, 4, 4096, 16, 0)
    assert point.numjobs == 1
    assert point.key() == ("t", "read", 1, 4, 1, 4096, 16, 0)
    as_row = dict(target="t", rw="read", direct=1, iodepth=4, numjobs=1, bs_bytes=4096, blocks=16, repeat=0)
    assert tuple(as_row[c] for c in POINT_KEY) == point.key()
    assert Point("t", "read", 1, 4, 4096, 16, 0, 2).key() != point.key()


def test_a_numjobs_series_multiplies_the_points_and_splits_the_calls():
    plan = make_plan(["local"], bs="64k", blocks="16", rw="read", iodepth="1,4", numjobs="1,2", repeat=1)
    assert sorted((p.iodepth, p.numjobs) for p in plan.points("local")) == [(1, 1), (1, 2), (4, 1), (4, 2)]
    calls = plan.calls("local")
    assert [c.points[0].numjobs for c in calls if c.replayed] == [1]  # only depth 1, one job, replays
    assert all(len({p.numjobs for p in c.points}) == 1 for c in calls)


def test_points_of_several_jobs_are_not_replayed():
    assert replay.replayable(Point("t", "read", 1, 1, 4096, 16, 0), "fio")
    assert not replay.replayable(Point("t", "read", 1, 1, 4096, 16, 0, 2), "fio")


def test_a_point_of_several_jobs_is_one_grouped_job_timed_by_its_runtime():
    argv = jobs.read_argv("/w", [Point("t", "read", 1, 1, 4096, 16, 0, 4)])
    assert "--numjobs=4" in argv and "--group_reporting=1" in argv
    assert argv.index("--numjobs=4") < argv.index("--stonewall")
    job = {"lat_mean_ns": 1e5, "total_ios": 64, "runtime_ms": 3}
    assert rows.read_time(job, Point("t", "read", 1, 1, 4096, 16, 0, 4)) == (0.003, "runtime_ms")
    assert rows.read_time(job, Point("t", "read", 1, 1, 4096, 64, 0)) == (pytest.approx(0.0064), "lat_sum")
    assert rows._io_check(job, Point("t", "read", 1, 1, 4096, 16, 0, 4)) == ""


def test_one_job_argv_is_unchanged():
    argv = jobs.read_argv("/w", [Point("t", "read", 1, 1, 4096, 16, 0)])
    assert not any(a.startswith(("--numjobs", "--group_reporting")) for a in argv)
    assert argv[argv.index("--iodepth=1") + 1:argv.index("--iodepth=1") + 4] == [
        "--ioengine=psync", "--invalidate=1", "--randrepeat=1"]


def test_numjobs_is_checked_like_the_other_counts():
    with pytest.raises(UsageError, match="--numjobs 65 is out of range"):
        make_plan(["local"], numjobs="1,65")
    with pytest.raises(UsageError, match="numjobs"):
        make_plan(["local"], numjobs="0")
    with pytest.raises(UsageError, match="--numjobs 1"):
        make_plan(["host"], reader="python", numjobs="2")


def test_an_old_request_resumes_with_one_job_and_no_options():
    assert ADDED_REQUEST_FIELDS["numjobs"] == SweepRequest().numjobs
    assert ADDED_REQUEST_FIELDS["fio_opt"] == list(SweepRequest().fio_opt)
    assert ADDED_REQUEST_FIELDS["fresh_rounds"] == SweepRequest().fresh_rounds


# ---------------------------------------------------------------- --fio-opt

VALID = {"ioengine": list(IOENGINES), "fadvise_hint": ["0", "sequential"], "norandommap": ["1"],
         "random_distribution": ["zipf:1.2", "random", "normal:5"], "thinktime": ["100us", "2"],
         "rate": ["50m", "1000"], "rate_iops": ["500"], "invalidate": ["0"], "hipri": ["1"], "fixedbufs": ["0"],
         "cpus_allowed": ["1", "0-3,6"], "nice": ["-20", "19", "0"], "prio": ["0", "7"]}
REFUSED_KEYS = ["size", "bs", "rw", "readwrite", "direct", "iodepth", "numjobs", "filename", "directory",
                "write_lat_log", "write_iolog", "output", "name", "ioengine ", "IOENGINE", "exec_prerun",
                "create_on_open", "unlink", "trim_percentage", "verify", ""]


def test_every_allowed_key_has_valid_examples():
    assert set(VALID) == set(ALLOWED)


@pytest.mark.parametrize("key,value", [(k, v) for k, vs in VALID.items() for v in vs])
def test_valid_options_pass_in_order_and_reach_the_job(key, value):
    opts = parse_fio_opts([f"{key}={value}"])
    assert opts == ((key, value),)
    argv = jobs.read_argv("/w", [Point("t", "read", 1, 1, 4096, 16, 0)], fio_opts=opts)
    assert argv.count(f"--{key}={value}") == 1 and sum(a.startswith(f"--{key}=") for a in argv) == 1


@pytest.mark.parametrize("key", REFUSED_KEYS)
def test_options_that_change_what_is_read_are_refused(key):
    with pytest.raises(UsageError, match="is not an option voltools passes to fio: use one of ioengine"):
        parse_fio_opts([f"{key}=1"])


@given(key=st.sampled_from(sorted(ALLOWED)), value=st.text(max_size=12))
def test_a_value_is_accepted_only_when_it_matches_its_keys_pattern(key, value):
    matches = re.fullmatch(ALLOWED[key][0], value, re.ASCII) is not None
    try:
        opts = parse_fio_opts([f"{key}={value}"])
    except UsageError as exc:
        assert not matches and str(exc).startswith(f"--fio-opt {key}=") and ALLOWED[key][1] in str(exc)
        assert "\n" not in str(exc).replace(repr(value), "")
    else:
        assert matches and opts == ((key, value),)
        assert not re.search(r"[\s;|&$`'\"\\]", value)  # nothing a shell or fio's job syntax would take apart


@given(key=st.text(max_size=20).filter(lambda k: k not in ALLOWED))
def test_any_other_key_is_refused(key):
    with pytest.raises(UsageError, match="--fio-opt"):
        parse_fio_opts([f"{key}=1"])


def test_a_key_given_twice_keeps_its_last_value_and_an_item_without_equals_is_refused():
    assert parse_fio_opts(["ioengine=libaio", "nice=1", "ioengine=pvsync2"]) == (("nice", "1"), ("ioengine", "pvsync2"))
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        parse_fio_opts(["ioengine"])


def test_a_run_with_fio_options_is_not_packed_and_keeps_them_in_its_request():
    request = SweepRequest.of("local", bs="4k", blocks="16", fio_opt=["ioengine=pvsync2"])
    assert request.grid()["fio_opt"] == ["ioengine=pvsync2"]
    plan = request.plan()
    assert plan.fio_opts == (("ioengine", "pvsync2"),)
    assert not any(c.replayed for c in plan.calls("local"))
    assert any(c.replayed for c in SweepRequest.of("local", bs="4k", blocks="16").plan().calls("local"))
    assert SweepRequest.of(**request.grid()).plan().fio_opts == plan.fio_opts  # resume reads it back


def test_the_users_ioengine_replaces_voltools_own():
    argv = jobs.read_argv("/w", [Point("t", "read", 1, 4, 4096, 16, 0)], fio_opts=(("ioengine", "io_uring"),))
    assert [a for a in argv if a.startswith("--ioengine")] == ["--ioengine=io_uring"]
