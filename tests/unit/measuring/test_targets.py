"""voltools.measuring.targets: target specs as the command line gives them."""
import pytest

from voltools.errors import UsageError
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
