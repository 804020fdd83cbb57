"""Fitted volume models on the points table (one row per measured point).

Read time: T_d = T_0 + N (alpha + B / beta), weighted least squares (weights 1 / T_d^2) on the
regressors (1, N, N B). Allocation: allocated_bytes = slope * size_bytes + intercept.
Pure functions returning small frozen dataclasses; no plotting, no Docker.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .errors import FitError, UsageError
from .units import format_bytes, parse_size

DEFAULT_BY = ("target", "rw", "direct", "iodepth")
LEVEL = 0.95
CURVATURE_P = 0.001      # significance of the quadratic-in-N term
CURVATURE_SHARE = 0.05   # ... and its share of T_d at the largest N, to be worth a warning
RUNS_P = 0.01            # runs test on per-(N, B) median residuals sorted by N*B
RUNS_MIN_CELLS = 10

_READ_COLS = ("blocks", "bs_bytes", "read_time_s")
_EXTRA_COLS = ("error", "direct", "iodepth", "numjobs", "memory_limit_bytes", "size_bytes",
               "read_time_source", "target", "rw")
_MIX_COLS = ("target", "rw", "direct", "iodepth", "numjobs", "read_time_source")


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
    """Rows usable for read-time fits: error == 0 (when present) and read_time_s not NaN."""
    ok = ~np.isnan(_num(df, "read_time_s"))
    if "error" in df.columns:
        ok &= _num(df, "error") == 0
    return ok


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


def _wls(X, y):
    """Least squares with weights 1/y^2 (relative residuals), column-scaled for conditioning.

    Returns (params, cov, relative residuals, rank, residual variance)."""
    Xs = X / y[:, None]
    scale = np.linalg.norm(Xs, axis=0)
    Xn = Xs / scale
    coef, _, rank, _ = np.linalg.lstsq(Xn, np.ones_like(y), rcond=None)
    params = coef / scale
    resid = 1.0 - Xs @ params
    dof = len(y) - X.shape[1]
    s2 = float(resid @ resid / dof) if dof > 0 else math.nan
    cov = s2 * np.linalg.pinv(Xn.T @ Xn) / np.outer(scale, scale)
    return params, cov, resid, int(rank), s2


# ---------------------------------------------------------------- read time

@dataclass(frozen=True, eq=False)
class Prediction:
    """Predicted read time with a prediction interval (relative-noise model)."""

    blocks: object
    bs_bytes: object
    mean_s: object
    low_s: object
    high_s: object
    level: float
    extrapolates: bool
    reason: str = ""

    @property
    def interval(self):
        return (self.low_s, self.high_s)


@dataclass(frozen=True, eq=False)
class ReadTimeFit:
    """T_d = T_0 + N (alpha + B / beta) fitted to one group of points.

    ci/se map 't0_s', 'alpha_s', 'inv_beta_s_per_byte', 'beta_bytes_per_s', 'b_half_bytes' to
    95% intervals / standard errors; residuals are relative, (T_d - fit) / T_d, aligned with
    blocks and bs_bytes; rel_sd is their standard deviation; warnings are plain English."""

    key: dict
    t0_s: float
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
    blocks_range: tuple
    bs_range: tuple
    warnings: list
    level: float = LEVEL
    cov: np.ndarray = field(default=None, repr=False)
    residuals: np.ndarray = field(default=None, repr=False)
    blocks: np.ndarray = field(default=None, repr=False)
    bs_bytes: np.ndarray = field(default=None, repr=False)

    @property
    def params(self):
        """(T_0, alpha, 1/beta) as an array, the order of `cov`."""
        return np.array([self.t0_s, self.alpha_s, self.inv_beta_s_per_byte])

    @property
    def b_half_bytes(self):
        """Block size reaching half the streaming bandwidth: alpha * beta."""
        return self.alpha_s * self.beta_bytes_per_s

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

    def predict(self, blocks, bs_bytes, level=LEVEL):
        """Mean read time of N blocks of B bytes with a `level` prediction interval."""
        n, b = np.broadcast_arrays(np.asarray(blocks, float), np.asarray(bs_bytes, float))
        X = np.stack([np.ones_like(n), n, n * b], axis=-1)
        mean = X @ self.params
        var = mean**2 * self.rel_sd**2 + np.einsum("...i,ij,...j->...", X, self.cov, X)
        half = _tcrit(self.dof, level) * np.sqrt(var)
        reason = self._extrapolation(n, b)
        conv = float if n.ndim == 0 else np.asarray
        return Prediction(_py(blocks) if n.ndim == 0 else n, _py(bs_bytes) if n.ndim == 0 else b,
                          conv(mean), conv(mean - half), conv(mean + half), level,
                          bool(reason), reason)

    def _extrapolation(self, n, b):
        parts = []
        (nlo, nhi), (blo, bhi) = self.blocks_range, self.bs_range
        if n.size and (n.min() < nlo or n.max() > nhi):
            parts.append(f"N {_fmt_values(np.unique(n), 3)} outside the measured {nlo:g}..{nhi:g}")
        if b.size and (b.min() < blo or b.max() > bhi):
            parts.append(f"B {format_bytes(b.min())}..{format_bytes(b.max())} outside the measured "
                         f"{format_bytes(blo)}..{format_bytes(bhi)}")
        return "; ".join(parts)

    def to_row(self):
        """One flat dict for a summary table."""
        row = dict(self.key)
        for name, est, low_name, high_name in _CI_COLUMNS:
            row[name] = est(self)
            row[low_name], row[high_name] = self.ci[name]
        row.update(r2=self.r2, r2_weighted=self.r2_weighted, rel_sd=self.rel_sd, n=self.n,
                   excluded=self.excluded, blocks_min=self.blocks_range[0],
                   blocks_max=self.blocks_range[1], bs_min_bytes=self.bs_range[0],
                   bs_max_bytes=self.bs_range[1], warnings="; ".join(self.warnings))
        return row


_CI_COLUMNS = (
    ("t0_s", lambda f: f.t0_s, "t0_low_s", "t0_high_s"),
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


_TEXT_COLS = ("target", "rw", "read_time_source")


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


def fit_read_time(df, *, key=None):
    """Fit T_d = T_0 + N (alpha + B / beta) to one group of points (weights 1 / T_d^2)."""
    _require(df, _READ_COLS, "fit_read_time")
    cols = _arrays(df, _READ_COLS + _EXTRA_COLS)
    if key is None:
        key = {c: _py(df[c].iloc[0]) for c in DEFAULT_BY if c in df.columns and len(df)
               and df[c].nunique(dropna=False) == 1}
    return _fit_arrays(cols, dict(key))


def _check_read_data(N, B, T, excluded):
    n = len(T)
    if n == 0:
        raise InsufficientDataError(
            f"no usable rows ({excluded} excluded for error != 0 or missing read_time_s); "
            "the read-time fit needs at least 4 points")
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
                                        "the 3-parameter read-time fit needs at least 2")
    if n < 4:
        raise InsufficientDataError(f"only {n} usable points; the 3-parameter read-time fit "
                                    "needs at least 4 (parameters + 1)")
    if np.ptp(T) == 0:
        raise InsufficientDataError(f"read_time_s has no variance (all {T[0]:g} s) over {n} points; "
                                    "cannot fit")


def _fit_arrays(cols, key):
    """The weighted fit on a dict of column arrays (one group)."""
    ok = ~np.isnan(cols["read_time_s"])
    if "error" in cols:
        ok &= cols["error"] == 0
    excluded = int((~ok).sum())
    N, B, T = cols["blocks"][ok], cols["bs_bytes"][ok], cols["read_time_s"][ok]
    _check_read_data(N, B, T, excluded)
    X = np.column_stack([np.ones_like(N), N, N * B])
    params, cov, resid, rank, s2 = _wls(X, T)
    if rank < 3:
        pairs = len(np.unique(np.column_stack([N, B]), axis=0))
        raise InsufficientDataError(
            f"regressors (1, N, N*B) are collinear over the {pairs} measured (N, B) pairs; "
            "measure at least 3 pairs not on one line (e.g. 2 N at each of 2 B)")
    dof = len(T) - 3
    t0, alpha, ib = (float(p) for p in params)
    se = np.sqrt(np.maximum(np.diag(cov), 0))
    t = _tcrit(dof)
    beta = 1.0 / ib if ib > 0 else math.nan
    ib_ci = _pair(ib, t * se[2])
    ci = {"t0_s": _pair(t0, t * se[0]), "alpha_s": _pair(alpha, t * se[1]),
          "inv_beta_s_per_byte": ib_ci,
          "beta_bytes_per_s": _invert_ci(ib_ci)}
    se_d = {"t0_s": float(se[0]), "alpha_s": float(se[1]), "inv_beta_s_per_byte": float(se[2]),
            "beta_bytes_per_s": float(se[2] / ib**2) if ib > 0 else math.nan}
    se_d["b_half_bytes"], ci["b_half_bytes"] = _b_half_se_ci(alpha, ib, cov, t)
    yhat = X @ params
    w = 1.0 / T**2
    ybar_w = float((w * T).sum() / w.sum())
    r2 = 1.0 - float(((T - yhat) ** 2).sum() / ((T - T.mean()) ** 2).sum())
    r2_w = 1.0 - float(resid @ resid / (w * (T - ybar_w) ** 2).sum())
    warnings = _read_warnings(cols, ok, key, N, B, T, X, (t0, alpha, ib), excluded)
    return ReadTimeFit(
        key=key, t0_s=t0, alpha_s=alpha, beta_bytes_per_s=beta, inv_beta_s_per_byte=ib,
        se=se_d, ci=ci, r2=r2, r2_weighted=r2_w, rel_sd=math.sqrt(s2), n=len(T), dof=dof,
        excluded=excluded, blocks_range=(float(N.min()), float(N.max())),
        bs_range=(float(B.min()), float(B.max())), warnings=warnings, cov=cov,
        residuals=resid, blocks=N, bs_bytes=B)


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
    grad = np.array([0.0, 1.0 / ib, -alpha / ib**2])
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    bh = alpha / ib
    return se, _pair(bh, t * se)


def _read_warnings(cols, ok, key, N, B, T, X, params, excluded):
    """Plain-English flags where the linear model may not describe storage."""
    t0, alpha, ib = params
    out = []
    if excluded:
        out.append(f"{excluded} of {len(ok)} rows excluded (error != 0 or no read time)")
    for col in _MIX_COLS:
        if col in cols and col not in key:
            vals = _distinct(cols[col][ok])
            if len(vals) > 1:
                out.append(f"mixes {len(vals)} values of {col} ({', '.join(map(str, vals[:4]))}): "
                           "fit one group at a time (fit_groups)")
    for msg in (_curvature_warning(N, T, X), _runs_warning(N, B, X, T, params)):
        if msg:
            out.append(msg)
    if t0 < 0:
        out.append(f"fitted T_0 = {t0:.3g} s is negative: the fixed cost is not resolved")
    if alpha < 0:
        out.append(f"fitted alpha = {alpha:.3g} s is negative: the per-op latency is not resolved")
    if ib <= 0:
        out.append(f"fitted 1/beta = {ib:.3g} s/B is not positive: beta is undefined")
    elif alpha > 0 and not B.min() <= alpha / ib <= B.max():
        out.append(f"B_half = {format_bytes(alpha / ib)} lies outside the measured block sizes "
                   f"{format_bytes(B.min())}..{format_bytes(B.max())}: it is extrapolated")
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


def _curvature_warning(N, T, X):
    """A significant, non-negligible quadratic term in N means the line misses a trend."""
    if len(np.unique(N)) < 3 or len(T) < 6:
        return None
    params, cov, _, rank, _ = _wls(np.column_stack([X, N**2]), T)
    if rank < 4 or not cov[3, 3] > 0:
        return None
    tval = params[3] / math.sqrt(cov[3, 3])
    p = 2 * float(stats.t.sf(abs(tval), len(T) - 4))
    top = N == N.max()
    share = float(np.median(np.abs(params[3]) * N[top] ** 2 / T[top]))
    if p < CURVATURE_P and share > CURVATURE_SHARE:
        return (f"curved residuals: the linear model misses a trend in N (a quadratic term is "
                f"significant, p = {p:.1g}, worth {share:.0%} of T_d at N = {N.max():g})")
    return None


def _runs_warning(N, B, X, T, params):
    """Wald-Wolfowitz runs test on per-(N, B) median residuals sorted by N*B."""
    cells = pd.DataFrame({"n": N, "b": B, "r": 1.0 - (X @ np.asarray(params)) / T})
    med = cells.groupby(["n", "b"], sort=False)["r"].median().reset_index()
    if len(med) < RUNS_MIN_CELLS:
        return None
    med = med.assign(nb=med.n * med.b).sort_values(["nb", "n"])
    signs = np.sign(med.r.to_numpy())
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
    _require(df, by, "grouping")
    if not by:
        return {(): np.arange(len(df))}
    return df.groupby(list(by), sort=True, dropna=False).indices


def _as_tuple(values, by):
    return tuple(map(_py, values if isinstance(values, tuple) else (values,)))[: len(by)]


def fit_groups(df, by=DEFAULT_BY, *, on_error="raise"):
    """Fit the read-time model per group -> {key tuple (in `by` order): ReadTimeFit}.

    on_error='skip' leaves out groups whose data cannot support a fit."""
    _check_on_error(on_error)
    by = tuple(by)
    _require(df, _READ_COLS, "fit_groups")
    cols = _arrays(df, _READ_COLS + _EXTRA_COLS)
    return _fit_each(df, by, lambda idx, key: _fit_arrays({c: a[idx] for c, a in cols.items()}, key),
                     on_error)


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
    """One row per fit: parameters, their CIs, B_half, R^2, n and warnings."""
    return pd.DataFrame([f.to_row() for f in fits.values()])


# ---------------------------------------------------------------- one-parameter form

@dataclass(frozen=True)
class PerBlockFit:
    """The article's T_d = N * T_b at one block size (least squares through the origin)."""

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
    """Fit T_d = N * T_b at one B with weights 1 / T_d^2 (relative residuals)."""
    _require(df, _READ_COLS, "fit_per_block")
    bs = _size_arg(bs_bytes, "bs_bytes")
    sel = _num(df, "bs_bytes") == bs
    ok = _ok_mask(df) & sel
    excluded = int((sel & ~ok).sum())
    N, T = _num(df, "blocks")[ok], _num(df, "read_time_s")[ok]
    if not np.isfinite(N).all() or not np.isfinite(T).all() or (T <= 0).any():
        raise InsufficientDataError(f"non-finite or non-positive blocks/read_time_s at B = {bs}")
    if len(np.unique(N)) < 2 or len(T) < 2:
        raise InsufficientDataError(
            f"{len(T)} usable points with {len(np.unique(N))} distinct N at B = {format_bytes(bs)}; "
            "the per-block fit needs at least 2 distinct N")
    z = N / T
    tb = float(z.sum() / (z @ z))
    resid = 1.0 - z * tb
    dof = len(T) - 1
    s2 = float(resid @ resid / dof)
    se = math.sqrt(s2 / float(z @ z))
    t = _tcrit(dof)
    r2 = 1.0 - float(((T - N * tb) ** 2).sum() / ((T - T.mean()) ** 2).sum()) if np.ptp(T) else math.nan
    key = {c: _py(df[c].iloc[0]) for c in ("target", "rw", "direct", "iodepth")
           if c in df.columns and len(df) and df[c].nunique(dropna=False) == 1}
    return PerBlockFit(key, bs, tb, se, _pair(tb, t * se), r2, math.sqrt(s2), len(T), excluded)


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


