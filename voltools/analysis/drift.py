"""The drift of the medium between rounds: what an expected time, and a comparison between runs,
must allow for.

A fit's standard error holds the scatter of its points about the curve as if every read were
independent. Reads of one round are not: a round reads every target once, and what the medium
was like then (its clock, its load, its cache) moves all of that round's reads together. Two runs
are two more moments of that drift, so the interval of a ratio between runs needs the variance of
each run's level, which the rounds of the run measure.

Model (log scale, per fit): log T_i = log mu_i + u_r(i) + e_i, the round effects u_r independent
with variance tau^2 and the same between runs as between the rounds of a run (rounds are repeats
in time; a level that holds through a whole run and shows in none of its rounds cannot be told
from a real change by anything measured within the run). An estimate c'theta (the question's
expected time, alpha, 1/beta) moves by sum_r G_r u_r, G_r the share of round r in it; its drift
variance is tau^2 sum_r G_r^2, which is tau^2 / R when every round reads the same points and more
when, as with the question's extra rounds of long reads alone, rounds weigh unequally.

Each round's effect is the weighted mean of log(T / mu_hat) over its fitted points, with the
fit's var_weights: they are the inverse relative variances of the reads, so the mean is the
least noisy estimate of a level the round's reads share, and its noise is known (scale / sum of
weights). What the question makes of a round is its share G_r (the summed influence of the
round's points on the estimate), so the points that inform the question most count there, not
in the level: weighting the level itself by influence would give negative weights to the points
the fit extrapolates against (a quarter of them in the gate test's sweep) and no known noise
for the mean, and measured no less noise (x1.05 the variance on simulated sweeps). tau^2
is statsmodels' Paule-Mandel random-effects variance of the round effects given that noise (a
meta-analysis with the rounds as studies): the spread of the rounds beyond what their own
reads' noise explains, so the noise already in the fit's standard error is not counted twice.

A model that misses the cells only some rounds read (the question's extra rounds of long reads,
fitted by the whole grid's model where its long reads run slower) puts that misfit into those
rounds' levels: the drift is then overstated, and the intervals err wide.

A prediction's interval of the expected time (models.ReadTimeFit.predict) adds tau^2 sum G_r^2 to
the relative variance of its fit's standard error: the rounds are a sample of the medium's states,
and a level shared by a round's reads (a simulated sd of 7% with prefix reads: the interval
without it covered 88-90%) is averaged over only that many. A ratio between runs A and B adds
tau_A^2 sum G_A^2 + tau_B^2 sum G_B^2 to the variance of its log (compare.compare_fits). Its
Welch-Satterthwaite degrees of freedom weigh each part by the
variance of its estimate: a fit's 2 v^2 / dof, a drift's (sum G^2)^2 Var(tau^2), with REML's
Var(tau^2) = 2 / tr(P^2) at the estimate. From 5 rounds that is about 2 (tau^2 + noise)^2 / 4 and
stays above 0 where tau^2 is estimated at 0: a drift no larger than the rounds' own noise cannot
be ruled out, and the t quantile says so. Taking R - 1 degrees of freedom instead covered 92-93%
of simulated pairs of one truth (drift 5-20%), this 95-96% (tests/unit/analysis/test_drift.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.meta_analysis import combine_effects


WITHIN_RUN = "within-run noise only"
BETWEEN_RUNS = "between runs"


def within_run_only(covers):
    """True where a compare row's `interval_covers` says its interval holds no drift between runs."""
    return covers == WITHIN_RUN


