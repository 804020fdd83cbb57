"""A question (SIZE@BS) drives the sweep: reads at its block size near its scale, per target what
the target can hold; targets are read in rounds, in a seeded shuffled order."""
import pytest

from voltools.errors import UsageError
from voltools.orchestrators.docker import round_order
from voltools.measuring.plan import Question, make_plan, parse_question

GRID = dict(bs="4k,16k,64k,256k,1m", blocks="1,16,64,256", rw="read,randread")


def test_a_question_is_size_at_block_size():
    assert parse_question("40g@64k") == Question(40 << 30, 64 << 10)
    assert parse_question("40g@64k").blocks == 655360


@pytest.mark.parametrize("text", ["40g", "@64k", "40g@", "64k@40g", "40g@64k@1", "4g@64q", "４g@64k"])
def test_a_bad_question_is_refused(text):
    with pytest.raises(UsageError, match="--question"):
        parse_question(text)


def test_the_question_adds_reads_at_its_block_size_up_to_a_quarter_of_the_dataset():
    plan = make_plan(["local", "host"], question="4g@64k", **GRID)
    assert plan.question_blocks("local") == [1024, 4096, 16384]  # 64 MiB, 256 MiB, 1 GiB
    points = [p for p in plan.points("local") if p.blocks > 256]
    assert {(p.rw, p.bs_bytes) for p in points} == {("read", 65536)}, "a question is a sequential read"
    assert len(points) == 3 * 5, "3 block counts x 5 rounds (QUESTION_REPEAT)"
    assert sorted({p.repeat for p in points}) == [0, 1, 2, 3, 4]
    assert {p.repeat for p in plan.points("local") if p.blocks <= 256} == {0, 1, 2}, "the grid keeps --repeat"
    assert plan.rounds() == 5
    assert plan.total_points() == 2 * (120 + 15)


def test_a_sized_target_gets_only_what_it_holds_beside_the_grid():
    plan = make_plan(["tmpfs:size=512m", "loop:size=1g"], question="4g@64k", **GRID)
    for spec in plan.targets:
        assert plan.layout_bytes(spec.name) <= spec.size_bytes * 0.9
    assert plan.question_blocks("tmpfs") == [1024]
    assert plan.question_blocks("loop-ext4") == [1024, 4096]


def test_max_point_size_caps_the_largest_read():
    plan = make_plan(["local"], question="40g@64k", max_point="1g", **GRID)
    assert plan.question_blocks("local") == [1024, 4096, 16384]
    assert max(plan.sizes("local")) == 1 << 30


def test_no_question_no_extra_points():
    plan = make_plan(["local"], **GRID)
    assert plan.question_blocks("local") == [] and plan.total_points() == 120


def test_rounds_shuffle_the_targets_the_same_way_for_the_same_seed():
    orders = [tuple(round_order("abcd", 0, r)) for r in range(6)]
    assert orders == [tuple(round_order("abcd", 0, r)) for r in range(6)]
    assert len(set(orders)) > 1, "the order changes from round to round"
