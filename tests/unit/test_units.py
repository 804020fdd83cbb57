"""voltools.units: sizes and counts as the command line gives them."""
import pytest

from voltools.errors import UsageError
from voltools.units import parse_count_list, parse_size, parse_size_list


@pytest.mark.parametrize("text,expected", [
    ("4k", 4096), ("64K", 65536), ("1m", 1 << 20), ("2g", 2 << 30), ("512", 512),
    ("64KiB", 65536), ("1MB", 1 << 20), (4096, 4096),
])
def test_parse_size_binary_multiples(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["0", "-4k", "abc", "4x", "", "1.5k", True, "²", "３k", "1_0", "4k\n",
                                  "9" * 30, "2000000t", "\u0664k"])
def test_parse_size_refuses_with_one_line(text):
    with pytest.raises(UsageError) as info:
        parse_size(text, "block size")
    assert "\n" not in str(info.value) and "block size" in str(info.value)


def test_lists_keep_order_and_drop_repeats():
    assert parse_size_list("64k,4k,64k") == [65536, 4096]
    assert parse_count_list("16,1,16") == [16, 1]
    with pytest.raises(UsageError, match="whole number >= 1"):
        parse_count_list("1,0")
    with pytest.raises(UsageError, match="whole number >= 1"):
        parse_count_list("-3")


@pytest.mark.parametrize("text", ["²", "¹", "３", "1_0", "+3", "0x10", "1e3", "9" * 5000, "1,,2", "١"])
def test_counts_are_ascii_digits_only(text):
    with pytest.raises(UsageError, match="ASCII digits") as info:
        parse_count_list(text, "blocks")
    assert "\n" not in str(info.value)
