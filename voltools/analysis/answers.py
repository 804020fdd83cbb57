"""The answer to a question (a dataset of D bytes read in B-byte blocks): per target and rw, the
expected full-read time with its interval, the interval of one read, and whether it holds."""
import math

import pandas as pd

from ..errors import FitError
from ..points import FIT_KEY, with_key_defaults
from .models import fit_read_time

FIELDS = ("mean_s", "mean_low_s", "mean_high_s", "low_s", "high_s", "extrapolation", "lack_of_fit_p", "holds")


def predict_table(points, dataset_bytes, bs_bytes):
    """One row per (target, rw) of the run: target, rw, dataset_bytes, bs_bytes and FIELDS, plus
    `why` (empty where the answer holds) and `basis` (what it rests on, in words: not in
    records). A group the model cannot fit gets holds = False. Each
    answer is its question's fit (models.fit_read_time with `question`): from the question's own
    long reads where they reach its scale."""
    blocks = math.ceil(dataset_bytes / bs_bytes)
    rows = []
    for key, group in with_key_defaults(points).groupby(list(FIT_KEY), sort=True, dropna=False):
        row = dict(zip(FIT_KEY, key), dataset_bytes=int(dataset_bytes), bs_bytes=int(bs_bytes))
        try:
            fit = fit_read_time(group, question=(blocks, bs_bytes))
            answer = fit.predict(blocks, bs_bytes)
        except FitError as exc:
            rows.append({**row, **dict.fromkeys(FIELDS, math.nan), "holds": False, "why": str(exc), "basis": ""})
            continue
        rows.append(dict(row, **{f: getattr(answer, f) for f in FIELDS}, why=answer.why,
                         basis=fit.basis(blocks, bs_bytes)))
    columns = ["target", "rw", "dataset_bytes", "bs_bytes", *FIELDS, "why", "basis", "direct", "iodepth",
               "numjobs"]
    return pd.DataFrame(rows, columns=columns).astype({"holds": bool})


def records(table):
    """The table as JSON-ready dicts (NaN as None), the fields `voltools predict --json` prints."""
    out = []
    for row in table.drop(columns=["basis", "direct", "iodepth", "numjobs"]).to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else _plain(v)) for k, v in row.items()})
    return out


def _plain(value):
    return value.item() if hasattr(value, "item") else value
