"""Fitted models on synthetic points with known parameters (no Docker needed), and the read-time
fit checked against statsmodels on the committed sample."""
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from repo import RAW
from voltools.errors import FitError, UsageError, VoltoolsError
from voltools.analysis.drift import fit_drifts
from voltools.analysis.models import (
    EXTRAPOLATION_MAX, InsufficientDataError, compare_means, compare_to_baseline, fit_groups,
    fit_per_block, fit_read_time, fit_size, fit_size_groups, fits_table, outlier_mask,
    read_time_design, size_fits_table, summarise_points,
)

T0, C, ALPHA, BETA = 2e-4, 5e-10, 8e-5, 1.5e9
NS = (1, 4, 16, 64, 256, 1024)
BS = (4096, 16384, 65536, 262144, 1048576)
KIB, MIB, GIB = 1024, 1024**2, 1024**3
DATA = RAW


def true_time(n, b, t0=T0, alpha=ALPHA, beta=BETA, quad=0.0, c=C):
    n, b = np.asarray(n, float), np.asarray(b, float)
    return t0 + c * b + n * (alpha + b / beta) + quad * n**2


def points(t0=T0, alpha=ALPHA, beta=BETA, quad=0.0, ns=NS, bs=BS, repeats=3, sd=0.03, seed=7,
           c=C, **cols):
    """Points table over N x B x repeats with multiplicative Gaussian noise (sd relative)."""
    rng = np.random.default_rng(seed)
    n, b, r = (a.ravel() for a in np.meshgrid(ns, bs, range(repeats), indexing="ij"))
    t = true_time(n, b, t0, alpha, beta, quad, c) * (1 + sd * rng.standard_normal(n.size))
    base = dict(run_id="r1", target="tmpfs", target_kind="tmpfs", rw="randread", direct=1,
                iodepth=1, numjobs=1, bs_bytes=b, blocks=n, size_bytes=n * b,
                allocated_bytes=n * b + 4096, target_size_bytes=np.nan, fs_total_bytes=np.nan,
                fs_avail_bytes=np.nan, memory_limit_bytes=np.nan, repeat=r, read_time_s=t,
                read_time_source="lat_sum", error=0)
    base.update(cols)
    return pd.DataFrame(base)


def prefixed(t0=T0, alpha=ALPHA, beta=BETA, ns=NS, bs=BS, repeats=3, sd=0.03, seed=7, c=C):
    """Points as sweep reads them (replay.reads): each (repeat, B) one read of the largest N, the
    smaller N its first blocks (prefix_of: its seq); each stretch drawn with its own noise."""
    df = points(t0, alpha, beta, 0.0, ns, bs, repeats, 0.0, seed, c)
    df = df.sort_values(["repeat", "bs_bytes", "blocks"], ignore_index=True)
    df["seq"] = np.arange(len(df))
    read = df.groupby(["repeat", "bs_bytes"])
    largest = read["seq"].transform("last")
    df["prefix_of"] = np.where(df["seq"] == largest, np.nan, largest)
    stretch = df["read_time_s"] - read["read_time_s"].shift().fillna(0.0)
    noise = 1 + sd * np.random.default_rng(seed).standard_normal(len(df))
    df["read_time_s"] = (stretch * noise).groupby([df["repeat"], df["bs_bytes"]]).cumsum()
    return df


@pytest.fixture(scope="module")
def fit():
    return fit_read_time(points())


# ---------------------------------------------------------------- recovery

@pytest.mark.parametrize("name,true", [("t0_s", T0), ("c_s_per_byte", C), ("alpha_s", ALPHA),
                                       ("beta_bytes_per_s", BETA)])
def test_fit_recovers_each_parameter_and_its_ci(fit, name, true):
    est = getattr(fit, name)
    assert est == pytest.approx(true, rel=0.05 if name != "c_s_per_byte" else 0.3)
    low, high = fit.ci[name]
    assert low < true < high
    assert low < est < high


