"""The claims table of a persist run, on rows shaped as persist.parquet stores them (this machine's outcomes)."""
import pandas as pd

from voltools.analysis.persistence import CLAIMS, claims_table, holds_for, outcome_text

ROWS = [("local", "container_replaced", True, 512, 0, ""), ("local", "no_holder", True, 512, 0, ""),
        ("tmpfs", "container_replaced", True, 512, 0, ""), ("tmpfs", "no_holder", False, 0, 512, "empty volume")]


def _persist():
    return pd.DataFrame(ROWS, columns=["target", "check", "passed", "blocks_ok", "blocks_bad", "reason"])


def test_claims_table_puts_each_claim_beside_each_targets_outcome():
    table = claims_table(_persist())
    assert list(table.columns) == ["claim", "local", "tmpfs"]
    assert list(table.index) == ["container_replaced", "no_holder"]
    assert table.loc["no_holder", "claim"] == CLAIMS["no_holder"]
    assert table.loc["no_holder", "tmpfs"] == "FAILED (empty volume), 0/512 blocks"
    assert table.loc["container_replaced", "local"] == "passed, 512/512 blocks"


def test_holds_for_lists_passed_and_failed_checks_per_target():
    assert holds_for(_persist()).to_dict("records") == [
        {"target": "local", "passed": "container_replaced, no_holder", "failed": ""},
        {"target": "tmpfs", "passed": "container_replaced", "failed": "no_holder"}]
    assert outcome_text(_persist().iloc[0]) == "passed, 512/512 blocks"


def test_the_committed_sample_persist_run_shows_this_machines_outcomes():
    from repo import RAW

    from voltools.persist_run import load_moves, load_persist
    table = claims_table(load_persist("sample-persist", RAW))
    assert list(table.columns) == ["claim", "local", "tmpfs", "loop-ext4", "bind", "layer"]
    failed = {(c, t) for c in table.index for t in table.columns[1:] if table.loc[c, t].startswith("FAILED")}
    assert failed == {("no_holder", "tmpfs"), ("container_replaced", "layer"), ("shared", "layer"),
                      ("no_holder", "layer")}
    moves = load_moves("sample-persist", RAW)
    assert sorted(set(moves["source"])) == ["bind", "local", "loop-ext4", "tmpfs"], "layer is not moved from"
    assert len(moves) == 36 and set(moves["destination"]) == {"dest"}
