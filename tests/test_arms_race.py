"""The arms-race report on two tiny co-training runs (observer, adversarial) and its notebook."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import execute_notebook, make_cfg
from test_evaluate import ORACLE

from deepswap.detection.arms_race import (
    SCHEMA,
    arms_race_report,
    format_report,
    format_summary,
    load_report,
    main,
    permutation_p,
    seed_summary,
    welch,
)
from deepswap.detection.robustness import default_conditions
from deepswap.train import train

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_arms_race.ipynb"
SNAPSHOTS = ["det_00000012", "det_00000024"]  # 0.032 kimg = 8 batches of 4 = 24 optimiser steps


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    dirs = {}
    for mode in ("observer", "adversarial"):
        cfg = make_cfg(
            tmp_path_factory.mktemp(mode),
            [
                "detector=small",
                f"detector.mode={mode}",
                "detector.snapshot_every_kimg=0.016",
                "total_kimg=0.032",
                "final_eval.enabled=false",
            ],
        )
        train(cfg)
        dirs[mode] = cfg.paths.output_dir
    return dirs


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("arms_race")
    # The observer's own checkpoint stands in for an unseen family: its column must equal the observer's.
    unseen = {"family": Path(runs["observer"]) / "checkpoints" / "last.ckpt"}
    return arms_race_report(runs, unseen, num_pairs=8, seed=0, out_dir=out, eval_overrides=ORACLE), out


def _in_unit(values) -> bool:
    return all(0.0 <= v <= 1.0 for row in values for v in row)


def test_report_schema_shapes_and_consistency(report):
    rep, out = report
    names = ["observer", "adversarial"]
    assert rep["schema"] == SCHEMA and load_report(out) == json.loads(json.dumps(rep, default=str))
    assert list(rep["runs"]) == names and rep["settings"]["num_pairs"] == 8
    conditions = [c.name for c in default_conditions()]
    for i, (name, r) in enumerate(rep["runs"].items()):
        assert r["mode"] == name and [s["step"] for s in r["snapshots"]] == [12, 24]
        cross, evasion = r["crossplay"], r["evasion"]
        assert cross["rows"] == SNAPSHOTS and cross["cols"] == ["gen_00000012", "gen_00000024"]
        assert len(cross["values"]) == 2 and all(len(row) == 2 for row in cross["values"])
        assert evasion["rows"] == cross["cols"] and evasion["cols"] == names
        assert _in_unit(cross["values"]) and _in_unit(evasion["values"])
        assert list(r["robustness"]) == conditions
        assert all(0.0 <= row["auc"] <= 1.0 for row in r["robustness"].values())
        quality = r["swap_quality"]["model"]
        for metric in ("id_top1", "id_cos_gallery", "gt_l1_face", "gt_l1", "gt_psnr", "gt_ssim"):
            assert math.isfinite(quality[metric]), metric
        assert "ground truth (ceiling)" in r["swap_quality"]["references"]
        # The last snapshot is the final step: the last.ckpt detector and EMA generator play the same.
        assert cross["values"][-1][-1] == pytest.approx(rep["cross_run"]["values"][i][i])
        assert r["robustness"]["clean"]["auc"] == pytest.approx(rep["cross_run"]["values"][i][i])
    assert rep["cross_run"]["rows"] == names and rep["cross_run"]["cols"] == names
    assert _in_unit(rep["cross_run"]["values"])
    unseen = rep["unseen"]
    assert unseen["rows"] == names and unseen["cols"] == ["family"] and _in_unit(unseen["values"])
    assert [row[0] for row in unseen["values"]] == pytest.approx(
        [row[0] for row in rep["cross_run"]["values"]]
    )
    prov = rep["provenance"]
    assert set(prov["checkpoints"]) == {"run:observer", "run:adversarial", "unseen:family"}
    assert all(len(c["sha256"]) == 64 for c in prov["checkpoints"].values())
    assert prov["seeds"]["pairs"] == 0 and "git_sha" in prov
    assert all(Path(f).is_file() for f in rep["files"])
    header = (out / "crossplay_observer.csv").read_text().splitlines()[0]
    assert header == "auc,gen_00000012,gen_00000024"
    for m in (
        rep["cross_run"],
        rep["cross_run_evasion"],
        rep["unseen"],
        *(r["evasion"] for r in rep["runs"].values()),
    ):
        lo, v, hi = (np.asarray(m[k]) for k in ("lo", "values", "hi"))
        assert lo.shape == v.shape == hi.shape and (lo <= v + 1e-9).all() and (v <= hi + 1e-9).all()
    ev = rep["cross_run_evasion"]
    assert ev["rows"] == names and ev["cols"] == names and _in_unit(ev["values"])
    summary = rep["summary"]
    assert set(summary["by_mode"]) == {"observer", "adversarial"}
    for name, row in summary["per_run"].items():  # one run per mode: the foreign panel is the other run
        other = names[1 - names.index(name)]
        assert row["evasion_foreign"] == pytest.approx(ev["values"][names.index(name)][names.index(other)])
        assert row["evasion_own"] == pytest.approx(ev["values"][names.index(name)][names.index(name)])
        assert row["gt_l1"] == pytest.approx(rep["runs"][name]["swap_quality"]["model"]["gt_l1"])
    assert all(not math.isfinite(d["lo"]) for d in summary["adversarial_minus_observer"].values())
    md = format_report(rep)
    assert "unseen: family" in md and "### Swap quality" in md and md.count("| clean |") == 1
    assert "### Observer vs adversarial over seeds" in md and "(n=1)" in md


def test_welch_interval_matches_a_hand_computation():
    a, b = [0.30, 0.40, 0.35], [0.10, 0.12, 0.08]
    d = welch(a, b)
    va, vb = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 3
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)  # 2.33: t(2) = 4.303
    assert d["diff"] == pytest.approx(0.25) and d["df"] == pytest.approx(df)
    assert d["hi"] - d["diff"] == pytest.approx(4.303 * math.sqrt(va + vb)) and d["significant"]
    assert not welch([0.1, 0.3], [0.2, 0.25])["significant"]
    assert math.isnan(welch([0.1], [0.2, 0.3])["lo"])


def test_permutation_p_counts_relabellings_exactly_and_by_sampling():
    """Two of three adversarial runs evade and no observer run does (experiments/2026-12-07_ghost_arms_race):
    4 of the 20 relabellings put both evading runs on one side with one non-evader, and as many on the
    other side, so the two-sided p is 8/20. A t-interval on such a split is meaningless."""
    assert permutation_p([0.0, 0.958, 0.961], [0.0, 0.0, 0.0]) == pytest.approx(8 / 20)
    assert permutation_p([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]) == pytest.approx(2 / 20)  # the most extreme split
    assert permutation_p([0.5, 0.5], [0.5, 0.5]) == 1.0
    sampled = permutation_p([1.0] * 5 + [0.0] * 5, [0.0] * 10, max_exact=1000)  # 184,756 exact; 1000 drawn
    exact = permutation_p([1.0] * 5 + [0.0] * 5, [0.0] * 10)
    assert exact == pytest.approx(0.0325, abs=1e-3) and abs(sampled - exact) < 0.02
    assert math.isnan(permutation_p([], [0.1]))


def _fake_report(evasion: np.ndarray, modes: list[str], l1: list[float]) -> dict:
    names = [f"{m}_s{i}" for i, m in enumerate(modes)]
    auc = 1.0 - evasion.T  # any (det, gen) matrix in [0, 1]
    runs = {n: {"mode": m, "swap_quality": {"model": {"gt_l1": v}}} for n, m, v in zip(names, modes, l1)}
    return {
        "settings": {"fpr": 0.01},
        "runs": runs,
        "cross_run_evasion": {"rows": names, "cols": names, "values": evasion.tolist(), "what": "evasion"},
        "cross_run": {"rows": names, "cols": names, "values": auc.tolist(), "what": "auc"},
    }


def test_seed_summary_uses_only_the_foreign_panel_and_compares_modes():
    # 2 observer + 2 adversarial runs; row g = generator, column d = detector; the diagonal (own
    # detector) is set far off so that any leak into the foreign means shows.
    modes = ["observer", "observer", "adversarial", "adversarial"]
    e = np.array(
        [[0.9, 0.10, 0.20, 0.30], [0.12, 0.9, 0.22, 0.32], [0.50, 0.60, 0.9, 0.70], [0.52, 0.62, 0.72, 0.9]]
    )
    s = seed_summary(_fake_report(e, modes, [0.10, 0.11, 0.13, 0.14]))
    per = s["per_run"]
    assert per["observer_s0"]["evasion_foreign"] == pytest.approx((0.10 + 0.20 + 0.30) / 3)
    assert per["observer_s0"]["evasion_foreign_observer"] == pytest.approx(0.10)
    assert per["adversarial_s3"]["evasion_foreign_adversarial"] == pytest.approx(0.72)
    assert per["adversarial_s2"]["evasion_own"] == pytest.approx(0.9)
    assert per["observer_s1"]["auc_foreign"] == pytest.approx(1 - (0.12 + 0.22 + 0.32) / 3)
    obs = s["by_mode"]["observer"]["evasion_foreign"]
    assert obs["n"] == 2 and obs["mean"] == pytest.approx((0.2 + 0.22) / 2)
    diff = s["adversarial_minus_observer"]
    assert diff["evasion_foreign"]["diff"] == pytest.approx(0.61 - 0.21)
    assert diff["evasion_foreign"]["significant"] and diff["gt_l1"]["diff"] == pytest.approx(0.03)
    md = format_summary(s)
    assert "evasion vs foreign panel (all)" in md and "adversarial - observer" in md and "*" in md
    assert diff["evasion_foreign"]["perm_p"] == pytest.approx(2 / 6)  # per-run 0.6, 0.62 against 0.2, 0.22
    assert "; p = 0.333" in md  # 2 + 2 runs: the most extreme of 6 relabellings, two-sided


def test_cli_writes_the_same_report(runs, tmp_path):
    argv = [f"--run={k}={v}" for k, v in runs.items()]
    rep = main([*argv, "--out", str(tmp_path), "--num-pairs", "4", *ORACLE])
    assert rep["unseen"] is None and rep["settings"]["num_pairs"] == 4
    assert load_report(tmp_path / "arms_race.json")["runs"].keys() == runs.keys()
    with pytest.raises(SystemExit):
        main(["--run", "no-path", "--out", str(tmp_path)])


def test_notebook_plots_the_report(report, monkeypatch):
    monkeypatch.setenv("DEEPSWAP_ARMS_RACE", str(report[1] / "arms_race.json"))
    outputs = execute_notebook(NOTEBOOK.name)
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert sum(o.get("output_type") == "display_data" for o in outputs) == 5, "expected five figures"