def test_fit_reports_goodness_counts_and_key(fit):
    assert fit.n == 90 and fit.dof == 86 and fit.excluded == 0 and fit.outliers == 0
    assert fit.r2 > 0.99 and fit.r2_weighted > 0.99
    assert fit.rel_sd == pytest.approx(0.03, rel=0.25)
    assert fit.residuals.shape == (90,)
    assert abs(np.median(fit.residuals)) < 0.01
    assert fit.key == {"target": "tmpfs", "rw": "randread", "direct": 1, "iodepth": 1, "numjobs": 1}
    assert fit.blocks_range == (1, 1024) and fit.bs_range == (4096, 1048576)
    assert fit.cov.shape == (4, 4)
    assert fit.se["beta_bytes_per_s"] == pytest.approx(fit.se["inv_beta_s_per_byte"] * fit.beta_bytes_per_s**2)
    assert fit.warnings == [] and fit.problems == [] and fit.holds
    assert fit.lack_of_fit_p > 0.01 and fit.lack_of_fit.df_lof == 26 and fit.lack_of_fit.df_pe == 60
    assert fit.noise.rel_sd(0.01) == pytest.approx(0.03, rel=0.3)
    assert fit.target_spec == {"target_kind": "tmpfs"}


def test_b_half_is_alpha_times_beta(fit):
    assert fit.b_half_bytes == pytest.approx(fit.alpha_s * fit.beta_bytes_per_s)
    assert fit.b_half_bytes == pytest.approx(ALPHA * BETA, rel=0.05)  # 120 kB
    low, high = fit.ci["b_half_bytes"]
    assert low < ALPHA * BETA < high


def test_throughput_is_b_over_per_block_time_and_half_peak_at_b_half(fit):
    assert fit.throughput(65536) == pytest.approx(65536 / (fit.alpha_s + 65536 / fit.beta_bytes_per_s))
    assert fit.throughput(fit.b_half_bytes) == pytest.approx(fit.beta_bytes_per_s / 2)
    assert fit.throughput(1e15) == pytest.approx(fit.beta_bytes_per_s, rel=1e-6)
    assert np.allclose(fit.throughput([4096, 8192]), [fit.throughput(4096), fit.throughput(8192)])


def test_prediction_has_a_mean_interval_inside_the_interval_of_one_read(fit):
    p = fit.predict(100, 131072)
    truth = float(true_time(100, 131072))
    assert p.mean_low_s < truth < p.mean_high_s
    assert p.low_s < p.mean_low_s < p.mean_s < p.mean_high_s < p.high_s
    assert p.mean_s == pytest.approx(truth, rel=0.02)
    assert p.interval == (p.low_s, p.high_s) and p.mean_interval == (p.mean_low_s, p.mean_high_s)
    assert p.extrapolation == 1.0 and p.holds and p.why == "" and p.lack_of_fit_p == fit.lack_of_fit_p
    assert not p.extrapolates and p.reason == ""
    rel_width = (p.high_s - p.low_s) / p.mean_s
    assert rel_width == pytest.approx(2 * 1.99 * 0.03, rel=0.25)  # ~ +-2 sd of 3 % noise
    many = fit.predict(np.array([1, 10, 100]), 65536)
    assert many.mean_s.shape == (3,) and many.holds.tolist() == [True] * 3


def test_interval_of_one_read_has_about_95pct_coverage_of_new_points():
    fresh = points(seed=999, repeats=20)
    coverage = []
    for seed in range(20):  # unconditional coverage: average over independent fits
        p = fit_read_time(points(seed=seed)).predict(fresh.blocks.to_numpy(), fresh.bs_bytes.to_numpy())
        coverage.append(((p.low_s <= fresh.read_time_s) & (fresh.read_time_s <= p.high_s)).mean())
    assert 0.93 <= np.mean(coverage) <= 0.97
    assert min(coverage) > 0.85


def test_extrapolation_is_n_over_the_largest_n_at_that_b_and_holds_up_to_4x(fit):
    p = fit.predict(4096, 65536)
    assert p.extrapolation == 4.0 and p.holds and p.extrapolates
    assert "N 4096 is 4x the largest N measured at B = 64 KiB (1024)" in p.reason
    far = fit.predict(8192, 65536)
    assert far.extrapolation == 8.0 and not far.holds
    assert f"more than {EXTRAPOLATION_MAX:g}x" in far.why
    q = fit.predict(64, 4 * MIB)
    assert q.extrapolates and "B 4 MiB" in q.reason and "4 KiB..1 MiB" in q.reason
    assert q.extrapolation == 4.0  # N inside, B 4x beyond the largest measured
    assert fit.predict(512, 8192).extrapolates is False
    assert fit.extrapolation([512, 2048], 8192).tolist() == [1.0, 2.0]


