"""The move-time model: T_move = T_0 + V / beta_move, fitted per (source, destination).

Fitted by statsmodels WLS on the regressors (1, V). A copy's scatter grows with its time (it is
relative, as a read's is), so the weights are 1 / T_hat^2 on the fitted mean (an OLS fit first,
then refitted on its own means until they settle), not on the observed times; the scale of the
fit is then the relative variance of one copy. `get_prediction` gives the interval of the expected
time of a move of V bytes (mean) and of one move (obs, with the weight of that V). A prediction
says how far it extrapolates (V over the largest V measured) and whether the model holds there,
by the read model's rules (`models.EXTRAPOLATION_MAX`): at most 4x the largest copy measured, a
per-byte time surely above zero, at least 3 sizes measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import FitError
from .models import EXTRAPOLATION_MAX, LEVEL

MIN_SIZES = 3
_ROUNDS = 10


@dataclass(frozen=True)
class MoveFit:
    """T_0 and beta_move of one (source, destination), with their intervals at `level`."""

    source: str
    destination: str
    t0_s: float
    t0_low_s: float
    t0_high_s: float
    beta_bytes_per_s: float
    beta_low: float
    beta_high: float
    moves: int
    sizes: int
    largest_bytes: int
    level: float
    result: object = None  # the statsmodels WLS results

    def predict(self, size_bytes):
        return predict_move(self, size_bytes)


@dataclass(frozen=True)
class MovePrediction:
    """How long a move of `size_bytes` takes: expected time and one move's interval, whether it holds."""

    source: str
    destination: str
    size_bytes: int
    mean_s: float
    mean_low_s: float
    mean_high_s: float
    low_s: float
    high_s: float
    extrapolation: float
    holds: bool
    why: str


def _weighted(x, y):
    """WLS of y on (1, x) with weights 1 / fitted mean^2, refitted until the means settle."""
    exog = sm.add_constant(x.astype(float), has_constant="add")
    mean = sm.OLS(y, exog).fit().fittedvalues
    for _ in range(_ROUNDS):
        weights = 1.0 / np.maximum(mean, y.min() * 0.1) ** 2
        result = sm.WLS(y, exog, weights=weights).fit()
        settled = np.allclose(result.fittedvalues, mean, rtol=1e-9)
        mean = result.fittedvalues
        if settled:
            break
    return result


def fit_move(moves, level=LEVEL):
    """MoveFit of a frame of one (source, destination)'s copies (size_bytes, seconds)."""
    sizes = moves["size_bytes"].nunique()
    if sizes < 2 or len(moves) < 3:
        raise FitError(f"a move-time fit needs copies of at least 2 sizes, 3 in all; got {len(moves)} of {sizes}")
    result = _weighted(moves["size_bytes"].to_numpy(float), moves["seconds"].to_numpy(float))
    (t0, slope), ci = result.params, result.conf_int(1 - level)
    beta_low = 1.0 / ci[1, 1] if ci[1, 1] > 0 else np.nan
    beta_high = 1.0 / ci[1, 0] if ci[1, 0] > 0 else np.inf
    return MoveFit(str(moves["source"].iloc[0]), str(moves["destination"].iloc[0]), float(t0), float(ci[0, 0]),
                   float(ci[0, 1]), 1.0 / slope if slope > 0 else np.nan, float(beta_low), float(beta_high),
                   len(moves), int(sizes), int(moves["size_bytes"].max()), level, result)


def fit_moves(table, level=LEVEL):
    """A MoveFit per (source, destination) of a migration table."""
    return [fit_move(group, level) for _, group in table.groupby(["source", "destination"], sort=False)]


def predict_move(fit, size_bytes):
    """The expected time of moving `size_bytes` and one move's interval, with whether it holds.
    A lower bound below zero (a per-byte time not surely above zero) is cut at zero: a move takes
    no negative time, and the cut changes no interval's coverage."""
    exog = np.array([[1.0, float(size_bytes)]])
    mean = float(fit.result.predict(exog)[0])
    frame = fit.result.get_prediction(exog, weights=1.0 / max(mean, 1e-12) ** 2).summary_frame(1 - fit.level)
    extrapolation = float(size_bytes) / fit.largest_bytes
    why = _why_not(fit, extrapolation)
    low, mean_low = (max(float(frame[col].iloc[0]), 0.0) for col in ("obs_ci_lower", "mean_ci_lower"))
    return MovePrediction(fit.source, fit.destination, int(size_bytes), mean, mean_low,
                          float(frame["mean_ci_upper"].iloc[0]), low, float(frame["obs_ci_upper"].iloc[0]),
                          extrapolation, not why, why)


def _why_not(fit, extrapolation):
    """'' when the model holds at this extrapolation, else every reason it does not, joined."""
    why = [f"only {fit.sizes} sizes measured (needs {MIN_SIZES})" if fit.sizes < MIN_SIZES else "",
           "the per-byte time is not surely above zero" if not np.isfinite(fit.beta_high) else "",
           f"{extrapolation:.3g}x the largest copy measured (at most {EXTRAPOLATION_MAX:g}x)"
           if extrapolation > EXTRAPOLATION_MAX else ""]
    return "; ".join(filter(None, why))


def records(fits, size_bytes=None):
    """Plain dicts of the fits (and of their predictions of a move of `size_bytes`), for JSON and tables."""
    rows = []
    for fit in fits:
        row = {k: getattr(fit, k) for k in ("source", "destination", "t0_s", "t0_low_s", "t0_high_s",
                                            "beta_bytes_per_s", "beta_low", "beta_high", "moves", "sizes",
                                            "largest_bytes")}
        if size_bytes:
            p = predict_move(fit, size_bytes)
            row.update(move_bytes=p.size_bytes, mean_s=p.mean_s, mean_low_s=p.mean_low_s,
                       mean_high_s=p.mean_high_s, low_s=p.low_s, high_s=p.high_s,
                       extrapolation=p.extrapolation, holds=p.holds, why=p.why)
        rows.append({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()})
    return rows


def moves_frame(moves):
    """Moves (measuring.migrate.Move) as a frame."""
    return pd.DataFrame([vars(m) for m in moves], columns=["source", "destination", "size_bytes", "repeat",
                                                            "seconds"])


def fits_display(fits, size_bytes):
    """The fits and their prediction of a move of `size_bytes` in words and units, one row per pair."""
    from ..formatting import rate_text, sig

    def beta_text(value):
        return "∞" if not np.isfinite(value) else rate_text(value)

    def seconds(mean, low, high):  # one unit for a value and its interval
        return f"{sig(mean)} s [{sig(low)}, {sig(high)}]"
    rows = []
    for fit in fits:
        p = predict_move(fit, size_bytes)
        rows.append({"from": fit.source, "to": fit.destination, "copies": fit.moves,
                     "T_0": seconds(fit.t0_s, fit.t0_low_s, fit.t0_high_s),
                     "beta_move": f"{beta_text(fit.beta_bytes_per_s)} [{beta_text(fit.beta_low)}, "
                                  f"{beta_text(fit.beta_high)}]",
                     "expected move": seconds(p.mean_s, p.mean_low_s, p.mean_high_s),
                     "holds": "yes" if p.holds else f"no: {p.why}"})
    return pd.DataFrame(rows)
