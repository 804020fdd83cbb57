"""voltools.measuring.estimate: each target's load and a rough time, on the costs it states."""
import json

from repo import ROOT
from voltools.measuring.estimate import CALL_COST_S, estimate, target_loads
from voltools.measuring.plan import make_plan


def test_the_stated_costs_give_back_the_benchmarked_make_report_sweep_within_a_tenth():
    """The costs are bench_reportsweep's medians (RESULTS.json): re-measured, they must be restated."""
    bench = json.loads((ROOT / "benchmarks" / "RESULTS.json").read_text())["benchmarks"]["reportsweep"]["result"]
    wall = next(f["median"] for f in bench["figures"] if f["name"].startswith("after") and "wall time" in f["name"])
    plan = make_plan(bench["targets"], question="4g@64k")
    assert abs(estimate(plan, target_loads(plan)).seconds / wall - 1) < 0.1


def test_loads_count_the_points_left_and_the_bytes_they_read():
    plan = make_plan(["tmpfs:size=64m", "host"], "4k,64k", "1,3", rw="read", repeat=2)
    loads = target_loads(plan)
    assert [(t.name, t.points, t.calls) for t in loads] == [("tmpfs", 8, 2), ("host", 8, 2)]  # a call a round
    assert loads[0].layout_bytes == 4096 + 65536 + 3 * 4096 + 3 * 65536  # a file each
    read = 3 * 4096 + 3 * 65536  # a round reads each block size's 3-block file: the 1-block points are its first
    assert loads[0].read_bytes == 2 * read
    done = {p.key() for p in plan.points("tmpfs") if p.repeat == 0}
    left = target_loads(plan, done)
    assert left[0].points == 4 and left[0].calls == 1 and left[0].read_bytes == read and left[1] == loads[1]
    whole = make_plan(["tmpfs:size=64m", "host"], "4k,64k", "1,3", rw="read", repeat=2, prefix=False)
    assert target_loads(whole)[0].read_bytes == 2 * loads[0].layout_bytes  # each file read once a round


def test_the_python_reader_costs_less_a_call_than_fio():
    fio, python = (make_plan(["host"], "4k", "1,4", reader=r) for r in ("fio", "python"))
    assert estimate(fio, target_loads(fio)).call_cost_s == CALL_COST_S["fio"] > CALL_COST_S["python"]
    assert estimate(python, target_loads(python)).seconds < estimate(fio, target_loads(fio)).seconds
