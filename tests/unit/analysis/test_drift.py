"""The interval of a ratio between runs allows for the drift of the medium between rounds
(voltools.analysis.drift, compare.compare_fits), on simulated pairs of runs with known truth.

A simulated run is the sweep of tests/integration/test_compare_gate.py (B 16k, 64k, 256k x N 1,
16, 64 in 3 rounds, plus the question 64m@64k's reads of 256 and 1024 blocks in 5 rounds: 37
points) on a fast medium (64 MiB in 44 ms). A read's noise is multiplicative, log-normal of mean
1, from 35% (the shortest read) to 10% (the longest). Each round's level is log-normal about 1
with sd `drift`, independent between rounds and runs: the medium drifts in time and a run is a few
moments of it, so at drift 20% a run's level (over its 5 rounds, as the fit weighs them) has an
sd of about 11% between runs. A level that held through a whole run and showed in none of its
rounds would be invisible to any estimate made within the run: this model does not have one.

Measured with these seeds (2026-11-27): drift 20%, 400 pairs: the interval between runs covers 1
in 95.2% (the fits' own intervals, within-run noise only, in 63%); no drift, 100 pairs: 98%, the
median interval 1.25x the fits' own; a true x1.5 slowdown at drift 10% (the sample's rounds drift
0-10%, one group 25%), 100 pairs: found (ratio_low > 1.05) in 100%, 1.5 covered in 97%; at drift
20% found in 58% (two runs' levels then differ by about 15%, a third of the slowdown's log).
About 35 s here, most of it the 600 fits.
"""
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from repo import RAW
from voltools.analysis.compare import compare_fits
from voltools.analysis.drift import BETWEEN_RUNS, WITHIN_RUN, drift_parts, fit_drifts
from voltools.analysis.models import _ratio, compare_means, fit_read_time, read_time_design
from voltools.cli import main
from voltools.store import RunStore

KIB, MIB = 1 << 10, 1 << 20
GRID_BS, GRID_N, GRID_ROUNDS = (16 * KIB, 64 * KIB, 256 * KIB), (1, 16, 64), 3
QUESTION_BS, QUESTION_N, ROUNDS = 64 * KIB, (256, 1024), 5
BLOCKS = 1024  # the question, 64 MiB in 64 KiB blocks
T0, C, ALPHA, BETA = 5e-5, 2e-10, 1e-5, 2e9
FLOOR, TOP = 0.10, 0.35  # relative noise of the longest and of the shortest read


def true_time(n, b):
    return T0 + C * b + n * (ALPHA + b / BETA)


def points(rng, drift, factor=1.0, common=0.0):
    """One simulated run's points: true times x factor, each round's level (its own, sd `drift`,
    plus `common`, a level per round another target of the run shares), each read's noise."""
    cells = [(n, b, r) for r in range(GRID_ROUNDS) for b in GRID_BS for n in GRID_N]
    cells += [(n, QUESTION_BS, r) for r in range(ROUNDS) for n in QUESTION_N]
    n, b, r = (np.array(x, dtype=float) for x in zip(*cells))
    mu = true_time(n, b)
    rel_sd = np.sqrt(FLOOR**2 + (TOP**2 - FLOOR**2) * true_time(1, GRID_BS[0]) / mu)
    sigma = np.sqrt(np.log1p(rel_sd**2))
    level = (rng.normal(0.0, drift, ROUNDS) + common)[r.astype(int)]
    t = factor * mu * np.exp(level + sigma * rng.standard_normal(len(mu)) - sigma**2 / 2)
    return pd.DataFrame({"target": "sim", "rw": "read", "direct": 1, "iodepth": 1, "numjobs": 1,
                         "blocks": n, "bs_bytes": b, "read_time_s": t, "error": 0, "round": r})


def pairs(count, seed, drift):
    """`count` pairs of fits (A, B) of independent runs of the same truth: `count` runs in a ring,
    each paired with the next (half the fits of disjoint pairs; the share of pairs covered is
    still an unbiased estimate of the coverage, a little less sure)."""
    rng = np.random.default_rng(seed)
    fits = [fit_read_time(points(rng, drift)) for _ in range(count)]
    return list(zip(fits, fits[1:] + fits[:1]))


def rows(fit_pairs, factor=1.0):
    """compare_fits of each pair; B's reads x factor move its fit exactly so (the fit is scale
    equivariant: test_a_fit_of_slower_reads_is_the_fit_scaled), so its bounds are scaled."""
    out = pd.DataFrame([compare_fits(a, b, BLOCKS, QUESTION_BS) for a, b in fit_pairs])
    out[["ratio", "ratio_low", "ratio_high"]] *= factor
    return out


