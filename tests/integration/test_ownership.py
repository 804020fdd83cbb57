"""Ownership, against the real engine: voltools writes and removes only what it made itself.

Each test attacks one way voltools used to touch what was not its own: a user's bind folder, a
file, folder or symlink bearing the working folder's name, a run whose id extends another's, a
loop device backed by a voltools-named file outside the loop folder.
"""
import itertools
import os
import stat
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltools.measuring import loop
from voltools.measuring.cleanup import clean, leftovers
from voltools.cli import main
from voltools.errors import TargetError, UsageError
from voltools.api import start_sweep
from voltools.naming import check_name, object_name
from voltools.store import load_run
from voltools.measuring.targets import check_new_run, marker_path, parse_target, prepare

SMALL = dict(bs="4k,64k", blocks="1,8", rw="read", repeat=1)
GRID = ["--bs", "4k,64k", "--blocks", "1,8", "--rw", "read", "--repeat", "1"]
OLD = 1_000_000_000 * 10**9  # an mtime (2001) no sweep would set


def _snapshot(root):
    """Every entry below root, symlinks not followed: type, mode, mtime and content or target."""
    found = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            body = None
            if stat.S_ISLNK(info.st_mode):
                body = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    body = handle.read()
            found[os.path.relpath(path, root)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode),
                                                  info.st_mtime_ns, body)
    return found


def _user_folder(tmp_path):
    """A bind root holding a user's files, a folder, a voltools-like file and a symlink elsewhere."""
    root, elsewhere = tmp_path / "bind", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("not below the bind folder")
    (root / "thesis.txt").write_text("chapter 1")
    (root / "thesis.txt").chmod(0o600)
    (root / "sub").mkdir()
    (root / "sub" / "data.bin").write_bytes(os.urandom(4096))
    (root / "vt-4096.dat").write_text("a user's file named like a voltools data file")
    (root / "voltools_other_bind").mkdir()
    (root / "link").symlink_to(elsewhere)
    for path in [root / "thesis.txt", root / "sub" / "data.bin", root / "vt-4096.dat", root / "sub",
                 root / "voltools_other_bind", elsewhere / "precious.txt"]:
        os.utime(path, ns=(OLD, OLD))
    return root, elsewhere


def _error_line(capsys):
    """The one line on stderr; a progress bar erased with '\r' before it does not count as a line."""
    err = capsys.readouterr().err
    line = err.split("\r")[-1]
    assert err.count("\n") == 1 and line.startswith("voltools: error: "), err
    assert "Traceback" not in err
    return line


def test_a_sweep_leaves_the_bind_root_byte_identical(docker_client, run_id, raw_root, tmp_path):
    root, elsewhere = _user_folder(tmp_path)
    before = _snapshot(root), _snapshot(elsewhere)
    points = start_sweep([f"bind:path={root}"], data_dir=raw_root, run_id=run_id, **SMALL).measure()
    assert len(points) == 4 and (points["error"] == 0).all(), points["error_msg"].tolist()
    assert (_snapshot(root), _snapshot(elsewhere)) == before
    assert not marker_path(run_id, "bind").exists()


@pytest.mark.parametrize("kind", ["file", "folder", "symlink"])
def test_anything_named_like_the_working_folder_is_refused_and_untouched(
        kind, docker_client, run_id, raw_root, tmp_path, capsys):
    root, elsewhere = _user_folder(tmp_path)
    squatter = root / object_name(run_id, "bind")
    if kind == "file":
        squatter.write_text("mine")
    elif kind == "folder":
        squatter.mkdir()
        (squatter / "thesis.txt").write_text("chapter 2")
    else:
        squatter.symlink_to(elsewhere)
    before = _snapshot(root), _snapshot(elsewhere)
    code = main(["sweep", "--target", f"bind:path={root}", *GRID, "--run-id", run_id, "--data-dir", str(raw_root)])
    assert code == 2
    assert "exists" in _error_line(capsys)
    assert (_snapshot(root), _snapshot(elsewhere)) == before, "nothing written, moved or deleted"
    assert not (raw_root / run_id).exists() and not marker_path(run_id, "bind").exists()
    with pytest.raises(UsageError, match="exists"):  # the check a sweep makes before anything is created
        check_new_run([parse_target(f"bind:path={root}")], run_id)


