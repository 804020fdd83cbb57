"""What a sweep will do and a rough time for it, before it starts: from stated costs, not measured here.

The costs are the medians of `make report`'s sweep in benchmarks/RESULTS.md (bench_reportsweep,
2026-12-07 09:06 UTC, 6 sweeps: 525 points in 20 fio calls, 31.0 s on a 2-core VM, 20.6 GiB read in
17.1 s): its wall time less its read time, over its fio calls, is the cost of a call besides
reading (fio's start-up, docker exec, lay-out and set-up shared out); its bytes over its read
time, the bandwidth. The disk of a VM of this kind has read at 439 MiB/s (2026-11-27), 650 MiB/s
(AMD EPYC, 2026-12-07 03:02 UTC, when the sweep took 50.0 s) and 1.2 GiB/s (Intel Xeon, 09:06 UTC):
the time of a sweep moves with it. The
python reader's cost is the README's (16 points in 1.3 s, a call a point). Bytes read are the
reads made: a point cut from another's read (replay.reads) reads nothing more.
"""
from dataclasses import dataclass

from ..formatting import MIB
from . import replay

CALL_COST_S = {"fio": 0.69, "python": 0.08}  # a fio call's cost besides reading, by reader
READ_BYTES_PER_S = 1234 * MIB  # the benchmark's 20.6 GiB over its 17.1 s of read time
BASIS = "make report's costs on a 2-core VM on 2026-12-07, not measured here"


@dataclass(frozen=True)
class TargetLoad:
    """One target's share of a sweep: points to measure, the fio calls they take, bytes laid out
    once, bytes read."""

    name: str
    points: int
    calls: int
    layout_bytes: int
    read_bytes: int


@dataclass(frozen=True)
class Estimate:
    """A rough wall time: `calls` at `call_cost_s` each, plus `read_bytes` at `bytes_per_s`."""

    points: int
    calls: int
    call_cost_s: float
    read_bytes: int
    bytes_per_s: float

    @property
    def seconds(self):
        return self.calls * self.call_cost_s + self.read_bytes / self.bytes_per_s


def target_loads(plan, done=frozenset()):
    """Each target's load: the plan's points less those in `done` (keys of points measured)."""
    loads = []
    for spec in plan.targets:
        calls = [([p for p in c.points if p.key() not in done], c.prefixed) for c in plan.calls(spec.name)]
        loads.append(TargetLoad(spec.name, sum(len(left) for left, _ in calls), sum(1 for left, _ in calls if left),
                                plan.layout_bytes(spec.name),
                                sum(replay.read_bytes(left, prefixed) for left, prefixed in calls)))
    return loads


def estimate(plan, loads):
    """The Estimate of measuring `loads` (target_loads of `plan`) with the plan's reader."""
    return Estimate(sum(t.points for t in loads), sum(t.calls for t in loads),
                    CALL_COST_S.get(plan.reader, CALL_COST_S["fio"]), sum(t.read_bytes for t in loads),
                    READ_BYTES_PER_S)
