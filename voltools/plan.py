"""A sweep's grid of points: validated up front, ordered for fair comparison, cut into fio calls."""
import random
from dataclasses import dataclass, field

from .errors import UsageError
from .jobs import ENGINES
from .targets import parse_targets
from .units import format_bytes, parse_count, parse_count_list, parse_size, parse_size_list

RW_MODES = ("read", "randread")
DIRECT_ALIGN = 512
MAX_IODEPTH = 1024
MAX_REPEAT = 1000
FS_HEADROOM = 0.9  # a filesystem keeps some of its nominal size for itself


@dataclass(frozen=True)
class Point:
    """One measurement: read `blocks` blocks of `bs_bytes` on `target`."""

    target: str
    rw: str
    direct: int
    iodepth: int
    bs_bytes: int
    blocks: int
    repeat: int

    @property
    def size_bytes(self):
        return self.bs_bytes * self.blocks

    def key(self):
        return (self.target, self.rw, self.direct, self.iodepth, self.bs_bytes, self.blocks, self.repeat)


@dataclass
class SweepPlan:
    """Targets and the axes of the grid; `validate` before anything is created."""

    targets: list
    bs: list
    blocks: list
    rw: list = field(default_factory=lambda: ["read"])
    direct: list = field(default_factory=lambda: [1])
    iodepth: list = field(default_factory=lambda: [1])
    repeat: int = 3
    memory_bytes: int = None
    batch: int = 32
    seed: int = 0
    engine: str = "fio"

    def validate(self):
        _check_members("engine", [self.engine], ENGINES)
        if self.engine == "python":
            _check_python_engine(self)
        _check_members("rw", self.rw, RW_MODES)
        _check_members("direct", self.direct, (0, 1))
        _check_range("iodepth", self.iodepth, 1, MAX_IODEPTH)
        _check_range("repeat", [self.repeat], 1, MAX_REPEAT)
        _check_range("batch", [self.batch], 1, 10_000)
        if not self.bs or not self.blocks:
            raise UsageError("--bs and --blocks each need at least one value, e.g. --bs 4k,64k --blocks 1,16")
        if 1 in self.direct:
            bad = [b for b in self.bs if b % DIRECT_ALIGN]
            if bad:
                raise UsageError(f"block size {bad[0]} bytes is not a multiple of {DIRECT_ALIGN}, "
                                 "which direct=1 (O_DIRECT) needs: use e.g. 4k, or --direct 0")
        for spec in self.targets:
            self._check_fits(spec)
        return self

    def sizes(self):
        """Distinct data sizes N x B; one file of each is laid out per target."""
        return sorted({b * n for b in self.bs for n in self.blocks})

    def layout_bytes(self):
        return sum(self.sizes())

    def points(self, target):
        return [Point(target, rw, d, q, b, n, r) for r in range(self.repeat) for rw in self.rw
                for d in self.direct for q in self.iodepth for b in self.bs for n in self.blocks]

    def total_points(self):
        return len(self.targets) * len(self.points("x"))

    def batches(self, target):
        """fio calls for a target: one per (repeat, rw, direct, iodepth), points shuffled, cut to `batch`."""
        groups = {}
        for point in self.points(target):
            groups.setdefault((point.repeat, point.rw, point.direct, point.iodepth), []).append(point)
        calls = []
        for key, points in groups.items():
            random.Random(f"{self.seed}-{target}-{key}").shuffle(points)
            calls += [points[i:i + self.batch] for i in range(0, len(points), self.batch)]
        return calls

    def _check_fits(self, spec):
        size = spec.size_bytes
        if size and self.layout_bytes() > size * FS_HEADROOM:
            raise UsageError(
                f"target {spec.name} holds {format_bytes(size)} but the sweep lays out "
                f"{format_bytes(self.layout_bytes())} (one file per N x B, largest "
                f"{format_bytes(max(self.sizes()))}): raise its size= or lower --bs/--blocks")


def _check_python_engine(plan):
    """The python engine runs on the host, one block at a time: host targets, queue depth 1."""
    if any(t.kind != "host" for t in plan.targets):
        raise UsageError("--engine python measures host targets only (the probe image has no Python): "
                         "use --target host[:path=...], or --engine fio")
    if plan.iodepth != [1]:
        raise UsageError("--engine python reads at queue depth 1 only: use --iodepth 1, or --engine fio")


def _check_members(name, values, accepted):
    for value in values:
        if value not in accepted:
            raise UsageError(f"--{name} {value!r} is not accepted: use {', '.join(map(str, accepted))}")


def _check_range(name, values, low, high):
    for value in values:
        if not isinstance(value, int) or not low <= value <= high:
            raise UsageError(f"--{name} {value!r} is out of range: use a whole number from {low} to {high}")


def make_plan(targets, bs, blocks, rw="read", direct="1", iodepth="1", repeat=3, memory=None, batch=1,
              engine="fio"):
    """A validated SweepPlan from CLI-style values (lists or comma-separated strings)."""
    plan = SweepPlan(
        targets=parse_targets([targets] if isinstance(targets, str) else list(targets)),
        bs=parse_size_list(csv(bs), "block size"), blocks=parse_count_list(csv(blocks), "blocks"),
        rw=_words(rw), direct=_direct(direct),
        iodepth=parse_count_list(csv(iodepth), "iodepth"), repeat=_int(repeat, "repeat"),
        batch=_int(batch, "batch"), memory_bytes=parse_size(memory, "--memory") if memory else None,
        engine=engine)
    return plan.validate()


def csv(value):
    """A list or a comma-separated string, as a comma-separated string."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _words(value):
    """A comma-separated list of words, stripped, repeats dropped ('read,read' is one rw)."""
    return list(dict.fromkeys(m.strip() for m in csv(value).split(",")))


def _direct(value):
    items = [v.strip() for v in csv(value).split(",")]
    if any(v not in ("0", "1") for v in items):
        raise UsageError(f"--direct {value!r} is not accepted: use 0 (buffered), 1 (O_DIRECT) or 0,1")
    return [int(v) for v in dict.fromkeys(items)]


def _int(value, name):
    """A whole number in ASCII digits (or an int); its range is checked by validate."""
    try:
        return parse_count(value, f"--{name}")
    except UsageError:
        raise UsageError(f"--{name} {value!r} is not a whole number from 1 to 10^12 "
                         "in ASCII digits 0-9, e.g. 3") from None