def test_a_bind_folder_the_reader_cannot_enter_is_refused_up_front(docker_client, run_id, raw_root, tmp_path,
                                                                    capsys):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)  # as `mktemp -d` makes it
    code = main(["sweep", "--target", f"bind:path={private}", *GRID, "--run-id", run_id,
                 "--data-dir", str(raw_root)])
    err = _error_line(capsys)
    assert code == 2 and f"chmod o+x {private}" in err and "0700" in err
    assert not raw_root.exists() and list(private.iterdir()) == []


def test_a_file_dropped_into_the_working_folder_is_kept_and_reported(docker_client, run_id, raw_root, tmp_path):
    root = tmp_path / "bind"
    root.mkdir()
    workdir = root / object_name(run_id, "bind")

    def drop_a_file(done, label):
        if not (workdir / "mine.txt").exists():
            (workdir / "mine.txt").write_text("written by the user mid-sweep")

    with pytest.raises(TargetError, match="mine.txt") as info:
        start_sweep([f"bind:path={root}"], data_dir=raw_root, run_id=run_id, **SMALL).measure(drop_a_file)
    assert str(workdir) in str(info.value)
    assert sorted(p.name for p in workdir.iterdir()) == ["mine.txt"], "voltools' files gone, the user's kept"
    assert (workdir / "mine.txt").read_text() == "written by the user mid-sweep"
    assert marker_path(run_id, "bind").exists() and leftovers(docker_client, run_id) == 1
    assert len(load_run(run_id, raw_root)) == 4, "the points measured are kept"
    removed = clean(docker_client, run_id)
    assert removed.left and "mine.txt" in removed.left[0] and workdir.is_dir(), "clean never forces"
    (workdir / "mine.txt").unlink()
    assert clean(docker_client, run_id).files == [str(workdir)]
    assert list(root.iterdir()) == [] and leftovers(docker_client, run_id) == 0


def test_two_bind_targets_on_one_path_work_in_two_folders(docker_client, run_id, raw_root, tmp_path):
    root, elsewhere = _user_folder(tmp_path)
    before = _snapshot(root)
    seen = set()

    def look(done, label):
        seen.update(p.name for p in root.iterdir() if p.name.startswith(f"voltools_{run_id}_"))

    points = start_sweep([f"bind:path={root},name=b1", f"bind:path={root},name=b2"], data_dir=raw_root,
                         run_id=run_id, **SMALL).measure(look)
    assert len(points) == 8 and (points["error"] == 0).all(), points["error_msg"].tolist()
    assert seen == {object_name(run_id, "b1"), object_name(run_id, "b2")}
    assert _snapshot(root) == before


def test_clean_of_a_run_leaves_the_run_whose_id_extends_it(docker_client, run_id, isolated_state, tmp_path):
    other = f"{run_id}-y"
    root = tmp_path / "bind"
    root.mkdir()
    specs = [parse_target(f"bind:path={root}"), parse_target("loop:size=16m")]
    mine = [prepare(docker_client, spec, run_id) for spec in specs]
    theirs = [prepare(docker_client, spec, other) for spec in specs]
    try:
        assert leftovers(docker_client, other) == 3, "a marker, a loop device and a volume"
        assert main(["clean", "--run-id", run_id]) == 0
        assert leftovers(docker_client, run_id) == 0 and not os.path.lexists(mine[0].workdir)
        assert os.path.isdir(theirs[0].workdir) and marker_path(other, "bind").exists()
        assert loop.ours(other) == [theirs[1].device]
        assert docker_client.volumes.get(object_name(other, "loop-ext4"))
        assert leftovers(docker_client, other) == 3
    finally:
        for prepared in theirs:
            prepared.teardown()
    assert leftovers(docker_client, other) == 0 and list(root.iterdir()) == []


def test_clean_never_detaches_a_voltools_named_image_outside_the_loop_folder(docker_client, run_id,
                                                                             isolated_state, tmp_path):
    image = tmp_path / f"{object_name(run_id, 'loop-ext4')}.img"
    with open(image, "wb") as handle:
        handle.truncate(1 << 20)
    device = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True, text=True,
                            check=True).stdout.strip()
    try:
        assert loop.ours(run_id) == [] and leftovers(docker_client, run_id) == 0
        assert main(["clean", "--run-id", run_id]) == 0
        assert device in [d["name"] for d in loop.attached()] and image.exists()
    finally:
        subprocess.run(["losetup", "-d", device], check=True)


