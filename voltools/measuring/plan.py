"""A sweep's grid of points: validated up front, ordered for fair comparison, cut into fio calls.

A question (`--question 40g@64k`: a dataset of 40 GiB read in 64 KiB blocks) adds the points that
inform its answer: block counts at the question's block size, spaced by 4 up to the largest read
affordable (a quarter of the dataset by default, never more than the target holds), so the answer
is measured near its scale instead of extrapolated from the small grid.
"""
import math
import random
import re
from dataclasses import dataclass, field, fields

from ..errors import UsageError
from ..formatting import format_bytes
from . import kinds
from ..units import parse_count, parse_count_list, parse_size, parse_size_list
from . import replay
from .fioopts import parse_fio_opts
from .jobs import READERS
from .targets import parse_targets

RW_MODES = ("read", "randread")
DIRECT_ALIGN = 512
MAX_IODEPTH = 1024
MAX_NUMJOBS = 64
MAX_REPEAT = 1000
FS_HEADROOM = 0.9  # a filesystem keeps some of its nominal size for itself
QUESTION_STEPS = 3  # block counts added for a question: the largest affordable, /4, /16
QUESTION_SPACING = 4
QUESTION_REPEAT = 5  # the question's reads are measured in at least this many rounds
_QUESTION_RE = re.compile(r"([^@]+)@([^@]+)")


@dataclass(frozen=True)
class Question:
    """What the user wants answered: a dataset of `dataset_bytes` read in `bs_bytes` blocks."""

    dataset_bytes: int
    bs_bytes: int

    @property
    def blocks(self):
        return math.ceil(self.dataset_bytes / self.bs_bytes)

    def text(self):
        return f"{format_bytes(self.dataset_bytes)} in {format_bytes(self.bs_bytes)} blocks"

    def as_dict(self):
        return {"dataset_bytes": self.dataset_bytes, "bs_bytes": self.bs_bytes}


def parse_question(text):
    """'40g@64k' -> Question(40 GiB, 64 KiB); UsageError naming what is accepted."""
    match = _QUESTION_RE.fullmatch(str(text).strip())
    if not match:
        raise UsageError(f"--question {text!r} is not SIZE@BS: give the dataset size and the block size "
                         "it is read in, e.g. 40g@64k")
    question = Question(parse_size(match.group(1), "--question dataset size"),
                        parse_size(match.group(2), "--question block size"))
    if question.bs_bytes > question.dataset_bytes:
        raise UsageError(f"--question {text!r}: the block size is larger than the dataset")
    return question


@dataclass(frozen=True)
class Point:
    """One measurement: read `blocks` blocks of `bs_bytes` on `target` (by `numjobs` jobs at once,
    each reading the whole file)."""

    target: str
    rw: str
    direct: int
    iodepth: int
    bs_bytes: int
    blocks: int
    repeat: int
    numjobs: int = 1

    @property
    def size_bytes(self):
        return self.bs_bytes * self.blocks

    def key(self):
        """The point's identity, in points.POINT_KEY's order."""
        return (self.target, self.rw, self.direct, self.iodepth, self.numjobs, self.bs_bytes, self.blocks,
                self.repeat)


@dataclass(frozen=True)
class Call:
    """One fio call: its points, whether fio replays them from an I/O log (`replay`), and whether
    sequential points of one block size are cut from one read (`prefixed`, replay.reads)."""

    points: list
    replayed: bool
    prefixed: bool = False


# The grids a sweep can start from (`--preset`); options given with it override its values.
PRESETS = {
    "quick": dict(bs="4k,64k,1m", blocks="1,16", rw="read", repeat=2),
    "default": dict(bs="4k,16k,64k,256k,1m", blocks="1,16,64,256", rw="read,randread", repeat=3),
    "thorough": dict(bs="4k,8k,16k,32k,64k,128k,256k,512k,1m", blocks="1,4,16,64,256,1024",
                     rw="read,randread", repeat=5),
}
_DEFAULT = PRESETS["default"]


def preset_grid(name):
    """The grid fields of preset `name`; UsageError naming the presets there are."""
    if name not in PRESETS:
        raise UsageError(f"--preset {name!r} is not accepted: use {', '.join(PRESETS)}")
    return PRESETS[name]


