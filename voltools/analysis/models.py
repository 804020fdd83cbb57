"""Fitted volume models on the points table (one row per measured point).

Read time (fit_read_time, fit_groups): T_d = T_0 + c B + N (alpha + B / beta). The first block
costs extra in proportion to B (c, about 0.5-0.7 ms per MiB on the sample's disks): without that
column a pure-error lack-of-fit test rejects every disk group of the sample, with it none. The
mean is linear in (T_0, c, alpha, 1/beta) with regressors (1, B, N, N B) and is fitted by
statsmodels as a Gamma GLM with identity link: weights on the fitted mean, iterated (1/mu^2 times
the noise model below), not on the observed time (weights 1/T_obs^2 bias the fit by about
-2 sigma^2: -7% at 20% scatter). statsmodels gives the parameters, their covariance, the interval
of the expected time (`get_prediction`) and the tests; this module only arranges them.

The noise of one read is measured, not assumed: from the repeats of each (N, B) cell, as a
relative variance that falls with the time read, and for long reads the pooled spread of the
longest reads measured (see ReadNoise). The pure error of the repeats gives a lack-of-fit F test
per group; a score test for a per-byte time that drifts with the amount read, a max-type hinge
test at every measured amount read (a change of regime) and a runs test catch what the F test has
too little power for. Reads far faster than the model and their cell's other repeats, or than the
model alone by 4 noise sds (a cache hit, a short read), are left out and counted; slow ones stay,
since a user's read meets them too. A prediction says how far it
extrapolates (the question's N over the largest N measured at its B) and whether the model
`holds` there: no test on measured points can check a regime change beyond them.

A question measured near its scale (`fit_read_time(df, question=(N, B))`, within 4x of the
largest N read at B) is answered by its own long reads: the line T_0' + N T_b' through the cells
at B within 16x of that largest N (at least 3), two more columns of the same GLM, while T_0, c,
alpha and beta rest on the other cells. On this machine's disk a read of 64 MiB-1 GiB costs 5-10%
more per block than the grid's reads say, and the whole grid's model missed the answer by that
much or failed its lack-of-fit test; whether the answer holds is then its line's test, and what
the grid's model misses is a note (_question_line, _line_check).

benchmarks/bench_coverage.py checks all this on 500 simulated sweeps per case (the small grid
plus large N up to a quarter of a 40 GiB question); its figures are in benchmarks/RESULTS.md.

Allocation: allocated_bytes = slope * size_bytes + intercept. Pure functions returning small
frozen dataclasses; no plotting, no Docker, no printing.
"""
from __future__ import annotations

import math
import warnings as pywarnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..errors import FitError, UsageError
from ..formatting import format_bytes
from ..points import read_time_measure, usable_mask, with_key_defaults
from ..units import parse_size
from .drift import drift_parts, drift_vars, fit_drifts, paired_drift, round_levels

DEFAULT_BY = ("target", "rw", "direct", "iodepth", "numjobs")
LEVEL = 0.95
LACK_OF_FIT_P = 0.01     # pure-error F test: below this the model misses the cell means
LINE_LACK_OF_FIT_P = 0.02  # ... of a question's line: more sensitive than a hinge test at the change at 1% (_build_fit)
CURVATURE_P = 0.01       # score test of a per-byte time drifting with log(N B)
CHANGE_P = 0.02          # max-type hinge score test at the large measured amounts read: a change of regime
CHANGE_SPAN = 256.0      # ... its knots: the measured amounts within 1/256 of the largest
RUNS_P = 0.01            # runs test on per-cell mean residuals sorted by N*B
RUNS_MIN_CELLS = 10
EXTRAPOLATION_MAX = 4.0  # a prediction beyond 4x the largest N measured at its B does not hold
FAST_OUTLIER_Z = 3.0     # a read this many noise sds faster than the model is a fast outlier...
CELL_OUTLIER_Z = 2.5     # ... if also this many below its cell's other repeats
MODEL_OUTLIER_Z = 4.0    # ... or this many below the model alone (two fast reads in one cell)
SCREEN_K = 4.0           # first screen: robust spreads below the cell median
REL_SD_FLOOR = 1e-4      # relative noise never taken below 0.01% (identical repeats)
LONG_READS = 16.0        # the longest reads: mean time within 16x of the longest repeated cell
LINE_CELLS = 3           # a question's own line needs this many long cells (one to test it by)
PARAM_NAMES = ("t0_s", "c_s_per_byte", "alpha_s", "inv_beta_s_per_byte")

_READ_COLS = ("blocks", "bs_bytes", "read_time_s")
_EXTRA_COLS = ("error", "direct", "iodepth", "numjobs", "memory_limit_bytes", "size_bytes", "round",
               "read_time_source", "target", "rw", "target_kind", "driver_opts", "run_id", "seq", "prefix_of")
_MIX_COLS = ("target", "rw", "direct", "iodepth", "numjobs", "read_time_source")
_SPEC_COLS = ("target_kind", "driver_opts")
_WEIGHT_ROUNDS = 25      # weights on the fitted mean: refits until the parameters settle
_OUTLIER_ROUNDS = 4      # fast-outlier flags: refits until the set settles (or 4 rounds)


class InsufficientDataError(FitError):
    """Too few usable points, distinct values or variance for the requested fit."""


# ---------------------------------------------------------------- helpers

def _require(df, cols, what):
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise FitError(f"{what} needs column(s) {', '.join(missing)}, missing from the points table")


def _num(df, col):
    """Column as a float array (NaN for missing); FitError if it is not numeric."""
    try:
        return df[col].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise FitError(f"column {col} is not numeric ({df[col].dtype})") from exc


def _py(value):
    return value.item() if isinstance(value, np.generic) else value


def _describe(key):
    return ", ".join(f"{k}={v}" for k, v in key.items()) or "all rows"


def _tcrit(dof, level=LEVEL):
    return float(stats.t.ppf(0.5 + level / 2, dof))


def _ok_mask(df):
    """Rows usable for read-time fits: points.usable_mask."""
    return usable_mask(df)


