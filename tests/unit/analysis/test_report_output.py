"""Where a report may be written (report.output_path), attacked: paths built at random from names
that exist as a folder, a file, a page, a link in a loop, a dangling link, a read-only folder,
'.', '..' and a name too long. Either output_path refuses the path with one UsageError naming it,
or the page is then written there (report.save) and nothing else changes: no existing file is
replaced but a page, nothing is made outside the folder the test owns."""
import os

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from voltools.analysis.report import output_path, save
from voltools.errors import UsageError

NAMES = ["new", "dir", "page.html", "notes.txt", "loop", "dangling", "ro", ".", "..", "r.html", "x" * 300, "-", ""]


def _sandbox(root):
    """A folder with every kind of thing a path can meet."""
    root.mkdir(exist_ok=True)
    if not (root / "dir").exists():
        (root / "dir").mkdir()
        (root / "dir" / "page.html").write_text("old page")
        (root / "page.html").write_text("old page")
        (root / "notes.txt").write_text("the user's notes")
        (root / "loop").symlink_to("loop")
        (root / "dangling").symlink_to(root / "nowhere" / "dir")
        (root / "ro").mkdir(mode=0o555)
    return root


def _state(root):
    """Every path under root, whether it is a link, and a file's bytes."""
    return {(str(p), p.is_symlink(), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in root.rglob("*")}


@pytest.mark.parametrize("text,why", [
    ("loop", "leads nowhere or in a loop"), ("loop/r.html", "leads nowhere or in a loop"),
    ("dangling/r.html", "leads nowhere or in a loop"), ("new/..", "must be a file path"),
    ("new/.", "must be a file path"), ("-", "must be a file path"), ("", "must be a file path"),
    ("dir", "is a folder"), ("notes.txt", "is not an .html page"), ("notes.txt/r.html", "which is not a folder"),
    ("new/" + "x" * 300 + "/r.html", "longer than a file system takes"), ("/etc/r.html", "never writes in"),
    ("/proc/self/r.html", "never writes in"), ("a\0b.html", "is not a usable path"),
])
def test_paths_that_cannot_hold_a_report_are_refused_naming_them(text, why, tmp_path, monkeypatch):
    monkeypatch.chdir(_sandbox(tmp_path / "s"))
    with pytest.raises(UsageError, match="report output") as err:
        output_path(text)
    assert why in str(err.value) and "\n" not in str(err.value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join))
@example(text="dir/page.html")
@example(text="new/new/r.html")
@example(text="dir/../r.html")
def test_a_path_is_refused_or_the_page_is_written_there_and_nothing_else_changes(text, tmp_path, monkeypatch):
    root = _sandbox(tmp_path / "s")
    monkeypatch.chdir(root)
    assume(os.path.abspath(text).startswith(str(root) + "/"))
    before = _state(root)
    try:
        out = output_path(text)
    except UsageError as exc:
        assert str(exc).startswith("report output ") and "\n" not in str(exc)
        assert _state(root) == before
        return
    assert out == type(out)(os.path.abspath(text))
    replaced = out.exists()
    assert not replaced or out.suffix == ".html", f"{text} would replace {out}"
    save("<html>report</html>", out)
    assert out.read_text() == "<html>report</html>"
    changed = {p for p, *_ in _state(root) ^ before}
    assert changed <= {str(out), *map(str, out.parents)}, changed
    out.unlink()  # back as it was, for the next example
    if replaced:
        out.write_text("old page")
    made = [f for f in out.parents if str(f) in changed]
    for folder in made:  # innermost first
        folder.rmdir()
    assert _state(root) == before
