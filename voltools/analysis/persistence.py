"""The article's persistence claims next to what `voltools persist` measured: a target x check
table of outcomes with the blocks verified, for the report and notebooks. Pure: frames in, frames out."""
from __future__ import annotations

import pandas as pd

# check -> the claim of the source article it tests
CLAIMS = {
    "container_replaced": "data written through a volume stays unchanged when the container is replaced",
    "shared": "several containers can read and write the same volume at once",
    "no_holder": "a volume is a storage layer independent of any container's life",
    "engine_restarted": "the data survives the container engine restarting",
}


def outcome_text(row):
    """'passed, 512/512 blocks' or 'FAILED (empty volume), 0/512 blocks'."""
    verdict = "passed" if row["passed"] else f"FAILED ({row['reason']})"
    return f"{verdict}, {row['blocks_ok']}/{row['blocks_ok'] + row['blocks_bad']} blocks"


def claims_table(persist):
    """One row per check (the article's claim beside it), one column per target, in run order."""
    checks = [c for c in CLAIMS if c in set(persist["check"])]
    cells = persist.assign(outcome=persist.apply(outcome_text, axis=1))
    table = cells.pivot(index="check", columns="target", values="outcome").reindex(checks)
    table = table[list(dict.fromkeys(persist["target"]))]
    table.insert(0, "claim", [CLAIMS[c] for c in checks])
    table.columns.name = None
    return table


def holds_for(persist):
    """Per target: the checks it passed and the ones it failed, as two comma-joined strings."""
    rows = []
    for target, group in persist.groupby("target", sort=False):
        rows.append({"target": target, "passed": ", ".join(group.loc[group["passed"], "check"]),
                     "failed": ", ".join(group.loc[~group["passed"], "check"])})
    return pd.DataFrame(rows, columns=["target", "passed", "failed"])
