"""voltools.measuring.replay: small points replayed in one fio call, cut back into points.

The I/O log written, its pieces, the cut of fio's latency log back into points (checked read by
read), and, with the host's real fio, a replayed call whose figures match what each point read.
"""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltools.errors import FioParseError
from voltools.measuring import replay
from voltools.measuring.jobs import data_file, data_name
from voltools.measuring.layout import Layout
from voltools.measuring.plan import Point, make_plan
from voltools.measuring.rows import replay_rows
from voltools.measuring.sessions import ExecResult
from voltools.measuring.targets import parse_target

needs_fio = pytest.mark.skipif(not shutil.which("fio"), reason="needs the host's fio")
points_st = st.lists(st.builds(Point, st.just("t"), st.sampled_from(["read", "randread"]), st.just(1), st.just(1),
                               st.sampled_from([4096, 65536]), st.integers(1, 40), st.integers(0, 2)),
                     min_size=1, max_size=12, unique_by=lambda p: p.key())


def _fake_log(points, seed, lat=lambda i: 1000 + i, prefixed=False):
    """What fio's latency log says after replaying `points`: one line a read, in order."""
    read = [points[g[0]] for g in replay.reads(points, prefixed)]
    rows = [(i, lat(i), 0, p.bs_bytes, o) for i, (p, o) in
            enumerate((p, o) for p in read for o in replay.offsets(p, seed))]
    return "\n".join(", ".join(map(str, r)) + ", 0" for r in rows) + "\n"


def test_pack_puts_each_point_in_the_first_call_it_fits_keeping_order():
    points = [Point("t", "read", 1, 1, 4096, n, 0) for n in (3000, 1000, 200, 4000, 1)]
    calls = replay.pack(points, ios=4096)
    assert [[p.blocks for p in c] for c in calls] == [[3000, 1000, 1], [200], [4000]]


@given(st.lists(st.tuples(st.sampled_from([4096, 65536, 1 << 20]), st.integers(1, replay.CALL_IOS)),
                max_size=40))
