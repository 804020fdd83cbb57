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

    from voltools.store import load_moves, load_persist
    table = claims_table(load_persist("sample-persist", RAW))
    assert list(table.columns) == ["claim", "local", "tmpfs", "loop-ext4", "bind", "layer"]
    failed = {(c, t) for c in table.index for t in table.columns[1:] if table.loc[c, t].startswith("FAILED")}
    assert failed == {("no_holder", "tmpfs"), ("container_replaced", "layer"), ("shared", "layer"),
                      ("no_holder", "layer")}
    moves = load_moves("sample-persist", RAW)
    assert sorted(set(moves["source"])) == ["bind", "local", "loop-ext4", "tmpfs"], "layer is not moved from"
    assert len(moves) == 36 and set(moves["destination"]) == {"dest"}


def test_a_persist_run_without_moves_has_no_migration_table(tmp_path):
    import shutil

    import pytest
    from repo import RAW

    from voltools.errors import StoreError
    from voltools.store import META, PERSIST, load_moves
    (tmp_path / "checks-only").mkdir()
    for name in (META, PERSIST):
        shutil.copy(RAW / "sample-persist" / name, tmp_path / "checks-only" / name)
    assert load_moves("checks-only", tmp_path, missing_ok=True) is None
    with pytest.raises(StoreError, match="run checks-only has no migration.parquet: it was not a 'voltools persist --migrate-to' run"):
        load_moves("checks-only", tmp_path)
    with pytest.raises(StoreError, match="no run absent in"):
        load_moves("absent", tmp_path, missing_ok=True)


def test_persist_in_words_names_each_failed_check_and_each_move_answer():
    from repo import RAW

    from voltools.analysis import migration
    from voltools.analysis.prose import persist_md
    from voltools.store import load_moves, load_persist
    fits = migration.fit_moves(load_moves("sample-persist", RAW))
    text = persist_md(load_persist("sample-persist", RAW), [f.predict(4 << 30) for f in fits], "sample-persist")
    lines = text.splitlines()
    assert lines[0].startswith("Run **sample-persist** wrote 32 MiB through each target in 64 KiB blocks")
    assert "- **tmpfs**: failed no_holder (empty volume); passed container_replaced, shared." in lines
    assert "- **local**: passed every check (container_replaced, shared, no_holder)." in lines
    moving = [line for line in lines if line.startswith("- Moving 4 GiB from ")]
    assert len(moving) == len(fits) == 4
    for fit, line in zip(fits, moving):
        p = fit.predict(4 << 30)
        assert (" about " in line and "(one move, 95%)." in line) if p.holds else f"unknown ({p.why})" in line
    far = persist_md(load_persist("sample-persist", RAW), [fits[0].predict(40 << 30)], "sample-persist")
    assert far.endswith("copies of at least 10 GiB (`voltools persist --migrate-sizes`) would answer it.")


def test_a_move_that_fails_within_reach_asks_for_more_copies_not_larger_ones():
    from voltools.analysis.migration import fit_move
    from voltools.analysis.prose import persist_md
    moves = pd.DataFrame({"source": "a", "destination": "b", "size_bytes": [1 << 20, 2 << 20, 4 << 20] * 2,
                          "seconds": [0.10, 0.30, 0.11, 0.31, 0.09, 0.12]})
    checked = pd.DataFrame(ROWS, columns=["target", "check", "passed", "blocks_ok", "blocks_bad", "reason"]).assign(
        size_bytes=1 << 20, bs_bytes=64 << 10)
    text = persist_md(checked, [fit_move(moves).predict(8 << 20)], "r")
    assert text.endswith("more copies (`voltools persist --migrate-repeat`) would narrow it."), text


def test_a_move_interval_never_starts_below_zero():
    """A per-byte time not surely above zero makes the normal interval reach below zero; it is cut at zero."""
    from voltools.analysis.migration import fit_move, predict_move
    moves = pd.DataFrame({"source": "a", "destination": "b", "size_bytes": [1 << 20, 2 << 20, 4 << 20] * 2,
                          "seconds": [0.10, 0.30, 0.11, 0.31, 0.09, 0.12]})
    p = predict_move(fit_move(moves), 64 << 20)
    assert not p.holds and p.low_s == 0.0 and p.mean_low_s >= 0.0 and p.high_s > p.mean_s
