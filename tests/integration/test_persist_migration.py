"""`voltools persist --migrate-to` on the real engine: copies timed between two targets, the fit of
T_move = T_0 + V / beta_move on the smaller sizes predicting the copies of a size it did not see."""
import json

import numpy as np

from voltools.analysis.migration import fit_move, predict_move
from voltools.cli import main
from voltools import persist
from voltools.store import MIGRATION, load_moves

MIB = 1 << 20


def test_a_fit_on_small_moves_predicts_a_larger_one_it_did_not_see(docker_client, run_id, raw_root):
    # Sizes where the per-byte time outweighs the exec's own cost and its scatter (~0.1 s): with
    # 16-64 MiB (0.01-0.04 s of bytes at ~1.5 GiB/s) the slope's interval reached zero in CI. Copies
    # of one size scatter up to 4x here (512 MiB: 0.38-2.1 s with other work running), so 8 of each.
    persist(["local"], size="2m", migrate_to="tmpfs:size=1g,name=dest", migrate_sizes="64m,128m,192m,256m,512m",
            migrate_repeat=8, run_id=run_id, data_dir=raw_root)
    moves = load_moves(run_id, raw_root)
    assert len(moves) == 40 and set(moves["source"]) == {"local"} and set(moves["destination"]) == {"dest"}
    assert (moves["seconds"] > 0).all() and (moves["copy_bs_bytes"] == MIB).all()
    seen, unseen = moves[moves["size_bytes"] < 512 * MIB], moves[moves["size_bytes"] == 512 * MIB]
    fit = fit_move(seen)
    p = predict_move(fit, 512 * MIB)
    measured = float(np.median(unseen["seconds"]))
    print(f"T_0 {fit.t0_s:.4f} s [{fit.t0_low_s:.4f}, {fit.t0_high_s:.4f}], beta {fit.beta_bytes_per_s / MIB:.1f} MiB/s "
          f"[{fit.beta_low / MIB:.1f}, {fit.beta_high / MIB:.1f}]; 512 MiB predicted {p.mean_s:.4f} s "
          f"[{p.low_s:.4f}, {p.high_s:.4f}], measured {sorted(unseen['seconds'])}")
    assert p.holds and p.extrapolation == 2.0, p
    assert p.low_s <= measured <= p.high_s
    meta = json.loads((raw_root / run_id / "run.json").read_text())
    assert meta["moves_stored"] == 40 and meta["migration"]["destination"]["name"] == "dest"
    assert (raw_root / run_id / MIGRATION).is_file()


def test_the_command_prints_the_fit_and_its_prediction(docker_client, run_id, raw_root, capsys):
    assert main(["persist", "--target", "tmpfs:size=64m", "--size", "2m", "--migrate-to", "local:name=dest",
                 "--migrate-sizes", "4m,8m,16m", "--migrate-repeat", "2", "--move-size", "40g", "--quiet",
                 "--run-id", run_id, "--data-dir", str(raw_root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("move tmpfs -> dest: T_move = T_0 + V / beta_move from 6 copies of 3 sizes: T_0 = ")
    assert out[-1].startswith("  moving 40 GiB: about ") and "(does not hold: " in out[-1], out[-1]