def covers(table, truth=1.0):
    return float(((table["ratio_low"] <= truth) & (truth <= table["ratio_high"])).mean())


def within_run_interval(fit_a, fit_b):
    """The interval of the fits' own standard errors alone (what compare gave before drift.py)."""
    a, b = fit_a.predict(BLOCKS, QUESTION_BS), fit_b.predict(BLOCKS, QUESTION_BS)
    return _ratio(b.mean_s, b.mean_se_s, fit_b.dof, a.mean_s, a.mean_se_s, fit_a.dof, 0.95)


@pytest.fixture(scope="module")
def drifting():
    return pairs(400, 14, 0.20)


@pytest.fixture(scope="module")
def drifting_rows(drifting):
    return rows(drifting)


def test_the_interval_between_runs_of_one_truth_covers_1_in_95pct_of_pairs(drifting_rows):
    """400 pairs at drift 20%: 95.2% measured (a 95% binomial band is +-2.1%)."""
    table = drifting_rows
    assert set(table["interval_covers"]) == {BETWEEN_RUNS}
    assert 0.93 <= covers(table) <= 0.975, covers(table)


def test_the_fits_own_interval_alone_misses_the_drift(drifting):
    """What the issue saw: the same pairs with within-run noise only cover 1 in 63%."""
    own = [within_run_interval(a, b) for a, b in drifting]
    assert np.mean([r.low <= 1 <= r.high for r in own]) < 0.7


def test_without_drift_the_interval_still_covers_at_a_modest_cost():
    """100 pairs with no drift: 98% measured; the median interval is a quarter wider than the
    fits' own (a drift estimated at 0 from 5 rounds may still be there: fewer degrees of freedom)."""
    quiet = pairs(100, 41, 0.0)
    table = rows(quiet)
    assert covers(table) >= 0.93, covers(table)
    own = np.median([math.log(r.high / r.ratio) for r in (within_run_interval(a, b) for a, b in quiet)])
    assert np.median(np.log(table["ratio_high"] / table["ratio"])) < 1.4 * own


def test_a_true_slowdown_of_x1_5_is_still_found():
    """At drift 10%, 100 pairs: ratio_low > 1.05 in 100% measured, the truth covered in 97%."""
    table = rows(pairs(100, 23, 0.10), factor=1.5)
    assert (table["ratio_low"] > 1.05).mean() >= 0.9
    assert covers(table, 1.5) >= 0.9


def test_at_drift_20pct_a_slowdown_of_x1_5_is_found_in_most_pairs(drifting_rows):
    """58% measured: the drift leaves x1.5 only about 3 sd of the difference between two runs (the
    fit being scale equivariant, B's reads x1.5 scale its ratio and bounds x1.5)."""
    assert (drifting_rows["ratio_low"] * 1.5 > 1.05).mean() > 0.5


def test_a_fit_of_slower_reads_is_the_fit_scaled():
    """What `rows` rests on: reads x1.5 give the ratio, its interval and the drift x1.5 / alike."""
    df = points(np.random.default_rng(5), 0.2)
    a, b = fit_read_time(df), fit_read_time(df.assign(read_time_s=df["read_time_s"] * 1.5))
    row = compare_fits(a, b, BLOCKS, QUESTION_BS)
    assert row["ratio"] == pytest.approx(1.5, rel=1e-6)
    assert row["ratio_low"] * row["ratio_high"] == pytest.approx(1.5**2, rel=1e-6)
    assert row["drift_sd_a"] == pytest.approx(row["drift_sd_b"], rel=1e-6)


def test_the_run_level_variance_agrees_with_statsmodels_cluster_robust_by_round(drifting):
    """Reference: statsmodels' GLM on the fitted points with the fit's weights and covariance
    clustered by round (sandwich; noisy with 5 clusters, unbiased on average). Over 150 runs the
    mean relative variance of the expected time, ours (the fit's own plus the drift's) 0.0098 and
    statsmodels' 0.0098, and the estimates' spread about the truth, 0.0094, agreed within 5%."""
    ours, clustered, errors = [], [], []
    for fit, _ in drifting[:150]:
        p = fit.predict(BLOCKS, QUESTION_BS)
        ours.append((p.mean_se_s / p.mean_s) ** 2 + fit_drifts(fit, BLOCKS, QUESTION_BS)["mean"].var)
        clustered.append(cluster_robust_rel_var(fit))
        errors.append(math.log(p.mean_s / true_time(BLOCKS, QUESTION_BS)))
    truth = np.var(errors, ddof=1)
    assert np.mean(ours) == pytest.approx(np.mean(clustered), rel=0.15)
    assert np.mean(ours) == pytest.approx(truth, rel=0.25)
    assert np.mean(clustered) == pytest.approx(truth, rel=0.25)