def test_a_loop_image_left_before_losetup_is_found_by_clean(docker_client, run_id, isolated_state):
    name = object_name(run_id, "loop-ext4")
    image = loop.create_image(name, 16 << 20)  # what attach makes before mkfs and losetup run
    assert leftovers(docker_client, run_id) == 1
    assert clean(docker_client, run_id).files == [str(image)] and not image.exists()
    prepared = prepare(docker_client, parse_target("loop:size=16m"), run_id)  # a resume can go on
    prepared.teardown()


def test_clean_leaves_the_runs_keep_names(docker_client, run_id, tmp_path):
    root = tmp_path / "bind"
    root.mkdir()
    prepared = prepare(docker_client, parse_target(f"bind:path={root}"), run_id)
    try:
        assert clean(docker_client, run_id, keep=lambda run: run == run_id).total() == 0
        assert os.path.isdir(prepared.workdir)
    finally:
        prepared.teardown()
    assert list(root.iterdir()) == []


def test_ambiguous_object_names_are_impossible(docker_client, run_id):
    assert object_name("advR", "a-b") != object_name("advR-a", "b")
    with pytest.raises(UsageError, match="no '_'"):
        check_name("adv_R")
    other = f"{run_id}-a"
    first = prepare(docker_client, parse_target("local:name=a-b"), run_id)
    second = prepare(docker_client, parse_target("local:name=b"), other)
    try:
        assert first.volume.name != second.volume.name, "two runs never share a volume"
        assert clean(docker_client, run_id).volumes == [first.volume.name]
        assert docker_client.volumes.get(second.volume.name)
    finally:
        second.teardown()
    assert leftovers(docker_client, other) == 0


def test_a_folder_closed_to_the_reader_after_the_checks_is_one_clear_error(docker_client, run_id, raw_root,
                                                                           tmp_path):
    root = tmp_path / "bind"
    root.mkdir()
    sweep = start_sweep([f"bind:path={root}"], data_dir=raw_root, run_id=run_id, **SMALL)
    root.chmod(0o700)  # after the checks, before lay-out: the reader cannot reach the files
    with pytest.raises(TargetError, match=r"reader \(uid 65534\) cannot open /data/voltools_.*/vt-\d+\.dat"):
        sweep.measure()
    assert list(root.iterdir()) == [] and not marker_path(run_id, "bind").exists()


def test_a_holder_killed_on_a_bind_target_still_leaves_nothing(docker_client, run_id, raw_root, tmp_path):
    root, elsewhere = _user_folder(tmp_path)
    before = _snapshot(root)

    def kill_holder(done, label):
        for container in docker_client.containers.list(
                filters={"label": [f"voltools.run={run_id}", "voltools.role=holder"]}):
            container.kill()

    points = start_sweep([f"bind:path={root}"], data_dir=raw_root, run_id=run_id, **SMALL).measure(kill_holder)
    assert len(points) == 4, "the reader goes on without the holder"
    assert _snapshot(root) == before and not marker_path(run_id, "bind").exists()


def test_which_runs_clean_selects():
    from voltools.measuring.cleanup import runs_selector
    every_but_live = runs_selector(None, keep=lambda run: run == "live")
    assert every_but_live("old") and not every_but_live("live") and not every_but_live(None)
    one = runs_selector("X")
    assert one("X") and not one("X-y") and not one("x") and not one(None)


def test_what_clean_cannot_remove_is_reported_not_forced(docker_client, probe_image, run_id):
    volume = docker_client.volumes.create(name=object_name(run_id, "v"), labels={"voltools.run": run_id})
    user = docker_client.containers.run(probe_image, ["sleep", "600"], detach=True, network_mode="none",
                                        volumes={volume.name: {"bind": "/data", "mode": "ro"}})
    try:
        removed = clean(docker_client, run_id)
        assert removed.volumes == [] and removed.left[0].startswith(f"volume {volume.name}: ")
        user.reload()
        assert user.status == "running", "a container that is not voltools' is never stopped"
    finally:
        user.remove(force=True)
    assert clean(docker_client, run_id).volumes == [volume.name]


ID_TAILS = st.lists(st.sampled_from(["", "-a", "a", "-a-b", ".1", "-A", "x", "-"]), min_size=2, max_size=4,
                    unique=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tails=ID_TAILS, data=st.data())
