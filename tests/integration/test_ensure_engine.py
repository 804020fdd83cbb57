"""scripts/ensure-engine.sh, branch by branch, against fakes (enginefakes: the real apt-get, dpkg,
docker, systemctl and dockerd can never be reached): what it calls, never what apt does."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from enginefakes import REAL_TOOLS, SCRIPT, Box


@pytest.fixture
def box(tmp_path, real_tools):
    return Box(tmp_path, real_tools)


def apt_install(*pkgs):
    return ["apt-get update", "apt-get install -y --no-remove " + " ".join(pkgs)]


def test_engine_answers_and_all_tools_present_installs_nothing(box):
    box.have("docker", "dockerd")
    box.tools()
    box.engine_up()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert box.called("dpkg") == [] and box.called("dockerd") == [] and box.called("systemctl") == []
    assert proc.stderr == ""


def test_engine_answers_fio_missing_installs_only_fio(box):
    # the engine answers (e.g. Docker CE over DOCKER_HOST) and there is no dockerd on PATH:
    # still no docker.io, only fio
    box.have("docker")
    box.tools(but=["fio"])
    box.engine_up()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == apt_install("fio")
    assert "engine: installing fio (missing: fio) with apt-get\n" in proc.stderr
    assert (box.bin / "fio").exists()
    assert box.called("dockerd") == [] and box.called("systemctl") == []


def test_docker_ce_installed_engine_down_installs_fio_only_and_starts_it_with_systemctl(box):
    box.env["FAKE_DPKG_INSTALLED"] = "docker-ce docker-ce-cli containerd.io"
    box.have("docker", "dockerd", "systemctl")
    box.tools(but=["fio"])
    box.systemd_runs()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == apt_install("fio")
    assert not any("docker.io" in c for c in box.apt)
    assert box.called("dpkg") == ["dpkg -s docker-ce"]
    assert box.called("systemctl") == ["systemctl start docker"]
    assert box.called("dockerd") == []  # systemd's unit, not a hand-started second one
    assert "engine: starting Docker with systemctl start docker (package docker-ce)" in proc.stderr
    assert "engine: Docker Engine 99.0.0-fake answers" in proc.stderr


def test_moby_installed_without_dockerd_or_systemd_never_installs_docker_io(box):
    box.env["FAKE_DPKG_INSTALLED"] = "moby-engine"
    box.have("docker")
    box.tools()
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == []
    assert box.called("dpkg") == ["dpkg -s docker-ce", "dpkg -s docker-ce-cli", "dpkg -s moby-engine"]
    assert ("engine: moby-engine is installed but there is no dockerd and no systemd to start it"
            in proc.stderr)


def test_docker_package_without_systemd_starts_dockerd_in_background(box):
    box.env["FAKE_DPKG_INSTALLED"] = "docker-ce-cli"
    box.have("docker", "dockerd", "systemctl")  # systemctl present, but systemd does not run
    box.tools()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert box.called("systemctl") == []
    assert box.called("dockerd") == ["dockerd "]
    assert (box.state / "dockerd.pid").read_text().strip().isdigit()
    assert "fake dockerd up" in (box.state / "dockerd.log").read_text()


def test_systemctl_failing_falls_back_to_dockerd(box):
    box.env["FAKE_DPKG_INSTALLED"] = "docker-ce"
    box.env["FAKE_SYSTEMCTL_FAIL"] = "1"
    box.have("docker", "dockerd", "systemctl")
    box.tools()
    box.systemd_runs()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert box.called("systemctl") == ["systemctl start docker"]
    assert box.called("dockerd") == ["dockerd "]
    assert "engine: systemctl start docker failed: Failed to start docker.service" in proc.stderr


def test_nothing_at_all_as_root_installs_docker_io_and_tools_and_starts_dockerd(box):
    # docker-ce was removed but left its configuration: that is not an installed package
    box.env["FAKE_DPKG_CONFIG_ONLY"] = "docker-ce"
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == apt_install("docker.io", "fio", "busybox-static", "e2fsprogs", "xfsprogs")
    assert ("engine: installing docker.io fio busybox-static e2fsprogs xfsprogs "
            "(missing: dockerd, fio, busybox, mkfs.ext4, mkfs.xfs) with apt-get\n") in proc.stderr
    assert box.called("dpkg") == [f"dpkg -s {p}" for p in
                                  ("docker-ce", "docker-ce-cli", "moby-engine", "podman-docker",
                                   "docker.io")]
    assert box.called("dockerd") == ["dockerd "]
    assert box.calls.index("dockerd ") > box.calls.index(box.apt[-1])
    assert (box.state / "dockerd.pid").exists()
    assert "engine: Docker Engine 99.0.0-fake answers" in proc.stderr


def test_no_install_opt_out_engine_answers(box):
    box.env["VOLTOOLS_NO_INSTALL"] = "1"
    box.have("docker")
    box.tools(but=["fio", "busybox"])
    box.engine_up()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert proc.stderr == ("engine: missing: fio, busybox; not installing (VOLTOOLS_NO_INSTALL=1); "
                           "to install: apt-get install fio busybox-static\n")


def test_no_install_opt_out_nothing_here(box):
    box.env["VOLTOOLS_NO_INSTALL"] = "1"
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == []
    assert box.called("dockerd") == [] and box.called("systemctl") == []
    assert ("to install: apt-get install docker.io fio busybox-static e2fsprogs xfsprogs"
            in proc.stderr)
    assert "engine: no Docker Engine here and none installed (VOLTOOLS_NO_INSTALL=1)" in proc.stderr


def test_non_root_never_installs(box):
    box.env["FAKE_UID"] = "1000"
    box.have("docker")
    box.tools(but=["mkfs.xfs"])
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == []
    assert box.called("dockerd") == [] and box.called("systemctl") == []
    assert ("engine: missing: dockerd, mkfs.xfs; not root, so not installing; as root: apt-get install "
            "docker.io xfsprogs" in proc.stderr)
    assert ("engine: no Docker Engine answers and you are not root: start Docker, or run this as root"
            in proc.stderr)


def test_root_without_apt_get_says_what_is_missing(box):
    (box.bin / "apt-get").unlink()
    box.have("docker")
    box.tools(but=["fio"])
    box.engine_up()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert proc.stderr == ("engine: missing: fio; no apt-get here: install them yourself "
                           "(Debian packages: fio)\n")


def test_socket_without_permission_exits_4():
    """A socket this user may not read and write. Run as nobody when the tests run as root
    (root may open anything), in a world-readable folder so nobody can reach the fakes."""
    root = Path(tempfile.mkdtemp(prefix="voltools-sock-"))
    try:
        root.chmod(0o755)
        tools = root / "real-tools"
        tools.mkdir()
        for tool in REAL_TOOLS + ["seq"]:
            (tools / tool).symlink_to(shutil.which(tool))
        b = Box(root, tools)
        b.env["FAKE_UID"] = "1000"
        b.have("docker")
        b.tools(but=["fio"])
        b.log.chmod(0o666)
        script = root / "ensure-engine.sh"
        shutil.copy(SCRIPT, script)
        script.chmod(0o755)
        sock = root / "docker.sock"
        sock.write_text("")
        extra = {}
        if os.geteuid() == 0:
            sock.chmod(0o600)  # root's, not nobody's
            extra = {"user": 65534, "group": 65534, "extra_groups": []}
        else:
            sock.chmod(0o000)
        import grp
        group = grp.getgrgid(sock.stat().st_gid).gr_name
        proc = b.run(script=script, **extra)
        assert proc.returncode == 4, proc.stderr
        assert proc.stderr == (f"engine: no permission on the Docker socket {sock}: run as root or add "
                               f"yourself to its group ({group})\n")
        assert b.apt == []
        assert b.called("docker") == ["docker info"]
    finally:
        shutil.rmtree(root)


def test_docker_info_permission_denied_exits_4(box):
    box.env["FAKE_UID"] = "1000"
    box.env["FAKE_DOCKER_ERR"] = ("permission denied while trying to connect to the Docker daemon "
                                  "socket at unix:///var/run/docker.sock: Get ...: connect: "
                                  "permission denied")
    box.have("docker")
    box.tools()
    proc = box.run()
    assert proc.returncode == 4
    assert proc.stderr == (f"engine: no permission on the Docker socket {box.root}/docker.sock: run as "
                           "root or add yourself to its group (docker)\n")
    assert box.apt == []


def test_apt_get_failing_exits_3_with_its_last_lines(box):
    box.env["FAKE_APT_FAIL"] = "Unable to locate package xfsprogs"
    box.have("docker")
    box.tools(but=["mkfs.xfs"])
    box.engine_up()
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == apt_install("xfsprogs")
    log = box.state / "apt.log"
    assert "Reading line 1\n" in log.read_text()  # the full output is kept
    assert f"engine: apt-get failed; its last lines (all of it in {log}):" in proc.stderr
    assert "engine:   E: Unable to locate package xfsprogs\n" in proc.stderr
    assert "engine:   Reading line 30\n" in proc.stderr
    assert "Reading line 1\n" not in proc.stderr  # only the last lines


def test_running_dockerd_is_waited_for_never_doubled(box):
    box.env["FAKE_PGREP"] = "1"
    box.env["FAKE_UP_AFTER"] = "3"  # answers on the third `docker info`: the script must wait
    box.env["FAKE_DPKG_INSTALLED"] = "docker.io"
    box.have("docker", "dockerd", "systemctl")
    box.tools()
    box.systemd_runs()
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert box.called("pgrep") == ["pgrep -x dockerd"]
    assert box.called("dockerd") == [] and box.called("systemctl") == []
    assert box.called("docker info") == ["docker info"] * 3
    assert "engine: a dockerd is running already; waiting for it, not starting a second" in proc.stderr


def test_dockerd_we_started_is_waited_for(box):
    box.env["FAKE_UP_AFTER"] = "2"
    box.have("docker", "dockerd")
    box.tools()
    box.state.mkdir()
    (box.state / "dockerd.pid").write_text(f"{os.getpid()}\n")  # a live pid
    proc = box.run()
    assert proc.returncode == 0, proc.stderr
    assert box.apt == []
    assert box.called("dockerd") == [] and box.called("pgrep") == []
    assert f"engine: dockerd (pid {os.getpid()}) is starting; waiting for it" in proc.stderr


def test_engine_that_never_answers_exits_3_after_the_wait(box):
    box.env["FAKE_DOCKERD_DUD"] = "1"
    box.env["VOLTOOLS_ENGINE_WAIT"] = "1"
    box.have("docker", "dockerd")
    box.tools()
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == []
    assert box.called("dockerd") == ["dockerd "]
    assert len(box.called("docker info")) >= 2
    assert (f"engine: no Docker Engine answered within 1 s: see {box.state}/dockerd.log"
            in proc.stderr)


@pytest.mark.parametrize("dpkg_says, commands, message", [
    ("podman-docker", [], "no docker command to ask the engine with"),
    ("docker-ce-cli", [], "no docker command to ask the engine with"),
    ("", ["dockerd"], "no docker command to ask the engine with"),
])
def test_any_docker_here_means_no_docker_io(box, dpkg_says, commands, message):
    """Each sign of an installed Docker alone keeps docker.io out (it conflicts with Docker CE)."""
    box.env["FAKE_DPKG_INSTALLED"] = dpkg_says
    box.have(*commands)
    box.tools(but=["fio"])
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == apt_install("fio")
    assert "engine: installing fio (missing: fio) with apt-get\n" in proc.stderr
    assert message in proc.stderr
    assert box.called("dockerd") == [] and box.called("systemctl") == []


def test_a_docker_client_alone_is_no_engine_so_docker_io_is_installed(box):
    """A docker binary that no package owns (as on a fresh machine of this project's kind) conflicts
    with nothing: without a dockerd or a Docker package, docker.io is what gives an engine."""
    box.have("docker")
    box.tools(but=["fio"])
    proc = box.run()
    assert box.apt == apt_install("docker.io", "fio")
    assert "engine: installing docker.io fio (missing: dockerd, fio) with apt-get\n" in proc.stderr


def test_remote_docker_host_is_never_started_or_installed_here(box):
    box.env["DOCKER_HOST"] = "tcp://192.0.2.1:2375"
    proc = box.run()
    assert proc.returncode == 3
    assert box.apt == apt_install("fio", "busybox-static", "e2fsprogs", "xfsprogs")
    assert box.called("dockerd") == [] and box.called("dpkg") == []
    assert ("engine: no Docker Engine answers at tcp://192.0.2.1:2375: start that engine, or unset "
            "DOCKER_HOST") in proc.stderr