@dataclass(frozen=True)
class SweepRequest:
    """What a sweep is asked to do, as given (CLI-style text or lists): the only home of the defaults.

    The grid's fields (GRID_FIELDS) are kept in run.json as the run's request; the run's own
    (`run_id`, `data_dir`, `image`, `orchestrator`) and the orchestrator's `options`, (name, value)
    pairs such as ("mode", "global"), are not part of the grid. The defaults are PRESETS["default"].
    """

    targets: tuple = ()
    bs: str = _DEFAULT["bs"]
    blocks: str = _DEFAULT["blocks"]
    rw: str = _DEFAULT["rw"]
    direct: str = "1"
    iodepth: str = "1"
    repeat: int = _DEFAULT["repeat"]
    memory: str = None
    batch: int = 1
    reader: str = "fio"
    question: str = None
    max_point: str = None
    pack: bool = True
    numjobs: str = "1"
    fio_opt: tuple = ()
    fresh_rounds: bool = False
    prefix: bool = True
    run_id: str = None
    data_dir: str = None
    image: str = None
    orchestrator: str = "docker"
    options: tuple = ()

    @classmethod
    def of(cls, targets=(), preset=None, **kwargs):
        """A request from keyword arguments; those that are not its fields are the orchestrator's
        options. A `preset` (PRESETS) gives the grid fields that are not given."""
        names = {f.name for f in fields(cls)} - {"options"}
        own = {k: v for k, v in kwargs.items() if k in names}
        if preset is not None:
            own = {**preset_grid(preset), **own}
        options = tuple(sorted((k, v) for k, v in kwargs.items() if k not in names))
        targets = (targets,) if isinstance(targets, str) else tuple(targets)
        fio_opt = own.pop("fio_opt", ())
        return cls(targets, **own, fio_opt=(fio_opt,) if isinstance(fio_opt, str) else tuple(fio_opt),
                   options=options)

    def grid(self):
        """The grid's fields as plain values: run.json's `request`, from which a run resumes."""
        return {k: list(v) if k in ("targets", "fio_opt") else v
                for k, v in ((k, getattr(self, k)) for k in GRID_FIELDS)}

    def plan(self):
        """The validated SweepPlan of this request's grid."""
        return parse_plan(**self.grid())


GRID_FIELDS = ("targets", "bs", "blocks", "rw", "direct", "iodepth", "repeat", "memory", "batch", "reader",
               "question", "max_point", "pack", "numjobs", "fio_opt", "fresh_rounds", "prefix")


