"""Does the read-time fit tell the truth? Simulated sweeps with known parameters, 500 per case.

Each dataset looks like what `voltools sweep --question 40g@64k` measures: the small grid (B = 4k,
16k, 64k, 256k, 1m x N = 1, 16, 64, 256) plus N log-spaced from 1024 up to a quarter of the
dataset at the question's B (1024, 3641, 12953, 46069, 163840 blocks of 64 KiB), 3 repeats each
for the grid and 5 for the question's reads, as `sweep` measures them (plan.QUESTION_REPEAT): a
round's reads at a block size that one replayed call can hold (replay.CALL_IOS, CALL_BYTES: all
but the question's two largest) are one read of the largest N, the smaller N its first blocks
(replay.reads; the fit takes the read apart into disjoint stretches), each stretch with its own
noise (the relative sd below is a stretch's). One case reads every point on its own
(`--no-prefix`, as sweeps did before). Diagnostic cases (figures, no bars), each both ways
(prefix reads, every point on its own): a level shared by every read of a round (the disk's state
then), or by the stretches of a read, which breaks the fit's assumption that reads are
independent (this machine's long reads correlate 0.17-0.62 between reads of a round and
0.47-0.77 between stretches of a read); and make report's question, 4 GiB answered from reads of
64 MiB-1 GiB, every one of them a prefix of the 1 GiB read.
True parameters like the sample's disk targets: T_0 = 250 us, c = 0.6 ms/MiB, alpha = 40 us,
beta = 1.3 GB/s; noise multiplicative with mean 1 (lognormal; gamma in one case) whose relative
sd is 2%, 10% or 34% at every size, or falls with the time read as this machine's does
(sd = 7% + 18% min(1, sqrt(1 ms / T)): 25% for a read of 1 ms or less, 7.1% for a 40 GiB one).

Per case it reports, for the 40 GiB question (N = 655,360 at 64 KiB): the bias of the expected
time, how often the 95% interval of the expected time covers the truth, how often the 95%
interval of one read covers a new read and how wide it is (also at 4 GiB), how often the model
is said to hold; with fast outliers (3 random reads x0.2, or 1 read x0.2 at the largest N) how
far beta moves from the clean fit, how far deleting those reads alone moves it (the best any rule
that leaves them out can do), and how far the outliers themselves move it (the fit with them
against the fit with those reads deleted); with beta halving beyond 64 MiB or 1 GiB of data read, how often `holds` is
false, overall and where the data the answer rests on show the change (a Wald t test of a hinge at
the known change point, p < 0.01, by statsmodels with the fit's weights: on the question's own
line where the fit has one, else on the whole model), and how often a wrong answer is said to
hold (holds, and the interval of the expected time misses the truth). Two cases simulate this
machine's disk, whose long reads cost 10% more per block than the grid's (beside the line's
figures, the whole grid's model's). The answers are the
question's fit (fit_read_time with `question`: its own line through the reads of 810 MiB-10 GiB);
the outlier figures are of beta in the fit of the whole grid, the report's. Rates come with a 95% Wilson
interval as min-max.

    .venv/bin/python benchmarks/bench_coverage.py [--quick] [--datasets 500] [--workers N] [--json PATH]
"""
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from multiprocessing import Pool

import numpy as np
import pandas as pd
import statsmodels.api as sm

import _common as c
from voltools.analysis import models
from voltools.measuring import replay
from voltools.points import read_ids
from voltools.measuring.plan import QUESTION_REPEAT

