"""voltools.measuring.cleanup: what it counts as a run's, and removing a host target's folder
(the parts that need no engine; tests/integration/test_ownership.py has those that do)."""
import pytest

from voltools.errors import UsageError
from voltools.config import marker_dir
from voltools.measuring.cleanup import Removed, clean, label_filter, leftover_names, leftovers, markers, runs_selector
from voltools.measuring.jobs import data_file
from voltools.measuring.targets import parse_target, prepare


def test_a_label_filter_names_one_run_or_any():
    assert label_filter("r1") == {"label": "voltools.run=r1"}
    assert label_filter() == {"label": "voltools.run"}


def test_a_run_selector_wants_exactly_that_run_never_one_whose_id_extends_it():
    wanted = runs_selector("r1")
    assert wanted("r1") and not wanted("r1-b") and not wanted("r") and not wanted(None)
    every = runs_selector()
    assert every("r1") and every("r2") and not every(None)
    assert not runs_selector(keep=lambda run: run == "r1")("r1")
    with pytest.raises(UsageError):
        runs_selector("")
    with pytest.raises(UsageError):
        runs_selector("a_b")


def test_removed_counts_what_went_not_what_was_left():
    removed = Removed(volumes=["v"], files=["/a", "/b"], left=["kept x"])
    assert removed.total() == 3 and Removed().total() == 0


def test_clean_without_an_engine_removes_a_host_folder_and_its_marker(tmp_path, isolated_state):
    root = tmp_path / "root"
    root.mkdir()
    prepared = prepare(None, parse_target(f"host:path={root}"), "r1")
    open(data_file(prepared.workdir, 4096), "wb").close()
    other = prepare(None, parse_target(f"host:path={root}"), "r1-b")
    assert leftovers(None, "r1") == 1 and len(markers(runs_selector())) == 2
    assert leftover_names(None, "r1") == [f"host folder marker {marker_dir()}/{prepared.workdir.rsplit('/', 1)[-1]}"]
    removed = clean(None, "r1")
    assert removed.files == [prepared.workdir] and removed.left == [] and removed.total() == 1
    assert leftovers(None, "r1") == 0 and leftovers(None, "r1-b") == 1
    assert [p.name for p in root.iterdir()] == [other.workdir.rsplit("/", 1)[-1]]
    other.teardown()
    assert list(root.iterdir()) == [] and leftovers(None) == 0


def test_a_file_voltools_did_not_write_is_left_and_said_so(tmp_path, isolated_state):
    root = tmp_path / "root"
    root.mkdir()
    prepared = prepare(None, parse_target(f"host:path={root}"), "r1")
    (root / prepared.workdir.rsplit("/", 1)[-1] / "notes.txt").write_text("mine")
    removed = clean(None, "r1")
    assert removed.files == [] and len(removed.left) == 1
    assert "holds 1 entry voltools did not make" in removed.left[0] and "notes.txt" in removed.left[0]
    assert (root / prepared.workdir.rsplit("/", 1)[-1] / "notes.txt").read_text() == "mine"
    assert leftovers(None, "r1") == 1, "the marker stays until the folder can go"
