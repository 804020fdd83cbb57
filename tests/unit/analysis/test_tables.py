"""Display helpers and notebook analysis helpers: rounding, units, tables, prose, the bar chart."""
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from voltools.analysis import findings, plots  # noqa: E402
from voltools import formatting as fmt  # noqa: E402
from voltools.analysis import tables as rt  # noqa: E402
from voltools.analysis import prose  # noqa: E402
from voltools.analysis.models import fit_groups, outlier_mask, summarise_points  # noqa: E402
from voltools.store import load_run  # noqa: E402
from repo import RAW  # noqa: E402

GIB, MIB, KIB = 1024**3, 1024**2, 1024
NS = (1, 4, 16, 64, 256)
BS = (4096, 16384, 65536, 262144, 1048576)
T0, ALPHA, BETA = 2e-4, 8e-5, 1.5e9


def points(targets=("host", "loop"), repeats=3, seed=3, noise=0.005):
    """Synthetic points: T_d = T0 + N (ALPHA + B / BETA) with small relative noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for target in targets:
        n, b, r = (a.ravel() for a in np.meshgrid(NS, BS, range(repeats), indexing="ij"))
        t = (T0 + n * (ALPHA + b / BETA)) * (1 + noise * rng.standard_normal(n.size))
        sized = target == "loop"
        parts.append(pd.DataFrame(dict(
            target=target, target_kind=target, driver_opts="{}", rw="read", direct=1, iodepth=1,
            bs_bytes=b, blocks=n, size_bytes=n * b, allocated_bytes=n * b, repeat=r,
            read_time_s=t, error=0, target_size_bytes=GIB if sized else pd.NA,
            fs_total_bytes=973 * MIB if sized else 100 * GIB,
            fs_avail_bytes=500 * MIB if sized else 80 * GIB)))
    return pd.concat(parts, ignore_index=True)


def first_number(text):
    return float(text.split()[0].replace(",", ""))


@pytest.fixture(scope="module")
def df():
    return points()


@pytest.fixture(scope="module")
def fits(df):
    return fit_groups(df)


def compare_frame(pred=(10.0, 50.0, 100.0, 300.0), rel=0.2, extrapolates=True, holds=True,
                  ratio_rel=0.05):
    """A compare_to_baseline-shaped frame; the first row is the baseline."""
    p = np.array(pred)
    ratio = p / p[0]
    ext = 2560.0 if extrapolates else 1.0
    return pd.DataFrame({
        "target": ["host", "a", "b", "c"][: len(p)], "rw": "read", "direct": 1, "iodepth": 1,
        "dataset_bytes": 40 * GIB, "bs_bytes": 64 * KIB, "blocks": 40 * GIB // (64 * KIB),
        "target_kind": ["host", "local", "tmpfs", "loop"][: len(p)],
        "driver_opts": ["{}", "{}", '{"size": "512m"}', '{"fs": "ext4", "size": "1g"}'][: len(p)],
        "predicted_s": p, "mean_low_s": p * (1 - rel / 4), "mean_high_s": p * (1 + rel / 4),
        "low_s": p * (1 - rel), "high_s": p * (1 + rel), "extrapolation": ext,
        "extrapolates": extrapolates, "reason": "N 655360 is 2560x the largest N measured",
        "lack_of_fit_p": 0.5, "holds": holds,
        "why": "" if holds else "extrapolates 2.56e+03x beyond the largest N measured",
        "baseline_s": p[0], "ratio_to_baseline": ratio,
        "ratio_low": np.where(ratio == 1, 1.0, ratio * (1 - ratio_rel)),
        "ratio_high": np.where(ratio == 1, 1.0, ratio * (1 + ratio_rel)), "ratio_p": 0.01})


# ---------------------------------------------------------------- tables

def test_table_shows_no_index():
    table = rt.Table(pd.DataFrame({"target": ["host"], "n": [3]}, index=[7]))
    html, text = table._repr_html_(), repr(table)
    assert "<th>target</th>" in html and ">7<" not in html
    assert text.split() == ["target", "n", "host", "3"]


def test_key_columns_keep_varying_keys_only():
    frame = pd.DataFrame({"target": ["a", "b"], "rw": ["read"] * 2, "direct": [1, 1], "iodepth": [1, 4]})
    assert rt.key_columns(frame) == ["target", "rw", "iodepth"]


# ---------------------------------------------------------------- tables from fits

def test_fits_display_converts_units(fits):
    table = rt.fits_display(fits).frame
    assert list(table.columns[:2]) == ["target", "rw"]
    row = table.iloc[0]
    assert first_number(row["T₀ (µs)"]) == pytest.approx(T0 * 1e6, rel=0.05)
    assert first_number(row["α (µs)"]) == pytest.approx(ALPHA * 1e6, rel=0.05)
    assert first_number(row["β (MiB/s)"]) == pytest.approx(BETA / MIB, rel=0.05)
    assert first_number(row["B_half (KiB)"]) == pytest.approx(ALPHA * BETA / KIB, rel=0.05)
    assert row["T₀ (µs)"].count("[") == 1 and row["n"] == len(NS) * len(BS) * 3
    assert row["c (ms/MiB)"].count("[") == 1 and row["holds"] == "yes"
    assert float(row["lack of fit p"]) > 0.01


def test_size_fits_display_and_prose(df):
    from voltools.analysis.models import fit_size_groups
    size_fits = fit_size_groups(df)
    table = rt.size_fits_display(size_fits).frame
    assert table["slope"].str.startswith("1.00").all()
    assert "holds for the files on host and loop" in prose.size_md(size_fits)


def test_capacity_table_and_display(df):
    cap = findings.capacity_table(df, dataset_bytes=40 * GIB)
    loop = cap.set_index("target").loc["loop"]
    data = sum(sorted({n * b for n in NS for b in BS}))
    assert loop["data_bytes"] == data
    assert loop["holds_bytes"] == 500 * MIB + data
    assert loop["holds_share"] == pytest.approx((500 * MIB + data) / GIB)
    assert not loop["dataset_fits"] and cap.set_index("target").loc["host", "dataset_fits"]
    shown = rt.capacity_display(cap).frame.set_index("target")
    assert shown.loc["host", "volume"] == "unsized" and shown.loc["loop", "volume"] == "1 GiB"
    text = prose.capacity_md(cap, 40 * GIB)
    assert "**loop** (1 GiB volume)" in text and "does **not fit** on loop" in text


def test_per_block_comparison_shows_the_missing_fixed_cost(df, fits):
    table = findings.per_block_comparison(df, fits, "64k")
    row = table.iloc[0]
    assert row["n_min"] == 1 and row["n_max"] == 256
    measured = T0 + ALPHA + 65536 / BETA
    assert row["n_min_tb_error"] < -0.4       # N x T_b has no T_0: far too small at N = 1
    assert abs(row["n_min_full_error"]) < 0.05
    assert row["per_block_s"] == pytest.approx(measured - T0, rel=0.05)
    assert row["fixed_s"] == pytest.approx(T0, rel=0.1)
    assert "At N = 1 the article's N × T_b is off by" in prose.per_block_md(table)
    assert list(rt.per_block_display(table).frame.columns[:3]) == ["target", "rw", "T_b (µs)"]


def test_half_peak_block_is_a_power_of_two_above_the_upper_bound(fits):
    half = findings.half_peak_table(fits)
    for _, row in half.iterrows():
        use = row["bs_at_half_bytes"]
        assert use >= row["b_half_high_bytes"] and math.log2(use).is_integer()
        assert use / 2 < max(row["b_half_high_bytes"], 512)
    assert "Blocks of **128 KiB** or larger" in prose.half_peak_md(half)


def test_fit_checks_flag_a_model_that_misses_the_data():
    bent = points(targets=("tmpfs",))
    bent["read_time_s"] *= 1 + 0.3 * (bent["blocks"] == 256)  # every repeat, one block count
    checks = findings.fit_checks(fit_groups(bent))
    assert not checks["holds"].iloc[0] and checks["lack_of_fit_p"].iloc[0] < 0.01
    assert "lack of fit" in checks["why"].iloc[0]
    assert "does **not** hold for 1 of 1" in prose.checks_md(checks)
    shown = rt.checks_display(checks).frame
    assert shown["lack of fit p"].iloc[0] == "< 0.001" and shown["model holds"].iloc[0] == "no"


def test_noise_alone_is_not_a_failure_of_the_model():
    noisy = points(targets=("tmpfs",), noise=0.3, seed=1)
    noisy["read_time_s"] = noisy["read_time_s"].abs()
    checks = findings.fit_checks(fit_groups(noisy))
    assert checks["rel_sd"].iloc[0] > 0.2 and checks["holds"].iloc[0], checks["why"].iloc[0]


def test_fit_checks_pass_a_good_fit(fits):
    checks = findings.fit_checks(fits)
    assert checks["holds"].all()
    assert prose.checks_md(checks).startswith("The model T_d = T₀ + c·B + N (α + B/β) holds for every fit")
    assert (rt.checks_display(checks).frame["why not"] == "–").all()


def test_spread_and_outlier_helpers(df):
    spread = summarise_points(df)
    by_target = findings.spread_by_target(spread)
    assert list(by_target["cells"]) == [len(NS) * len(BS)] * 2
    assert list(findings.cv_by_blocks(spread).columns) == ["target", "rw", *NS]
    mask = outlier_mask(df)
    assert "outliers" in prose.outliers_md(findings.outliers_by_repeat(df, mask), len(df), int(mask.sum()))


def test_outliers_md_names_clusters():
    by_repeat = pd.DataFrame({"target": ["tmpfs"], "rw": ["read"], "repeat 0": [6], "repeat 1": [0]})
    text = prose.outliers_md(by_repeat, 480, 6)
    assert "6 of 480 points (1.25%)" in text and "tmpfs read: 6 in repeat 0" in text


def test_run_overview(df):
    overview = findings.run_overview(df).set_index("target")
    assert overview.loc["host", "points"] == len(NS) * len(BS) * 3
    assert overview.loc["host", "block counts"] == "1, 4, 16, 64, 256"


# ---------------------------------------------------------------- objective, baseline

def test_objective_verdicts():
    c = findings.objective_verdicts(compare_frame(pred=(10.0, 50.0, 100.0, 300.0), rel=0.2), 110.0)
    # high: 12, 60, 120, 360; low: 8, 40, 80, 240
    assert list(c["meets"]) == ["yes", "yes", "likely", "no"]
    assert c["headroom"].iloc[0] == pytest.approx(11.0)
    c = findings.objective_verdicts(compare_frame(pred=(100.0,), rel=0.2), 90.0)
    assert list(c["meets"]) == ["unlikely"]
    assert (c["measure"] == "").all()


def test_objective_verdict_is_unknown_where_the_model_does_not_hold():
    frame = compare_frame(holds=False)
    c = findings.objective_verdicts(frame, 110.0)
    assert list(c["meets"]) == ["unknown"] * 4
    assert c["measure"].tolist() == [
        "voltools sweep --target host --rw read --question 40g@64k",
        "voltools sweep --target local:name=a --rw read --question 40g@64k",
        "voltools sweep --target tmpfs:size=512m,name=b --rw read --question 40g@64k",
        "voltools sweep --target loop:fs=ext4,size=1g,name=c --rw read --question 40g@64k"]
    shown = rt.objective_display(c).frame
    assert shown["meets objective"].iloc[0] == "unknown: measure larger N"
    assert shown["to settle it"].iloc[2].endswith("--question 40g@64k")
    text = prose.objective_md(c, 110.0)
    assert "Unknown, the model does not hold at this size" in text and "No verdict can be given" in text
    assert "--target loop:fs=ext4,size=1g,name=c --rw read --question 40g@64k`" in text


def test_target_spec_text_adds_a_name_only_where_it_is_not_the_default():
    row = {"target": "fast", "target_kind": "tmpfs", "driver_opts": '{"size": "1g"}'}
    assert findings.target_spec_text(row) == "tmpfs:size=1g,name=fast"
    assert findings.target_spec_text({"target": "loop-xfs", "target_kind": "loop",
                                      "driver_opts": '{"fs": "xfs", "size": "2g"}'}) == "loop:fs=xfs,size=2g"
    assert findings.target_spec_text({"target": "host"}) == "host"
    assert findings.size_token(3 * 1024**2 + 1) == str(3 * 1024**2 + 1)


def test_compare_display_and_prose():
    c = findings.objective_verdicts(compare_frame(), 110.0)
    shown = rt.compare_display(c).frame
    assert list(shown.columns) == ["target", "rw", "expected", "95% interval, mean",
                                   "95% interval, one read", "× baseline [95%]", "extrapolation",
                                   "model holds", "meets objective"]
    assert shown["expected"].iloc[0] == "10.0 s" and shown["95% interval, one read"].iloc[0] == "8.00 s – 12.0 s"
    assert shown["95% interval, mean"].iloc[0] == "9.50 s – 10.5 s"
    assert shown["× baseline [95%]"].iloc[1] == "×5.00 [4.75, 5.25]"
    assert shown["extrapolation"].iloc[0] == "2,560×"
    text = prose.read_time_md(c, "host")
    assert "**40 GiB** in **64 KiB** blocks" in text and "Not established" not in text
    assert "of one read 8.00 s – 12.0 s" in text
    bad = findings.objective_verdicts(compare_frame(holds=False), 110.0)
    text = prose.read_time_md(bad, "host")
    assert "**Not established** (4 of 4 predictions): extrapolated 2,560× beyond the largest N measured at 64 KiB" in text
    assert shown["× baseline [95%]"].iloc[0] == "baseline"
    assert ("with\n- `voltools sweep --target host --target local:name=a --target tmpfs:size=512m,name=b "
            "--target loop:fs=ext4,size=1g,name=c --rw read --question 40g@64k`") in text
    objective = prose.objective_md(c, 110.0)
    assert "Misses it even at the lower 95% bound: c read." in objective
    assert "over the objective by" in objective
    assert "all 4 target/mode pairs" in prose.objective_md(findings.objective_verdicts(c, 1000.0), 1000.0)


def test_baseline_md_words_follow_the_interval_of_the_ratio():
    c = compare_frame(pred=(100.0, 111.0, 10.0, 500.0), rel=0.2, ratio_rel=0.04)
    text = prose.baseline_md(c, "host")
    assert "**a** read: 111 s, **11% slower** than host [6.6%, 15%]" in text
    assert "**10.0× faster** than host [9.62×, 10.4×]" in text and "**5.00× slower** than host" in text
    same = compare_frame(pred=(100.0, 101.0), ratio_rel=0.03)
    assert "agrees with host within 5% (×1.01 [0.980, 1.04])" in prose.baseline_md(same, "host")
    unsure = compare_frame(pred=(100.0, 103.0), ratio_rel=0.1)
    assert "no difference from host resolved (×1.03 [0.927, 1.13])" in prose.baseline_md(unsure, "host")
    assert "model not established" in prose.baseline_md(compare_frame(holds=False), "host")


def test_baseline_bars_draw_one_bar_per_row_with_whiskers():
    c = compare_frame()
    ax = plots.baseline_bars(c, "host", objective_s=350.0)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == len(c)
    assert any(line.get_label().startswith("objective") for line in ax.get_lines())
    assert ax.get_xlim()[1] >= 350.0
    assert "95% interval of one read" in ax.get_title()
    ax = plots.baseline_bars(c, "host", objective_s=1e5)
    assert "beyond the axis" in ax.get_title()
    matplotlib.pyplot.close("all")


def test_summary_and_intro(df, fits):
    from voltools.analysis.models import compare_to_baseline
    c = findings.objective_verdicts(compare_to_baseline(fits, "host", dataset_bytes="40g",
                                                        bs_bytes="64k"), 600.0)
    cap = findings.capacity_table(df, 40 * GIB)
    text = prose.summary_md(c, findings.half_peak_table(fits), cap, findings.fit_checks(fits), "host", 600.0)
    share = fmt.percent(cap.set_index("target").loc["loop", "holds_share"])
    assert text.count("\n- ") == 4 and f"loop {share} of 1 GiB" in text
    assert "0 of 2 target/mode pairs meet it" in text and "2 unknown" in text  # 40 GiB from N <= 256
    assert "established for 0 of 2" in text
    assert "The dataset does not fit on loop." in text
    meta = {"host": {"cpu": "X", "cpu_count": 2}, "started_at": "2026-01-02T03:04:05Z"}
    assert prose.intro_md("r1", meta, df).startswith("Run **r1**, measured on 2026-01-02 (X, 2 CPUs)")
    shown = rt.provenance_display(meta).frame.set_index("item")
    assert shown.loc["started", "value"] == "2026-01-02T03:04:05Z" and shown.loc["fio", "value"] == "–"


def test_pick_baseline(fits):
    assert findings.pick_baseline(fits) == "host"
    assert findings.pick_baseline(fits, preferred="nfs") == "host"
    assert findings.pick_baseline({}) is None


def test_counts_display_formats_bytes_and_floats():
    table = rt.counts_display(pd.DataFrame({"bs_bytes": [65536], "cv": [0.123456], "n": [3]})).frame
    assert table.iloc[0].tolist() == ["64 KiB", "0.123", 3]


def test_node_table_gives_a_t_interval_per_target_and_node():
    points = pd.DataFrame({
        "target": ["tmpfs"] * 6, "rw": ["read"] * 6, "node": ["a"] * 3 + ["b"] * 3,
        "size_bytes": [1 << 20] * 6, "read_time_s": [1e-3, 1e-3, 1e-3, 2e-3, 2.2e-3, 1.8e-3],
        "error": [0] * 6})
    table = findings.node_table(points)
    assert table["node"].tolist() == ["a", "b"]
    a, b = table.iloc[0], table.iloc[1]
    assert a["mean_mib_s"] == pytest.approx(1000.0) and a["low_mib_s"] == pytest.approx(1000.0)
    assert b["low_mib_s"] < b["mean_mib_s"] < b["high_mib_s"] and b["n"] == 3
    ax = plots.node_comparison(table)
    assert len(ax.patches) == 2 and ax.get_yticklabels()[1].get_text() == "tmpfs · read · b"


def test_track_record_holds_out_the_largest_n_at_the_block_size_and_predicts_it(df):
    track = findings.track_record(df, "64k")
    assert list(track["target"]) == ["host", "loop"] and (track["blocks"] == max(NS)).all()
    assert (track["size_bytes"] == max(NS) * 65536).all() and (track["reads"] == 3).all()
    truth = T0 + max(NS) * (ALPHA + 65536 / BETA)
    for _, r in track.iterrows():
        assert r["measured_s"] == pytest.approx(truth, rel=0.02)
        assert r["mean_s"] == pytest.approx(truth, rel=0.02)
        assert r["low_s"] < r["mean_low_s"] < r["mean_s"] < r["mean_high_s"] < r["high_s"]
        assert r["extrapolation"] == pytest.approx(max(NS) / NS[-2])
        assert r["inside"] and r["holds"] and r["why"] == ""
        assert r["error"] == pytest.approx(r["measured_s"] / r["mean_s"] - 1)


def test_track_record_uses_no_held_out_point(df):
    """The prediction does not move when the held-out reads are replaced by anything else."""
    held = (df["bs_bytes"] == 65536) & (df["blocks"] == max(NS))
    slow = df.assign(read_time_s=df["read_time_s"].where(~held, df["read_time_s"] * 3))
    a, b = findings.track_record(df, 65536), findings.track_record(slow, 65536)
    assert np.allclose(a["mean_s"], b["mean_s"]) and np.allclose(a["high_s"], b["high_s"])
    assert np.allclose(b["measured_s"], 3 * a["measured_s"])
    assert not b["inside"].any() and (b["error"] > 1).all()


def test_track_record_skips_an_unmeasured_block_size_and_reports_a_failed_refit(df):
    assert findings.track_record(df, "8k").empty
    one_size = df[(df["bs_bytes"] == 65536) & (df["target"] == "host")]
    track = findings.track_record(one_size, 65536)
    assert len(track) == 1 and not track["inside"].iloc[0] and not track["holds"].iloc[0]
    assert math.isnan(track["mean_s"].iloc[0]) and track["why"].iloc[0].startswith("the refit fails")


def as_prefixes(frame, run_id="r1", seed=5, noise=0.005):
    """The points as sweep reads them: each (target, repeat, B) one read of the largest N, the
    smaller N its first blocks (prefix_of); each stretch of a read its own noise."""
    frame = frame.sort_values(["target", "repeat", "bs_bytes", "blocks"], ignore_index=True)
    frame["seq"], frame["run_id"] = np.arange(len(frame)), run_id
    keys = [frame["target"], frame["repeat"], frame["bs_bytes"]]
    largest = frame["seq"].groupby(keys).transform("last")
    frame["prefix_of"] = np.where(frame["seq"] == largest, np.nan, largest)
    true = T0 + frame["blocks"] * (ALPHA + frame["bs_bytes"] / BETA)
    stretch = (true - true.groupby(keys).shift().fillna(0.0)) * (
        1 + noise * np.random.default_rng(seed).standard_normal(len(frame)))
    frame["read_time_s"] = stretch.groupby(keys).cumsum()
    return frame


def test_track_record_of_shared_reads_compares_the_part_the_refit_did_not_see(df):
    """The refit sees the held-out read's first 64 blocks (its 64-block point): what is compared
    is its blocks 64..256, measured and predicted; the same when two runs are fitted together."""
    shared = as_prefixes(df)
    track = findings.track_record(shared, "64k")
    assert (track["first_blocks"] == 64).all() and (track["reads"] == 3).all()
    truth = 192 * (ALPHA + 65536 / BETA)
    for _, r in track.iterrows():
        assert r["measured_s"] == pytest.approx(truth, rel=0.1) and r["mean_s"] == pytest.approx(truth, rel=0.1)
        assert r["inside"]
    assert "its blocks 64-256 (the refit saw its first 4 MiB" in prose.track_record_md(track)
    assert rt.track_record_display(track).frame["largest read"].iloc[0] == "16 MiB (256 × 64 KiB), blocks 64-256"
    two = findings.track_record(pd.concat([shared, as_prefixes(points(seed=4), "r2", seed=6)], ignore_index=True), "64k")
    assert (two["first_blocks"] == 64).all() and (two["reads"] == 6).all()


def test_track_record_md_and_display(df):
    track = findings.track_record(df, 65536)
    text = prose.track_record_md(track)
    assert "largest-N reads at 64 KiB" in text and "the model predicted" in text
    assert "for the largest read measured (16 MiB, 256 blocks); it took" in text
    assert "2 of 2 measured times fell inside the 95% interval of one read." in text
    frame = rt.track_record_display(track).frame
    assert list(frame.columns) == ["target", "rw", "largest read", "predicted [95%]",
                                   "one read, 95%", "measured (median)", "error", "inside"]
    assert frame["largest read"].iloc[0] == "16 MiB (256 × 64 KiB)" and (frame["inside"] == "yes").all()
    outside = track.assign(inside=False, holds=False)
    assert "**outside** the interval of one read; the refit does not hold" in prose.track_record_md(outside)
    assert prose.track_record_md(track.iloc[:0]).startswith("No block size of the question")


def test_answer_md_answers_per_target_and_says_unknown_where_it_does_not_hold(df):
    from voltools.analysis.answers import predict_table
    near = predict_table(df, 1024 * 65536, 65536)
    text = prose.answer_md(near)
    assert text.startswith("Reading **64 MiB** once in **64 KiB** blocks (1,024 blocks) takes:")
    assert text.count("expected [") == 2 and "2 of 2 answers hold" in text and "unknown" not in text
    far = prose.answer_md(predict_table(df, 4 * GIB, 65536))
    assert far.count("*unknown: measure larger N*") == 2 and "0 of 2 answers hold" in far
    assert "extrapolated 256× beyond the largest N measured at 64 KiB" in far


def test_nodes_are_compared_on_the_committed_multi_node_run():
    """data/raw/nodes: 3 nodes of the test cluster; each (target, rw) gets its range and a verdict."""
    table = findings.node_table(load_run("nodes", RAW))
    assert sorted(table["node"].str.rsplit("/", n=1).str[-1].unique()) == ["node1", "node2", "node3"]
    text = prose.nodes_md(table)
    assert text.startswith("Measured on 3 nodes (node1, node2 and node3)")
    assert text.count("\n- **") == table.groupby(["target", "rw"]).ngroups
    assert all(("do not overlap" in line) != ("overlap: no difference" in line) for line in text.splitlines()[1:])


def test_a_run_on_one_node_says_so():
    assert prose.nodes_md(findings.node_table(load_run("sample", RAW))).startswith("Measured on one node (")


def test_a_run_comparison_marks_an_interval_of_within_run_noise_only():
    """compare_runs rows: the first between runs, the second with a run of one round."""
    table = pd.DataFrame({"target": ["host", "tmpfs"], "rw": ["read", "read"], "dataset_bytes": [4 * GIB] * 2,
                          "bs_bytes": [64 * KIB] * 2, "a_mean_s": [12.6, 1.0], "b_mean_s": [12.6, 1.3],
                          "ratio": [1.0, 1.3], "ratio_low": [0.9, 1.2], "ratio_high": [1.11, 1.41],
                          "beta_ratio": [1.0, 0.77], "beta_ratio_low": [0.86, 0.7], "beta_ratio_high": [1.16, 0.85],
                          "alpha_ratio": [1.0, 1.3], "alpha_ratio_low": [0.87, 0.9], "alpha_ratio_high": [1.15, 1.9],
                          "holds": [True, True], "verdict": ["no detectable change", "slower"], "why": ["", ""],
                          "interval_covers": ["between runs", "within-run noise only"]})
    shown = rt.run_comparison_display(table).frame
    assert list(shown["time ratio [95%]"]) == ["×1.00 [0.900, 1.11]", "×1.30 [1.20, 1.41] (within-run noise only, not 95%)"]
    text = prose.run_comparison_md(table, "b", "a")
    host, tmpfs = (line for line in text.splitlines() if line.startswith("- "))
    assert "within-run noise only" not in host and "an interval of within-run noise only, not 95%" in tmpfs