def test_extrapolation_uses_the_largest_n_measured_at_the_questions_block_size():
    df = pd.concat([points(ns=(1, 16, 64, 256)), points(ns=(4096, 65536), bs=(65536,), seed=2)])
    f = fit_read_time(df)
    assert f.extrapolation(65536 * 4, 65536) == 4.0
    assert f.extrapolation(65536 * 4, 262144) == 1024.0
    assert f.extrapolation(65536, 131072) == 256.0  # between 64k (65536) and 256k (256): the smaller
    assert f.predict(10 * GIB // 65536, 65536).holds


# ---------------------------------------------------------------- honesty

def test_the_first_block_term_is_needed_where_the_data_have_it():
    f = fit_read_time(points(c=2e-9, sd=0.02))
    assert f.c_s_per_byte == pytest.approx(2e-9, rel=0.1) and f.holds


def test_lack_of_fit_rejects_a_regime_change_in_range():
    curved = fit_read_time(points(quad=3e-8))
    assert curved.lack_of_fit_p < 0.01 and not curved.holds
    assert any(w.startswith("lack of fit:") for w in curved.problems), curved.problems
    assert any(w.startswith("curved residuals") for w in curved.warnings), curved.warnings


def test_weights_on_the_fitted_mean_do_not_bias_a_noisy_fit():
    """1/T_obs^2 weights would read beta about 2 sigma^2 = 23 % high at 34 % noise."""
    betas = []
    for seed in range(40):
        df = points(sd=0.0, seed=seed)
        sigma = math.sqrt(math.log1p(0.34**2))
        noise = np.random.default_rng(seed).standard_normal(len(df)) * sigma - sigma**2 / 2
        betas.append(fit_read_time(df.assign(read_time_s=df.read_time_s * np.exp(noise))).beta_bytes_per_s)
    assert np.mean(betas) == pytest.approx(BETA, rel=0.03)


def test_fast_outliers_are_left_out_counted_and_do_not_move_beta():
    df = points(sd=0.05, seed=3)
    clean = fit_read_time(df)
    hit = df.index[(df.blocks == 1024) & (df.bs_bytes == 65536)][0]
    df.loc[[hit, 7, 50], "read_time_s"] *= 0.2
    f = fit_read_time(df)
    assert f.outliers == 3 and f.excluded == 3 and f.n == 87
    assert any("3 fast outlier(s) left out" in w for w in f.warnings)
    assert f.beta_bytes_per_s == pytest.approx(clean.beta_bytes_per_s, rel=0.02)
    assert f.holds


def test_a_cell_whose_repeats_are_all_fast_is_misfit_not_outliers():
    df = points(sd=0.02)
    df.loc[(df.blocks == 1024) & (df.bs_bytes == 65536), "read_time_s"] *= 0.5
    f = fit_read_time(df)
    assert f.outliers == 0 and not f.holds and f.lack_of_fit_p < 1e-6


def test_the_noise_of_a_long_read_is_measured_not_the_small_n_scatter():
    """Relative sd 25 % for short reads falling to 3 % for long ones: the interval of a long read
    follows the long reads' noise."""
    rng = np.random.default_rng(5)
    df = points(sd=0.0)
    mean = true_time(df.blocks, df.bs_bytes)
    sd = 0.03 + 0.22 * np.minimum(1.0, np.sqrt(1e-3 / mean))
    df["read_time_s"] = mean * np.exp(rng.standard_normal(len(df)) * sd - sd**2 / 2)
    f = fit_read_time(df)
    small, large = f.predict(1, 4096), f.predict(1024, 1048576)
    assert (small.high_s / small.mean_s - 1) > 0.3
    assert 0.03 < (large.high_s / large.mean_s - 1) < 0.15
    assert f.rel_sd > 0.1  # the scatter of all points: dominated by the short reads


def test_without_repeats_the_fit_says_it_cannot_be_checked():
    f = fit_read_time(points(repeats=1))
    assert math.isnan(f.lack_of_fit_p) and not f.holds
    assert any("no (N, B) cell was measured more than once" in w for w in f.problems)
    assert f.noise.form == "scatter about the fit"
    assert not f.predict(64, 65536).holds


def test_flags_for_cache_memory_limit_and_queue_depth():
    f = fit_read_time(points(direct=0, memory_limit_bytes=MIB, iodepth=4))
    warnings = f.warnings
    assert "direct=0: page-cache reads, the linear model describes cache not storage" in warnings
    assert any("memory limit 1 MiB smaller than the data 1 GiB" in w for w in warnings)
    assert "iodepth > 1: latency sum overstates read time" in warnings
    assert not f.holds and not f.predict(16, 65536).holds


def test_negative_t0_is_allowed_but_flagged():
    neg = fit_read_time(points(t0=-5e-5, sd=0.005))
    assert neg.t0_s < 0
    assert any("T_0" in w and "negative" in w for w in neg.warnings)
    assert neg.holds  # a note, not a problem


def test_b_half_outside_the_measured_block_sizes_is_flagged():
    f = fit_read_time(points(bs=(262144, 1048576, 4 * MIB)))
    assert any(w.startswith("B_half = 11") and "outside the measured block sizes 256 KiB..4 MiB" in w
               for w in f.warnings), f.warnings


def test_error_rows_and_missing_times_are_excluded_and_counted():
    df = points()
    df.loc[:3, "error"] = 5
    df.loc[10:11, "read_time_s"] = np.nan
    f = fit_read_time(df)
    assert (f.n, f.excluded) == (84, 6)
    assert "6 of 90 rows excluded (error != 0 or no read time)" in f.warnings


@pytest.mark.parametrize("df,needle", [
    (points(bs=(65536,)), "found 1 distinct block size B (65536); the 4-parameter read-time fit needs at least 2"),
    (points(ns=(16,)), "found 1 distinct block count N (16)"),
    (points(ns=(1, 2), bs=(4096, 8192), repeats=1).iloc[:3], "only 3 usable points"),
    (points(ns=(1, 2), bs=(4096, 8192), sd=0).assign(read_time_s=0.5), "no variance"),
    (points().assign(error=1), "no usable rows (90 excluded"),
])
def test_insufficient_data_raises_with_what_was_found(df, needle):
    with pytest.raises(InsufficientDataError, match=None) as info:
        fit_read_time(df)
    assert needle in str(info.value)
    assert isinstance(info.value, FitError) and isinstance(info.value, VoltoolsError)


def test_non_finite_values_raise_insufficient_data():
    df = points()
    df.loc[5, "read_time_s"] = np.inf
    with pytest.raises(InsufficientDataError, match="non-finite read_time_s"):
        fit_read_time(df)


def test_collinear_pairs_raise_insufficient_data():
    df = pd.concat([points(ns=(1,), bs=(4096,)), points(ns=(4,), bs=(16384,))])
    with pytest.raises(InsufficientDataError, match="collinear over the 2 measured"):
        fit_read_time(df)


def test_fitting_mixed_groups_in_one_fit_is_flagged():
    mixed = fit_read_time(two_targets())
    assert "target" not in mixed.key and mixed.key["rw"] == "randread"
    assert any(w.startswith("mixes 2 values of target (host, local)") for w in mixed.warnings)
    assert not mixed.holds


def test_missing_column_raises_fit_error_naming_it():
    with pytest.raises(FitError, match="read_time_s") as info:
        fit_read_time(points().drop(columns="read_time_s"))
    assert not isinstance(info.value, InsufficientDataError)


# ---------------------------------------------------------------- statsmodels, on the sample

@pytest.fixture(scope="module")
def sample_fits():
    from voltools.store import load_run
    return fit_groups(load_run("sample", DATA))


def test_read_time_fit_matches_statsmodels_on_the_sample(sample_fits):
    """Same parameters and the same standard error of the expected time as statsmodels' own Gamma
    GLM (identity link) on the points the fit kept, with the fit's weights; an interval holding
    statsmodels', whose drift between rounds is the one compare adds (drift.fit_drifts)."""
    for key, f in sample_fits.items():
        frame, p = _statsmodels_prediction(f), f.predict(655360, 65536)
        assert p.mean_s == pytest.approx(frame["mean"].iloc[0], rel=1e-6)
        assert p.mean_se_s == pytest.approx(frame["mean_se"].iloc[0], rel=1e-6)
        drift = fit_drifts(f, 655360, 65536)["mean"]
        assert p.drift_rel_sd**2 == pytest.approx(drift.var, rel=1e-9, abs=1e-15), key
        assert p.mean_low_s <= frame["mean_ci_lower"].iloc[0] * (1 + 1e-9), key
        assert p.mean_high_s >= frame["mean_ci_upper"].iloc[0] * (1 - 1e-9), key
        assert f.dof == _statsmodels_fit(f).df_resid
    assert any(fit_drifts(f, 655360, 65536)["mean"].var > 0 for f in sample_fits.values())


def test_without_rounds_the_interval_of_the_expected_time_is_statsmodels():
    """The sample's points all in one round (no drift can be told from noise): statsmodels'
    interval exactly."""
    from voltools.store import load_run
    for key, f in fit_groups(load_run("sample", DATA).assign(round=0)).items():
        frame, p = _statsmodels_prediction(f), f.predict(655360, 65536)
        assert math.isnan(p.drift_rel_sd), key
        assert p.mean_low_s == pytest.approx(frame["mean_ci_lower"].iloc[0], rel=1e-6), key
        assert p.mean_high_s == pytest.approx(frame["mean_ci_upper"].iloc[0], rel=1e-6), key


def _statsmodels_fit(f):
    with pytest.warns(sm.tools.sm_exceptions.DomainWarning):
        glm = sm.GLM(f.read_time_s, read_time_design(f.blocks, f.bs_bytes, first=f.first_blocks),
                     family=sm.families.Gamma(sm.families.links.Identity()), var_weights=f.var_weights)
    res = glm.fit(start_params=f.params, scale="X2", use_t=True)
    assert np.allclose(res.params, f.params, rtol=1e-6)
    return res


def _statsmodels_prediction(f):
    """statsmodels' summary frame of the expected time of 40 GiB in 64 KiB blocks."""
    return _statsmodels_fit(f).get_prediction(read_time_design(655360, 65536)[None, :]).summary_frame(alpha=0.05)


def test_sample_predictions_say_how_far_they_extrapolate_and_whether_they_hold(sample_fits):
    """Whatever the sample measured: the 40 GiB question's extrapolation is its N over the largest
    N measured at 64 KiB, and it holds exactly where the fit holds and that is at most 4x."""
    for key, f in sample_fits.items():
        p = f.predict(655360, 65536)
        assert p.extrapolation == pytest.approx(max(1.0, 655360 / dict(f.largest_n)[65536.0])), key
        assert p.holds == (f.holds and p.extrapolation <= EXTRAPOLATION_MAX), key
        assert p.mean_low_s < p.mean_s < p.mean_high_s and p.low_s < p.mean_s < p.high_s
        assert (p.why == "") == p.holds


# ---------------------------------------------------------------- groups

def two_targets():
    slow = points(alpha=2 * ALPHA, beta=BETA / 3, seed=8, target="local", target_kind="local")
    return pd.concat([points(target="host", target_kind="host"), slow], ignore_index=True)


def test_fit_groups_keys_and_table():
    fits = fit_groups(two_targets())
    assert list(fits) == [("host", "randread", 1, 1, 1), ("local", "randread", 1, 1, 1)]
    assert fits[("local", "randread", 1, 1, 1)].alpha_s == pytest.approx(2 * ALPHA, rel=0.05)
    assert fits[("local", "randread", 1, 1, 1)].beta_bytes_per_s == pytest.approx(BETA / 3, rel=0.05)
    table = fits_table(fits)
    assert len(table) == 2 and list(table["target"]) == ["host", "local"]
    for col in ("t0_s", "t0_low_s", "alpha_high_s", "beta_bytes_per_s", "beta_low_bytes_per_s",
                "b_half_bytes", "r2", "n", "warnings"):
        assert col in table.columns
    assert table["n"].tolist() == [90, 90]
    assert table.loc[1, "b_half_bytes"] == pytest.approx(2 * ALPHA * BETA / 3, rel=0.06)


def test_fit_groups_raise_names_the_group_and_skip_leaves_it_out():
    df = pd.concat([two_targets(), points(bs=(4096,), target="layer")], ignore_index=True)
    with pytest.raises(InsufficientDataError, match="group target=layer, rw=randread"):
        fit_groups(df)
    assert set(k[0] for k in fit_groups(df, on_error="skip")) == {"host", "local"}
    with pytest.raises(UsageError):
        fit_groups(df, on_error="ignore")


def test_compare_to_baseline_ratio_and_interval():
    out = compare_to_baseline(two_targets(), "host", dataset_bytes="1g", bs_bytes="64k")
    row = out.set_index("target").loc["local"]
    assert row["blocks"] == 16384
    truth_local = true_time(16384, 65536, alpha=2 * ALPHA, beta=BETA / 3)
    truth_host = true_time(16384, 65536)
    assert row["low_s"] < row["mean_low_s"] < row["predicted_s"] < row["mean_high_s"] < row["high_s"]
    assert row["predicted_s"] == pytest.approx(truth_local, rel=0.05)
    assert row["ratio_to_baseline"] == pytest.approx(truth_local / truth_host, rel=0.05)
    assert row["ratio_low"] < truth_local / truth_host < row["ratio_high"] and row["ratio_p"] < 1e-6
    base = out.set_index("target").loc["host"]
    assert (base["ratio_to_baseline"], base["ratio_low"], base["ratio_high"]) == (1.0, 1.0, 1.0)
    assert bool(row["extrapolates"]) and "N 16384 is 16x the largest N" in row["reason"]
    assert row["extrapolation"] == 16.0 and not row["holds"] and "measure larger N" in row["why"]
    assert row["target_kind"] == "local" and math.isnan(row["lack_of_fit_p"]) is False
    with pytest.raises(UsageError, match="baseline 'nfs' is not among the fitted targets: host, local"):
        compare_to_baseline(two_targets(), "nfs", dataset_bytes=GIB, bs_bytes=65536)


def test_compare_means_covers_the_true_ratio_and_finds_a_small_difference():
    """Two targets 8 % apart in beta, 5 % noise: the interval of the ratio of expected times
    excludes 1 (a test of means), while the intervals of one read overlap."""
    hits, differs = 0, 0
    for seed in range(30):
        a = fit_read_time(points(sd=0.05, seed=seed))
        b = fit_read_time(points(sd=0.05, seed=100 + seed, beta=BETA / 1.08))
        r = compare_means(b, a, 1024, MIB)
        truth = true_time(1024, MIB, beta=BETA / 1.08) / true_time(1024, MIB)
        hits += r.low <= truth <= r.high
        differs += r.differs
        pa, pb = a.predict(1024, MIB), b.predict(1024, MIB)
        assert pb.low_s < pa.high_s  # one-read intervals overlap: no test of means
    assert hits >= 26 and differs >= 27


# ---------------------------------------------------------------- one-parameter form

def test_fit_per_block_recovers_tb_when_t0_is_zero():
    df = points(t0=0.0, c=0.0)
    f = fit_per_block(df, 65536)
    tb = ALPHA + 65536 / BETA
    assert f.tb_s == pytest.approx(tb, rel=0.02)
    assert f.ci[0] < tb < f.ci[1]
    assert f.n == 18 and f.bs_bytes == 65536 and f.r2 > 0.99
    assert fit_per_block(df, 65536.0).tb_s == f.tb_s == fit_per_block(df, "64k").tb_s


def test_fit_per_block_rejects_a_single_n():
    with pytest.raises(InsufficientDataError, match="1 distinct N at B = 64 KiB"):
        fit_per_block(points(ns=(8,)), "64k")


# ---------------------------------------------------------------- allocation

def test_fit_size_recovers_slope_one_and_4096_byte_intercept():
    df = points(target_size_bytes=64 * MIB, fs_total_bytes=60 * MIB, fs_avail_bytes=57 * MIB)
    f = fit_size(df)
    assert f.slope == pytest.approx(1.0, abs=1e-9)
    assert f.intercept_bytes == pytest.approx(4096, abs=1e-3)
    assert f.ci["slope"][0] <= 1.0 <= f.ci["slope"][1]
    assert f.r2 == pytest.approx(1.0)
    assert f.n == 10  # distinct N*B sizes, 4 KiB .. 1 GiB
    assert f.n_rows == 90
    assert f.usable_share == pytest.approx(60 / 64) and f.avail_share == pytest.approx(57 / 64)
    assert f.predict(MIB) == pytest.approx(MIB + 4096)


def test_fit_size_with_block_rounding_noise_keeps_slope_near_one():
    df = points()
    rng = np.random.default_rng(3)
    df["allocated_bytes"] = df["size_bytes"] + 4096 + 4096 * rng.integers(0, 3, len(df))
    f = fit_size(df)
    assert f.slope == pytest.approx(1.0, abs=1e-5)
    assert 0 < f.intercept_bytes < 3 * 4096
    assert math.isnan(f.usable_share)


def test_fit_size_groups_and_too_few_sizes():
    fits = fit_size_groups(two_targets())
    assert list(fits) == [("host",), ("local",)]
    assert size_fits_table(fits)["intercept_bytes"].round().tolist() == [4096, 4096]
    with pytest.raises(InsufficientDataError, match="only 2 distinct size_bytes"):
        fit_size(points(ns=(1, 2), bs=(4096,)))


# ---------------------------------------------------------------- summaries

def test_summarise_points_stats_and_outliers():
    df = points(repeats=5, sd=0.01)
    cell = (df.blocks == 64) & (df.bs_bytes == 65536)
    df.loc[df.index[cell][0], "read_time_s"] *= 3
    summary = summarise_points(df)
    assert len(summary) == 30 and summary["n"].eq(5).all()
    row = summary[(summary.blocks == 64) & (summary.bs_bytes == 65536)].iloc[0]
    assert row["outliers"] == 1
    assert summary["outliers"].sum() == 1
    quiet = summary[(summary.blocks == 16) & (summary.bs_bytes == 4096)].iloc[0]
    assert quiet["cv"] == pytest.approx(quiet["std_s"] / quiet["mean_s"]) and quiet["cv"] < 0.03
    assert outlier_mask(df).sum() == 1


def test_outliers_with_three_repeats_use_the_pooled_relative_spread():
    df = points(repeats=3, sd=0.03, seed=1)
    assert outlier_mask(df).sum() == 0  # 3 % noise is not an outlier
    df.loc[40, "read_time_s"] *= 1.5
    mask = outlier_mask(df)
    assert mask.sum() == 1 and bool(mask[40])
    df.loc[41, "error"] = 3
    df.loc[41, "read_time_s"] *= 10
    assert not outlier_mask(df)[41]  # excluded rows are never flagged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_max_type_hinge_test_of_one_knot_is_statsmodels_score_test(seed):
    """With one hinge column the max-type test is the plain score test: its p-value must be
    statsmodels' (GLMResults.score_test, chi^2 with 1 df), up to the Monte Carlo error of 20,000
    draws (binomial sd <= 0.0036)."""
    from voltools.analysis.models import _gamma_glm, _max_score_p, read_time_design
    rng = np.random.default_rng(seed)
    n = np.repeat([1, 16, 64, 256, 1024, 4096], 3).astype(float)
    b = np.full(n.shape, 65536.0)
    X = read_time_design(n, b)[:, [0, 2]]  # one B: T_0 + N (alpha + B / beta)
    mean = X @ np.array([2.5e-4, 4e-5 + 65536 / 1.3e9])
    y = mean * rng.lognormal(-0.02, 0.2, n.size)
    res = _gamma_glm(y, X, np.ones(n.size))
    size = n * b
    for knot in np.unique(size)[1:-1]:
        z = (np.maximum(0.0, size - knot) / size.max())[:, None]
        reference = float(np.asarray(res.score_test(exog_extra=z, observed=False)[1]).ravel()[0])
        assert _max_score_p(res, z)[0] == pytest.approx(max(reference, 1 / 20_000), abs=0.012)


def test_a_ratio_whose_variance_is_unsure_takes_dof_1_and_never_overflows():
    """A part whose estimate's variance dwarfs its variance (a drift estimated at 0 from rounds far
    noisier than the fit: a loop-ext4 fit of Pearson scale 180 did it) takes the Welch-Satterthwaite
    degrees of freedom to 1, not 0; a bound beyond the float range is inf, not an OverflowError."""
    from scipy import stats
    from voltools.analysis.models import _ratio
    unsure = _ratio(1.0, 0.1, 30, 1.0, 0.1, 30, 0.95, [(0.0, 1e8)])
    assert unsure.low == pytest.approx(math.exp(-stats.t.ppf(0.975, 1) * math.sqrt(0.02)))
    hopeless = _ratio(1.0, 100.0, 30, 1.0, 100.0, 30, 0.95, [(0.0, 1e12)])
    assert (hopeless.ratio, hopeless.low, hopeless.high) == (1.0, 0.0, math.inf)


def test_the_change_test_keeps_a_knot_when_every_amount_read_is_far_below_the_largest():
    """Amounts 4 KiB, 1 MiB and 1 GiB: no knot lies within 1/256 of the largest, so the test keeps
    the largest one below it (1 MiB) rather than test nothing; a time per byte that doubles
    beyond 1 MiB is then found."""
    from voltools.analysis.models import _change_warning, _gamma_glm, read_time_design
    rng = np.random.default_rng(3)
    n = np.repeat([1.0, 256.0, 262144.0], 5)
    b = np.full(n.shape, 4096.0)
    X = read_time_design(n, b)[:, [0, 2]]
    size = n * b
    slow = np.maximum(0.0, size - (1 << 20)) / 1.3e9  # beyond 1 MiB each byte costs twice
    y = (X @ np.array([2.5e-4, 4e-5 + 4096 / 1.3e9]) + slow) * rng.lognormal(0, 0.02, n.size)
    res = _gamma_glm(y, X, np.ones(n.size))
    assert "beyond 1 MiB" in (_change_warning(res, n, b) or "")


# ---------------------------------------------------------------- reads that share their first blocks

def test_rows_that_share_a_read_are_fitted_as_its_disjoint_stretches():
    """Each row of a read (prefix_of) is fitted as its blocks beyond the read's next smaller row:
    the stretch's time, design row X(N) - X(N_0); a row whose smaller neighbour failed starts
    at the one before. Parameters recovered within their intervals."""
    df = prefixed()
    f = fit_read_time(df)
    for name, true in (("t0_s", T0), ("c_s_per_byte", C), ("alpha_s", ALPHA), ("beta_bytes_per_s", BETA)):
        lo, hi = f.ci[name]
        assert lo <= true <= hi, name
    row = df[(df["repeat"] == 0) & (df["bs_bytes"] == 65536)].set_index("blocks")["read_time_s"]
    at = (f.blocks == 64) & (f.bs_bytes == 65536)
    assert sorted(f.first_blocks[at]) == [16] * 3 and np.isin(row[64] - row[16], f.read_time_s[at]).any()
    broken = df.copy()
    broken.loc[(broken["blocks"] == 16) & (broken["bs_bytes"] == 65536) & (broken["repeat"] == 0), "error"] = -1
    g = fit_read_time(broken)
    assert np.isin(row[64] - row[4], g.read_time_s[(g.blocks == 64) & (g.first_blocks == 4)]).any()


def test_the_stretch_fit_matches_statsmodels_and_predicts_whole_reads_and_stretches():
    f = fit_read_time(prefixed(sd=0.1, seed=3))
    X = read_time_design(f.blocks, f.bs_bytes, first=f.first_blocks)
    with pytest.warns(sm.tools.sm_exceptions.DomainWarning):
        res = sm.GLM(f.read_time_s, X, family=sm.families.Gamma(sm.families.links.Identity()),
                     var_weights=f.var_weights).fit(start_params=f.params, scale="X2", use_t=True)
    assert np.allclose(res.params, f.params, rtol=1e-6) and f.dof == res.df_resid
    for first in (0, 256):
        frame = res.get_prediction(read_time_design(1024, 65536, first=first)[None, :]).summary_frame(alpha=0.05)
        p = f.predict(1024, 65536, first_blocks=first)
        assert p.mean_s == pytest.approx(frame["mean"].iloc[0], rel=1e-6)
        assert p.mean_low_s == pytest.approx(frame["mean_ci_lower"].iloc[0], rel=1e-6)
    whole, head = f.predict(1024, 65536).mean_s, f.predict(256, 65536).mean_s
    rest = f.predict(1024, 65536, first_blocks=256).mean_s
    assert whole == pytest.approx(rest + head, rel=1e-9)


def test_prefix_rows_that_repeat_a_block_count_of_their_read_are_refused():
    df = prefixed()
    twice = pd.concat([df, df[df["prefix_of"].notna()].head(1)], ignore_index=True)
    with pytest.raises(InsufficientDataError, match="repeat a block count of their read"):
        fit_read_time(twice)


def test_fit_per_block_takes_shared_reads_apart_too():
    df = prefixed(t0=0.0, c=0.0, sd=0.01)
    pb = fit_per_block(df, 65536)
    assert pb.ci[0] <= ALPHA + 65536 / BETA <= pb.ci[1] and pb.n == 18
