"""The answer against reality: predict a full read of 4 GiB in 64 KiB blocks from a sweep whose
largest read is 1 GiB, then read 4 GiB for real, three times, on the same targets.

1. A sweep of `host` and `local`: the default grid (B = 4k..1m, N = 1..256, read, O_DIRECT,
   queue depth 1, 3 rounds) with `--question 4g@64k`, which adds reads of 64 MiB, 256 MiB and
   1 GiB at 64 KiB (a quarter of the dataset at most).
2. `voltools predict` on it (voltools.analysis.answers.predict_table): per target the expected time, its
   95% interval and the 95% interval of one read.
3. A second sweep of the same targets reading 4 GiB in 64 KiB blocks (65536 blocks), 3 rounds:
   the real full reads, measured the same way (T_d = sum of per-I/O latencies).
Bars, per target: the prediction within 10% of the median of the three reads; each read inside
the 95% interval of one read; that interval at most +-20% of the prediction.

    .venv/bin/python benchmarks/bench_prediction.py [--quick] [--json PATH] [--repeat N]

--repeat sets the sweep's rounds (default 3, as make report; the question's reads get 5 either way).
"""
import statistics
import sys
import tempfile

import _common as c
from voltools.measuring import engine
from voltools.analysis.answers import predict_table
from voltools.api import start_sweep

TARGETS = ["host", "local"]
DATASET, BS = 4 << 30, 64 << 10
GRID = dict(bs="4k,16k,64k,256k,1m", blocks="1,16,64,256", rw="read", direct="1", iodepth="1")
ERROR_BAR, WIDTH_BAR = 0.10, 0.20


def main(argv=None):
    p = c.parser(__doc__)
    p.add_argument("--repeat", type=int, default=3, help="rounds of the sweep (default 3)")
    args = p.parse_args(argv)
    client = engine.connect()
    try:
        with tempfile.TemporaryDirectory(dir=c.DISK_PARENT) as data_dir:
            start = c.clock()
            points = start_sweep(TARGETS, repeat=args.repeat, run_id=c.run_id("pred"), data_dir=data_dir,
                                 question="4g@64k", **GRID).measure()
            sweep_s = (c.clock() - start) / 1e9
            answers = predict_table(points, DATASET, BS)
            full = start_sweep(TARGETS, bs="64k", blocks=str(DATASET // BS), rw="read", repeat=3,
                               run_id=c.run_id("full"), data_dir=data_dir).measure()
    finally:
        left = c.finish(client)
    result = summarize(answers, full, int(points["size_bytes"].max()))
    result.update(leftovers=left, load_avg_1m=c.cpu_load(), sweep_s=sweep_s, sweep_points=len(points))
    c.write(result, args.json)
    return 0 if left == 0 else 1


def summarize(answers, full, largest):
    """Figures, bars and findings: each target's prediction against its three real reads."""
    figures, bars, found = [], [], []
    for row in answers[answers["rw"] == "read"].itertuples():
        reads = full[(full["target"] == row.target) & (full["error"] == 0)]["read_time_s"].tolist()
        median = statistics.median(reads)
        error = row.mean_s / median - 1
        half = (row.high_s - row.low_s) / 2 / row.mean_s
        inside = sum(row.low_s <= r <= row.high_s for r in reads)
        figures += [c.figure(f"{row.target}: real 4 GiB reads (64 KiB blocks)", reads, "s"),
                    c.figure(f"{row.target}: predicted mean", [row.mean_s], "s",
                             f"95% mean interval [{row.mean_low_s:.2f}, {row.mean_high_s:.2f}] s"),
                    c.figure(f"{row.target}: 95% interval of one read", [row.low_s, row.high_s], "s",
                             f"holds={row.holds}, extrapolation {row.extrapolation:.1f}x, "
                             f"lack-of-fit p {row.lack_of_fit_p:.2g}")]
        bars += [c.bar(f"{row.target}: prediction within 10% of the median real read", abs(error), 0, ERROR_BAR,
                       why=f"predicted {row.mean_s:.2f} s, read {median:.2f} s", unit="relative error"),
                 c.bar(f"{row.target}: every real read inside the 95% interval of one read", inside,
                       len(reads), len(reads), why=f"{inside} of {len(reads)} inside", unit="reads"),
                 c.bar(f"{row.target}: interval of one read at most +-20%", half, 0, WIDTH_BAR,
                       why="the noise of a long read measured here is wider", unit="half-width")]
        found.append(f"{row.target}: predicted {row.mean_s:.2f} s [{row.low_s:.2f}, {row.high_s:.2f}] "
                     f"(+-{half:.0%}) for 4 GiB from reads of at most {largest >> 20} MiB; the three real "
                     f"reads took {', '.join(f'{r:.2f}' for r in reads)} s (median {median:.2f}, "
                     f"error {error:+.1%}); holds = {row.holds}.")
    return {"name": "prediction", "figures": figures, "bars": bars, "findings": found}


if __name__ == "__main__":
    sys.exit(main())
