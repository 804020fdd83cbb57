"""voltools.measuring.layout: the lay-out's commands, its checks, and a real lay-out on the host."""
import os
import shutil

import pytest

from voltools.errors import TargetError
from voltools.measuring.jobs import data_file
from voltools.measuring.layout import (checked, has_reader, lay_out, layout_steps, unreadable_argv,
                                       workdir_of, _fs_bytes)
from voltools.measuring.sessions import ExecResult, HostSession
from voltools.measuring.targets import parse_target, prepare


def test_a_run_works_in_its_own_folder_below_the_targets_root():
    assert workdir_of("/data", "r1", "tmpfs") == "/data/voltools_r1_tmpfs"


def test_only_targets_with_a_separate_reader_check_what_it_can_open():
    assert has_reader(parse_target("tmpfs:size=16m")) and has_reader(parse_target("local"))
    assert not has_reader(parse_target("layer")) and not has_reader(parse_target("host"))


def test_the_steps_make_the_folder_write_the_files_and_stat_them_in_order():
    steps = layout_steps("/data/w", [4096, 65536])
    assert [step[0] for step in steps] == ["mkdir", "stat", "fio", "stat", "stat", "sh"]
    assert steps[1] == steps[4] == ["stat", "-f", "-c", "%S %b %a", "/data/w"]
    assert steps[3][-2:] == [data_file("/data/w", 4096), data_file("/data/w", 65536)]
    assert steps[5] == unreadable_argv([data_file("/data/w", 4096), data_file("/data/w", 65536)])
    assert len(layout_steps("/data/w", [4096], reader_check=False)) == 5


def test_a_failed_step_is_one_target_error_with_its_last_line():
    spec = parse_target("tmpfs:size=16m")
    assert checked(ExecResult(0, "out\n", ""), spec, "mkdir") == "out\n"
    with pytest.raises(TargetError, match=r"^mkdir on target tmpfs failed \(exit 1\): no room$"):
        checked(ExecResult(1, "", "first\nno room\n"), spec, "mkdir")
    with pytest.raises(TargetError, match=r"\(exit 2\): $"):
        checked(ExecResult(2, "", ""), spec, "stat")


def test_statfs_output_is_total_and_available_bytes():
    assert _fs_bytes("4096 100 25\n") == (409600, 102400)


@pytest.mark.skipif(shutil.which("fio") is None, reason="needs fio on the host")
def test_a_real_lay_out_on_the_host_writes_one_file_per_size_and_measures_it(tmp_path, isolated_state):
    root = tmp_path / "root"
    root.mkdir()
    spec = parse_target(f"host:path={root}")
    prepared = prepare(None, spec, "r1")
    try:
        layout = lay_out(HostSession(prepared), spec, [4096, 1 << 20], "r1")
        assert layout.workdir == workdir_of(str(root), "r1", "host") == prepared.workdir
        assert sorted(os.listdir(layout.workdir)) == ["vt-1048576.dat", "vt-4096.dat"]
        assert os.path.getsize(data_file(layout.workdir, 1 << 20)) == 1 << 20
        assert set(layout.allocated) == {4096, 1 << 20} and layout.allocated[1 << 20] >= 1 << 20
        assert layout.fs_total_bytes >= layout.fs_avail_bytes > 0
    finally:
        prepared.teardown()
    assert list(root.iterdir()) == []


def test_a_lay_out_larger_than_the_free_space_is_refused_before_writing(tmp_path, isolated_state):
    spec = parse_target(f"host:path={tmp_path}")
    prepared = prepare(None, spec, "r1")
    try:
        with pytest.raises(TargetError, match="free but the sweep lays out"):
            lay_out(HostSession(prepared), spec, [1 << 60], "r1")
        assert os.listdir(prepared.workdir) == []
    finally:
        prepared.teardown()


class _RefusesDirectWrites:
    """A real host session whose medium refuses O_DIRECT writes, as some FUSE or 9p mounts do."""

    def __init__(self, session):
        self.session, self.root, self.commands = session, session.root, []

    def run(self, argv, role="reader"):
        self.commands.append(argv)
        if argv[0] == "fio" and "--direct=1" in argv:
            return ExecResult(1, "", "fio: pid=1, err=22/file:filesetup.c:240, func=open, error=Invalid argument")
        return self.session.run(argv, role)


@pytest.mark.skipif(shutil.which("fio") is None, reason="needs fio on the host")
@pytest.mark.parametrize("refuses", [False, True])
def test_a_direct_lay_out_writes_the_files_or_falls_back_to_the_page_cache(tmp_path, isolated_state, refuses):
    root = tmp_path / "root"
    root.mkdir()
    spec = parse_target(f"host:path={root}")
    prepared = prepare(None, spec, "r1")
    session = _RefusesDirectWrites(HostSession(prepared)) if refuses else HostSession(prepared)
    try:
        layout = lay_out(session, spec, [4096, 1 << 20], "r1", direct=True)
        assert os.path.getsize(data_file(layout.workdir, 1 << 20)) == 1 << 20
        assert layout.allocated[1 << 20] >= 1 << 20
        if refuses:
            writes = [argv for argv in session.commands if argv[0] == "fio"]
            assert len(writes) == 2 and "--direct=1" in writes[0] and "--ioengine=psync" in writes[1]
    finally:
        prepared.teardown()
    assert list(root.iterdir()) == []