def cluster_robust_rel_var(fit):
    X = read_time_design(fit.blocks, fit.bs_bytes) / fit.design_scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(fit.read_time_s, X, family=sm.families.Gamma(sm.families.links.Identity()),
                     var_weights=fit.var_weights).fit(start_params=fit.model.params, cov_type="cluster",
                                                      cov_kwds={"groups": fit.rounds.astype(int)})
    p = res.get_prediction(read_time_design(BLOCKS, QUESTION_BS)[None, :] / fit.design_scale)
    return float((p.se_mean[0] / p.predicted_mean[0]) ** 2)


def test_each_rounds_share_is_its_pull_on_a_refit_with_the_same_weights():
    """G_r = d log(expected time) / d log(round r's reads), checked by statsmodels refits of the
    points with round r's reads x 1.001 (the fit's weights held)."""
    fit = fit_read_time(points(np.random.default_rng(9), 0.2))
    shares = fit_drifts(fit, BLOCKS, QUESTION_BS)["mean"].shares
    X = read_time_design(fit.blocks, fit.bs_bytes) / fit.design_scale
    x0 = read_time_design(BLOCKS, QUESTION_BS) / fit.design_scale
    base = refit_mean(fit, X, x0, fit.read_time_s)
    for r, share in enumerate(shares):
        moved = refit_mean(fit, X, x0, fit.read_time_s * np.where(fit.rounds == r, 1.001, 1.0))
        assert math.log(moved / base) / math.log(1.001) == pytest.approx(share, abs=2e-3)
    assert sum(shares) == pytest.approx(1.0)


