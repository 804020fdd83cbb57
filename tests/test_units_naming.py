import pytest

from voltools.errors import UsageError
from voltools.measuring.jobs import data_file, is_data_file
from voltools.naming import check_name, labels, new_run_id, object_name, run_of, split_name
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


def test_run_ids_are_valid_and_distinct():
    ids = {new_run_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(check_name(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["a;rm -rf /", "a/b", "..", "a..b", "-x", "", "x" * 49, "a b", "$(id)",
                                 "x\n", "a_b", "_x", "x_", "ﬁle", "é", "x\t", "١٢"])
def test_unsafe_names_refused(bad):
    with pytest.raises(UsageError, match="not accepted") as info:
        check_name(bad)
    assert "\n" not in str(info.value).replace(repr(bad), "")


def test_object_names_and_labels():
    assert object_name("r1", "tmpfs-reader") == "voltools_r1_tmpfs-reader"
    assert labels("r1", "holder") == {"voltools.run": "r1", "voltools.role": "holder"}


def test_object_names_split_back_into_one_run_and_role():
    assert object_name("advR", "a-b") != object_name("advR-a", "b")
    assert split_name(object_name("advR-a", "b")) == ("advR-a", "b")
    assert run_of("voltools_advR_a-b") == "advR" and run_of("voltools_advR-a_b") == "advR-a"
    for foreign in ["voltools-advR-a-b", "voltools_a_b_c", "voltools__b", "other_advR_b", "voltools_a..b_c"]:
        assert split_name(foreign) is None
    with pytest.raises(UsageError):
        object_name("advR", "a_b")


def test_data_file_names_are_recognised_exactly():
    assert is_data_file(data_file("/w", 4096).rsplit("/", 1)[1])
    for other in ["vt-4096.dat.bak", "vt-0.dat", "vt-.dat", "thesis.txt", "vt-4096.dat/", "vt-０.dat"]:
        assert not is_data_file(other)
