"""provenance: what storage each target read, from this machine's /proc/mounts and /sys."""
import os

from voltools import provenance
from voltools.measuring.targets import parse_targets
from voltools.run import start_meta
from voltools.measuring.plan import SweepRequest


def _proc_mounts():
    with open("/proc/mounts") as fh:
        return [line.split()[:4] for line in fh]


def test_the_mount_of_a_folder_is_the_longest_mount_point_above_it(tmp_path):
    facts = provenance.mount_facts(tmp_path / "not" / "made" / "yet")
    assert facts["path"] == os.path.realpath(tmp_path)
    above = [m for m in _proc_mounts() if str(tmp_path).startswith(m[1].rstrip("/") + "/")]
    source, point, fs_type, options = max(above, key=lambda m: len(m[1]))
    assert (facts["mount_point"], facts["source"], facts["fs_type"], facts["mount_options"]) == (
        point, source, fs_type, options)


def test_the_block_device_is_the_whole_disk_with_what_sys_says_of_it():
    facts = provenance.block_device("/")
    if not facts:  # / on a file system with no block device (overlay): nothing to say
        assert os.stat("/").st_dev and not os.path.isdir(
            f"/sys/dev/block/{os.major(os.stat('/').st_dev)}:{os.minor(os.stat('/').st_dev)}")
        return
    disk = f"/sys/block/{facts['disk']}"
    assert os.path.isdir(disk) and facts["device"].startswith("/dev/")
    assert facts.get("rotational") == (open(f"{disk}/queue/rotational").read().strip() == "1")


def test_each_kind_of_target_gets_the_place_its_data_lives(isolated_state):
    specs = parse_targets(["tmpfs", "host", "loop:fs=xfs", "local"])
    facts = provenance.storage_facts(specs, {"docker_root_dir": "/var/lib/docker", "storage_driver": "overlay2"})
    places = facts["targets"]
    assert facts["storage_driver"] == "overlay2"
    assert places["tmpfs"] == {"fs_type": "tmpfs", "device": "memory"}
    assert str(isolated_state / "host").startswith(places["host"]["path"])  # its nearest existing folder
    assert places["loop-xfs"]["image_fs_type"] == "xfs" and places["loop-xfs"]["fs_type"]
    assert "/var/lib/docker/volumes".startswith(places["local"]["path"])
    assert "local" not in provenance.storage_facts(specs)["targets"]  # no engine: no volume folder known


def test_run_json_records_the_storage_for_the_docker_backend_only(isolated_state):
    request = SweepRequest.of(["host"], bs="4k,64k", blocks="1,16", rw="read", repeat=2)
    meta = start_meta("r1", request.plan(), "docker", request,
                      {"docker_storage": {"docker_root_dir": "/var/lib/docker", "storage_driver": "overlay2"}})
    assert meta["storage"]["storage_driver"] == "overlay2" and "docker_storage" not in meta
    assert meta["storage"]["targets"]["host"]["fs_type"]
    assert start_meta("r1", request.plan(), "swarm", request, {})["storage"] is None