@settings(max_examples=200, deadline=None)
def test_pack_keeps_every_point_once_in_order_within_both_budgets(shapes):
    points = [Point("t", "read", 1, 1, bs, min(n, replay.CALL_BYTES // bs), i) for i, (bs, n) in enumerate(shapes)]
    calls = replay.pack(points)
    assert sorted(p.repeat for c in calls for p in c) == list(range(len(points)))
    assert all([p.repeat for p in c] == sorted(p.repeat for p in c) for c in calls)
    assert all(sum(p.blocks for p in c) <= replay.CALL_IOS for c in calls)
    assert all(sum(p.size_bytes for p in c) <= replay.CALL_BYTES for c in calls)


def test_only_small_direct_depth_1_fio_points_are_replayed():
    small = Point("t", "read", 1, 1, 4096, 16, 0)
    assert replay.replayable(small, "fio")
    assert not replay.replayable(small, "python")
    assert not replay.replayable(Point("t", "read", 0, 1, 4096, 16, 0), "fio")  # buffered: cache state
    assert not replay.replayable(Point("t", "read", 1, 8, 4096, 16, 0), "fio")  # depth > 1
    assert not replay.replayable(Point("t", "read", 1, 1, 4096, replay.CALL_IOS + 1, 0), "fio")


def test_read_is_in_order_and_randread_a_seeded_permutation_per_repeat():
    seq = Point("t", "read", 1, 1, 4096, 64, 0)
    assert replay.offsets(seq, 0) == [i * 4096 for i in range(64)]
    rand = [Point("t", "randread", 1, 1, 4096, 64, r) for r in (0, 1)]
    first, second = (replay.offsets(p, 0) for p in rand)
    assert sorted(first) == sorted(second) == replay.offsets(seq, 0)  # every block once
    assert first != second and first == replay.offsets(rand[0], 0) != replay.offsets(rand[0], 1)


def test_the_iolog_opens_each_file_once_and_reads_each_point_in_turn():
    points = [Point("t", "read", 1, 1, 4096, 16, 0), Point("t", "read", 1, 1, 65536, 1, 0),
              Point("t", "randread", 1, 1, 4096, 4, 0)]
    lines = replay.iolog(points, 0).splitlines()
    files = [data_name(65536), data_name(16384)]  # relative: fio runs in the working folder
    assert lines[0] == "fio version 2 iolog"
    assert sorted(lines[1:3]) == sorted(f"{f} add" for f in files)
    assert sorted(lines[3:5]) == sorted(f"{f} open" for f in files)
    reads = lines[5:-2]
    assert len(reads) == 21 and reads[0] == f"{files[0]} read 0 4096" and reads[16] == f"{files[0]} read 0 65536"
    assert sorted(lines[-2:]) == sorted(f"{f} close" for f in files)


def test_the_argv_carries_the_log_in_pieces_each_below_the_kernels_limit():
    points = [Point("t", "randread", 1, 1, 4096, 4096, 0)]
    argv = replay.argv("/data/w", points, 0)
    assert argv[:2] == ["sh", "-c"] and argv[3:5] == ["voltools-replay", "/data/w"]
    assert len(argv) > 6 and all(len(a.encode()) <= replay.ARG_BYTES for a in argv[5:])
    assert "".join(argv[5:]) == replay.iolog(points, 0)


def test_the_log_of_the_largest_call_stays_far_below_the_kernels_argument_limit():
    """The file names are relative, so a call's log does not grow with its folder's path: the
    largest call (CALL_IOS reads at the largest offsets a call reaches) stays under 1.5 MiB of
    arguments, three quarters of Linux's 2 MiB for all of them, whatever the folder."""
    bs = replay.CALL_BYTES // replay.CALL_IOS
    points = [Point("t", "randread", 1, 1, bs, replay.CALL_IOS, 0)]
    argv = replay.argv("/data/" + "w" * 200, points, 0)
    assert sum(len(a.encode()) + 1 for a in argv) < 3 << 19


@given(points_st, st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_any_call_cuts_back_into_each_points_own_reads(points, seed):
    log = replay.latencies(_fake_log(points, seed))
    parts, leads = replay.cut(points, log, seed)
    assert [len(p) for p in parts] == [p.blocks for p in points] and leads == [None] * len(points)
    assert sum(replay.figures(p)["read_time_s"] for p in parts) == pytest.approx(log["lat_ns"].sum() / 1e9)


@given(points_st, st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_a_prefixed_call_reads_each_file_once_and_cuts_every_sequential_point_from_its_largest(points, seed):
    """Each sequential point's reads are the first N of the largest of its block size (its file
    from the start, in order: what reading its own file would issue); random ones are their own."""
    log = replay.latencies(_fake_log(points, seed, prefixed=True))
    parts, leads = replay.cut(points, log, seed, prefixed=True)
    seq = {}  # the largest sequential point's N by (block size, round)
    for p in points:
        if p.rw == "read":
            seq[p.bs_bytes, p.repeat] = max(seq.get((p.bs_bytes, p.repeat), 0), p.blocks)
    assert len(log) == sum(seq.values()) + sum(p.blocks for p in points if p.rw == "randread")
    for point, part, lead in zip(points, parts, leads):
        if point.rw == "read":
            assert list(part["offset"]) == replay.offsets(point, seed)  # its own file's reads, in order
        assert len(part) == point.blocks and list(part["bs_bytes"].unique()) == [point.bs_bytes]
        if lead is None:
            assert point.rw == "randread" or point.blocks == seq[point.bs_bytes, point.repeat]
        else:
            big = points[lead]
            assert (big.rw, big.bs_bytes, big.repeat) == ("read", point.bs_bytes, point.repeat)
            assert big.blocks == seq[point.bs_bytes, point.repeat]
            assert part.equals(parts[lead].iloc[:point.blocks])
    assert replay.read_bytes(points, True) == sum(p.size_bytes for p, lead in zip(points, leads) if lead is None)


@given(points_st, st.data())
@settings(max_examples=60, deadline=None)
def test_a_log_cut_short_leaves_the_unfinished_points_unknown(points, data):
    total = sum(p.blocks for p in points)
    keep = data.draw(st.integers(0, total - 1))
    lines = _fake_log(points, 0).splitlines()[:keep]
    parts, _ = replay.cut(points, replay.latencies("\n".join(lines) + "\n" if lines else ""), 0)
    done = np.cumsum([p.blocks for p in points]) <= keep
    assert [part is not None for part in parts] == list(done)


@given(points_st, st.data())
@settings(max_examples=60, deadline=None)
def test_a_prefixed_log_cut_short_keeps_exactly_the_points_whose_first_reads_it_holds(points, data):
    groups = replay.reads(points, True)
    total = sum(points[g[0]].blocks for g in groups)
    keep = data.draw(st.integers(0, total - 1))
    lines = _fake_log(points, 0, prefixed=True).splitlines()[:keep]
    parts, _ = replay.cut(points, replay.latencies("\n".join(lines) + "\n" if lines else ""), 0, True)
    start, done = 0, [None] * len(points)
    for group in groups:
        for i in group:
            done[i] = start + points[i].blocks <= keep
        start += points[group[0]].blocks
    assert [part is not None for part in parts] == done


def test_a_log_of_other_reads_is_refused_never_guessed():
    points = [Point("t", "read", 1, 1, 4096, 8, 0)]
    wrong = _fake_log([Point("t", "read", 1, 1, 65536, 8, 0)], 0)
    with pytest.raises(FioParseError, match="does not match"):
        replay.cut(points, replay.latencies(wrong), 0)


def test_figures_are_the_sum_and_exact_percentiles_of_the_points_own_reads():
    part = pd.DataFrame({"time_ms": [1, 1, 2, 3], "lat_ns": [1000, 2000, 3000, 10000], "direction": 0,
                         "bs_bytes": 4096, "offset": [0, 4096, 8192, 12288]})
    f = replay.figures(part)
    assert f["read_time_s"] == pytest.approx(16e-6) and f["read_time_source"] == "lat_log"
    assert f["lat_p50_ns"] == 2000 and f["lat_p99_ns"] == 10000 and f["lat_mean_ns"] == 4000
    assert f["bw_bytes"] == pytest.approx(4 * 4096 / 16e-6) and f["iops"] == pytest.approx(4 / 16e-6)


def _rows(points, stdout, exit_code=0, stderr="", prefixed=False):
    spec = parse_target("tmpfs:size=32m")
    plan = make_plan(["tmpfs:size=32m"], bs="4k", blocks="16")
    layout = Layout("/data/w", {}, 32 * 2**20, 10 * 2**20)
    return replay_rows(points, ExecResult(exit_code, stdout, stderr), "fio/t-00001.json.gz", spec, layout, plan,
                       "r1", 7, prefixed)


def test_an_output_without_the_latency_log_gives_error_rows_naming_fio():
    points = [Point("tmpfs", "read", 1, 1, 4096, 4, 0), Point("tmpfs", "read", 1, 1, 4096, 8, 0)]
    rows = _rows(points, "", exit_code=1, stderr="fio: something broke")
    assert list(rows["error"]) == [-1, -1] and list(rows["seq"]) == [7, 8]
    assert rows["error_msg"].str.contains("fio exit 1: fio: something broke").all()


@needs_fio
def test_the_hosts_fio_replays_a_call_and_each_point_gets_its_own_reads(tmp_path):
    points = [Point("tmpfs", rw, 1, 1, bs, n, 0) for rw, bs, n in
              (("read", 4096, 16), ("randread", 4096, 64), ("read", 65536, 4), ("read", 4096, 1))]
    for size in {p.size_bytes for p in points}:
        (tmp_path / data_file("", size).lstrip("/")).write_bytes(b"\1" * size)
    out = subprocess.run(replay.argv(str(tmp_path), points, 0), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    rows = _rows(points, out.stdout)
    assert (rows["error"] == 0).all(), rows["error_msg"].tolist()
    assert (rows["read_time_s"] > 0).all() and (rows["read_time_source"] == "lat_log").all()
    assert list(rows["seq"]) == [7, 8, 9, 10] and rows["fio_version"].str.startswith("fio-").all()
    assert list(tmp_path.iterdir()) and not any("replay" in p.name for p in tmp_path.iterdir())


@needs_fio
def test_the_hosts_fio_replays_a_prefixed_call_each_point_its_reads_first_n(tmp_path):
    """Sequential 4 KiB points of 1, 16 and 64 blocks: one read of the 64-block file; the others
    are its first reads (prefix_of: its seq), their times its first latencies' sums."""
    points = [Point("tmpfs", rw, 1, 1, 4096, n, 0) for rw, n in
              (("read", 16), ("randread", 64), ("read", 64), ("read", 1))]
    for size in {p.size_bytes for p in points}:
        (tmp_path / data_file("", size).lstrip("/")).write_bytes(b"\1" * size)
    out = subprocess.run(replay.argv(str(tmp_path), points, 0, True), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    rows = _rows(points, out.stdout, prefixed=True)
    assert (rows["error"] == 0).all(), rows["error_msg"].tolist()
    assert rows["prefix_of"].fillna(-1).tolist() == [9, -1, -1, 9]
    lat = replay.latencies(replay.split(out.stdout)[1])
    assert len(lat) == 64 + 64  # the sequential read once (first: its first point comes first), the random one
    assert list(lat["offset"][:64]) == [i * 4096 for i in range(64)]
    for row, n in ((0, 16), (3, 1), (2, 64)):
        assert rows["read_time_s"][row] == pytest.approx(lat["lat_ns"][:n].sum() / 1e9)
