"""Issue 14 item 6 on the committed sample run: a dataset that does not fit gets no verdict and no
comparison; one notion of peak; latency percentiles and IOPS; one unit per interval."""
import pytest

from voltools.analysis import findings, models, prose
from voltools.analysis import tables as rt
from voltools.store import RunStore, load_run
from repo import RAW

GIB = 1024**3


@pytest.fixture(scope="module")
def sample():
    points = load_run("sample", RAW)
    meta = RunStore.open("sample", RAW).read_meta()
    return points, meta, findings.fit_usable(points)


def verdicts(sample, dataset_bytes):
    points, meta, fits = sample
    cap = findings.capacity_table(points, dataset_bytes, meta["host"]["memory_bytes"])
    compare = models.compare_to_baseline(fits, "host", dataset_bytes=dataset_bytes, bs_bytes=65536)
    return cap, findings.objective_verdicts(compare, 600.0, cap)


def test_a_40g_dataset_fits_neither_the_512m_tmpfs_nor_the_1g_loop(sample):
    cap, c = verdicts(sample, 40 * GIB)
    room = cap.set_index("target")
    assert not room.loc["loop-ext4", "dataset_fits"] and "holds 906 MiB" in room.loc["loop-ext4", "fit_why"]
    assert "in memory" in room.loc["tmpfs", "fit_why"] and "23.5 GiB" in room.loc["tmpfs", "fit_why"]
    assert room.loc["host", "dataset_fits"] and room.loc["local", "dataset_fits"]
    short = c[c["target"].isin(["tmpfs", "loop-ext4"])]
    assert set(short["meets"]) == {"does not fit"} and short["headroom"].isna().all()
    assert set(c[c["target"].isin(["host", "local"])]["meets"]) != {"does not fit"}


def test_a_tmpfs_larger_than_memory_does_not_fit_even_if_sized_large_enough(sample):
    points, meta, _ = sample
    big = points.assign(target_size_bytes=points["target_size_bytes"].where(points["target"] != "tmpfs", 64 * GIB),
                        fs_avail_bytes=points["fs_avail_bytes"].where(points["target"] != "tmpfs", 64 * GIB))
    room = findings.capacity_table(big, 40 * GIB, meta["host"]["memory_bytes"]).set_index("target")
    assert not room.loc["tmpfs", "dataset_fits"] and "in memory" in room.loc["tmpfs", "fit_why"]
    assert findings.capacity_table(big, 40 * GIB).set_index("target").loc["tmpfs", "dataset_fits"]


def test_no_verdict_and_no_faster_than_for_a_target_that_does_not_fit(sample):
    cap, c = verdicts(sample, 40 * GIB)
    base = prose.baseline_md(c, "host")
    for line in base.splitlines():
        if "tmpfs" in line or "loop-ext4" in line:
            assert "does not fit" in line and "faster" not in line and "slower" not in line and "×" not in line
    objective = prose.objective_md(c, 600.0)
    assert "does not fit" in objective and "tmpfs read" in objective.split("does not fit")[1]
    table = rt.compare_display(c).frame.set_index(["target", "rw"])
    assert table.loc[("tmpfs", "read"), "× baseline [95%]"] == "does not fit"
    assert table.loc[("tmpfs", "read"), "meets objective"] == "does not fit"
    summary = prose.summary_md(c, findings.half_peak_table(sample[2]), cap, findings.fit_checks(sample[2]),
                               "host", 600.0)
    assert "4 do not fit (no verdict)" in summary and "where the dataset fits" in summary
    assert "tmpfs randread" not in summary.split("\n")[0]  # the fastest that fits, not tmpfs


def test_a_4g_dataset_fits_the_host_and_local_targets_only(sample):
    cap, c = verdicts(sample, 4 * GIB)
    assert set(cap.loc[~cap["dataset_fits"], "target"]) == {"tmpfs", "loop-ext4"}
    assert "does **not fit** on loop-ext4 and tmpfs" in prose.capacity_md(cap, 4 * GIB)


