import pytest

from voltools.errors import UsageError
from voltools.naming import check_name, labels, new_run_id, object_name
from voltools.units import format_bytes, parse_count_list, parse_size, parse_size_list


@pytest.mark.parametrize("text,expected", [
    ("4k", 4096), ("64K", 65536), ("1m", 1 << 20), ("2g", 2 << 30), ("512", 512),
    ("64KiB", 65536), ("1MB", 1 << 20), (4096, 4096),
])
def test_parse_size_binary_multiples(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["0", "-4k", "abc", "4x", "", "1.5k", True])
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


def test_format_bytes():
    assert format_bytes(4096) == "4 KiB"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(1000 * 2**20) == "1000 MiB"


def test_run_ids_are_valid_and_distinct():
    ids = {new_run_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(check_name(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["a;rm -rf /", "a/b", "..", "a..b", "-x", "", "x" * 49, "a b", "$(id)"])
def test_unsafe_names_refused(bad):
    with pytest.raises(UsageError, match="not accepted"):
        check_name(bad)


def test_object_names_and_labels():
    assert object_name("r1", "tmpfs-reader") == "voltools-r1-tmpfs-reader"
    assert labels("r1", "holder") == {"voltools.run": "r1", "voltools.role": "holder"}
