"""deepswap.compare merges a seed sweep's closing tables into mean, sd and a t-interval over runs."""

import json
import math

import pytest

from deepswap.compare import main
from deepswap.evaluation.merge import merge_runs


def _run(folder, value: float, diff: float):
    folder.mkdir(parents=True)
    table = {
        "rows": {"model": {"gt_l1_face": value}, "output = target": {"gt_l1_face": 0.12}},
        "differences": {"model": {"output = target": {"gt_l1_face": [diff, diff - 0.01, diff + 0.01]}}},
    }
    (folder / "heldout_eval.json").write_text(json.dumps(table))


def test_merge_gives_mean_sd_and_t_interval_over_runs(tmp_path):
    sweep = tmp_path / "multirun"
    for i, (v, d) in enumerate([(0.10, -0.02), (0.11, -0.01), (0.12, 0.0)]):
        _run(sweep / str(i), v, d)
    merged = merge_runs([sweep])  # a multirun folder stands for its runs
    s = merged["rows"]["model"]["gt_l1_face"]
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.11) and s["sd"] == pytest.approx(0.01)
    half = 4.303 * 0.01 / math.sqrt(3)  # t(0.975, 2 d.f.)
    assert (s["lo"], s["hi"]) == (pytest.approx(0.11 - half), pytest.approx(0.11 + half))
    d = merged["differences"]["model"]["output = target"]["gt_l1_face"]
    assert d["mean"] == pytest.approx(-0.01) and d["lo"] < 0 < d["hi"]  # not significant over 3 seeds


def test_compare_cli_writes_json_and_reports_a_missing_folder(tmp_path, capsys):
    for i in range(2):
        _run(tmp_path / f"r{i}", 0.1 + i / 100, -0.01)
    out = tmp_path / "merged.json"
    assert main([str(tmp_path / "r0"), str(tmp_path / "r1"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["rows"]["model"]["gt_l1_face"]["n"] == 2
    assert "2 runs" in capsys.readouterr().out
    assert main([str(tmp_path / "nothing")]) == 2
    assert "deepswap.compare: error:" in capsys.readouterr().err