def test_peak_is_the_fitted_beta_and_the_best_measured_shows_where_they_differ(sample):
    points, _, fits = sample
    half = findings.half_peak_table(fits, points).set_index(["target", "rw"])
    tmpfs = half.loc[("tmpfs", "read")]
    assert tmpfs["best_measured_bytes_per_s"] > tmpfs["beta_high_bytes_per_s"] and tmpfs["peaks_differ"]
    cells = points[(points["target"] == "tmpfs") & (points["rw"] == "read") & (points["error"] == 0)]
    best = (cells["size_bytes"] / cells["read_time_s"]).groupby([cells["bs_bytes"], cells["blocks"]]).median().idxmax()
    assert (tmpfs["best_bs_bytes"], tmpfs["best_blocks"]) == best
    host = half.loc[("host", "read")]
    assert host["beta_low_bytes_per_s"] <= host["best_measured_bytes_per_s"] <= host["beta_high_bytes_per_s"]
    assert not host["peaks_differ"]
    text = prose.half_peak_md(half.reset_index())
    assert "*Peak* is the fitted β" in text and "tmpfs**: randread: peak β 5.03 GiB/s (best measured 6.58 GiB/s)" in text
    assert "host**: randread: peak β 1.51 GiB/s, half" in text  # no second number where they agree
    shown = rt.half_peak_display(half.reset_index()).frame.set_index(["target", "rw"])
    assert shown.loc[("tmpfs", "read"), "best measured"] == "6.61 GiB/s ≠ β"
    assert shown.loc[("host", "read"), "best measured"] == "1.43 GiB/s"


def test_latency_percentiles_and_iops_per_target_and_block_size(sample):
    points = sample[0]
    table = findings.latency_table(points).set_index(["target", "rw", "bs_bytes"])
    assert len(table) == 4 * 2 * 5
    host = table.loc[("host", "read", 4096)]
    rows = points[(points["target"] == "host") & (points["rw"] == "read") & (points["bs_bytes"] == 4096)
                  & (points["blocks"] == 256)]
    assert host["p50_us"] == pytest.approx(rows["lat_p50_ns"].median() / 1e3)
    assert host["iops"] == pytest.approx((256 / rows["read_time_s"]).median())
    assert host["p999_us"] != host["p999_us"]  # 256 I/Os cannot support a p99.9
    assert table.loc[("host", "read", 65536), "ios"] == 16384 and table.loc[("host", "read", 65536), "p999_us"] > 0
    shown = rt.latency_display(table.reset_index()).frame
    assert list(shown.columns[3:7]) == ["p50 (µs)", "p99 (µs)", "p99.9 (µs)", "IOPS"]
    assert (shown["p99.9 (µs)"] == "–").sum() == 40 - 4
    text = prose.latency_md(table.reset_index())
    assert "**host** read: **19,500 IOPS**, p50 48.5 µs, p99 81.9 µs." in text
    assert "1,000 I/Os" in text


def test_the_method_table_shows_the_storage_or_says_it_was_not_recorded(sample):
    storage = {"docker_root_dir": "/var/lib/docker", "storage_driver": "overlay2",
               "storage_driver_status": {"Backing Filesystem": "extfs"},
               "targets": {"local": {"fs_type": "ext4", "device": "/dev/vda", "driver": "virtio_blk",
                                     "rotational": False, "mount_point": "/var/lib/docker",
                                     "mount_options": "rw,relatime"},
                           "tmpfs": {"fs_type": "tmpfs", "device": "memory"}}}
    rows = dict(rt.provenance_display({"storage": storage}).frame.values)
    assert rows["storage driver"] == "overlay2 on extfs" and rows["Docker root dir"] == "/var/lib/docker"
    assert rows["storage of local"] == ("ext4 on /dev/vda (virtio_blk, not rotational), mounted at "
                                        "/var/lib/docker (rw,relatime)")
    assert rows["storage of tmpfs"] == "tmpfs, in memory"
    recorded = dict(rt.provenance_display(sample[1]).frame.values)  # the sample records its storage
    assert recorded["storage of local"].startswith("ext4 on ") and recorded["storage driver"].startswith("overlay2")
    before = {k: v for k, v in sample[1].items() if k != "storage"}  # a run made before voltools recorded it
    assert "not recorded" in dict(rt.provenance_display(before).frame.values)["storage"]


def test_the_answer_says_where_the_dataset_does_not_fit(sample):
    from voltools.analysis import answers
    points, meta, _ = sample
    cap = findings.capacity_table(points, 40 * GIB, meta["host"]["memory_bytes"])
    text = prose.answer_md(answers.predict_table(points, 40 * GIB, 65536), cap)
    tmpfs = [line for line in text.splitlines() if line.startswith("- **tmpfs** read")]
    assert tmpfs and tmpfs[0].endswith("**Does not fit**: a tmpfs lives in memory: 40 GiB is more than the host's 23.5 GiB.")
    assert all("Does not fit" not in line for line in text.splitlines() if line.startswith("- **host**"))