def compare_to_baseline(df, baseline="host", *, dataset_bytes, bs_bytes, by=DEFAULT_BY):
    """Predicted full-read time of dataset_bytes in blocks of bs_bytes per group, with a 95%
    prediction interval and the ratio to the baseline target's prediction (same other keys).

    `df` is the points table (groups that cannot be fitted are left out) or the dict returned
    by fit_groups. Sizes are byte counts or strings such as '40g', '64k'."""
    if "target" not in by and not isinstance(df, dict):
        raise UsageError(f"compare_to_baseline groups by target; by={tuple(by)} lacks it")
    fits = df if isinstance(df, dict) else fit_groups(df, by, on_error="skip")
    size, bs = _size_arg(dataset_bytes, "dataset_bytes"), _size_arg(bs_bytes, "bs_bytes")
    targets = sorted({str(f.key.get("target")) for f in fits.values()})
    if baseline not in targets:
        raise UsageError(f"baseline {baseline!r} is not among the fitted targets: {', '.join(targets)}")
    blocks = math.ceil(size / bs)
    rows = []
    for fit in fits.values():
        p = fit.predict(blocks, bs)
        rows.append({**fit.key, "dataset_bytes": size, "bs_bytes": bs, "blocks": blocks,
                     "predicted_s": p.mean_s, "low_s": p.low_s, "high_s": p.high_s,
                     "extrapolates": p.extrapolates, "reason": p.reason})
    out = pd.DataFrame(rows)
    others = [c for c in out.columns[: out.columns.get_loc("dataset_bytes")] if c != "target"]
    base = out[out["target"] == baseline][others + ["predicted_s"]].rename(
        columns={"predicted_s": "baseline_s"})
    out = out.merge(base, on=others, how="left") if others else out.assign(
        baseline_s=float(base["baseline_s"].iloc[0]))
    out["ratio_to_baseline"] = out["predicted_s"] / out["baseline_s"]
    return out