@dataclass
class SweepPlan:
    """Targets and the axes of the grid, parsed; `validate` before anything is created.

    Made by `make_plan` (or `SweepRequest.plan`), which hold the defaults."""

    targets: list
    bs: list
    blocks: list
    rw: list
    direct: list
    iodepth: list
    repeat: int
    memory_bytes: int
    batch: int
    reader: str
    question: Question = None
    max_point_bytes: int = None
    pack: bool = True
    numjobs: list = field(default_factory=lambda: [1])
    fio_opts: tuple = ()
    seed: int = 0
    fresh_rounds: bool = False  # each target set up anew (volume, containers, files) for each round
    prefix: bool = True  # replayed sequential points of one block size: one read, the others its first blocks

    def validate(self):
        _check_members("reader", [self.reader], READERS)
        if self.reader == "python":
            _check_python_reader(self)
        _check_members("rw", self.rw, RW_MODES)
        _check_members("direct", self.direct, (0, 1))
        _check_range("iodepth", self.iodepth, 1, MAX_IODEPTH)
        _check_range("numjobs", self.numjobs, 1, MAX_NUMJOBS)
        _check_range("repeat", [self.repeat], 1, MAX_REPEAT)
        _check_range("batch", [self.batch], 1, 10_000)
        if not self.bs or not self.blocks:
            raise UsageError("--bs and --blocks each need at least one value, e.g. --bs 4k,64k --blocks 1,16")
        if 1 in self.direct:
            bad = [b for b in self.bs + ([self.question.bs_bytes] if self.question else []) if b % DIRECT_ALIGN]
            if bad:
                raise UsageError(f"block size {bad[0]} bytes is not a multiple of {DIRECT_ALIGN}, "
                                 "which direct=1 (O_DIRECT) needs: use e.g. 4k, or --direct 0")
        for spec in self.targets:
            self._check_fits(spec)
        return self

    def sizes(self, target=None):
        """Distinct data sizes N x B (the grid's, and the question's on `target`); one file each."""
        grid = {b * n for b in self.bs for n in self.blocks}
        asked = {self.question.bs_bytes * n for n in self.question_blocks(target)} if target else set()
        return sorted(grid | asked)

    def direct_layout(self, target=None):
        """Lay the files out with O_DIRECT: where every read is O_DIRECT (the medium takes it),
        fio writes them (the python reader writes its own), every file is a whole number of 4 KiB
        pages (what a 4Kn device takes) and no --memory limit binds the holder (fio's depth-8
        buffers, up to 8 MiB a file written side by side, count against it; page cache can be
        reclaimed). Lay-out falls back to writing through the page cache where fio fails."""
        return (self.direct == [1] and self.reader == "fio" and self.memory_bytes is None
                and all(size % 4096 == 0 for size in self.sizes(target)))

    def layout_bytes(self, target=None):
        return sum(self.sizes(target))

    def points(self, target):
        grid = [Point(target, rw, d, q, b, n, r, j) for r in range(self.repeat) for rw in self.rw
                for d in self.direct for q in self.iodepth for j in self.numjobs for b in self.bs
                for n in self.blocks]
        asked = [Point(target, self.question_rw(), d, q, self.question.bs_bytes, n, r, j)
                 for r in range(self.rounds()) for d in self.direct for q in self.iodepth for j in self.numjobs
                 for n in self.question_blocks(target)]
        return grid + asked

    def rounds(self):
        """Rounds of the sweep: `repeat`, or QUESTION_REPEAT when a question asks for more. The
        question's long reads are repeated that often (in the extra rounds alone): the interval
        of one long read rests on their spread, and 4 more degrees of freedom narrow it by a
        fifth (t 2.78 -> 2.31) for a few seconds a target."""
        return max(self.repeat, QUESTION_REPEAT) if self.question else self.repeat

    def total_points(self):
        return sum(len(self.points(spec.name)) for spec in self.targets)

    def question_rw(self):
        """A question is a full read: sequential where the grid has it."""
        return "read" if "read" in self.rw else self.rw[0]

    def question_blocks(self, target):
        """Block counts the question adds on `target`: the largest affordable read at the question's
        block size (a power of 2), then /4, /16, each above the grid's largest N."""
        if self.question is None:
            return []
        bs = self.question.bs_bytes
        largest = min(self.max_point_bytes or self.question.dataset_bytes // 4,
                      self.question.dataset_bytes, self._room(target)) // bs
        if largest < 1:
            return []
        top = 2 ** int(math.log2(largest))
        counts = {top // QUESTION_SPACING**k for k in range(QUESTION_STEPS)}
        return sorted(n for n in counts if n > max(self.blocks) or bs not in self.bs)

    def _room(self, target):
        """Bytes the question's files may take on a sized target (their sizes sum to at most 4/3 of
        the largest); unbounded elsewhere (lay-out checks the free space it finds)."""
        spec = next((s for s in self.targets if s.name == target), None)
        if spec is None or not spec.size_bytes:
            return math.inf
        free = spec.size_bytes * FS_HEADROOM - sum({b * n for b in self.bs for n in self.blocks})
        return max(int(free * (QUESTION_SPACING - 1) / QUESTION_SPACING), 0)

    def groups(self, target):
        """The target's points by (repeat, rw, direct, iodepth, numjobs), each group shuffled in a
        seeded order: what one round reads with one access pattern."""
        groups = {}
        for point in self.points(target):
            groups.setdefault((point.repeat, point.rw, point.direct, point.iodepth, point.numjobs), []).append(point)
        for key, points in groups.items():
            random.Random(f"{self.seed}-{target}-{key}").shuffle(points)
        return list(groups.values())

    def batches(self, target):
        """fio calls for a target, one job a point: each group cut to `batch` points."""
        return [points[i:i + self.batch] for points in self.groups(target)
                for i in range(0, len(points), self.batch)]

    def calls(self, target):
        """The target's fio calls (Call): with `pack` and no `fio_opts`, the replayable points of
        each round (O_DIRECT, queue depth 1, one job; both access patterns) are replayed together
        from an I/O log, in a seeded shuffled order, in as few calls as replay.pack allows (with
        `prefix`, a sequential point rides in the call of the largest of its block size, whose
        first reads it is: replay.reads); every other point goes as `batches` cuts its group."""
        packs = self.pack and not self.fio_opts  # the replay call's fio options are fixed
        by_round, calls = {}, []
        for group in self.groups(target):
            rest = []
            for point in group:
                if packs and replay.replayable(point, self.reader):
                    by_round.setdefault(point.repeat, []).append(point)
                else:
                    rest.append(point)
            calls += [Call(rest[i:i + self.batch], False) for i in range(0, len(rest), self.batch)]
        replayed = []
        for repeat, points in by_round.items():
            random.Random(f"{self.seed}-{target}-{repeat}-replay").shuffle(points)
            groups = replay.reads(points, self.prefix)
            packed = replay.pack([points[group[0]] for group in groups])
            riders = {points[group[0]]: [points[i] for i in group[1:]] for group in groups}
            replayed += [Call([p for read in call for p in (read, *riders[read])], True, self.prefix)
                         for call in packed]
        return replayed + calls

    def _check_fits(self, spec):
        size = spec.size_bytes
        if size and self.layout_bytes() > size * FS_HEADROOM:
            raise UsageError(
                f"target {spec.name} holds {format_bytes(size)} but the sweep lays out "
                f"{format_bytes(self.layout_bytes())} (one file per N x B, largest "
                f"{format_bytes(max(self.sizes()))}): raise its size= or lower --bs/--blocks")


def _check_python_reader(plan):
    """The python reader runs on the host, one block at a time: host targets, queue depth 1."""
    if any(t.in_docker for t in plan.targets):
        on_host = [k for k in kinds.every() if not k.in_docker]
        raise UsageError(f"--reader python measures {', '.join(k.name for k in on_host)} targets only (the probe "
                         f"image has no Python): use --target {' or '.join(k.usage() for k in on_host)}, or --reader fio")
    if plan.iodepth != [1] or plan.numjobs != [1]:
        raise UsageError("--reader python reads at queue depth 1 only, with one job: use --iodepth 1 and "
                         "--numjobs 1, or --reader fio")
    if plan.fio_opts:
        raise UsageError("--fio-opt is for --reader fio: give no --fio-opt with --reader python")


def _check_members(name, values, accepted):
    for value in values:
        if value not in accepted:
            raise UsageError(f"--{name} {value!r} is not accepted: use {', '.join(map(str, accepted))}")


def _check_range(name, values, low, high):
    for value in values:
        if not isinstance(value, int) or not low <= value <= high:
            raise UsageError(f"--{name} {value!r} is out of range: use a whole number from {low} to {high}")


def make_plan(*args, **kwargs):
    """A validated SweepPlan from a request's grid, as SweepRequest takes it (defaults are its)."""
    if len(args) > len(GRID_FIELDS) or set(kwargs) - set(GRID_FIELDS):
        raise TypeError(f"make_plan takes the grid only: {', '.join(GRID_FIELDS)}")
    return SweepRequest(*args, **kwargs).plan()


def parse_plan(targets, bs, blocks, rw, direct, iodepth, repeat, memory, batch, reader, question, max_point,
               pack=True, numjobs="1", fio_opt=(), fresh_rounds=False, prefix=True):
    """A validated SweepPlan from CLI-style values (lists or comma-separated strings)."""
    plan = SweepPlan(
        targets=parse_targets([targets] if isinstance(targets, str) else list(targets)),
        bs=parse_size_list(csv(bs), "block size"), blocks=parse_count_list(csv(blocks), "blocks"),
        rw=_words(rw), direct=_direct(direct),
        iodepth=parse_count_list(csv(iodepth), "iodepth"), repeat=_int(repeat, "repeat"),
        batch=_int(batch, "batch"), memory_bytes=parse_size(memory, "--memory") if memory else None,
        reader=reader, question=parse_question(question) if question else None,
        max_point_bytes=parse_size(max_point, "--max-point-size") if max_point else None, pack=bool(pack),
        numjobs=parse_count_list(csv(numjobs), "numjobs"), fio_opts=parse_fio_opts(fio_opt), fresh_rounds=bool(fresh_rounds),
        prefix=bool(prefix))
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