@dataclass(frozen=True)
class RoundDrift:
    """The drift of one fit's estimate between rounds.

    rounds: rounds with fitted points (0 where the points have no round); tau2: the variance of
    the round effects beyond the noise of their reads; tau2_var: the variance of that estimate;
    shares: G_r, each round's share in the estimate (they sum to 1). var: tau2 * sum G_r^2, the
    variance the drift adds to the log of the estimate; var_var: the variance of var, for
    Welch-Satterthwaite. NaN (not known) with fewer than 2 rounds."""

    rounds: int
    tau2: float = math.nan
    tau2_var: float = math.nan
    shares: tuple = ()

    @property
    def known(self):
        """True when there are rounds enough (2) to tell drift from noise, and every fitted point
        has one (a run partly written before rounds were recorded has points without)."""
        return self.rounds >= 2 and math.isfinite(self.tau2)

    @property
    def var(self):
        return self.tau2 * self._sum_g2() if self.known else math.nan

    @property
    def var_var(self):
        return self.tau2_var * self._sum_g2() ** 2 if self.known else math.nan

    @property
    def rel_sd(self):
        """sd of one round's level (tau, about a relative sd)."""
        return math.sqrt(self.tau2) if self.known else math.nan

    @property
    def effective_rounds(self):
        """1 / sum G_r^2: the rounds' worth the estimate averages the drift over (R when even)."""
        return 1.0 / self._sum_g2() if self.known else math.nan

    def _sum_g2(self):
        return float(np.sum(np.square(self.shares)))


def fit_drifts(fit, blocks, bs_bytes):
    """RoundDrift of a ReadTimeFit's expected time of N blocks of B bytes ("mean") and of its
    alpha and 1/beta ("alpha_s", "inv_beta_s_per_byte"; beta's is 1/beta's on the log scale)."""
    contrasts = {"mean": fit.exog(blocks, bs_bytes)[0]}
    for name in ("alpha_s", "inv_beta_s_per_byte"):
        contrasts[name] = fit.unit_contrast(name)
    rounds = fit.round_levels
    if not rounds.known:
        return {name: RoundDrift(rounds=rounds.rounds) for name in contrasts}
    shares = round_shares(fit, np.array(list(contrasts.values())))
    return {name: RoundDrift(rounds.rounds, rounds.tau2, rounds.tau2_var, tuple(g))
            for name, g in zip(contrasts, shares.T)}


def drift_parts(*drifts):
    """(log-scale variance, its estimate's variance) of each RoundDrift whose rounds show it: the
    parts a ratio's interval adds for the drift of each of its two estimates (models._ratio)."""
    return [(d.var, d.var_var) for d in drifts if d.known]


def drift_vars(fit, contrasts):
    """(var, var_var) of the drift of each contrast's estimate (rows of `contrasts`, the fit's
    scaled design), as arrays, for a prediction's interval: RoundDrift.var, and the variance of a
    chi-square estimate on R - 1 degrees of freedom, 2 var^2 / (R - 1); NaN where the fit's rounds
    cannot tell drift from noise. Not REML's variance at the estimate (RoundDrift.var_var, what a
    comparison between runs uses): on the committed sample, whose rounds' levels are themselves
    noisy (a round's 23 reads, 6%), it put the drift's degrees of freedom below 1 and the interval
    of a 12 s answer at [5 s, 19 s] where the rounds' levels spread 10%."""
    rounds = fit.round_levels
    if not rounds.known:
        return np.full(len(contrasts), math.nan), np.full(len(contrasts), math.nan)
    var = rounds.tau2 * np.sum(round_shares(fit, contrasts) ** 2, axis=0)
    return var, 2 * var**2 / (rounds.rounds - 1)


def round_levels(rounds, var_weights, read_time_s, mu, scale):
    """RoundDrift without shares: tau^2 and its variance from the fitted points' rounds (NaN where
    a point has no round or fewer than 2 rounds are seen)."""
    rounds = np.asarray(rounds, dtype=float)
    seen = np.unique(rounds[np.isfinite(rounds)])
    if not np.isfinite(rounds).all() or len(seen) < 2:
        return RoundDrift(rounds=len(seen))
    tau2, tau2_var = _between_rounds(np.searchsorted(seen, rounds), var_weights, read_time_s, mu, scale)
    return RoundDrift(len(seen), tau2, tau2_var)


