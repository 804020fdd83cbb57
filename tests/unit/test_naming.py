"""voltools.naming: run ids, object names and labels that belong to exactly one run."""
import pytest

from voltools.errors import UsageError
from voltools.naming import check_name, labels, new_run_id, object_name, run_of, split_name


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
