"""voltools.measuring.plan: the grid, its checks and its batches."""
import pytest

from voltools.errors import UsageError
from voltools.measuring.plan import make_plan


def test_plan_grid_and_batches():
    plan = make_plan(["tmpfs:size=64m"], "4k,64k", "1,16", rw="read,randread", repeat=2, batch=3)
    assert plan.sizes() == [4096, 65536, 1 << 20]
    assert plan.total_points() == 2 * 2 * 2 * 2
    batches = plan.batches("tmpfs")
    assert sum(len(b) for b in batches) == 16
    assert max(len(b) for b in batches) == 3
    assert all(len({(p.rw, p.repeat) for p in b}) == 1 for b in batches)
    assert batches == make_plan(["tmpfs:size=64m"], "4k,64k", "1,16", rw="read,randread",
                                repeat=2, batch=3).batches("tmpfs"), "order is reproducible"


@pytest.mark.parametrize("kwargs,needle", [
    (dict(bs="1000"), "not a multiple of 512"), (dict(rw="write"), "--rw 'write'"),
    (dict(direct="2"), "--direct"), (dict(iodepth="0"), "whole number >= 1"),
    (dict(repeat="0"), "--repeat"), (dict(repeat="x"), "not a whole number"),
    (dict(blocks="0"), "whole number >= 1"), (dict(bs="1m", blocks="256"), "holds 64 MiB"),
    (dict(memory="lots"), "--memory"),
])
def test_bad_plans(kwargs, needle):
    args = dict(targets=["tmpfs:size=64m"], bs="4k", blocks="1")
    args.update(kwargs)
    with pytest.raises(UsageError, match=needle):
        make_plan(**args)


def test_buffered_reads_allow_odd_block_sizes():
    assert make_plan(["host"], "1000", "1", direct="0").bs == [1000]


def test_repeated_grid_values_are_merged():
    plan = make_plan(["host"], "4k,4096,4k", "1,1,16", rw="read, read,randread", direct="1,1", iodepth="1,1")
    assert (plan.bs, plan.blocks, plan.rw, plan.direct, plan.iodepth) == ([4096], [1, 16], ["read", "randread"], [1], [1])
    assert plan.total_points() == 1 * 2 * 2 * 3


@pytest.mark.parametrize("kwargs", [dict(blocks="²"), dict(iodepth="¹"), dict(repeat="３"), dict(batch="1_0"),
                                    dict(repeat=" +3"), dict(bs="４k"), dict(repeat="9" * 5000), dict(repeat=True)])
def test_numbers_are_ascii_digits_only(kwargs):
    args = dict(targets=["host"], bs="4k", blocks="1")
    args.update(kwargs)
    with pytest.raises(UsageError) as info:
        make_plan(**args)
    assert "\n" not in str(info.value)


def test_files_are_laid_out_with_o_direct_only_where_every_read_is_o_direct_by_fio():
    assert make_plan(["local"], "4k", "1").direct_layout()
    assert not make_plan(["local"], "4k", "1", direct="0,1").direct_layout()
    assert not make_plan(["local"], "4k", "1", direct="0").direct_layout()
    assert not make_plan(["host"], "4k", "1", reader="python").direct_layout()
    assert not make_plan(["local"], "4k", "1", memory="256m").direct_layout()  # depth-8 buffers count
    assert not make_plan(["local"], "512,4k", "1").direct_layout()  # a 512-byte file: not for 4Kn