def round_shares(fit, contrasts):
    """G_r for each contrast (rows of the scaled design): an (R, k) array whose columns sum to 1."""
    seen = np.unique(fit.rounds)
    onehot = (fit.rounds[:, None] == seen[None, :]).astype(float)
    return onehot.T @ _influence(fit, fit.fitted_exog, fit.fitted_mean, np.atleast_2d(contrasts))


def paired_drift(fit, other, blocks, bs_bytes):
    """RoundDrift of the log ratio of two fits' expected times of N blocks of B bytes, where both
    fitted the same rounds of one run (two targets read turn about): the variance of the
    difference of their round effects beyond its noise, and the mean of the two fits' shares.
    What moved both targets in a round cancels in the ratio; what moved one does not. None where
    the rounds differ or either fit cannot tell drift from noise."""
    if not (fit.round_levels.known and other.round_levels.known):
        return None
    (seen_a, eff_a, noise_a), (seen_b, eff_b, noise_b) = _round_effects(fit), _round_effects(other)
    if not np.array_equal(seen_a, seen_b):
        return None
    tau2, tau2_var = _tau2(eff_b - eff_a, noise_a + noise_b)
    shares = [round_shares(f, f.exog(blocks, bs_bytes))[:, 0] for f in (fit, other)]
    return RoundDrift(len(seen_a), tau2, tau2_var, tuple((shares[0] + shares[1]) / 2))


def _round_effects(fit):
    """(rounds, each round's effect, its noise) of a fit's points (_effects)."""
    seen = np.unique(fit.rounds)
    of = np.searchsorted(seen, fit.rounds)
    return (seen, *_effects(of, fit.var_weights, fit.read_time_s, fit.fitted_mean, fit.model.scale))


def _between_rounds(of, var_weights, read_time_s, mu, scale):
    """(tau^2, its variance): statsmodels' Paule-Mandel variance of the round effects (_effects)
    beyond their noise, and its REML variance 2 / tr(P^2) (Viechtbauer 2005)."""
    return _tau2(*_effects(of, var_weights, read_time_s, mu, scale))


def _effects(of, var_weights, read_time_s, mu, scale):
    """(each round's effect, its noise): the weighted mean log(T / mu) over the round's points,
    weights var_weights, and scale / the sum of its weights."""
    weight = np.bincount(of, var_weights)
    return np.bincount(of, var_weights * np.log(read_time_s / mu)) / weight, scale / weight


def _tau2(effects, noise):
    """(tau^2, its variance) of `effects` with known `noise` variances (see _between_rounds)."""
    tau2 = max(float(combine_effects(effects, noise, method_re="iterated").tau2), 0.0)
    return tau2, _reml_tau2_var(noise + tau2)


def _reml_tau2_var(total_var):
    """Variance of a random-effects variance estimated from studies of these total variances
    (noise + tau^2): 2 / tr(P^2), P = W - W 1 1' W / 1'W1, W = diag(1 / total_var); with R equal
    studies 2 (v + tau^2)^2 / (R - 1), the chi-square's. Evaluated at the estimate, at 0 too: a
    drift estimated at 0 from 5 rounds may still be there, and this keeps the t quantile wide."""
    w = 1.0 / total_var
    trace = np.sum(w**2) - 2 * np.sum(w**3) / np.sum(w) + (np.sum(w**2) / np.sum(w)) ** 2
    return 2.0 / trace


def _influence(fit, X, mu, contrasts):
    """d log(c' theta) / d log T_i for each fitted point (rows) and contrast c (columns):
    c' (X'WX)^-1 x_i W_i T_i / c' theta, W_i = var_weight_i / mu_i^2 (the GLM's weights;
    statsmodels' normalized covariance is (X'WX)^-1). Each column sums to 1: scaling every read
    scales the estimate."""
    c = np.asarray(contrasts, dtype=float)
    pull = X @ (np.asarray(fit.model.normalized_cov_params) @ c.T)
    return pull * (fit.var_weights * fit.read_time_s / mu**2)[:, None] / (c @ fit.model.params)[None, :]