def _size_arg(value, what):
    """A byte count from a number (65536, 65536.0) or a size string ('64k')."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        if value != int(value) or value <= 0:
            raise UsageError(f"{what} {value!r} must be a whole number of bytes >= 1")
        return int(value)
    return parse_size(value, what)


def _fmt_values(values, limit=6):
    vals = sorted(values)
    text = ", ".join(f"{v:.0f}" if float(v).is_integer() else f"{v:g}" for v in vals[:limit])
    return text + (", ..." if len(vals) > limit else "")


def _times(factor):
    """A factor as '4x', '2.5x', '2,560x'."""
    return f"{factor:,.0f}x" if factor >= 10 else f"{factor:.3g}x"


def _gamma_glm(y, X, var_weights=None, *, freq_weights=None, start=None, scale="X2"):
    """statsmodels' Gamma GLM with identity link (variance prop. to mu^2 / var_weights), t-based
    inference; None when it cannot be fitted (no convergence, non-finite or non-positive mean).

    The identity link is what makes the parameters the model's own (seconds, seconds per byte);
    statsmodels warns that it does not keep mu > 0 by itself, so the result is checked instead."""
    if start is None:
        w = (var_weights if var_weights is not None else 1.0) / np.square(y)
        start = sm.WLS(y, X, weights=w * (freq_weights if freq_weights is not None else 1.0)).fit().params
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        try:
            model = sm.GLM(y, X, family=sm.families.Gamma(sm.families.links.Identity()),
                           var_weights=var_weights, freq_weights=freq_weights)
            res = model.fit(start_params=start, scale=scale, use_t=True, maxiter=100,
                            tol_criterion="params", atol=0.0, rtol=1e-10)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError):
            return None
    if not (np.all(np.isfinite(res.params)) and np.all(res.fittedvalues > 0)
            and np.isfinite(res.scale) and res.scale > 0):
        return None
    return res


# ---------------------------------------------------------------- read time: the noise of a read

NOISE_COMPONENTS = "a + b T_ref / T"
NOISE_POOLED = "pooled"
NOISE_SCATTER = "scatter about the fit"


@dataclass(frozen=True, eq=False)
class ReadNoise:
    """Relative variance of one read, sigma^2(T) = Var(T_d) / T^2, against its expected time T.

    Measured from the repeats: each (N, B) cell measured more than once gives s^2, the variance of
    its repeats over their mean squared, with (repeats - 1) degrees of freedom. The form is two
    variance components, sigma^2(T) = a + b T_ref / T: a share `a` that scales with the read (the
    device's state, the CPU clock: what repeats of a 4 GiB read show) and independent jitter per
    block, whose share falls as 1/T. statsmodels fits it as a Gamma GLM with identity link on the
    cells' s^2 (weights: their degrees of freedom). On a machine whose relative noise falls slower
    than 1/T it overstates the floor `a` (simulated: sd 8.9% estimated for a true 7.1%): intervals
    err wide, not narrow. Where fewer than 3 cells repeat, or the two-component fit fails or goes
    negative, the cells are pooled (one relative variance); where none repeats, the scatter about
    the fit stands in (misfit included, the only estimate left).

    The weights of the fit use the curve. For the interval of one read (read_var, read_dof) the
    longest reads are measured, not extrapolated: at and beyond `long_from_s` (the mean time of
    the shortest repeated cell at the longest one's block size and within LONG_READS x of its
    time) the noise is the pooled relative
    variance of those cells, with their degrees of freedom. A read of 4 GiB is then given the
    spread of the 64 MiB-1 GiB reads measured for the question, not a curve fitted mostly to
    reads of a few milliseconds (on this machine's host target the two-component curve gave a
    long read 21% where its repeats spread 4-9%). Where the noise still falls past those cells
    the pool overstates it: intervals err wide.

    Below `long_from_s`, sigma^2 is evaluated at T clamped to `t_range_s`, the cells' measured mean
    times. `dof_at` gives the effective degrees of freedom of the estimate at T
    (2 / Var(log sigma^2)), which the interval of one read uses for its t quantile."""

    form: str
    params: tuple
    t_ref_s: float
    t_range_s: tuple
    cells: int
    dof: float
    result: object = field(default=None, repr=False)
    long_from_s: float = math.inf
    long_var: float = math.nan
    long_dof: float = math.nan

    def _exog(self, t):
        t = np.clip(t, *self.t_range_s)
        if self.form == NOISE_COMPONENTS:
            return np.column_stack([np.ones(t.size), self.t_ref_s / t])
        return np.ones((t.size, 1))

    def rel_var(self, mean_s):
        """Relative variance of one read whose expected time is `mean_s` (floored)."""
        t = np.asarray(mean_s, dtype=float)
        if self.result is None:
            out = np.full(t.shape, float(self.params[0]))
        else:
            out = np.asarray(self.result.predict(self._exog(t.ravel()))).reshape(t.shape)
        out = np.maximum(out, REL_SD_FLOOR**2)
        return float(out) if out.ndim == 0 else out

    def read_var(self, mean_s):
        """Relative variance of one read for its interval: the longest reads' pool at and beyond
        `long_from_s`, the fitted curve (rel_var) below."""
        t = np.asarray(mean_s, dtype=float)
        out = np.where(t >= self.long_from_s, max(self.long_var, REL_SD_FLOOR**2), self.rel_var(t))
        return float(out) if out.ndim == 0 else out

    def read_dof(self, mean_s):
        """Degrees of freedom of read_var at `mean_s`."""
        t = np.asarray(mean_s, dtype=float)
        out = np.where(t >= self.long_from_s, self.long_dof, self.dof_at(t))
        return float(out) if out.ndim == 0 else out

    @property
    def long_rel_sd(self):
        """Relative sd of one read as long as the longest measured: what a long read's interval uses."""
        return float(np.sqrt(self.read_var(self.t_range_s[1])))

    def rel_sd(self, mean_s):
        """Relative standard deviation of one read at `mean_s`."""
        return np.sqrt(self.rel_var(mean_s))

    def dof_at(self, mean_s):
        """Effective degrees of freedom of the variance estimate at `mean_s`."""
        t = np.asarray(mean_s, dtype=float)
        if self.result is None:
            out = np.full(t.shape, float(self.dof))
        else:
            pred = self.result.get_prediction(self._exog(t.ravel()))
            ratio = np.asarray(pred.predicted_mean) / np.asarray(pred.se_mean)
            out = np.clip(2 * ratio**2, 1.0, 1e6).reshape(t.shape)
        return float(out) if out.ndim == 0 else out


def _fit_noise(cell_mean_s, cell_bs, cell_rel_var, cell_dof, fallback):
    """ReadNoise from per-cell relative variances (cells with dof 0 are ignored); fallback() gives
    (relative variance, dof) where no cell repeats."""
    rep = cell_dof > 0
    if not rep.any():
        fallback_var, fallback_dof = fallback()
        return ReadNoise(NOISE_SCATTER, (float(fallback_var),), math.nan, (0.0, math.inf), 0,
                         float(fallback_dof))
    t, k = cell_mean_s[rep], cell_dof[rep]
    s2 = np.maximum(cell_rel_var[rep], REL_SD_FLOOR**2)
    t_range = (float(t.min()), float(t.max()))
    long = _long_reads(t, cell_bs[rep], s2, k)
    if rep.sum() >= 3 and t_range[1] > 2 * t_range[0]:
        exog = np.column_stack([np.ones_like(t), t_range[0] / t])
        res = _gamma_glm(s2, exog, k, start=sm.WLS(s2, exog, weights=k).fit().params)
        ends = np.array([[1.0, 1.0], [1.0, t_range[0] / t_range[1]]])
        if res is not None and np.all(res.predict(ends) > 0):
            return ReadNoise(NOISE_COMPONENTS, tuple(map(float, res.params)), t_range[0], t_range,
                             int(rep.sum()), float(k.sum()), res, **long)
    pooled = float((k * s2).sum() / k.sum())
    res = _gamma_glm(s2, np.ones((len(s2), 1)), k, start=np.array([pooled])) if len(s2) > 1 else None
    return ReadNoise(NOISE_POOLED, (pooled,), t_range[0], t_range, int(rep.sum()), float(k.sum()),
                     res, **long)


def _long_reads(t, b, s2, k):
    """The longest repeated cells (at the longest one's block size, within LONG_READS x of its
    time): where they start, their pooled relative variance and its degrees of freedom."""
    longest = np.argmax(t)
    long = (b == b[longest]) & (t >= t[longest] / LONG_READS)
    return {"long_from_s": float(t[long].min()), "long_var": float((k[long] * s2[long]).sum() / k[long].sum()),
            "long_dof": float(k[long].sum())}


# ---------------------------------------------------------------- read time: the fit

def read_time_design(blocks, bs_bytes, line=None, first=None):
    """Regressors (1, B, N, N B) of T_d = T_0 + c B + N alpha + N B / beta, one row per point.
    With a question's `line` (B_q, N_from) two more, L and L N, L = 1 at B_q from N_from on: the
    long reads there get an intercept and a per-block time of their own (see _question_line).
    With `first` (N_0 > 0 where a row is a read's blocks N_0..N, not all of it: _stretches) the
    row is that of N less that of N_0: a stretch's expected time under the same model."""
    n, b = np.broadcast_arrays(np.asarray(blocks, float), np.asarray(bs_bytes, float))
    X = _design_columns(n, b, line)
    if first is not None:
        f = np.broadcast_to(np.asarray(first, float), n.shape)
        X = X - np.where((f > 0)[..., None], _design_columns(f, b, line), 0.0)
    return X


def _design_columns(n, b, line):
    columns = [np.ones_like(n), b, n, n * b]
    if line is not None:
        long = _on_line(n, b, line).astype(float)
        columns += [long, long * n]
    return np.stack(columns, axis=-1)


def _stretches(cols, ok, N, T):
    """(first, T) of the usable rows: where rows share a read (prefix_of: the smaller are its
    first N blocks, replay.reads), each row becomes its read's blocks from the next smaller row's
    N on (first, 0 for the smallest) and its time that stretch's: disjoint reads, independent as
    the model's repeats are. Rows read on their own keep first 0 and their time."""
    first = np.zeros(len(N))
    lead = cols["prefix_of"][ok] if "prefix_of" in cols else np.full(len(N), np.nan)
    if np.isnan(lead).all():
        return first, T
    if "seq" not in cols:
        raise UsageError("rows with prefix_of need their seq column: a read is taken apart by it")
    run = cols["run_id"].codes[ok] if "run_id" in cols else np.zeros(len(N), int)
    read = np.where(np.isnan(lead), cols["seq"][ok], lead)
    bs = cols["bs_bytes"][ok]  # a read has one block size: tables of several runs without run_id collide less
    order = np.lexsort((N, read, bs, run))
    same = ((run[order][1:] == run[order][:-1]) & (read[order][1:] == read[order][:-1])
            & (bs[order][1:] == bs[order][:-1]))
    first[order[1:]] = np.where(same, N[order][:-1], 0.0)
    stretch = T.copy()
    stretch[order[1:]] -= np.where(same, T[order][:-1], 0.0)
    bad = (first >= N) | (stretch <= 0)
    if bad.any():
        raise InsufficientDataError(
            f"{int(bad.sum())} row(s) repeat a block count of their read or take no longer than its "
            "shorter prefix: a read's rows (prefix_of) must each be measured once (load_run dedupes)")
    return first, stretch


def _on_line(blocks, bs_bytes, line):
    """True where (N, B) lies on a question's line (B_q, N_from): B = B_q and N >= N_from."""
    return (np.asarray(bs_bytes) == line[0]) & (np.asarray(blocks) >= line[1])


def _question_line(cells, question):
    """(B_q, N_from) when the question's own reads can answer it, else None.

    A question (N_q, B_q) measured near its scale (N_q within EXTRAPOLATION_MAX x of the largest
    N measured at B_q) is answered by the line T = a + N t through the long cells at B_q (N within
    LONG_READS x of that largest N, at least LINE_CELLS of them), not by the model of the whole
    grid: a medium whose time per block differs between reads of kilobytes and of gigabytes (this
    machine's disk: 5-10% more per block from 64 MiB on) makes the grid's model miss the answer
    by that much. The line is the model T_d = T_0 + N T_b at B_q, fitted where the question lies;
    the other cells still give T_0, c, alpha and beta (the normal equations part: the grid's
    parameters rest on the other cells alone, the line on the long ones, the noise model and
    scale on all). Only where the reads at B_q go beyond the grid (more blocks than at any other
    block size: the question's own reads) and the question lies at or beyond the line's first."""
    if question is None:
        return None
    blocks, bs = (float(v) for v in question)
    at, others = np.unique(cells.n[cells.b == bs]), cells.n[cells.b != bs]  # distinct N: stretches share some
    if not at.size or blocks > EXTRAPOLATION_MAX * at.max():
        return None
    if others.size and at.max() <= others.max():
        return None  # no reads beyond the grid's at B: the grid's model answers
    long = at[at >= at.max() / LONG_READS]
    if len(long) < LINE_CELLS or blocks < long.min():
        return None
    return (bs, float(long.min()))


def _design(cells, line):
    """(scaled design, column scales, line) for the cells; without the line where its columns
    would leave the grid's parameters unidentified."""
    for candidate in ((line, None) if line is not None else (None,)):
        X = read_time_design(cells.n, cells.b, candidate, cells.first)
        scale = np.abs(X).max(axis=0)
        Xc = X / scale
        if np.linalg.matrix_rank(Xc) == X.shape[1]:
            return Xc, scale, candidate
    raise InsufficientDataError(
        f"regressors (1, B, N, N*B) are collinear over the {len(cells)} measured (N, B) pairs; "
        "measure at least 4 pairs not on one line (e.g. 2 N at each of 2 B)")


@dataclass(frozen=True)
class _Cells:
    """Points grouped by distinct (N, B, first), sorted by N, B, first: `of` maps each point to its
    cell (first: where the point is a stretch of a read, _stretches).

    The GLM is fitted on the cells' means with frequency weights (their counts): the same
    estimating equations, parameters, covariance (with the points' Pearson scale), degrees of
    freedom and tests as on the points (checked against statsmodels in the tests), in time
    proportional to the cells, not the points."""

    n: np.ndarray
    b: np.ndarray
    of: np.ndarray
    first: np.ndarray

    @classmethod
    def of_points(cls, N, B, first=None):
        first = np.zeros(len(N)) if first is None else first
        code_n, uniq_n = pd.factorize(N, sort=True)
        code_b, uniq_b = pd.factorize(B, sort=True)
        code_f, uniq_f = pd.factorize(first, sort=True)
        nb, nf = len(uniq_b), len(uniq_f)
        of, combined = pd.factorize((code_n.astype(np.int64) * nb + code_b) * nf + code_f, sort=True)
        return cls(uniq_n[combined // (nb * nf)], uniq_b[(combined // nf) % nb], of, uniq_f[combined % nf])

    def __len__(self):
        return len(self.n)

    def sums(self, values, mask):
        return np.bincount(self.of, weights=np.where(mask, values, 0.0), minlength=len(self))

    def counts(self, mask):
        return np.bincount(self.of, weights=mask.astype(float), minlength=len(self))


@dataclass(frozen=True, eq=False)
class _State:
    """One round of the fit: kept points, their cells' counts and means, the noise model, the
    GLM on the cell means (cells with kept points only: `have`)."""

    keep: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    have: np.ndarray
    noise: ReadNoise
    cell_fit: object


def _screen_fast(cells, T):
    """First guess at fast outliers, before any fit: more than SCREEN_K robust spreads below the
    median of their cell on the log scale (spread: the larger of the cell's own and the pooled
    median absolute deviation); only cells of 3 or more repeats."""
    logt = pd.Series(np.log(T))
    dev = (logt - logt.groupby(cells.of).transform("median")).to_numpy()
    size = np.bincount(cells.of)[cells.of]
    own = pd.Series(np.abs(dev)).groupby(cells.of).transform("median").to_numpy()
    nonzero = np.abs(dev)[(dev != 0) & (size >= 3)]
    pooled = float(np.median(nonzero)) if nonzero.size else math.inf
    return (size >= 3) & (dev < -SCREEN_K * 1.4826 * np.maximum(own, pooled))


def _fit_round(Xc, T, cells, keep, start, fallback):
    """Noise model from the kept repeats, then the Gamma GLM on the cell means (frequency
    weights: counts; variance weights: 1 / sigma^2(mu)), refitted until the weights, on the
    fitted mean, settle."""
    count = cells.counts(keep)
    have = count > 0
    mean = cells.sums(T, keep) / np.maximum(count, 1)
    dev2 = np.where(keep, (T / mean[cells.of] - 1.0) ** 2, 0.0)
    dof = np.maximum(count - 1, 0)
    rel_var = np.bincount(cells.of, weights=dev2, minlength=len(cells)) / np.maximum(dof, 1)
    noise = _fit_noise(mean, cells.b, rel_var, dof, fallback)
    params, cell_fit = start, None
    for _ in range(_WEIGHT_ROUNDS):
        weights = 1.0 / noise.rel_var(Xc[have] @ params)
        cell_fit = _gamma_glm(mean[have], Xc[have], weights, freq_weights=count[have], start=params)
        if cell_fit is None:
            raise InsufficientDataError("the read-time GLM did not converge to positive times; "
                                        "the data do not support T_0 + c B + N (alpha + B / beta)")
        settled = np.allclose(cell_fit.params, params, rtol=1e-7, atol=0)
        params = cell_fit.params
        if settled:
            break
    return _State(keep, count, mean, have, noise, cell_fit)


def _fast_outliers(state, Xc, T, cells):
    """Points far faster than the model predicts without them and than their cell's other
    repeats: z = log(T / mu_(i)) below -FAST_OUTLIER_Z noise sds (mu_(i) the leave-one-out mean;
    a point's leverage is its cell's over the cell's count) and log T below the mean log of the
    cell's other repeats by more than CELL_OUTLIER_Z sds of that difference; only in cells of 3
    or more repeats, never all of a cell. A cell whose repeats agree with each other but not
    with the model is the model's misfit: it stays, for the lack-of-fit test to see."""
    mu = (Xc @ state.cell_fit.params)[cells.of]
    hat_cell = np.zeros(len(cells))
    hat_cell[state.have] = state.cell_fit.get_hat_matrix_diag(observed=False)
    lev = np.where(state.keep, (hat_cell / np.maximum(state.count, 1))[cells.of], 0.0)
    mu_loo = np.where(state.keep, T - (T - mu) / np.maximum(1 - lev, 1e-6), mu)
    mu_loo = np.maximum(mu_loo, np.finfo(float).tiny)
    log_var = np.log1p(state.noise.rel_var(mu))
    z_model = (np.log(T / mu_loo) + log_var / 2) / np.sqrt(log_var)
    logt = np.log(T)
    size = np.bincount(cells.of)[cells.of]
    others = np.maximum(size - 1, 1)
    mean_others = (np.bincount(cells.of, weights=logt)[cells.of] - logt) / others
    z_cell = (logt - mean_others) / np.sqrt(log_var * (1 + 1 / others))
    fast = ((z_model < -FAST_OUTLIER_Z) & (z_cell < -CELL_OUTLIER_Z)) | (z_model < -MODEL_OUTLIER_Z)
    n_fast = np.bincount(cells.of, weights=fast.astype(float))[cells.of]
    return fast & (size >= 3) & (n_fast < size)


def _fit_with_outliers(Xc, T, cells, fallback):
    """Rounds of fit and fast-outlier flags until the flagged set settles."""
    count = cells.counts(np.ones(len(T), bool))
    mean = cells.sums(T, np.ones(len(T), bool)) / count
    start = sm.WLS(mean, Xc, weights=count / mean**2).fit().params
    out = _screen_fast(cells, T)
    for _ in range(_OUTLIER_ROUNDS):
        state = _fit_round(Xc, T, cells, ~out, start, fallback)
        new = _fast_outliers(state, Xc, T, cells)
        if np.array_equal(new, out):
            return state
        out, start = new, state.cell_fit.params
    return _fit_round(Xc, T, cells, ~out, start, fallback)


def _pearson_scale(T, mu, var_weights, n_params):
    """The points' Pearson chi^2 over their residual degrees of freedom (Gamma: relative)."""
    return float(np.sum(var_weights * (T / mu - 1.0) ** 2) / max(len(T) - n_params, 1))


def _scatter_fallback(Xc, T, cells):
    """(relative variance, dof) of the scatter about a fit with equal relative weights: the
    noise of one read where no cell was repeated (misfit included)."""
    all_points = np.ones(len(T), bool)
    count = cells.counts(all_points)
    res = _gamma_glm(cells.sums(T, all_points) / count, Xc, np.ones(len(cells)), freq_weights=count)
    if res is None:
        raise InsufficientDataError("the read-time GLM did not converge to positive times")
    mu = (Xc @ res.params)[cells.of]
    return _pearson_scale(T, mu, np.ones(len(T)), Xc.shape[1]), float(len(T) - Xc.shape[1])


@dataclass(frozen=True)
class LackOfFit:
    """Pure-error lack-of-fit F test on the Pearson scale: F = (SS_lof / (m - p)) / (SS_pe / (n - m))
    over m distinct (N, B) cells, n points, p parameters."""

    f: float
    p_value: float
    df_lof: int
    df_pe: int
    cells: int


def _lack_of_fit(pearson, cells, keep, n_params, within=None):
    """LackOfFit from the Pearson residuals of the kept points (NaN where it cannot be tested);
    `within`: a mask of the cells whose means are tested (against `n_params` parameters that rest
    on them alone) with those cells' own pure error: the noise curve that weighs the residuals
    may misjudge long reads against short ones (4.6-5x on a run of this machine), and pooled
    over every cell the test rejected a true line in 16% of simulated sweeps at p < 0.01."""
    r = np.zeros(len(keep))
    r[keep] = pearson
    count = cells.counts(keep)
    rbar = cells.sums(r, keep) / np.maximum(count, 1)
    tested = (count > 0) if within is None else (count > 0) & within
    own = keep & tested[cells.of]
    ss_pe = float(np.sum(np.where(own, (r - rbar[cells.of]) ** 2, 0.0)))
    df_pe = int(own.sum()) - int(tested.sum())
    m = int(tested.sum())
    ss_lof = float(np.sum(np.where(tested, count * rbar**2, 0.0)))
    df_lof = m - n_params
    if df_lof <= 0 or df_pe <= 0 or ss_pe <= 0:
        return LackOfFit(math.nan, math.nan, df_lof, df_pe, m)
    f = (ss_lof / df_lof) / (ss_pe / df_pe)
    return LackOfFit(float(f), float(stats.f.sf(f, df_lof, df_pe)), df_lof, df_pe, m)


def _fit_arrays(cols, key, question=None):
    """The read-time fit on a dict of column arrays (one group); `question` (N, B) or None."""
    ok = ~np.isnan(cols["read_time_s"])
    if "error" in cols:
        ok &= cols["error"] == 0
    excluded = int((~ok).sum())
    N, B, T = cols["blocks"][ok], cols["bs_bytes"][ok], cols["read_time_s"][ok]
    _check_read_data(N, B, T, excluded)
    first, T = _stretches(cols, ok, N, T)
    cells = _Cells.of_points(N, B, first)
    Xc, scale, line = _design(cells, _question_line(cells, question))
    state = _fit_with_outliers(Xc, T, cells, lambda: _scatter_fallback(Xc, T, cells))
    res, var_weights = _final_fit(state, Xc, T, cells)
    keep = state.keep
    mu = (Xc @ res.params)[cells.of][keep]
    pearson = np.sqrt(var_weights) * (T[keep] / mu - 1.0)
    lof = _lack_of_fit(pearson, cells, keep, Xc.shape[1])
    line_check = _line_check(line, cells, keep, pearson, res.scale) if line else None
    return _build_fit(cols, ok, key, excluded, N, B, T, keep, scale, res, state.noise, lof,
                      var_weights, cells, mu, pearson, line, line_check, first)


@dataclass(frozen=True)
class _LineCheck:
    """A question's line judged on its own reads: lack of fit over its cells, and its scale
    (as a share of the GLM's) with that scale's degrees of freedom."""

    lack_of_fit: LackOfFit
    scale_ratio: float
    dof: int


def _line_check(line, cells, keep, pearson, scale):
    """_LineCheck of the long cells: a pure-error F test over them (the line's parameters rest
    on them alone) and the Pearson chi^2 of their points over n - 2: the answer's standard
    errors take that scale, not the GLM's of all points, so a misfit of the grid neither widens
    the answer nor hides in it."""
    long = _on_line(cells.n, cells.b, line)
    in_long = long[cells.of][keep]
    dof = max(int(in_long.sum()) - 2, 1)
    line_scale = float(np.sum(pearson[in_long] ** 2) / dof)
    return _LineCheck(_lack_of_fit(pearson, cells, keep, 2, within=long), line_scale / scale, dof)


def _final_fit(state, Xc, T, cells):
    """The GLM on the cell means with the points' Pearson scale fixed: statsmodels' covariance,
    intervals and tests as on the kept points. Returns (result, the kept points' var weights)."""
    have, keep = state.have, state.keep
    cell_weights = 1.0 / state.noise.rel_var(Xc[have] @ state.cell_fit.params)
    weights = np.zeros(len(cells))
    weights[have] = cell_weights
    point_weights = weights[cells.of][keep]
    first = _gamma_glm(state.mean[have], Xc[have], cell_weights, freq_weights=state.count[have],
                       start=state.cell_fit.params)
    if first is None:
        raise InsufficientDataError("the read-time GLM did not converge to positive times")
    mu = (Xc @ first.params)[cells.of][keep]
    phi = _pearson_scale(T[keep], mu, point_weights, Xc.shape[1])
    res = _gamma_glm(state.mean[have], Xc[have], cell_weights, freq_weights=state.count[have],
                     start=first.params, scale=max(phi, np.finfo(float).tiny))
    if res is None:
        raise InsufficientDataError("the read-time GLM did not converge to positive times")
    return res, point_weights


# ---------------------------------------------------------------- read time: results

@dataclass(frozen=True)
class _MeanUncertainty:
    """Relative variance of an expected time (rel_var, arrays) and its Welch-Satterthwaite degrees
    of freedom, 2 total^2 / the sum of the parts' estimates' variances (as compare's): the fit's
    (se / mean)^2, 2 v^2 / dof, plus the drift between rounds (drift_var, 0 where unknown), whose
    own estimate's variance is drift_var_var."""

    rel_var: np.ndarray
    dof: np.ndarray
    drift_var: np.ndarray

    @classmethod
    def of(cls, mean, se, fit_dof, drift_var, drift_var_var):
        with np.errstate(invalid="ignore", divide="ignore"):
            fit_var = np.where(mean != 0, (se / np.where(mean != 0, mean, 1.0)) ** 2, np.inf)
            known = np.isfinite(drift_var)
            drift, drift_vv = np.where(known, drift_var, 0.0), np.where(known, drift_var_var, 0.0)
            total = fit_var + drift
            dof = 2 * total**2 / (2 * fit_var**2 / np.maximum(fit_dof, 1) + drift_vv)
        return cls(total, np.where(np.isfinite(dof), dof, np.maximum(fit_dof, 1)),
                   np.where(known, drift_var, np.nan))

    def interval(self, mean, level):
        """(low, high) of the expected time: statsmodels' mean -+ t se where no drift adds to it;
        where one does, on the log scale (the drift is a level: multiplicative), so that a drift
        known from 2-3 rounds (a t quantile of 4-13) widens it without taking it below 0."""
        half = stats.t.ppf(0.5 + level / 2, self.dof) * np.sqrt(self.rel_var)
        with np.errstate(invalid="ignore", over="ignore"):
            drifting = np.nan_to_num(self.drift_var) > 0
            factor = np.exp(np.where(drifting, half, 0.0))
            low = np.where(drifting, mean / factor, mean - half * np.abs(mean))
            high = np.where(drifting, mean * factor, mean + half * np.abs(mean))
        return low, high


@dataclass(frozen=True, eq=False)
class Prediction:
    """Read time of N blocks of B bytes, and how far to trust it.

    mean_s with mean_low_s..mean_high_s: the expected time and its `level` interval
    (_MeanUncertainty.interval; on the log scale where a drift adds to it): the fit's standard
    error mean_se_s (statsmodels' get_prediction, parameter uncertainty; on a question's line,
    the line's own scale) with mean_dof degrees of freedom, and the drift between rounds
    (drift.py: the level each round's reads share, averaged over the rounds the estimate rests
    on; relative sd drift_rel_sd, 0 where the rounds show none, NaN where fewer than 2 rounds
    cannot tell), their variances added on the relative scale with Welch-Satterthwaite degrees
    of freedom. low_s..high_s: the interval of one read, the mean's uncertainty (both parts)
    combined with the noise of a read of that length (ReadNoise), on the log scale (a read's
    noise is multiplicative), with a t quantile whose degrees of freedom combine all three.
    extrapolation: N over the largest N measured at B (1 inside; see
    ReadTimeFit.extrapolation). holds: the fit holds (ReadTimeFit.holds) and extrapolation <= 4;
    `why` says why not. Arrays in, arrays out (holds too); scalars in, floats out."""

    blocks: object
    bs_bytes: object
    mean_s: object
    mean_se_s: object
    mean_low_s: object
    mean_high_s: object
    low_s: object
    high_s: object
    level: float
    extrapolation: object
    lack_of_fit_p: float
    holds: object
    extrapolates: bool
    reason: str = ""
    why: str = ""
    noise_rel_sd: object = math.nan
    mean_dof: object = math.nan
    drift_rel_sd: object = math.nan

    @property
    def interval(self):
        """The interval of one read, (low_s, high_s)."""
        return (self.low_s, self.high_s)

    @property
    def mean_interval(self):
        """The interval of the expected time, (mean_low_s, mean_high_s)."""
        return (self.mean_low_s, self.mean_high_s)


@dataclass(frozen=True, eq=False)
class ReadTimeFit:
    """T_d = T_0 + c B + N (alpha + B / beta) fitted to one group of points.

    ci/se map 't0_s', 'c_s_per_byte', 'alpha_s', 'inv_beta_s_per_byte', 'beta_bytes_per_s',
    'b_half_bytes' to `level` intervals / standard errors (t-based, from statsmodels; beta's by
    inverting 1/beta's, B_half's by the delta method). residuals are relative to the fitted mean,
    (T_d - fit) / fit, aligned with blocks, bs_bytes, read_time_s, var_weights, rounds and
    first_blocks (the points fitted: usable and not a fast outlier; a point's round, NaN where the
    table has none; where first_blocks > 0 the row is its read's stretch of blocks first..N and
    read_time_s that stretch's time: _stretches); rel_sd is their scatter. `problems` are the warnings that say the
    model does not describe the data; `warnings` holds them and the notes. `model` is the
    statsmodels GLM result (design scaled by `design_scale`), `noise` the ReadNoise. `line` is
    (B_q, N_from) where a question's long reads have their own line (_question_line), else None:
    predictions at B_q from N_from on come from it, and T_0, c, alpha, beta from the other cells."""

    key: dict
    t0_s: float
    c_s_per_byte: float
    alpha_s: float
    beta_bytes_per_s: float
    inv_beta_s_per_byte: float
    se: dict
    ci: dict
    r2: float
    r2_weighted: float
    rel_sd: float
    n: int
    dof: int
    excluded: int
    outliers: int
    blocks_range: tuple
    bs_range: tuple
    warnings: list
    problems: list
    lack_of_fit: LackOfFit
    noise: ReadNoise
    largest_n: tuple
    target_spec: dict
    level: float = LEVEL
    cov: np.ndarray = field(default=None, repr=False)
    residuals: np.ndarray = field(default=None, repr=False)
    blocks: np.ndarray = field(default=None, repr=False)
    bs_bytes: np.ndarray = field(default=None, repr=False)
    read_time_s: np.ndarray = field(default=None, repr=False)
    var_weights: np.ndarray = field(default=None, repr=False)
    rounds: np.ndarray = field(default=None, repr=False)
    first_blocks: np.ndarray = field(default=None, repr=False)
    design_scale: np.ndarray = field(default=None, repr=False)
    model: object = field(default=None, repr=False)
    line: tuple = None
    line_scale: float = 1.0
    line_dof: int = 0

    @property
    def params(self):
        """(T_0, c, alpha, 1/beta) as an array, the order of `cov` and PARAM_NAMES."""
        return np.array([self.t0_s, self.c_s_per_byte, self.alpha_s, self.inv_beta_s_per_byte])

    @property
    def b_half_bytes(self):
        """Block size reaching half the streaming bandwidth: alpha * beta."""
        return self.alpha_s * self.beta_bytes_per_s

    @property
    def lack_of_fit_p(self):
        """p-value of the pure-error lack-of-fit F test (NaN where it cannot be tested)."""
        return self.lack_of_fit.p_value

    @property
    def holds(self):
        """True when nothing says the model does not describe these data: lack of fit tested and
        not significant (p >= 0.01; a question's line: 0.02), no curvature or runs, no cache, memory, queue-depth or
        mixed-group condition, a positive 1/beta."""
        return not self.problems

    def throughput(self, bs_bytes):
        """Asymptotic throughput B / (alpha + B / beta) in bytes/s (large N)."""
        b = np.asarray(bs_bytes, dtype=float)
        out = b / (self.alpha_s + b * self.inv_beta_s_per_byte)
        return float(out) if out.ndim == 0 else out

    def per_block_s(self, bs_bytes):
        """Per-block time alpha + B / beta in seconds."""
        b = np.asarray(bs_bytes, dtype=float)
        out = self.alpha_s + b * self.inv_beta_s_per_byte
        return float(out) if out.ndim == 0 else out

    def extrapolation(self, blocks, bs_bytes):
        """N over the largest N measured at B (1 when inside). At a B not measured, the smaller
        of the largest N measured at the two nearest block sizes; beyond the measured B, also
        times B / B_max (or B_min / B)."""
        sizes = np.array([b for b, _ in self.largest_n], dtype=float)
        nmax = np.array([n for _, n in self.largest_n], dtype=float)
        n, b = np.broadcast_arrays(np.asarray(blocks, float), np.asarray(bs_bytes, float))
        idx = np.searchsorted(sizes, b)
        at = np.clip(idx, 0, len(sizes) - 1)
        below = nmax[np.clip(idx - 1, 0, len(sizes) - 1)]
        ref = np.where(sizes[at] == b, nmax[at], np.minimum(below, nmax[at]))
        b_factor = np.maximum(1.0, np.maximum(b / sizes[-1], sizes[0] / b))
        out = np.maximum(1.0, n / ref) * b_factor
        return float(out) if out.ndim == 0 else out

    def predict(self, blocks, bs_bytes, level=LEVEL, first_blocks=0):
        """Prediction of the read time of N blocks of B bytes (see Prediction); with
        `first_blocks` N_0 > 0, of the blocks N_0..N of such a read (what it reads after its first
        N_0 blocks)."""
        n, b = np.broadcast_arrays(np.asarray(blocks, float), np.asarray(bs_bytes, float))
        first = np.broadcast_to(np.asarray(first_blocks, float), n.shape).ravel()
        exog = self.exog(n.ravel(), b.ravel(), first)
        found = self.model.get_prediction(exog)
        mean, se = np.asarray(found.predicted_mean), np.asarray(found.se_mean)
        on_line = self.on_line(n.ravel(), b.ravel())
        se = np.where(on_line, se * math.sqrt(self.line_scale), se)
        dof = np.where(on_line, self.line_dof, self.dof)
        uncertainty = _MeanUncertainty.of(mean, se, dof, *drift_vars(self, exog))
        mean_low, mean_high = uncertainty.interval(mean, level)
        low, high = self._one_read(mean, uncertainty, level)
        ext = np.asarray(self.extrapolation(n.ravel(), b.ravel()), dtype=float)
        holds = self.holds & (ext <= EXTRAPOLATION_MAX) & (mean > 0)
        shape = n.shape
        conv = (lambda a: float(np.asarray(a).reshape(-1)[0])) if n.ndim == 0 else (
            lambda a: np.asarray(a).reshape(shape))
        return Prediction(
            blocks=_py(blocks) if n.ndim == 0 else n, bs_bytes=_py(bs_bytes) if n.ndim == 0 else b,
            mean_s=conv(mean), mean_se_s=conv(se), mean_low_s=conv(mean_low),
            mean_high_s=conv(mean_high), low_s=conv(low), high_s=conv(high),
            level=level, extrapolation=conv(ext), lack_of_fit_p=self.lack_of_fit_p,
            holds=bool(holds[0]) if n.ndim == 0 else holds.reshape(shape),
            extrapolates=bool(self._outside(n, b)), reason=self._outside(n, b),
            why=self._why(ext, mean), noise_rel_sd=conv(np.sqrt(self.noise.read_var(mean))),
            mean_dof=conv(dof), drift_rel_sd=conv(np.sqrt(uncertainty.drift_var)))

    def exog(self, blocks, bs_bytes, first_blocks=None):
        """Rows of the fitted model's (scaled) design for N blocks of B bytes (blocks N_0..N with
        first_blocks): what its parameters are multiplied by."""
        n, b = np.broadcast_arrays(np.atleast_1d(np.asarray(blocks, float)), np.asarray(bs_bytes, float))
        return read_time_design(n.ravel(), b.ravel(), self.line, first_blocks) / self.design_scale

    def unit_contrast(self, name):
        """The contrast picking parameter `name` (PARAM_NAMES) out of the scaled model's."""
        return np.eye(len(self.model.params))[PARAM_NAMES.index(name)]

    @cached_property
    def fitted_exog(self):
        """The scaled design of the fitted points (rows in the order of `blocks`; read-only)."""
        return _read_only(self.exog(self.blocks, self.bs_bytes, self.first_blocks))

    @cached_property
    def fitted_mean(self):
        """The fitted expected time of each fitted point, in seconds (read-only)."""
        return _read_only(self.fitted_exog @ self.model.params)

    @cached_property
    def round_levels(self):
        """The drift between rounds its fitted points show (drift.RoundDrift, without shares)."""
        return round_levels(self.rounds, self.var_weights, self.read_time_s, self.fitted_mean, self.model.scale)

    def basis(self, blocks, bs_bytes):
        """What a prediction at (N, B) rests on, in words: the question's line ('its reads of
        64 MiB-1 GiB at 64 KiB') or 'the model of the whole grid'."""
        if not bool(np.all(self.on_line(blocks, bs_bytes))):
            return "the model of the whole grid"
        bs, first = self.line
        largest = dict(self.largest_n)[bs]
        return f"its reads of {format_bytes(first * bs)}-{format_bytes(largest * bs)} at {format_bytes(bs)}"

    def on_line(self, blocks, bs_bytes):
        """True where a prediction comes from the question's line (see `line`)."""
        n, b = np.broadcast_arrays(np.asarray(blocks, float), np.asarray(bs_bytes, float))
        return np.zeros(n.shape, bool) if self.line is None else _on_line(n, b, self.line)

    def _one_read(self, mean, uncertainty, level):
        """Interval of one read: log-scale noise variance plus the mean's relative variance."""
        with np.errstate(invalid="ignore", divide="ignore"):
            positive = mean > 0
            safe = np.where(positive, mean, 1.0)
            noise = np.log1p(self.noise.read_var(safe))
            total = noise + uncertainty.rel_var
            dof = total**2 / (noise**2 / self.noise.read_dof(safe) + uncertainty.rel_var**2 / uncertainty.dof)
            half = stats.t.ppf(0.5 + level / 2, dof) * np.sqrt(total)
            centre = np.log(safe) - noise / 2
            low = np.where(positive, np.exp(centre - half), np.nan)
            high = np.where(positive, np.exp(centre + half), np.nan)
        return low, high

    def _outside(self, n, b):
        """Plain words for an (N, B) beyond what was measured ('' when inside)."""
        parts = []
        if n.size:
            ext = np.asarray(self.extrapolation(n, b), dtype=float)
            worst = np.unravel_index(np.argmax(ext), ext.shape) if ext.ndim else ()
            if float(ext[worst] if ext.ndim else ext) > 1:
                nw, bw = float(n[worst]), float(b[worst])
                ref = self._largest_near(bw)
                parts.append(f"N {_fmt_values([nw], 1)} is {_times(float(np.max(ext)))} the largest N "
                             f"measured at B = {format_bytes(bw)} ({ref:g})")
        (blo, bhi) = self.bs_range
        if b.size and (b.min() < blo or b.max() > bhi):
            parts.append(f"B {format_bytes(b.min())}..{format_bytes(b.max())} outside the measured "
                         f"{format_bytes(blo)}..{format_bytes(bhi)}")
        return "; ".join(parts)

    def _largest_near(self, b):
        sizes = [s for s, _ in self.largest_n]
        nearest = min(range(len(sizes)), key=lambda i: abs(math.log(sizes[i] / b)))
        return dict(self.largest_n).get(b, self.largest_n[nearest][1])

    def _why(self, ext, mean):
        """Why a prediction does not hold ('' when it does)."""
        parts = list(self.problems)
        worst = float(np.max(ext)) if np.size(ext) else 1.0
        if worst > EXTRAPOLATION_MAX:
            parts.append(f"extrapolates {_times(worst)} beyond the largest N measured "
                         f"(more than {EXTRAPOLATION_MAX:g}x): measure larger N")
        if np.any(np.asarray(mean) <= 0):
            parts.append("the fitted mean is not positive there")
        return "; ".join(parts)

    def to_row(self):
        """One flat dict for a summary table."""
        row = dict(self.key)
        for name, est, low_name, high_name in _CI_COLUMNS:
            row[name] = est(self)
            row[low_name], row[high_name] = self.ci[name]
        row.update(r2=self.r2, r2_weighted=self.r2_weighted, rel_sd=self.rel_sd,
                   noise_floor_rel_sd=self.noise.long_rel_sd,
                   lack_of_fit_p=self.lack_of_fit_p, holds=self.holds, n=self.n,
                   excluded=self.excluded, outliers=self.outliers,
                   blocks_min=self.blocks_range[0], blocks_max=self.blocks_range[1],
                   bs_min_bytes=self.bs_range[0], bs_max_bytes=self.bs_range[1],
                   warnings="; ".join(self.warnings))
        return row


_CI_COLUMNS = (
    ("t0_s", lambda f: f.t0_s, "t0_low_s", "t0_high_s"),
    ("c_s_per_byte", lambda f: f.c_s_per_byte, "c_low_s_per_byte", "c_high_s_per_byte"),
    ("alpha_s", lambda f: f.alpha_s, "alpha_low_s", "alpha_high_s"),
    ("beta_bytes_per_s", lambda f: f.beta_bytes_per_s, "beta_low_bytes_per_s", "beta_high_bytes_per_s"),
    ("b_half_bytes", lambda f: f.b_half_bytes, "b_half_low_bytes", "b_half_high_bytes"),
)


class _Coded:
    """A text column as integer codes plus labels: cheap to slice, no Python strings per row."""

    def __init__(self, codes, labels):
        self.codes, self.labels = codes, labels

    def __getitem__(self, idx):
        return _Coded(self.codes[idx], self.labels)

    def distinct(self):
        return [self.labels[c] if c >= 0 else None for c in np.unique(self.codes)]


_TEXT_COLS = ("target", "rw", "read_time_source", "target_kind", "driver_opts", "run_id")


def _arrays(df, cols):
    """Numeric columns as float arrays, text columns as _Coded (present columns only)."""
    out = {}
    for col in cols:
        if col in _TEXT_COLS and col in df.columns:
            codes, labels = pd.factorize(df[col], use_na_sentinel=True)
            out[col] = _Coded(codes, list(labels))
        elif col in df.columns:
            out[col] = _num(df, col)
    return out


def _distinct(arr):
    return arr.distinct() if isinstance(arr, _Coded) else list(pd.unique(arr))


def fit_read_time(df, *, key=None, question=None):
    """Fit T_d = T_0 + c B + N (alpha + B / beta) to one group of points (see the module doc).
    `question` (N, B): the fit that answers it, with the question's own line where its reads
    reach its scale (_question_line)."""
    _require(df, _READ_COLS, "fit_read_time")
    cols = _arrays(df, _READ_COLS + _EXTRA_COLS)
    if key is None:
        key = {c: _py(df[c].iloc[0]) for c in DEFAULT_BY if c in df.columns and len(df)
               and df[c].nunique(dropna=False) == 1}
    return _fit_arrays(cols, dict(key), question)


def _check_read_data(N, B, T, excluded):
    n, k = len(T), len(PARAM_NAMES)
    if n == 0:
        raise InsufficientDataError(
            f"no usable rows ({excluded} excluded for error != 0 or missing read_time_s); "
            f"the read-time fit needs at least {k + 1} points")
    for name, arr in (("blocks", N), ("bs_bytes", B), ("read_time_s", T)):
        bad = int((~np.isfinite(arr)).sum())
        if bad:
            raise InsufficientDataError(f"{bad} of {n} usable rows have non-finite {name}; "
                                        "the fit needs finite values")
        if (arr <= 0).any():
            raise FitError(f"{int((arr <= 0).sum())} rows have {name} <= 0; "
                           "the read-time fit needs positive values")
    for name, arr in (("block count N", N), ("block size B", B)):
        uniq = np.unique(arr)
        if len(uniq) < 2:
            raise InsufficientDataError(f"found {len(uniq)} distinct {name} ({_fmt_values(uniq)}); "
                                        f"the {k}-parameter read-time fit needs at least 2")
    if n < k + 1:
        raise InsufficientDataError(f"only {n} usable points; the {k}-parameter read-time fit "
                                    f"needs at least {k + 1} (parameters + 1)")
    if np.ptp(T) == 0:
        raise InsufficientDataError(f"read_time_s has no variance (all {T[0]:g} s) over {n} points; "
                                    "cannot fit")


def _read_only(array):
    """`array`, flagged read-only: a cached value shared by every caller."""
    array.setflags(write=False)
    return array


def _build_fit(cols, ok, key, excluded, N, B, T, keep, scale, res, noise, lof, var_weights, cells,
               mu, pearson, line, line_check, first):
    """ReadTimeFit from the final GLM result (parameters back in seconds and bytes); mu and
    pearson are the kept points' fitted means and Pearson residuals. With a question's line,
    whether the fit holds is the line's (its lack of fit at LINE_LACK_OF_FIT_P, and the
    settings): what the grid's model misses moves T_0, c, alpha and beta, not the line, and
    becomes a note. The line's test at 2%, not 1%: a change of regime inside its span that a
    hinge t test at the known point shows at 1% went unflagged in 3 of 115 simulated sweeps at
    2% noise, 1 of 6 at 34%, 2 of 7 at this machine's noise (bench_coverage, 500 each); at 2%,
    in none, and the true model was said to hold in 96.8-98.6% of sweeps (was 98.4-99.8%)."""
    k = len(PARAM_NAMES)
    params = np.asarray(res.params)[:k] / scale[:k]
    cov = np.asarray(res.cov_params())[:k, :k] / np.outer(scale[:k], scale[:k])
    conf = np.asarray(res.conf_int(alpha=1 - LEVEL))[:k] / scale[:k, None]
    bse = np.sqrt(np.maximum(np.diag(cov), 0))
    t0, c, alpha, ib = (float(p) for p in params)
    names = PARAM_NAMES
    se = {name: float(s) for name, s in zip(names, bse)}
    ci = {name: (float(lo), float(hi)) for name, (lo, hi) in zip(names, conf)}
    se["beta_bytes_per_s"] = float(bse[3] / ib**2) if ib > 0 else math.nan
    ci["beta_bytes_per_s"] = _invert_ci(ci["inv_beta_s_per_byte"])
    se["b_half_bytes"], ci["b_half_bytes"] = _b_half_se_ci(alpha, ib, cov, _tcrit(res.df_resid))
    Tk, Nk, Bk = T[keep], N[keep], B[keep]
    rel = (Tk - mu) / mu
    w = var_weights / mu**2
    ybar_w = float((w * Tk).sum() / w.sum())
    r2 = 1.0 - float(((Tk - mu) ** 2).sum() / ((Tk - Tk.mean()) ** 2).sum())
    r2_w = 1.0 - float((w * (Tk - mu) ** 2).sum() / (w * (Tk - ybar_w) ** 2).sum())
    dof = int(round(res.df_resid))
    outliers = int((~keep).sum())
    have = cells.counts(keep) > 0
    problems, notes, shape = _read_warnings(cols, ok, key, excluded, N, B, keep, (t0, c, alpha, ib),
                                            res, lof, cells, have, pearson)
    if (first > 0).any():
        notes.append(f"{int((first > 0).sum())} of {len(first)} rows are the first blocks of a longer "
                     "read: fitted as the read's disjoint stretches")
    if line_check is not None:
        lof = line_check.lack_of_fit
        notes = [f"the grid's model (T_0, c, alpha, beta): {p}" for p in shape] + notes
        problems = ([p for p in [_lack_of_fit_problem(lof, LINE_LACK_OF_FIT_P)] if p]
                    + [p for p in problems if p not in shape])
    largest = pd.Series(cells.n[have]).groupby(cells.b[have]).max()
    spec = {}
    for col in _SPEC_COLS:
        vals = _distinct(cols[col][ok]) if col in cols else []
        if len(vals) == 1 and vals[0] is not None:
            spec[col] = _py(vals[0])
    return ReadTimeFit(
        key=key, t0_s=t0, c_s_per_byte=c, alpha_s=alpha,
        beta_bytes_per_s=1.0 / ib if ib > 0 else math.nan, inv_beta_s_per_byte=ib, se=se, ci=ci,
        r2=r2, r2_weighted=r2_w, rel_sd=math.sqrt(float(rel @ rel) / max(dof, 1)), n=int(keep.sum()),
        dof=dof, excluded=excluded + outliers, outliers=outliers,
        blocks_range=(float(N.min()), float(N.max())), bs_range=(float(B.min()), float(B.max())),
        warnings=problems + notes, problems=problems, lack_of_fit=lof, noise=noise,
        largest_n=tuple((float(b), float(n)) for b, n in largest.items()), target_spec=spec,
        cov=cov, residuals=rel, blocks=Nk, bs_bytes=Bk, read_time_s=Tk, var_weights=var_weights,
        first_blocks=first[keep],
        rounds=cols["round"][ok][keep] if "round" in cols else np.full(len(Tk), np.nan),
        design_scale=scale, model=res, line=line,
        line_scale=line_check.scale_ratio if line_check else 1.0, line_dof=line_check.dof if line_check else 0)


def _pair(est, half):
    return (float(est - half), float(est + half))


def _invert_ci(ci):
    """CI of beta from the CI of 1/beta (unbounded above when 1/beta may be 0)."""
    lo, hi = ci
    if lo > 0:
        return (1.0 / hi, 1.0 / lo)
    if hi > 0:
        return (1.0 / hi, math.inf)
    return (math.nan, math.nan)


def _b_half_se_ci(alpha, ib, cov, t):
    """Delta-method standard error and CI of B_half = alpha / (1/beta)."""
    if ib <= 0:
        return math.nan, (math.nan, math.nan)
    grad = np.array([0.0, 0.0, 1.0 / ib, -alpha / ib**2])
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    bh = alpha / ib
    return se, _pair(bh, t * se)


def _read_warnings(cols, ok, key, excluded, N, B, keep, params, res, lof, cells, have, pearson):
    """(problems, notes, shape): plain-English flags; problems say the model does not describe
    the data (the fit does not hold), notes only inform; shape: the problems of the model's
    form (lack of fit, curvature, a change of regime, runs, 1/beta), not of the settings."""
    t0, c, alpha, ib = params
    problems, notes = [], []
    if excluded:
        notes.append(f"{excluded} of {len(ok)} rows excluded (error != 0 or no read time)")
    if (~keep).any():
        sizes = ", ".join(f"{_fmt_values([n], 1)} x {format_bytes(b)}"
                          for n, b in sorted(set(zip(N[~keep], B[~keep])))[:4])
        notes.append(f"{int((~keep).sum())} fast outlier(s) left out: reads (or stretches of a read) over "
                     f"{FAST_OUTLIER_Z:g} noise sds faster than the model and their cell's other "
                     f"repeats (a cache hit, a short read) at N x B = {sizes}")
    for col in _MIX_COLS:
        if col in cols and col not in key:
            vals = _distinct(cols[col][ok])
            if col == "read_time_source" and len({read_time_measure(v) for v in vals}) == 1:
                continue
            if len(vals) > 1:
                problems.append(f"mixes {len(vals)} values of {col} ({', '.join(map(str, vals[:4]))}): "
                                "fit one group at a time (fit_groups)")
    fitted = (cells.n[have], cells.b[have], cells.first[have])
    shape = [_lack_of_fit_problem(lof), _curvature_warning(res, *fitted),
             _change_warning(res, *fitted), _runs_warning(pearson, cells, keep)]
    if ib <= 0:
        shape.append(f"fitted 1/beta = {ib:.3g} s/B is not positive: beta is undefined")
    shape = [p for p in shape if p]
    problems += shape
    problems.extend(_condition_warnings(cols, ok, N, B))
    if t0 < 0:
        notes.append(f"fitted T_0 = {t0:.3g} s is negative: the fixed cost is not resolved")
    if c < 0:
        notes.append(f"fitted c = {c * 2**20 * 1e3:.3g} ms/MiB is negative: the first block's "
                     "extra cost is not resolved")
    if alpha < 0:
        notes.append(f"fitted alpha = {alpha:.3g} s is negative: the per-op latency is not resolved")
    if ib > 0 and alpha > 0 and not B.min() <= alpha / ib <= B.max():
        notes.append(f"B_half = {format_bytes(alpha / ib)} lies outside the measured block sizes "
                     f"{format_bytes(B.min())}..{format_bytes(B.max())}: it is extrapolated")
    return [p for p in problems if p], notes, shape


def _condition_warnings(cols, ok, N, B):
    """Conditions under which T_d is not a sum of per-block device times."""
    out = []
    if "direct" in cols and (cols["direct"][ok] == 0).any():
        out.append("direct=0: page-cache reads, the linear model describes cache not storage")
    if "memory_limit_bytes" in cols:
        lim = cols["memory_limit_bytes"][ok]
        lim = lim[np.isfinite(lim)]
        data = float((N * B).max())
        if lim.size and lim.min() < data:
            out.append(f"memory limit {format_bytes(lim.min())} smaller than the data "
                       f"{format_bytes(data)}: the page cache cannot hold it")
    if "iodepth" in cols and (cols["iodepth"][ok] > 1).any():
        out.append("iodepth > 1: latency sum overstates read time")
    if "numjobs" in cols and (cols["numjobs"][ok] > 1).any():
        out.append("numjobs > 1: jobs overlap, read time is not a sum over blocks")
    return out


def _lack_of_fit_problem(lof, level=LACK_OF_FIT_P):
    if lof.df_pe <= 0:
        return ("lack of fit not tested: no (N, B) cell was measured more than once, so neither "
                "the fit nor the noise of one read can be checked (measure with --repeat 3)")
    if lof.df_lof <= 0:
        return (f"lack of fit not tested: {lof.cells} distinct (N, B) cells for "
                f"{lof.cells - lof.df_lof} parameters (measure more N or B)")
    if math.isnan(lof.p_value):
        return "lack of fit not tested: the repeats do not vary"
    if lof.p_value < level:
        return (f"lack of fit: the cell means miss the model by more than their repeats allow "
                f"(F = {lof.f:.3g}, p = {lof.p_value:.2g})")
    return None


def _stretch(column, N, B, first):
    """An extra column f(N B) of a read as the design has it: f(N B) - f(N_0 B) on a stretch
    that starts at N_0 > 0 (read_time_design; first None: every row a whole read)."""
    first = np.zeros(len(N)) if first is None else first
    hi, lo = column(N * B), column(np.where(first > 0, first, N) * B)
    starts = first > 0
    return hi - np.where(starts[:, None] if hi.ndim == 2 else starts, lo, 0.0)


def _curvature_warning(res, N, B, first=None):
    """Score test (statsmodels) for an omitted N B log(N B) term: a time per byte that drifts
    with the amount read, the shape of a regime change (a cache filling, throttling). N, B, first:
    the cells of the GLM `res`."""
    size = N * B
    if len(np.unique(size)) < 3:
        return None
    extra = _stretch(lambda d: d * np.log(d / size.min()), N, B, first)
    if not np.abs(extra).max() > 0:
        return None
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            test = res.score_test(exog_extra=(extra / np.abs(extra).max())[:, None], observed=False)
    except (ValueError, np.linalg.LinAlgError):
        return None
    p = float(np.asarray(test[1]).ravel()[0])
    if np.isfinite(p) and p < CURVATURE_P:
        return (f"curved residuals: the time per byte drifts with the amount read (a term "
                f"N·B·log(N·B) is significant, p = {p:.1g}): a regime change?")
    return None


def _change_warning(res, N, B, first=None):
    """A change of the time per byte beyond some amount read (a cache filling, throttling): a
    hinge max(0, N B - D_k) at every measured amount D_k below the largest and within
    1/CHANGE_SPAN of it (the largest such amount where none is), tested together by the maximum
    of their standardised score statistics, whose joint normal law under the model gives the
    p-value (a max-type test: it keeps its level whatever the number of knots, without
    Bonferroni's loss of power).

    Why those knots and 2%: knots among the smallest reads (KiB, where alpha and the first block
    make the time) spread the test's power over changes that say nothing of long reads. Chosen on
    500 simulated sweeps a case at 34% noise (bench_coverage's design, other seeds), against a
    hinge at the known change point at 1%: all knots at 1% found 95.5% of the changes at 64 MiB
    it sees; all knots at 2%, 96.8%; these knots at 1%, 98.3%; at 2%, 99.8%, and the true model
    was said to hold in 95.4% and 97.6% of datasets (lognormal, gamma; 95.2% and 97.2% with all
    knots at 1%: the same within simulation error). Confirmed on bench_coverage's own datasets:
    99.3% (64 MiB) and 100% (1 GiB). N, B, first: the cells of `res`."""
    size = N * B
    inner = np.unique(size)[1:-1]
    if not inner.size:
        return None
    knots = inner[inner >= size.max() / CHANGE_SPAN]
    knots = knots if knots.size else inner[-1:]
    z = _stretch(lambda d: np.maximum(0.0, d[:, None] - knots[None, :]), N, B, first) / size.max()
    p, knot = _max_score_p(res, z)
    if p < CHANGE_P:
        return (f"a change of regime: the time per byte changes beyond {format_bytes(knots[knot])} "
                f"read (max-type hinge test, p = {p:.1g}): predictions past it do not hold")
    return None


def _max_score_p(res, z, draws=20_000):
    """(p, column) of the max-type score test of the extra columns `z` omitted from the GLM
    `res` (identity link, Gamma variance): standardised scores T_k, p = P(max |T| >= observed)
    under their joint normal law (seeded Monte Carlo)."""
    X, mu = res.model.exog, res.fittedvalues
    w = res.model.freq_weights * res.model.var_weights / mu**2
    xw = X * w[:, None]
    resid_z = z - X @ np.linalg.lstsq(xw.T @ X, xw.T @ z, rcond=None)[0]
    cov = resid_z.T @ (resid_z * w[:, None]) * res.scale
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    ok = sd > 1e-12 * max(sd.max(), 1e-300)
    if not ok.any():
        return math.nan, 0
    score = (z[:, ok] * (w * (res.model.endog - mu))[:, None]).sum(axis=0) / sd[ok]
    corr = cov[np.ix_(ok, ok)] / np.outer(sd[ok], sd[ok])
    observed = float(np.abs(score).max())
    sims = np.random.default_rng(0).multivariate_normal(np.zeros(ok.sum()), corr, draws,
                                                        method="eigh", check_valid="ignore")
    p = float((np.abs(sims).max(axis=1) >= observed).mean())
    return max(p, 1 / draws), int(np.flatnonzero(ok)[np.argmax(np.abs(score))])


def _runs_warning(pearson, cells, keep):
    """Wald-Wolfowitz runs test on the cells' mean Pearson residuals sorted by N*B."""
    r = np.zeros(len(keep))
    r[keep] = pearson
    count = cells.counts(keep)
    have = count > 0
    if have.sum() < RUNS_MIN_CELLS:
        return None
    mean_r = (cells.sums(r, keep) / np.maximum(count, 1))[have]
    order = np.lexsort((cells.n[have], cells.n[have] * cells.b[have]))
    signs = np.sign(mean_r[order])
    signs = signs[signs != 0]
    n1, n2 = int((signs > 0).sum()), int((signs < 0).sum())
    if n1 == 0 or n2 == 0:
        return None
    runs = 1 + int((signs[1:] != signs[:-1]).sum())
    n = n1 + n2
    mu = 2.0 * n1 * n2 / n + 1
    var = (mu - 1) * (mu - 2) / (n - 1)
    if var <= 0:
        return None
    p = float(stats.norm.cdf((runs - mu) / math.sqrt(var)))
    if p < RUNS_P:
        return (f"curved residuals: {runs} runs of same-signed residuals over {n} (N, B) cells "
                f"sorted by N*B where {mu:.1f} are expected (p = {p:.1g}): the linear model "
                "misses a trend")
    return None


def _check_on_error(on_error):
    if on_error not in ("raise", "skip"):
        raise UsageError(f"on_error {on_error!r} must be 'raise' or 'skip'")


def _group_indices(df, by):
    df = with_key_defaults(df)
    _require(df, by, "grouping")
    if not by:
        return {(): np.arange(len(df))}
    return df.groupby(list(by), sort=True, dropna=False).indices


def _as_tuple(values, by):
    return tuple(map(_py, values if isinstance(values, tuple) else (values,)))[: len(by)]


def fit_groups(df, by=DEFAULT_BY, *, on_error="raise", question=None):
    """Fit the read-time model per group -> {key tuple (in `by` order): ReadTimeFit}.

    on_error='skip' leaves out groups whose data cannot support a fit; `question` (N, B) as in
    fit_read_time."""
    _check_on_error(on_error)
    by = tuple(by)
    _require(df, _READ_COLS, "fit_groups")
    cols = _arrays(df, _READ_COLS + _EXTRA_COLS)
    return _fit_each(df, by, lambda idx, key: _fit_arrays({c: a[idx] for c, a in cols.items()}, key,
                                                           question), on_error)


def _fit_each(frame, by, fit_one, on_error):
    """{key tuple: fit_one(row indices, key dict)} over the groups of `frame`; a group that cannot
    be fitted raises (naming the group) or, with on_error='skip', is left out."""
    fits = {}
    for values, idx in _group_indices(frame, by).items():
        key_t = _as_tuple(values, by)
        key = dict(zip(by, key_t))
        try:
            fits[key_t] = fit_one(idx, key)
        except FitError as exc:
            if on_error == "raise":
                raise type(exc)(f"group {_describe(key)}: {exc}") from exc
    return fits


def fits_table(fits):
    """One row per fit: parameters and their CIs, B_half, R^2, scatter, lack-of-fit p, holds, n
    and warnings."""
    return pd.DataFrame([f.to_row() for f in fits.values()])




# ---------------------------------------------------------------- one-parameter form

@dataclass(frozen=True)
class PerBlockFit:
    """The article's T_d = N * T_b at one block size (a line through the origin)."""

    key: dict
    bs_bytes: int
    tb_s: float
    se_s: float
    ci: tuple
    r2: float
    rel_sd: float
    n: int
    excluded: int
    level: float = LEVEL


def fit_per_block(df, bs_bytes):
    """Fit T_d = N * T_b at one B: a Gamma GLM with identity link through the origin (weights on
    the fitted mean, as the full fit; rel_sd is the relative scatter about it). Rows that share
    a read (prefix_of) are its disjoint stretches, as in fit_read_time."""
    _require(df, _READ_COLS, "fit_per_block")
    bs = _size_arg(bs_bytes, "bs_bytes")
    sel = _num(df, "bs_bytes") == bs
    ok = _ok_mask(df) & sel
    excluded = int((sel & ~ok).sum())
    N, T = _num(df, "blocks")[ok], _num(df, "read_time_s")[ok]
    if not np.isfinite(N).all() or not np.isfinite(T).all() or (T <= 0).any():
        raise InsufficientDataError(f"non-finite or non-positive blocks/read_time_s at B = {bs}")
    first, T = _stretches(_arrays(df, ("run_id", "seq", "prefix_of", "bs_bytes")), ok, N, T)
    if len(np.unique(N)) < 2 or len(T) < 2:
        raise InsufficientDataError(
            f"{len(T)} usable points with {len(np.unique(N))} distinct N at B = {format_bytes(bs)}; "
            "the per-block fit needs at least 2 distinct N")
    scale = float(N.max())
    res = _gamma_glm(T, ((N - first) / scale)[:, None])
    if res is None:
        raise InsufficientDataError(f"the per-block GLM did not converge at B = {format_bytes(bs)}")
    tb = float(res.params[0]) / scale
    se = float(res.bse[0]) / scale
    low, high = (float(v) / scale for v in np.asarray(res.conf_int(alpha=1 - LEVEL))[0])
    r2 = 1.0 - float(((T - (N - first) * tb) ** 2).sum() / ((T - T.mean()) ** 2).sum()) if np.ptp(T) else math.nan
    key = {c: _py(df[c].iloc[0]) for c in ("target", "rw", "direct", "iodepth")
           if c in df.columns and len(df) and df[c].nunique(dropna=False) == 1}
    return PerBlockFit(key, bs, tb, se, (low, high), r2, math.sqrt(float(res.scale)), len(T),
                       excluded)


# ---------------------------------------------------------------- allocation vs size

@dataclass(frozen=True, eq=False)
class SizeFit:
    """allocated_bytes = slope * size_bytes + intercept_bytes over distinct sizes."""

    key: dict
    slope: float
    intercept_bytes: float
    se: dict
    ci: dict
    r2: float
    n: int
    n_rows: int
    excluded: int
    size_range: tuple
    usable_share: float
    avail_share: float
    target_size_bytes: float
    warnings: list
    level: float = LEVEL
    sizes: np.ndarray = field(default=None, repr=False)
    allocated: np.ndarray = field(default=None, repr=False)

    def predict(self, size_bytes):
        """Allocated bytes expected for a file of `size_bytes`."""
        out = self.slope * np.asarray(size_bytes, dtype=float) + self.intercept_bytes
        return float(out) if out.ndim == 0 else out

    def to_row(self):
        row = dict(self.key)
        row.update(slope=self.slope, slope_low=self.ci["slope"][0], slope_high=self.ci["slope"][1],
                   intercept_bytes=self.intercept_bytes,
                   intercept_low_bytes=self.ci["intercept_bytes"][0],
                   intercept_high_bytes=self.ci["intercept_bytes"][1], r2=self.r2, n=self.n,
                   n_rows=self.n_rows, excluded=self.excluded,
                   target_size_bytes=self.target_size_bytes, usable_share=self.usable_share,
                   avail_share=self.avail_share, warnings="; ".join(self.warnings))
        return row


def fit_size(df, *, key=None):
    """OLS of allocated_bytes on size_bytes over distinct sizes (median over repeats)."""
    _require(df, ("size_bytes", "allocated_bytes"), "fit_size")
    size, alloc = _num(df, "size_bytes"), _num(df, "allocated_bytes")
    ok = ~np.isnan(size) & ~np.isnan(alloc)
    if "error" in df.columns:
        ok &= _num(df, "error") == 0
    excluded = int((~ok).sum())
    if not (np.isfinite(size[ok]).all() and np.isfinite(alloc[ok]).all()):
        raise InsufficientDataError("non-finite size_bytes or allocated_bytes; the size fit needs finite values")
    per = pd.Series(alloc[ok]).groupby(size[ok]).median()
    x, y = per.index.to_numpy(float), per.to_numpy(float)
    if len(x) < 3:
        raise InsufficientDataError(f"only {len(x)} distinct size_bytes; the size fit needs at least 3 "
                                    "(parameters + 1)")
    if np.ptp(y) == 0:
        raise InsufficientDataError(f"allocated_bytes has no variance (all {y[0]:g}) over {len(x)} sizes")
    slope, intercept, se, r2 = _ols(x, y)
    t = _tcrit(len(x) - 2)
    ci = {"slope": _pair(slope, t * se[0]), "intercept_bytes": _pair(intercept, t * se[1])}
    shares = _shares(df, ok)
    if key is None:
        key = {c: _py(df[c].iloc[0]) for c in ("target",) if c in df.columns
               and len(df) and df[c].nunique(dropna=False) == 1}
    warnings = _size_warnings(slope, ci, intercept, excluded, len(ok))
    return SizeFit(key=dict(key), slope=slope, intercept_bytes=intercept,
                   se={"slope": se[0], "intercept_bytes": se[1]}, ci=ci, r2=r2, n=len(x),
                   n_rows=int(ok.sum()), excluded=excluded, size_range=(float(x.min()), float(x.max())),
                   usable_share=shares[0], avail_share=shares[1], target_size_bytes=shares[2],
                   warnings=warnings, sizes=x, allocated=y)


def _ols(x, y):
    """Slope, intercept, their standard errors and R^2 (centred, for conditioning)."""
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (slope * x + intercept)
    s2 = float(resid @ resid / (len(x) - 2))
    se = (math.sqrt(s2 / sxx), math.sqrt(s2 * (1 / len(x) + xm**2 / sxx)))
    r2 = 1.0 - float(resid @ resid / ((y - ym) ** 2).sum())
    return slope, intercept, se, r2


def _shares(df, ok):
    """Median fs_total/target_size and fs_avail/target_size for sized targets (else NaN)."""
    if "target_size_bytes" not in df.columns:
        return math.nan, math.nan, math.nan
    size = _num(df, "target_size_bytes")[ok]
    good = np.isfinite(size) & (size > 0)
    if not good.any():
        return math.nan, math.nan, math.nan
    out = []
    for col in ("fs_total_bytes", "fs_avail_bytes"):
        vals = _num(df, col)[ok][good] / size[good] if col in df.columns else np.array([np.nan])
        vals = vals[np.isfinite(vals)]
        out.append(float(np.median(vals)) if vals.size else math.nan)
    return out[0], out[1], float(np.median(size[good]))


def _size_warnings(slope, ci, intercept, excluded, total):
    out = []
    if excluded:
        out.append(f"{excluded} of {total} rows excluded (error != 0 or no allocated_bytes)")
    lo, hi = ci["slope"]
    if not lo <= 1 <= hi and abs(slope - 1) > 0.05:
        out.append(f"slope {slope:.3g}: allocation is not proportional to size "
                   "(sparse, compressed or preallocated files?)")
    if intercept < 0 and ci["intercept_bytes"][1] < 0:
        out.append(f"negative intercept {intercept:.3g} B: small files take less than size")
    return out


def fit_size_groups(df, by=("target",), *, on_error="raise"):
    """fit_size per group -> {key tuple: SizeFit}."""
    _check_on_error(on_error)
    by = tuple(by)
    _require(df, ("size_bytes", "allocated_bytes"), "fit_size_groups")
    cols = [c for c in dict.fromkeys(by + ("size_bytes", "allocated_bytes", "error", "target_size_bytes",
                                           "fs_total_bytes", "fs_avail_bytes")) if c in df.columns]
    sub = df[cols]
    return _fit_each(sub, by, lambda idx, key: fit_size(sub.iloc[idx], key=key), on_error)


def size_fits_table(fits):
    """One row per size fit."""
    return pd.DataFrame([f.to_row() for f in fits.values()])


# ---------------------------------------------------------------- summaries

POINT_BY = ("target", "rw", "bs_bytes", "blocks")


def outlier_mask(df, by=POINT_BY, k=3.0, pool_by=("target", "rw")):
    """True where read_time_s lies more than k robust spreads from its group's median.

    Deviations are relative, (T - median) / median. The spread is 1.4826 x the median absolute
    relative deviation, the larger of the group's own and the one pooled over its `pool_by`
    cells (zero deviations of the median rows left out), so 3 repeats suffice and ordinary
    timing noise is not flagged. Excluded rows (error, no read time) are never flagged."""
    by = list(by)
    _require(df, by + ["read_time_s"], "outlier_mask")
    ok = pd.Series(_ok_mask(df), index=df.index)
    t = df["read_time_s"].where(ok)
    med = t.groupby([df[c] for c in by], dropna=False).transform("median")
    rel = ((t - med) / med).abs()
    own = rel.groupby([df[c] for c in by], dropna=False).transform("median") * 1.4826
    pool_cols = [c for c in pool_by if c in df.columns]
    nonzero = rel.where(rel > 0)
    if pool_cols:
        pooled = nonzero.groupby([df[c] for c in pool_cols], dropna=False).transform("median")
    else:
        pooled = pd.Series(nonzero.median(), index=df.index)
    spread = np.fmax(own, pooled * 1.4826)
    return (ok & (rel > k * spread)).fillna(False).astype(bool)


def summarise_points(df, by=POINT_BY, k=3.0):
    """Per group of repeats: n, mean, std, cv, median, MAD of read_time_s and outlier count
    (outlier_mask with the same k)."""
    by = list(by)
    _require(df, by + ["read_time_s"], "summarise_points")
    ok = _ok_mask(df)
    sub = df.loc[ok, by + ["read_time_s"]].assign(outlier=outlier_mask(df, by, k)[ok])
    g = sub.groupby(by, dropna=False)
    out = g["read_time_s"].agg(n="count", mean_s="mean", std_s="std", median_s="median")
    dev = (sub["read_time_s"] - g["read_time_s"].transform("median")).abs()
    out["mad_s"] = dev.groupby([sub[c] for c in by], dropna=False).median()
    out["cv"] = out["std_s"] / out["mean_s"]
    out["outliers"] = g["outlier"].sum().astype(int)
    return out.reset_index()[by + ["n", "mean_s", "std_s", "cv", "median_s", "mad_s", "outliers"]]




# ---------------------------------------------------------------- comparisons of means

@dataclass(frozen=True)
class MeanRatio:
    """Ratio of two expected read times with its `level` interval and the p-value of 'equal'.

    Delta method on log means: Var(log(mu_a / mu_b)) = (se_a / mu_a)^2 + (se_b / mu_b)^2 (the
    two fits share no data) plus any further parts (a run's drift between rounds: see drift.py),
    t quantile with Welch-Satterthwaite degrees of freedom over all parts."""

    ratio: float
    low: float
    high: float
    p_value: float
    level: float = LEVEL

    @property
    def differs(self):
        """True when the interval excludes 1."""
        return not self.low <= 1.0 <= self.high


def compare_means(fit, other, blocks, bs_bytes, level=LEVEL):
    """MeanRatio of fit's expected read time over other's, at N blocks of B bytes. The interval
    holds both fits' standard errors and the drift between rounds: for two targets of one run
    (the same rounds) that of the difference of their round effects (drift.paired_drift: what
    moved both in a round cancels, what moved one, a tmpfs's level and not the disk's, does not),
    else each fit's own, taken as independent (drift.fit_drifts). Without it, an interval of two
    targets whose rounds drift 10% each covered the true ratio in 74% of simulated runs."""
    a, b = fit.predict(blocks, bs_bytes, level), other.predict(blocks, bs_bytes, level)
    paired = paired_drift(fit, other, blocks, bs_bytes)
    drifts = [paired] if paired else [fit_drifts(f, blocks, bs_bytes)["mean"] for f in (fit, other)]
    extra = drift_parts(*drifts)
    return _ratio(a.mean_s, a.mean_se_s, a.mean_dof, b.mean_s, b.mean_se_s, b.mean_dof, level, extra)


def _ratio(mu_a, se_a, dof_a, mu_b, se_b, dof_b, level, extra=()):
    """MeanRatio of mu_a over mu_b; `extra`: further parts of the log ratio's variance, each as
    (variance, the variance of its estimate)."""
    if not (mu_a > 0 and mu_b > 0):
        return MeanRatio(math.nan, math.nan, math.nan, math.nan, level)
    fits = [((se_a / mu_a) ** 2, dof_a), ((se_b / mu_b) ** 2, dof_b)]
    parts = [(var, 2 * var**2 / max(dof, 1)) for var, dof in fits]
    return _log_ratio(math.log(mu_a / mu_b), parts + list(extra), level)


def _log_ratio(log_ratio, parts, level):
    """MeanRatio of exp(log_ratio) whose variance is the sum of independent parts (variance, the
    variance of its estimate): Welch-Satterthwaite dof = 2 total^2 / sum of those variances (a
    part with dof k has 2 var^2 / k), at least 1."""
    total = sum(var for var, _ in parts)
    if total == 0:
        return MeanRatio(*[math.exp(log_ratio)] * 3, 1.0 if log_ratio == 0 else 0.0, level)
    dof = max(2 * total**2 / sum(var_var for _, var_var in parts), 1.0)
    half = _tcrit(dof, level) * math.sqrt(total)
    p = 2 * float(stats.t.sf(abs(log_ratio) / math.sqrt(total), dof))
    return MeanRatio(_exp(log_ratio), _exp(log_ratio - half), _exp(log_ratio + half), p, level)


def _exp(x):
    """exp(x), inf where it would overflow (the bound of an interval as wide as its fits allow)."""
    return math.exp(x) if x < 709.0 else math.inf


def compare_to_baseline(df, baseline="host", *, dataset_bytes, bs_bytes, by=DEFAULT_BY, level=LEVEL):
    """Per group: the full-read time of dataset_bytes in blocks of bs_bytes, what it means and how
    far it holds, and the ratio of its expected time to the baseline target's (same other keys).

    Columns: the key, dataset_bytes, bs_bytes, blocks, target_kind / driver_opts (when known),
    predicted_s (the expected time) with mean_low_s..mean_high_s, low_s..high_s (one read),
    extrapolation, extrapolates, reason, lack_of_fit_p, holds, why, baseline_s,
    ratio_to_baseline with ratio_low..ratio_high and ratio_p (compare_means; 1 [1, 1] for the
    baseline itself, NaN where the baseline has no fit with the same other keys).

    `df` is the points table (groups that cannot be fitted are left out; each group fitted for
    the question, fit_read_time's `question`) or the dict returned by fit_groups. Sizes are byte counts or strings such as '40g', '64k'."""
    if "target" not in by and not isinstance(df, dict):
        raise UsageError(f"compare_to_baseline groups by target; by={tuple(by)} lacks it")
    size, bs = _size_arg(dataset_bytes, "dataset_bytes"), _size_arg(bs_bytes, "bs_bytes")
    fits = df if isinstance(df, dict) else fit_groups(df, by, on_error="skip",
                                                      question=(math.ceil(size / bs), bs))
    targets = sorted({str(f.key.get("target")) for f in fits.values()})
    if baseline not in targets:
        raise UsageError(f"baseline {baseline!r} is not among the fitted targets: {', '.join(targets)}")
    blocks = math.ceil(size / bs)
    base_of = {_others(f.key): f for f in fits.values() if str(f.key.get("target")) == baseline}
    rows = []
    for fit in fits.values():
        p = fit.predict(blocks, bs, level)
        base = base_of.get(_others(fit.key))
        if base is fit:
            ratio = MeanRatio(1.0, 1.0, 1.0, 1.0, level)
        elif base is None:
            ratio = MeanRatio(math.nan, math.nan, math.nan, math.nan, level)
        else:
            ratio = compare_means(fit, base, blocks, bs, level)
        rows.append({**fit.key, "dataset_bytes": size, "bs_bytes": bs, "blocks": blocks,
                     **{c: fit.target_spec.get(c) for c in _SPEC_COLS},
                     "predicted_s": p.mean_s, "mean_low_s": p.mean_low_s, "mean_high_s": p.mean_high_s,
                     "low_s": p.low_s, "high_s": p.high_s, "extrapolation": p.extrapolation,
                     "extrapolates": p.extrapolates, "reason": p.reason,
                     "lack_of_fit_p": p.lack_of_fit_p, "holds": p.holds, "why": p.why,
                     "baseline_s": base.predict(blocks, bs, level).mean_s if base else math.nan,
                     "ratio_to_baseline": ratio.ratio, "ratio_low": ratio.low,
                     "ratio_high": ratio.high, "ratio_p": ratio.p_value})
    return pd.DataFrame(rows)


def _others(key):
    """A fit key without its target: the keys a baseline must share."""
    return tuple((k, v) for k, v in key.items() if k != "target")