def test_clean_of_one_run_removes_exactly_its_labeled_objects(docker_client, probe_image, run_id, tails, data):
    """Attacked with hypothesis: runs whose ids extend one another ('X', 'X-a', 'Xa', 'X-a-b'...),
    each with a labeled volume, maybe a labeled container, and a volume and a container of the
    user's named like voltools' but unlabeled. `clean --run-id` one of them removes exactly that
    run's labeled objects; every other object is still there."""
    import docker
    from voltools.naming import labels
    ids = [run_id + tail for tail in tails]
    target = data.draw(st.sampled_from(ids), label="target")
    made = []  # (object, the run it is labeled with, or None for the user's)
    try:
        for rid in ids:
            made.append((docker_client.volumes.create(name=object_name(rid, "v"), labels=labels(rid, "v")), rid))
            made.append((docker_client.volumes.create(name=object_name(rid, "u")), None))
            if data.draw(st.booleans(), label=f"container of {rid}"):
                made.append((docker_client.containers.create(probe_image, ["true"], name=object_name(rid, "c"),
                                                             labels=labels(rid, "c"), network_mode="none"), rid))
            if data.draw(st.booleans(), label=f"user's container named like {rid}'s"):
                made.append((docker_client.containers.create(probe_image, ["true"], name=object_name(rid, "k"),
                                                             network_mode="none"), None))
        removed = clean(docker_client, target)
        assert set(removed.volumes) | set(removed.containers) == {o.name for o, rid in made if rid == target}
        assert removed.left == [] and removed.loop_devices == []
        for obj, rid in made:
            if rid != target:
                obj.reload()  # raises NotFound if clean took it
    finally:
        for obj, _ in made:
            try:
                obj.remove(force=True)
            except docker.errors.NotFound:
                pass


ENTRY_KINDS = ("file", "folder", "link-out", "dangling", "link-root", "fifo")
_EXAMPLES = itertools.count()  # each example its own run id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_tree_of_the_users_in_a_bind_folder_is_left_as_it_was(docker_client, run_id, raw_root, tmp_path,
                                                                   capsys, data):
    """Attacked with hypothesis: a bind folder holding a random tree of the user's (files, folders,
    symlinks out of it, dangling, back to it, a fifo), under names a sweep might use (its working
    folder's, a data file's, another run's) and ordinary ones. A sweep either measures (exit 0)
    or refuses in one line (exit 2: its working folder's name is taken); either way the tree and
    what its links point to are byte-identical, and nothing of the run is left."""
    rid = f"{run_id}-{next(_EXAMPLES)}"
    base = tempfile.mkdtemp(dir=tmp_path)
    root, elsewhere = os.path.join(base, "bind"), os.path.join(base, "elsewhere")
    os.mkdir(root)
    os.mkdir(elsewhere)
    with open(os.path.join(elsewhere, "precious.txt"), "w") as handle:
        handle.write("not below the bind folder")
    names = st.sampled_from([object_name(rid, "bind"), object_name(rid, "local"), "vt-4096.dat",
                             "vt-65536.dat", object_name(run_id, "bind"), "data", "a b", ".hidden"])
    for name, kind in data.draw(st.dictionaries(names, st.sampled_from(ENTRY_KINDS), max_size=5), label="tree").items():
        path = os.path.join(root, name)
        if kind == "file":
            with open(path, "wb") as handle:
                handle.write(os.urandom(64))
        elif kind == "folder":
            os.mkdir(path)
            with open(os.path.join(path, "inside.txt"), "w") as handle:
                handle.write("the user's")
        elif kind == "link-out":
            os.symlink(elsewhere, path)
        elif kind == "dangling":
            os.symlink(os.path.join(base, "gone"), path)
        elif kind == "link-root":
            os.symlink(root, path)
        else:
            os.mkfifo(path)
        if kind not in ("link-out", "dangling", "link-root"):
            os.utime(path, ns=(OLD, OLD))
    before = _snapshot(root), _snapshot(elsewhere)
    squatted = os.path.lexists(os.path.join(root, object_name(rid, "bind")))
    code = main(["sweep", "--target", f"bind:path={root}", *GRID, "--run-id", rid, "--data-dir", str(raw_root), "-q"])
    err = capsys.readouterr().err
    if squatted:
        assert code == 2 and err.count("\n") == 1 and err.startswith("voltools: error: ") and "exists" in err, err
        assert not os.path.exists(raw_root / rid)
    else:
        assert code == 0, err
    assert (_snapshot(root), _snapshot(elsewhere)) == before, "nothing written, moved or deleted"
    assert not marker_path(rid, "bind").exists() and leftovers(docker_client, rid) == 0

