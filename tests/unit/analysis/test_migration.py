"""The move-time fit on simulated copies: T_0 and beta_move recovered within their intervals, the
interval of a move covering new moves about as often as it says, and the holds rules."""
import numpy as np
import pandas as pd
import pytest

from voltools.analysis.migration import fit_move, fit_moves, fits_display, predict_move, records
from voltools.errors import FitError

MIB = 1 << 20
T0, BETA, REL_SD = 0.08, 300 * MIB, 0.05


def _moves(sizes, repeat=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"source": "local", "destination": "dest", "size_bytes": v, "repeat": r,
             "seconds": (T0 + v / BETA) * (1 + REL_SD * rng.standard_normal())}
            for v in sizes for r in range(repeat)]
    return pd.DataFrame(rows)


def test_the_fit_finds_t0_and_beta_within_its_intervals():
    fit = fit_move(_moves([8 * MIB, 16 * MIB, 32 * MIB, 64 * MIB]))
    assert fit.t0_low_s < T0 < fit.t0_high_s and fit.beta_low < BETA < fit.beta_high
    assert fit.moves == 12 and fit.sizes == 4 and fit.largest_bytes == 64 * MIB


def test_one_move_interval_covers_unseen_moves_at_about_its_level():
    inside = 0
    for seed in range(200):
        fit = fit_move(_moves([8 * MIB, 16 * MIB, 32 * MIB], seed=seed))
        p = predict_move(fit, 64 * MIB)
        new = (T0 + 64 * MIB / BETA) * (1 + REL_SD * np.random.default_rng(10_000 + seed).standard_normal())
        inside += p.low_s <= new <= p.high_s
        assert p.holds and p.extrapolation == 2.0
    assert 0.88 <= inside / 200 <= 0.99, inside


def test_a_prediction_far_beyond_the_copies_does_not_hold():
    p = predict_move(fit_move(_moves([8 * MIB, 16 * MIB, 32 * MIB])), 40 << 30)
    assert not p.holds and "1.28e+03x the largest copy measured" in p.why
    two = predict_move(fit_move(_moves([8 * MIB, 16 * MIB])), 16 * MIB)
    assert not two.holds and "only 2 sizes" in two.why


def test_too_few_copies_is_a_fit_error():
    with pytest.raises(FitError, match="at least 2 sizes"):
        fit_move(_moves([8 * MIB], repeat=5))


def test_records_are_plain_values_per_pair():
    table = pd.concat([_moves([8 * MIB, 16 * MIB, 32 * MIB]),
                       _moves([8 * MIB, 16 * MIB, 32 * MIB], seed=1).assign(source="tmpfs")])
    rows = records(fit_moves(table), 64 * MIB)
    assert [(r["source"], r["destination"]) for r in rows] == [("local", "dest"), ("tmpfs", "dest")]
    assert all(r["holds"] and r["low_s"] < r["mean_s"] < r["high_s"] for r in rows)


def test_fits_display_says_each_pair_in_words_and_units():
    table = fits_display(fit_moves(_moves([8 * MIB, 16 * MIB, 32 * MIB])), 64 * MIB)
    row = table.iloc[0]
    assert list(table.columns) == ["from", "to", "copies", "T_0", "beta_move", "expected move", "holds"]
    assert (row["from"], row["to"], row["copies"], row["holds"]) == ("local", "dest", 9, "yes")
    assert row["beta_move"].endswith("MiB/s]") and row["T_0"].endswith("]") and " s [" in row["T_0"]


@pytest.mark.parametrize("rel_sd,kind", [(0.10, "lognormal"), (0.35, "gamma")])
def test_move_intervals_cover_at_realistic_noise(rel_sd, kind):
    """The test's design (8 copies of 64-256 MiB, 512 MiB predicted) at 10% and 35% noise, 400
    simulated datasets each: the interval of the expected move covers the truth, and that of one
    move a new move, in 92-98% (measured 2026-11-27 at 500 datasets: 94.0-95.8%; bias under 0.5%)."""
    t0, beta, n = 0.1, 600 * MIB, 400
    mean_in = one_in = 0
    for seed in range(n):
        rng = np.random.default_rng(seed)

        def noise(k):
            if kind == "gamma":
                return rng.gamma(rel_sd**-2, rel_sd**2, k)
            return np.exp(rng.normal(-rel_sd**2 / 2, rel_sd, k))
        sizes = np.repeat(np.array([64, 128, 192, 256]) * MIB, 8)
        moves = pd.DataFrame({"source": "a", "destination": "b", "size_bytes": sizes,
                              "seconds": (t0 + sizes / beta) * noise(len(sizes))})
        p = predict_move(fit_move(moves), 512 * MIB)
        truth = t0 + 512 * MIB / beta
        mean_in += p.mean_low_s <= truth <= p.mean_high_s
        one_in += p.low_s <= truth * noise(1)[0] <= p.high_s
    assert 0.92 <= mean_in / n <= 0.98 and 0.92 <= one_in / n <= 0.98, (mean_in, one_in)
