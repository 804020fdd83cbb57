"""The reader's lock-down, attacked from inside it: what the process is (uid, capabilities, no new
privileges, seccomp, network) read from /proc and /sys, and random attempts to change the volume
or the root filesystem (hypothesis), each of which must fail and leave both as they were.

`test_docker_sweep.py::test_reader_container_is_locked_down` inspects the container's settings;
this checks what those settings give a process that tries."""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltools.measuring.sessions import ContainerSession
from voltools.measuring.targets import parse_target, prepare

# Places of the reader's root filesystem and of the volume (/data); /tmp (the reader's own
# scratch tmpfs, by design), /dev and /proc (kernel interfaces) are not in them.
PLACES = ["/", "/data", "/data/sub", "/data/f", "/etc", "/bin", "/usr", "/var", "/root", "/home", "/sys/kernel"]
NAMES = st.sampled_from(["", "x", "f", "sub", ".hidden", "vt-4096.dat", "..x", "a b"])
# Each attempt is one argv run in the reader; every one must fail there.
ATTEMPTS = {
    "create or truncate": lambda p: ["sh", "-c", ': > "$1"', "sh", p],
    "append": lambda p: ["sh", "-c", 'echo x >> "$1"', "sh", p],
    "mkdir": lambda p: ["mkdir", p],
    "remove": lambda p: ["rm", "-rf", p],
    "chmod": lambda p: ["chmod", "777", p],
    "touch": lambda p: ["touch", p],
    "rename": lambda p: ["mv", p, p.rstrip("/") + ".moved"],
    "symlink": lambda p: ["ln", "-s", "/etc/passwd", p],
    "hardlink": lambda p: ["ln", "/data/f", p],
    "mknod": lambda p: ["mknod", p, "p"],
    "mount": lambda p: ["mount", "-t", "tmpfs", "none", p],
}


@pytest.fixture(scope="module")
def locked(docker_client, probe_image):
    """A reader and holder over a tmpfs volume holding /data/f and /data/sub/g (written by the holder)."""
    run_id = f"tlock{uuid.uuid4().hex[:8]}"
    prepared = prepare(docker_client, parse_target("tmpfs:size=16m"), run_id)
    session = ContainerSession(docker_client, probe_image, prepared)
    try:
        made = session.run(["sh", "-c", "echo data > /data/f && mkdir /data/sub && echo g > /data/sub/g"], "holder")
        assert made.exit_code == 0, made.stderr
        yield session
    finally:
        session.close()
        prepared.teardown()
    from voltools.measuring.cleanup import leftovers
    assert leftovers(docker_client, run_id) == 0


def _state(session):
    """The volume as the holder sees it (every path, size and mode) and the reader's root filesystem
    changes as the engine records them."""
    listing = session.run(["sh", "-c", "find /data -exec stat -c '%n %s %a %F' {} +"], "holder").stdout
    return listing, session.containers["reader"].diff()


def test_the_reader_process_has_no_privilege_left(locked):
    status = dict(line.split(":\t", 1) for line in locked.run(["cat", "/proc/self/status"]).stdout.splitlines()
                  if ":\t" in line)
    assert status["Uid"].split()[:2] == ["65534", "65534"] and status["Gid"].split()[:2] == ["65534", "65534"]
    assert all(int(status[cap], 16) == 0 for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))
    assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"
    assert locked.run(["ls", "/sys/class/net"]).stdout.split() == ["lo"], "no network but loopback"


@given(op=st.sampled_from(sorted(ATTEMPTS)), place=st.sampled_from(PLACES), name=NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_attempt_of_the_reader_changes_the_volume_or_its_root(locked, op, place, name):
    before = _state(locked)
    path = f"{place.rstrip('/')}/{name}" if name else place
    absent = locked.run(["sh", "-c", '[ ! -e "$1" ] && [ ! -L "$1" ]', "sh", path]).exit_code == 0
    result = locked.run(ATTEMPTS[op](path))
    if not (op == "remove" and absent):  # rm -f of nothing succeeds, and changes nothing
        assert result.exit_code != 0, f"{op} {path} succeeded in the reader: {result.stdout}{result.stderr}"
    assert _state(locked) == before, f"{op} {path} changed the volume or the reader's root"
