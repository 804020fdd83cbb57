import pytest

from voltools.errors import UsageError
from voltools.measuring.jobs import layout_argv, read_argv
from voltools.measuring.plan import make_plan
from voltools.measuring.plan import Point
from voltools.measuring.targets import parse_target, parse_targets


@pytest.mark.parametrize("text,kind,name,size", [
    ("local", "local", "local", None), ("tmpfs:size=256m", "tmpfs", "tmpfs", 256 << 20),
    ("loop:fs=xfs,size=1g", "loop", "loop-xfs", 1 << 30), ("loop", "loop", "loop-ext4", 1 << 30),
    ("bind:path=/tmp", "bind", "bind", None), ("layer", "layer", "layer", None),
    ("host", "host", "host", None), ("tmpfs:size=1g,name=big", "tmpfs", "big", 1 << 30),
])
def test_target_specs(text, kind, name, size):
    spec = parse_target(text)
    assert (spec.kind, spec.name, spec.size_bytes) == (kind, name, size)


@pytest.mark.parametrize("text,needle", [
    ("nfs", "unknown kind"), ("tmpfs:size=0", "at least 1 byte"), ("tmpfs:size=big", "not a size"),
    ("bind", "needs path"), ("bind:path=relative/dir", "absolute"), ("bind:path=/no/such/dir", "not an existing"),
    ("bind:path=/tmp/../etc", "absolute with no '..'"), ("loop:fs=zfs", "ext4, xfs"),
    ("tmpfs:colour=red", "not key=value"), ("local:name=a;b", "not accepted"),
])
def test_bad_target_specs(text, needle):
    with pytest.raises(UsageError, match=needle) as info:
        parse_target(text)
    assert "\n" not in str(info.value)


def test_two_targets_may_not_share_a_name():
    with pytest.raises(UsageError, match="two targets are named 'tmpfs'"):
        parse_targets(["tmpfs", "tmpfs:size=1g"])


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


def test_argv_lists_never_need_a_shell():
    argv = read_argv("/data/w", [Point("t", "randread", 1, 1, 4096, 16, 0), Point("t", "read", 1, 8, 65536, 2, 0)])
    assert argv[:4] == ["fio", "--output-format=json", "--readonly", "--clocksource=clock_gettime"]
    assert "--filename=/data/w/vt-65536.dat" in argv and "--ioengine=libaio" in argv
    assert argv.count("--stonewall") == 2 and all(isinstance(a, str) for a in argv)
    lay = layout_argv("/data/w", [1 << 20, 4096])
    assert lay.index("--name=layout-4096") < lay.index("--name=layout-1048576")
    assert "--bs=4096" in lay and "--bs=1048576" in lay


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