def refit_mean(fit, X, x0, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(y, X, family=sm.families.Gamma(sm.families.links.Identity()),
                     var_weights=fit.var_weights).fit(start_params=fit.model.params, tol=1e-12)
    return float(x0 @ res.params)


@pytest.fixture(scope="module")
def one_round_root(tmp_path_factory):
    """The sample as run "sample" and as "flat", whose every point is in round 0."""
    root = tmp_path_factory.mktemp("raw")
    sample = RunStore.open("sample", RAW)
    for run_id, points in (("sample", sample.points()), ("flat", sample.points().assign(round=0))):
        store = RunStore.create(run_id, root, meta={**sample.read_meta(), "run_id": run_id})
        store.append_points(points.assign(run_id=run_id))
    return root


def test_a_run_of_one_round_is_said_to_hold_within_run_noise_only(one_round_root, capsys):
    assert main(["compare", "sample", "flat", "--data-dir", str(one_round_root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "[95% interval]" not in out[0] and WITHIN_RUN in out[0]
    assert all(f"interval of {WITHIN_RUN}, not 95% between runs: rounds A 3" in line or
               f"interval of {WITHIN_RUN}, not 95% between runs: rounds A 5" in line for line in out[1:]
               if not line.startswith("note: "))


def test_json_says_which_interval_each_row_has(one_round_root, capsys):
    import json
    assert main(["compare", "sample", "flat", "--data-dir", str(one_round_root), "--json"]) == 0
    flat = json.loads(capsys.readouterr().out)
    assert main(["compare", "sample", "sample", "--data-dir", str(one_round_root), "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert {r["interval_covers"] for r in flat} == {WITHIN_RUN} and {r["rounds_b"] for r in flat} == {1}
    assert all(r["drift_sd_b"] is None and r["drift_sd_a"] >= 0 for r in flat)
    assert {r["interval_covers"] for r in both} == {BETWEEN_RUNS}
    assert {(r["rounds_a"], r["rw"]) for r in both} == {(3, "randread"), (5, "read")}


def test_the_interval_of_the_expected_time_holds_the_drift_between_rounds():
    """300 simulated runs, each round's level drifting 10%: predict's interval of the expected time
    (the fit's standard error and the drift between rounds) covers the truth (exp(drift^2 / 2) x the
    model's: the mean of a log-normal level) in 89.3% measured (20% drift: 91.3%; none: 94.0%), the
    fit's standard error alone in 72% (62%; 93.3%). A little under 95% in this small sweep (37
    reads, 5 rounds): the drift's R - 1 degrees of freedom do not count how noisy each round's
    level is; on bench_coverage's sweeps (about 90 reads) 92.2-96.8% with a round level of 7%."""
    rng = np.random.default_rng(31)
    truth = true_time(BLOCKS, QUESTION_BS) * math.exp(0.10**2 / 2)
    found, own = [], []
    for _ in range(300):
        p = fit_read_time(points(rng, 0.10)).predict(BLOCKS, QUESTION_BS)
        found.append(p.mean_low_s <= truth <= p.mean_high_s)
        half = stats.t.ppf(0.975, p.mean_dof) * p.mean_se_s
        own.append(p.mean_s - half <= truth <= p.mean_s + half)
    assert 0.87 <= np.mean(found) <= 0.98, np.mean(found)
    assert np.mean(own) < np.mean(found) - 0.1, (np.mean(own), np.mean(found))


def test_a_target_against_its_baseline_in_one_run_holds_each_ones_drift():
    """80 simulated runs of two targets (the second x1.2), read in the same rounds, each target's
    rounds drifting 10% of their own (a disk and a tmpfs: what moves one need not move the other):
    compare_means' interval of the ratio (the drift of the difference of their round effects)
    covers 1.2 in 96% measured; with the fits' standard errors alone (as it was before
    2026-12-07) in 74%, which a 95% interval must not."""
    rng = np.random.default_rng(5)
    hits, alone = [], []
    for _ in range(80):
        host, local = (fit_read_time(points(rng, 0.10, factor)) for factor in (1.0, 1.2))
        ratio = compare_means(local, host, BLOCKS, QUESTION_BS)
        hits.append(ratio.low <= 1.2 <= ratio.high)
        alone.append(_covers(_ratio_at_question(local, host), 1.2))
    assert np.mean(hits) >= 0.9, np.mean(hits)
    assert np.mean(alone) < np.mean(hits) - 0.1, (np.mean(alone), np.mean(hits))


def test_what_moved_both_targets_in_a_round_cancels_in_their_ratio():
    """60 simulated runs whose rounds drift 10% for both targets alike: compare_means covers 1.2
    (100% measured) with an interval narrower than one adding each fit's drift as independent
    (median x1.25 against x1.40 wide), as the ratio of two targets read turn about is."""
    rng = np.random.default_rng(6)
    hits, paired, independent = [], [], []
    for _ in range(60):
        common = rng.normal(0.0, 0.10, ROUNDS)
        host, local = (fit_read_time(points(rng, 0.0, factor, common)) for factor in (1.0, 1.2))
        ratio = compare_means(local, host, BLOCKS, QUESTION_BS)
        drifts = drift_parts(*(fit_drifts(f, BLOCKS, QUESTION_BS)["mean"] for f in (host, local)))
        each = _ratio_at_question(local, host, drifts)
        hits.append(ratio.low <= 1.2 <= ratio.high)
        paired.append(ratio.high / ratio.low)
        independent.append(each.high / each.low)
    assert np.mean(hits) >= 0.9, np.mean(hits)
    assert np.median(paired) < np.median(independent) * 0.95, (np.median(paired), np.median(independent))


def _ratio_at_question(fit, other, extra=()):
    """MeanRatio of fit's expected time over other's at the question: both fits' errors and `extra`."""
    a, b = fit.predict(BLOCKS, QUESTION_BS), other.predict(BLOCKS, QUESTION_BS)
    return _ratio(a.mean_s, a.mean_se_s, a.mean_dof, b.mean_s, b.mean_se_s, b.mean_dof, 0.95, extra)


def _covers(ratio, truth):
    return ratio.low <= truth <= ratio.high


def test_an_interval_from_two_rounds_stays_above_zero():
    """Two rounds drifting 10%: the drift's one degree of freedom (t = 12.7) widens the interval
    of the expected time on the log scale, so it holds the mean and stays above 0 (on the linear
    scale the adversarial review found it below 0 in 2 of 40 such sweeps)."""
    rng = np.random.default_rng(115)
    for _ in range(40):
        df = points(rng, 0.10)
        p = fit_read_time(df[df["round"] < 2]).predict(BLOCKS, QUESTION_BS)
        assert 0 < p.mean_low_s < p.mean_s < p.mean_high_s, (p.mean_low_s, p.mean_s, p.mean_high_s)


def test_a_point_without_a_round_leaves_the_drift_unknown():
    """A run partly written before rounds were recorded (its rows' round empty): no drift is
    claimed either way; compare's interval is the fits' own, finite (it was [inf, inf] and
    "slower"), and predict's is statsmodels'."""
    rng = np.random.default_rng(7)
    a, b = points(rng, 0.1), points(rng, 0.1)
    a = a.assign(round=np.where(np.arange(len(a)) == 3, np.nan, a["round"]))
    row = compare_fits(fit_read_time(a), fit_read_time(b), BLOCKS, QUESTION_BS)
    assert np.isfinite([row["ratio_low"], row["ratio_high"]]).all(), row
    assert row["interval_covers"] == WITHIN_RUN and row["verdict"] != "slower", row
    assert math.isnan(fit_read_time(a).predict(BLOCKS, QUESTION_BS).drift_rel_sd)