MIB, GIB = 1 << 20, 1 << 30
T0, C, ALPHA, BETA = 250e-6, 0.6e-3 / MIB, 40e-6, 1.3e9
SMALL_N, SMALL_B = (1, 16, 64, 256), (4096, 16384, 65536, 262144, 1048576)
QUESTION_BYTES, QUESTION_BS = 40 * GIB, 64 * 1024
QUESTION_N = QUESTION_BYTES // QUESTION_BS
CHECK_N = 4 * GIB // QUESTION_BS  # a 4 GiB read, inside the measured range
REPEATS = 3           # the grid's (--repeat 3)
QUESTION_ROUNDS = QUESTION_REPEAT  # the question's reads: sweep measures them in 5 rounds
SHRINK_FROM, SHRINK_TO = 0.25, 0.07


def large_ns(top=QUESTION_N // 4, count=5, start=1024):
    """Block counts log-spaced from `start` up to `top` (a quarter of the dataset by default)."""
    return tuple(int(round(n)) for n in np.geomspace(start, top, count))


@dataclass(frozen=True)
class Case:
    """One simulated situation: noise, a regime change, the grid, outliers."""

    name: str
    noise: str = "lognormal"       # lognormal | gamma
    level: float = 0.10            # relative sd; for "shrinking", ignored
    shrinking: bool = False
    change_bytes: float = math.inf  # beta halves for data read beyond this
    large: tuple = large_ns()
    outliers: bool = False
    slower: float = 1.0             # the question's long reads: per-block time x this (this disk: 1.05-1.12)
    prefix: bool = True             # as sweep reads: the smaller N of a round and B the first blocks of the largest
    round_sd: float = 0.0           # a level every read of a round shares (the disk's state then), relative sd
    read_sd: float = 0.0            # a level the stretches of one read share, relative sd
    diagnostic: bool = False        # figures only: a case beyond the issue's, no bars
    question_n: int = QUESTION_N    # the question's blocks at QUESTION_BS


def cases():
    """The cases of the Done-when: noise levels, the realistic noise, regime changes."""
    noise = [Case("noise 2%", level=0.02), Case("noise 10%", level=0.10), Case("noise 34%", level=0.34),
             Case("noise 34% gamma", noise="gamma", level=0.34),
             Case("noise 25% to 7% (realistic)", shrinking=True)]
    own = [Case("every point read on its own (--no-prefix), noise 10%", level=0.10, prefix=False)]
    for shared, label in (("round_sd", "every read of a round shares a level of sd 7%"),
                          ("read_sd", "the stretches of a read share a level of sd 7%")):
        for prefix, how in ((True, "prefix reads"), (False, "every point read on its own")):
            own.append(Case(f"{label}, noise 10%, {how}", level=0.10, prefix=prefix, diagnostic=True,
                            **{shared: 0.07}))
    report = dict(question_n=CHECK_N, large=(1024, 4096, 16384), diagnostic=True)  # make report's 4g@64k
    for prefix, how in ((True, "prefix reads"), (False, "every point read on its own")):
        own += [Case(f"make report's question (4 GiB; reads of 64 MiB-1 GiB), noise 10%, {how}", level=0.10,
                     prefix=prefix, **report),
                Case(f"make report's question (4 GiB), realistic noise, rounds share a level of sd 7%, {how}",
                     shrinking=True, round_sd=0.07, prefix=prefix, **report)]
    out = [Case(f"outliers, {k.name}", k.noise, k.level, k.shrinking, outliers=True) for k in noise]
    regime = []
    for change, label in ((64 * MIB, "64 MiB"), (GIB, "1 GiB")):
        for base in (noise[0], noise[1], noise[2], noise[4]):
            regime.append(Case(f"beta halves past {label}, data beyond, {base.name}", base.noise,
                               base.level, base.shrinking, change_bytes=change))
    regime += [Case(f"beta halves past 1 GiB, data beyond, {base.name}, every point read on its own",
                    base.noise, base.level, prefix=False, change_bytes=GIB, diagnostic=True)
               for base in (noise[0], noise[1])]
    regime += [
        Case("long reads 10% slower per block than the grid (this disk), noise 10%", slower=1.10),
        Case("long reads 10% slower per block than the grid (this disk), noise 25% to 7% (realistic)",
             shrinking=True, slower=1.10),
        Case("beta halves past 1 GiB, no data beyond (N <= 16384), noise 10%", change_bytes=GIB,
             large=large_ns(top=GIB // QUESTION_BS, count=3)),
        Case("beta halves past 64 MiB, small grid only (N <= 256), noise 10%", change_bytes=64 * MIB,
             large=()),
        Case("beta halves past 16 GiB, beyond the largest read (10 GiB), noise 10%",
             change_bytes=16 * GIB)]
    return noise + own + out + regime


def true_time(case, n, b):
    """Expected read time; the streaming part costs twice as much beyond change_bytes."""
    n, b = np.asarray(n, float), np.asarray(b, float)
    data = n * b
    stream = (np.minimum(data, case.change_bytes) + 2 * np.maximum(0.0, data - case.change_bytes)) / BETA
    per_block = n * ALPHA + stream
    slow = (b == QUESTION_BS) & (n >= min(case.large, default=math.inf))
    return T0 + C * b + np.where(slow, case.slower, 1.0) * per_block


def rel_sd(case, mean_s):
    if case.shrinking:
        return SHRINK_TO + (SHRINK_FROM - SHRINK_TO) * np.minimum(1.0, np.sqrt(1e-3 / np.asarray(mean_s)))
    return np.full(np.shape(mean_s), case.level)


def draw(case, mean_s, rng):
    """Reads with mean `mean_s` and the case's multiplicative noise (mean 1)."""
    sd = rel_sd(case, mean_s)
    if case.noise == "gamma":
        shape = 1.0 / sd**2
        return mean_s * rng.gamma(shape, 1.0 / shape)
    sigma = np.sqrt(np.log1p(sd**2))
    return mean_s * np.exp(sigma * rng.standard_normal(np.shape(mean_s)) - sigma**2 / 2)


def dataset(case, rng):
    """A points table of one simulated sweep: with `prefix`, each round's points at a block size
    are one read, drawn stretch by stretch (each its own noise) and summed; else each its own."""
    cells = [(n, b, r) for r in range(REPEATS) for b in SMALL_B for n in SMALL_N]
    cells += [(n, QUESTION_BS, r) for r in range(QUESTION_ROUNDS) for n in case.large]
    df = pd.DataFrame(cells, columns=["blocks", "bs_bytes", "repeat"]).astype(float)
    df = df.sort_values(["repeat", "bs_bytes", "blocks"], ignore_index=True)
    df = df.assign(target="sim", rw="read", direct=1, iodepth=1, error=0, run_id="sim",
                   seq=np.arange(len(df)), repeat=df["repeat"].astype(int), round=df["repeat"].astype(int))
    mean = true_time(case, df["blocks"], df["bs_bytes"])
    n, b = df["blocks"].to_numpy(), df["bs_bytes"].to_numpy()
    shared = case.prefix & (n <= replay.CALL_IOS) & (n * b <= replay.CALL_BYTES)  # what sweep replays
    key = np.where(shared, df["repeat"] * 1e7 + b / 4096, -1.0 - df["seq"])
    largest = df["seq"].groupby(key).transform("last")
    df["prefix_of"] = np.where(df["seq"] == largest, np.nan, largest)
    stretch = mean - pd.Series(mean).groupby(key).shift().fillna(0.0).to_numpy()
    level = _levels(case.round_sd, df["repeat"], rng) * _levels(case.read_sd, largest, rng)
    return cumulate(df, draw(case, stretch, rng) * level)


def _levels(sd, groups, rng):
    """A lognormal factor of mean 1 and relative sd `sd` per group, on each row (1 where sd is 0)."""
    if not sd:
        return np.ones(len(groups))
    codes, labels = pd.factorize(np.asarray(groups))
    sigma = math.sqrt(math.log1p(sd**2))
    return np.exp(sigma * rng.standard_normal(len(labels)) - sigma**2 / 2)[codes]


def cumulate(df, stretch):
    """The table with read_time_s the running sum of `stretch` over each read's rows (by N)."""
    order = df.sort_values("blocks", kind="stable").index
    total = pd.Series(np.asarray(stretch, float), index=df.index).loc[order].groupby(read_ids(df).loc[order]).cumsum()
    return df.assign(read_time_s=total.reindex(df.index).to_numpy())


def stretches(df):
    """Each row's own stretch of its read: its read time less its read's next smaller row's."""
    order = df.sort_values("blocks", kind="stable").index
    t = df["read_time_s"].loc[order]
    return np.array((t - t.groupby(read_ids(df).loc[order]).shift().fillna(0.0)).reindex(df.index), dtype=float)


def evaluate(args):
    """Outcomes of one dataset of one case (seeded): a dict of numbers and flags."""
    case, seed = args
    rng = np.random.default_rng(seed)
    df = dataset(case, rng)
    truth = float(true_time(case, case.question_n, QUESTION_BS))
    fit = models.fit_read_time(df, question=(case.question_n, QUESTION_BS))
    p = fit.predict(case.question_n, QUESTION_BS)
    q4 = fit.predict(CHECK_N, QUESTION_BS)
    again = [_levels(case.round_sd, [0], rng)[0] * _levels(case.read_sd, [0], rng)[0] for _ in range(2)]
    new = float(draw(case, np.array([truth]), rng)[0]) * again[0]
    new4 = float(draw(case, np.array([float(true_time(case, CHECK_N, QUESTION_BS))]), rng)[0]) * again[1]
    out = {"bias": p.mean_s / truth - 1, "mean_covers": p.mean_low_s <= truth <= p.mean_high_s,
           "read_covers": p.low_s <= new <= p.high_s, "half_width": (p.high_s - p.low_s) / 2 / p.mean_s,
           "read_covers_4g": q4.low_s <= new4 <= q4.high_s,
           "half_width_4g": (q4.high_s - q4.low_s) / 2 / q4.mean_s,
           "holds": bool(p.holds), "fit_holds": fit.holds, "lof_rejects": fit.lack_of_fit_p < 0.01,
           "extrapolation": p.extrapolation, "false_outliers": fit.outliers, "on_line": fit.line is not None}
    if math.isfinite(case.change_bytes):
        out["shows_change"] = shows_change(fit, case.change_bytes)
    if case.outliers:
        out.update(outlier_effects(df, models.fit_read_time(df), rng))
    if case.slower != 1.0:
        whole = models.fit_read_time(df).predict(case.question_n, QUESTION_BS)
        out.update(whole_bias=whole.mean_s / truth - 1, whole_holds=bool(whole.holds),
                   whole_covers=whole.mean_low_s <= truth <= whole.mean_high_s)
    return out


def shows_change(fit, change_bytes):
    """Do the points the answer rests on show the change? A hinge max(0, N B - change) added to
    their model, statsmodels' Wald p < 0.01 (with the fit's weights), on Student's t: the scale is
    estimated, from 12 degrees of freedom on a line of 3 cells read 5 times, where the normal
    reference (statsmodels' default) called a change shown at p = 0.007 that the F test on the
    same reads puts at 0.019. Where the fit has the question's line: its long reads alone, their
    line's two columns and the hinge, the grid's part of each read (a stretch that starts before
    the line does has one) taken from the fit as an offset; else the whole model on every fitted
    point. Stretches of a read (first_blocks > 0) take the difference of each column. False where
    no such point lies beyond the change, or none before it on a line."""
    n, b, t, w, f = fit.blocks, fit.bs_bytes, fit.read_time_s, fit.var_weights, fit.first_blocks
    X = models.read_time_design(n, b, fit.line, first=f)
    offset = np.zeros(len(t))
    if fit.line is not None:
        on = fit.on_line(n, b)
        offset, X = (X[:, :4] @ fit.params)[on], X[on][:, 4:]
        n, b, t, w, f = n[on], b[on], t[on], w[on], f[on]
    hinge = np.maximum(0.0, n * b - change_bytes) - np.maximum(0.0, f * b - change_bytes)  # a stretch's share
    if not hinge.any() or (fit.line is not None and hinge.all()):
        return False
    X = np.column_stack([X, hinge])
    X = X / np.abs(X).max(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(t, X, family=sm.families.Gamma(sm.families.links.Identity()), offset=offset,
                     var_weights=w).fit(scale="X2", use_t=True)
    return bool(res.pvalues[-1] < 0.01)


def outlier_effects(df, clean, rng):
    """Beta's relative move when 3 random reads, or 1 read at the largest N, run x0.2 faster."""
    out = {}
    for tag, pool in (("random3", np.arange(len(df))),
                      ("largest_n", np.flatnonzero(df["blocks"].to_numpy() == df["blocks"].max()))):
        hit = rng.choice(pool, 3 if tag == "random3" else 1, replace=False)
        own = stretches(df)
        own[hit] *= 0.2  # fast reads (stretches of a read where rows share one)
        bad = cumulate(df, own)
        fit = models.fit_read_time(bad)
        out[f"beta_shift_{tag}"] = fit.beta_bytes_per_s / clean.beta_bytes_per_s - 1
        out[f"caught_{tag}"] = (fit.outliers - clean.outliers) / len(hit)
        deleted = models.fit_read_time(df.drop(index=df.index[hit]))
        out[f"beta_shift_deleted_{tag}"] = deleted.beta_bytes_per_s / clean.beta_bytes_per_s - 1
        out[f"beta_shift_own_{tag}"] = fit.beta_bytes_per_s / deleted.beta_bytes_per_s - 1
    return out


# ---------------------------------------------------------------- summaries

def wilson(hits, n, z=1.96):
    """95% Wilson interval of a rate."""
    if n == 0:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (centre - half, centre + half)


def rate(name, flags, note=""):
    """A rate in % as a figure: median = the rate, min-max = its 95% Wilson interval, n = datasets."""
    flags = [bool(f) for f in flags]
    lo, hi = wilson(sum(flags), len(flags))
    if not flags:
        return {"name": name, "unit": "%", "note": "no dataset", "median": None, "min": None,
                "max": None, "q1": None, "q3": None, "n": 0, "values": []}
    return {"name": name, "unit": "%", "note": note or "min-max: 95% Wilson interval",
            "median": 100 * sum(flags) / len(flags), "min": 100 * lo, "max": 100 * hi,
            "q1": None, "q3": None, "n": len(flags), "values": []}


def mean_figure(name, values, note=""):
    """A mean in % as a figure: median = the mean, min-max = mean -+ 1.96 standard errors."""
    vals = 100 * np.asarray(values, float)
    m, se = float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(len(vals)))
    return {"name": name, "unit": "%", "note": note or "min-max: mean -+ 1.96 se",
            "median": m, "min": m - 1.96 * se, "max": m + 1.96 * se, "q1": None, "q3": None,
            "n": len(vals), "values": []}


def spread(name, values):
    """Median, range and quartiles of a share, in %."""
    return c.figure(name, [100 * float(v) for v in values], "%")


def summarise(case, rows):
    """Figures and bars of one case (shares in %)."""
    d = pd.DataFrame(rows)
    k = case.name
    figures, bars = [], []
    if not math.isfinite(case.change_bytes) and not case.outliers and case.diagnostic:
        figures += [mean_figure(f"{k}: bias of the 40 GiB expected time", d["bias"]),
                    rate(f"{k}: 95% interval of the expected time covers the truth", d["mean_covers"]),
                    rate(f"{k}: 95% interval of one read covers a new read (40 GiB)", d["read_covers"]),
                    rate(f"{k}: interval of one read covers a new read (4 GiB)", d["read_covers_4g"]),
                    rate(f"{k}: the model holds at 40 GiB (true model)", d["holds"])]
    elif not math.isfinite(case.change_bytes) and not case.outliers:
        figures += [mean_figure(f"{k}: bias of the 40 GiB expected time", d["bias"]),
                    rate(f"{k}: 95% interval of the expected time covers the truth", d["mean_covers"]),
                    rate(f"{k}: 95% interval of one read covers a new read (40 GiB)", d["read_covers"]),
                    spread(f"{k}: half-width of the interval of one read (40 GiB)", d["half_width"]),
                    rate(f"{k}: interval of one read covers a new read (4 GiB)", d["read_covers_4g"]),
                    spread(f"{k}: half-width of the interval of one read (4 GiB)", d["half_width_4g"]),
                    rate(f"{k}: the model holds at 40 GiB (true model)", d["holds"]),
                    rate(f"{k}: lack of fit rejects the true model (p < 0.01)", d["lof_rejects"]),
                    mean_figure(f"{k}: reads left out as fast outliers (true model, per dataset)",
                                d["false_outliers"] / 100, "mean count; min-max: mean -+ 1.96 se")]
        figures[-1]["unit"] = "reads"
        bias, cover, read = (figures[i]["median"] for i in (0, 1, 2))
        bars += [c.bar(f"{k}: absolute bias of the 40 GiB prediction under 1%", abs(bias), None, 1.0,
                       unit="%", why=f"bias {bias:+.2f}%"),
                 c.bar(f"{k}: interval of the expected time covers the truth in 90-98%", cover, 90.0,
                       98.0, unit="%", why=f"coverage {cover:.1f}%"),
                 c.bar(f"{k}: interval of one read covers a new read in ~95% (93-98%)", read, 93.0,
                       98.0, unit="%", why=f"coverage {read:.1f}%")]
        if case.slower != 1.0:
            held = d["whole_holds"].astype(bool)
            figures += [mean_figure(f"{k}: the whole grid's model (no line): bias of the 40 GiB expected time",
                                    d["whole_bias"]),
                        rate(f"{k}: the whole grid's model (no line): holds", held),
                        rate(f"{k}: the whole grid's model (no line): a wrong answer said to hold",
                             held & ~d["whole_covers"].astype(bool))]
        if case.shrinking:
            width = 100 * float(np.median(d["half_width_4g"]))
            bars.append(c.bar(f"{k}: interval of one read at 4 GiB within +-20%", width, None, 20.0,
                              unit="%", why=f"median half-width {width:.1f}%"))
    if case.outliers:
        for tag, label in (("random3", "3 random reads x0.2"), ("largest_n", "1 read x0.2 at the largest N")):
            shift = d[f"beta_shift_{tag}"].abs()
            deleted = d[f"beta_shift_deleted_{tag}"].abs()
            own = d[f"beta_shift_own_{tag}"].abs()
            figures += [spread(f"{k}, {label}: absolute move of beta", shift),
                        spread(f"{k}, {label}: absolute move of beta when those reads are deleted "
                               "(the best any rule that leaves them out can do)", deleted),
                        rate(f"{k}, {label}: deleting those reads moves beta more than 5%", deleted > 0.05),
                        rate(f"{k}, {label}: beta moves more than 5%", shift > 0.05),
                        spread(f"{k}, {label}: absolute move of beta by the outliers themselves "
                               "(fit with them against the fit with those reads deleted)", own),
                        rate(f"{k}, {label}: the outliers themselves move beta more than 5%", own > 0.05),
                        mean_figure(f"{k}, {label}: outliers left out (net of the clean fit's)",
                                    d[f"caught_{tag}"])]
            worst = 100 * float(shift.quantile(0.99))
            floor = 100 * float(deleted.quantile(0.99))
            themselves = 100 * float(own.quantile(0.99))
            bars.append(c.bar(f"{k}, {label}: beta moves at most 5% (99th percentile)", worst, None, 5.0,
                              unit="%", why=f"99th percentile {worst:.1f}%, max {100 * shift.max():.1f}%; "
                                            f"deleting the outlying reads alone moves it {floor:.1f}%, "
                                            f"the outliers themselves {themselves:.1f}% "
                                            "(99th percentiles)"))
    if math.isfinite(case.change_bytes):
        shows = d["shows_change"].astype(bool)
        not_holds = ~d["holds"].astype(bool)
        figures += [rate(f"{k}: the data show the change (hinge test)", shows),
                    rate(f"{k}: holds = false at 40 GiB", not_holds),
                    rate(f"{k}: holds = false where the data show the change", not_holds[shows]),
                    rate(f"{k}: interval of the expected time covers the truth", d["mean_covers"]),
                    rate(f"{k}: answered from the question's own line", d["on_line"])]
        figures.append(rate(f"{k}: a wrong answer said to hold (holds, and the interval of the expected "
                            "time misses the truth)", ~not_holds & ~d["mean_covers"].astype(bool)))
        figures.append(mean_figure(f"{k}: bias of the 40 GiB expected time where it holds",
                                   d["bias"][~not_holds] if (~not_holds).sum() > 1 else [0.0, 0.0]))
        if case.diagnostic:
            pass
        elif shows.any():
            hit = 100 * float(not_holds[shows].mean())
            bars.append(c.bar(f"{k}: holds = false whenever the data show the change", hit, 99.0, None,
                              unit="%", why=f"{hit:.1f}% of the {int(shows.sum())} datasets that show it"))
        elif d["extrapolation"].iloc[0] > models.EXTRAPOLATION_MAX:
            hit = 100 * float(not_holds.mean())
            bars.append(c.bar(f"{k}: holds = false (extrapolated {d['extrapolation'].iloc[0]:.0f}x)", hit,
                              100.0, None, unit="%", why=f"{hit:.1f}%"))
    return figures, bars


def run(case_list, datasets, workers, seed=20261127):
    """{case name: list of outcomes}, datasets seeded seed + case index * 100000 + i."""
    jobs = [(case, seed + ci * 100_000 + i) for ci, case in enumerate(case_list) for i in range(datasets)]
    if workers > 1:
        with Pool(workers) as pool:
            outcomes = pool.map(evaluate, jobs, chunksize=max(1, len(jobs) // (workers * 20)))
    else:
        outcomes = [evaluate(j) for j in jobs]
    out = {case.name: [] for case in case_list}
    for (case, _), row in zip(jobs, outcomes):
        out[case.name].append(row)
    return out


def main(argv=None):
    p = c.parser(__doc__)
    p.add_argument("--datasets", type=int, default=None, help="datasets per case (default 500, --quick 40)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--cases", default="", help="only the cases whose name holds this text")
    args = p.parse_args(argv)
    datasets = args.datasets or (40 if args.quick else 500)
    start = time.perf_counter()
    case_list = [k for k in cases() if args.cases in k.name]
    outcomes = run(case_list, datasets, args.workers)
    figures, bars = [], []
    for case in case_list:
        f, b = summarise(case, outcomes[case.name])
        figures += f
        bars += b
    wall = time.perf_counter() - start
    result = {"name": "coverage", "datasets_per_case": datasets, "figures": figures, "bars": bars,
              "findings": [f"{datasets} simulated sweeps per case, {len(case_list)} cases, "
                           f"{wall:.0f} s on {args.workers} worker(s). Question: 40 GiB in 64 KiB "
                           f"blocks (N = {QUESTION_N:,}); large N at 64 KiB: "
                           f"{', '.join(map(str, large_ns()))}."],
              "load_avg_1m": c.cpu_load()}
    c.write(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
