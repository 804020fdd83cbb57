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
