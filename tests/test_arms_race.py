"""The arms-race report on two tiny co-training runs (observer, adversarial) and its notebook."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import execute_notebook, make_cfg
from test_evaluate import ORACLE

from deepswap.detection.arms_race import SCHEMA, arms_race_report, format_report, load_report, main
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
    md = format_report(rep)
    assert "unseen: family" in md and "### Swap quality" in md and md.count("| clean |") == 1


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
    assert sum(o.get("output_type") == "display_data" for o in outputs) == 4, "expected four figures"
