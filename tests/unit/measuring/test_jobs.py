"""voltools.measuring.jobs: the data files' names and the fio argv lists."""
from voltools.measuring.jobs import data_file, is_data_file, layout_argv, read_argv
from voltools.measuring.plan import Point


def test_data_file_names_are_recognised_exactly():
    assert is_data_file(data_file("/w", 4096).rsplit("/", 1)[1])
    for other in ["vt-4096.dat.bak", "vt-0.dat", "vt-.dat", "thesis.txt", "vt-4096.dat/", "vt-０.dat"]:
        assert not is_data_file(other)


def test_argv_lists_never_need_a_shell():
    argv = read_argv("/data/w", [Point("t", "randread", 1, 1, 4096, 16, 0), Point("t", "read", 1, 8, 65536, 2, 0)])
    assert argv[:4] == ["fio", "--output-format=json", "--readonly", "--clocksource=clock_gettime"]
    assert "--filename=/data/w/vt-65536.dat" in argv and "--ioengine=libaio" in argv
    assert argv.count("--stonewall") == 2 and all(isinstance(a, str) for a in argv)
    lay = layout_argv("/data/w", [1 << 20, 4096])
    assert lay.index("--name=layout-4096") < lay.index("--name=layout-1048576")
    assert "--bs=4096" in lay and "--bs=1048576" in lay


def test_a_direct_lay_out_writes_with_o_direct_at_depth_and_a_buffered_one_does_not():
    direct = layout_argv("/data/w", [1 << 20], direct=True)
    assert "--direct=1" in direct and "--ioengine=libaio" in direct and "--iodepth=8" in direct
    assert "--end_fsync=1" in direct
    buffered = layout_argv("/data/w", [1 << 20])
    assert "--ioengine=psync" in buffered and not any(a.startswith(("--direct", "--iodepth")) for a in buffered)
