"""Arms-race report: co-trained detectors and generators of several runs played against each other.

For each run (a training folder with ``snapshots/`` and ``checkpoints/last.ckpt``), on the same seeded
held-out pairs (:func:`deepswap.evaluation.protocol.synthetic_pairs`; reals = their targets and sources):

- ``crossplay``: AUC of every detector snapshot against every generator snapshot of the run ``(D, G)``;
- ``evasion``: each generator snapshot against the frozen panel of final detectors (all runs) ``(G, P)``;
- ``robustness``: the final detector on its own final generator's swaps, per post-processing condition;
- ``swap_quality``: :func:`deepswap.evaluate.evaluate` of ``last.ckpt`` on the same pairs (evasion must
  not be bought with bad swaps);

and across runs ``cross_run`` (final detectors x final generators: AUC), ``cross_run_evasion`` (final
generators x final detectors: evasion) and ``unseen`` (final detectors x swaps by checkpoints of
generator families trained without a detector). "Final" = ``last.ckpt``: its ``detector.`` weights and
its EMA generator. Evasion and cross-run cells carry 95% bootstrap intervals over the pairs.

``summary`` (:func:`seed_summary`) groups the runs by mode (observer, adversarial; one run per training
seed): each final generator's evasion against the *foreign* panel (the final detectors of the other
runs, which its generator never trained against), its own detector's AUC and swap quality, as mean
and 95% t-interval over the runs of a mode, and adversarial - observer with a Welch interval: the
question "does adversarial training raise evasion, and what does it cost in swap quality" answered
with seeds as the sampling unit. Writes ``arms_race.json``, ``arms_race.md`` and CSVs.

CLI: ``python -m deepswap.detection.arms_race --run observer=DIR --run adversarial=DIR
--unseen simswap=CKPT --out DIR [oracle.steps=300 ...]`` (trailing ``key=value``: evaluate overrides).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

from deepswap.detection.crossplay import (
    as_swapper,
    crossplay_matrix,
    evasion_rates,
    load_snapshots,
    make_fakes,
)
from deepswap.detection.networks import with_tta
from deepswap.detection.robustness import robustness_sweep, write_table
from deepswap.utils.runinfo import git_state, sha256

SCHEMA = "deepswap.arms_race/2"
# swap-quality metrics carried into the seed summary (lower is better for L1 and pose error)
QUALITY = ("gt_l1_face", "gt_l1", "id_top1", "id_cos_gallery", "pose_err")
REALS = "targets and sources of the held-out pairs (2N reals vs N swaps)"


def final_detector(checkpoint: str | Path, device: str = "cpu") -> nn.Module:
    """The co-trained detector of a training checkpoint, in eval mode: its weight average
    (``detector_ema.shadow.``) when the run kept one (``detector.ema_half_life_kimg``), else
    ``detector.``; flip-averaged (:class:`~deepswap.detection.networks.FlipAverage`) when the run set
    ``detector.tta=flip``."""
    return final_detector_and_config(checkpoint, device)[0]


def final_detector_and_config(checkpoint: str | Path, device: str = "cpu") -> tuple[nn.Module, dict]:
    """:func:`final_detector` and ``{"config": its network's _target_ config (without the flip average),
    "size": the run's image size}``."""
    from deepswap.inference.model import read_checkpoint

    ckpt = read_checkpoint(checkpoint)
    net = (ckpt["deepswap"]["config"].get("detector") or {}).get("net")
    if not net:
        raise ValueError(f"{checkpoint} was trained without a detector (detector=off): nothing to play")
    det = instantiate(OmegaConf.create(net))
    state = ckpt["state_dict"]
    prefix = (
        "detector_ema.shadow." if any(k.startswith("detector_ema.shadow.") for k in state) else "detector."
    )
    det.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    det = with_tta(det, ckpt["deepswap"]["config"]["detector"].get("tta"))  # as the run's config scores it
    size = (ckpt["deepswap"]["config"].get("data") or {}).get("size")
    return det.eval().to(device), {"config": dict(net), "size": int(size) if size else None}


def heldout_pairs(config: dict, num_pairs: int, seed: int) -> dict[str, Tensor]:
    """The evaluation protocol's held-out pairs for a run's resolved config (synthetic data only)."""
    from deepswap.data.synthetic import SyntheticFaceWorld
    from deepswap.evaluation.protocol import synthetic_pairs

    data = config["data"]
    if "world" not in data:
        raise ValueError("arms_race_report needs runs trained on synthetic data (data.world)")
    return synthetic_pairs(SyntheticFaceWorld(**data["world"]), num_pairs, int(data["size"]), seed)


def _load_run(name: str, run_dir: str | Path, device: str) -> dict:
    from deepswap.inference.model import SwapModel

    run_dir = Path(run_dir).expanduser().resolve()
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    model = SwapModel.from_checkpoint(ckpt, device)
    dets, gens = load_snapshots(run_dir / "snapshots")
    index = run_dir / "snapshots" / "index.jsonl"
    snapshots = (
        [json.loads(x) for x in index.read_text().splitlines() if x.strip()] if index.is_file() else []
    )
    return {
        "name": name,
        "dir": run_dir,
        "ckpt": ckpt,
        "model": model,
        "detector": final_detector(ckpt, device),
        "dets": dets,
        "gens": {k: as_swapper(g, model, device) for k, g in gens.items()},
        "snapshots": snapshots,  # index.jsonl: step, kimg and file names of each snapshot
    }


def _check_same_data(runs: list[dict]) -> None:
    data = [(r["model"].config["data"].get("world"), r["model"].config["data"]["size"]) for r in runs]
    if any(d != data[0] for d in data):
        raise ValueError(
            f"runs {[r['name'] for r in runs]} differ in data.world or data.size: no shared pairs"
        )


def _provenance(loaded: list[dict], unseen: dict[str, Path], seed: int, device: str, t0: float) -> dict:
    files = {f"run:{r['name']}": r["ckpt"] for r in loaded} | {f"unseen:{k}": p for k, p in unseen.items()}
    return {
        "runs": {r["name"]: str(r["dir"]) for r in loaded},
        "unseen": {k: str(p) for k, p in unseen.items()},
        "checkpoints": {k: {"path": str(p), "sha256": sha256(p)} for k, p in files.items()},
        "seeds": {"pairs": seed, "world": loaded[0]["model"].config["data"]["world"].get("seed")},
        **git_state(),
        "torch": torch.__version__,
        "device": device,
        "command": " ".join(sys.argv),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - t0, 1),
    }


def _play_run(r: dict, panel: dict, reals: Tensor, pairs: dict, out: Path, o: dict) -> dict:
    """Cross-play, evasion against the panel, robustness and swap quality of one loaded run."""
    from deepswap.evaluation.harness import evaluate

    kw, name = {"batch_size": o["batch_size"], "device": o["device"]}, r["name"]
    snapshot_fakes = {k: make_fakes(g, pairs, o["batch_size"]) for k, g in r["gens"].items()}  # once each
    cross = crossplay_matrix(r["dets"], snapshot_fakes, reals, pairs, **kw)
    evasion = evasion_rates(snapshot_fakes, panel, reals, pairs, o["fpr"], resamples=o["resamples"], **kw)
    fakes = r["fakes"] = make_fakes(r["model"].swap, pairs, o["batch_size"])
    out_eval = out / "swap_quality" / name  # evaluation.json and pairs.csv, no images (kept small)
    protocol = {"num_pairs": o["num_pairs"], "seed": o["seed"], "save_images": False, "output_dir": out_eval}
    quality = evaluate(r["ckpt"], o["eval_overrides"], **protocol, **kw)
    cross.write(out, f"crossplay_{name}")
    evasion.write(out, f"evasion_{name}")
    sweep = robustness_sweep(r["detector"], reals, fakes, **kw)
    write_table(sweep, out, f"robustness_{name}")
    return {
        "run_dir": str(r["dir"]),
        "checkpoint": str(r["ckpt"]),
        "mode": (r["model"].config.get("detector") or {}).get("mode"),
        "snapshots": r["snapshots"],
        "crossplay": cross.to_dict(),
        "evasion": evasion.to_dict(),
        "robustness": sweep,
        "swap_quality": {
            "model": quality.rows["model"],
            "references": {k: v for k, v in quality.rows.items() if k != "model"},
            "differences": quality.differences.get("model", {}),
            "noise_floor": quality.noise_floor,
            "evaluation_json": quality.files.get("json"),
        },
    }


def arms_race_report(
    runs: dict[str, str | Path],
    unseen: dict[str, str | Path] | None = None,
    num_pairs: int = 200,
    seed: int = 0,
    out_dir: str | Path = "arms_race",
    fpr: float = 0.01,
    eval_overrides: list[str] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    resamples: int = 1000,
) -> dict:
    """``runs``: name -> run folder (one per mode and training seed); ``unseen``: name -> ``last.ckpt`` of
    a generator family trained without a detector; ``eval_overrides``: Hydra strings for the
    swap-quality evaluation (the oracle); ``resamples``: bootstrap resamples of each interval (0: none).
    Returns the report (the dict written to ``out_dir/arms_race.json``)."""
    from deepswap.inference.model import SwapModel

    if not runs:
        raise ValueError("no runs given: pass {name: run folder}")
    t0, out = time.time(), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loaded = [_load_run(name, d, device) for name, d in runs.items()]
    _check_same_data(loaded)
    size = loaded[0]["model"].image_size
    unseen_paths = {k: Path(p).expanduser().resolve() for k, p in (unseen or {}).items()}
    others = {k: SwapModel.from_checkpoint(p, device) for k, p in unseen_paths.items()}
    for k, m in others.items():
        if m.image_size != size:
            raise ValueError(f"unseen {k!r} makes {m.image_size} px swaps, the runs {size} px")
    pairs = heldout_pairs(loaded[0]["model"].config, num_pairs, seed)
    reals = torch.cat([pairs["target"], pairs["source"]])
    panel = {r["name"]: r["detector"] for r in loaded}
    opts = {"num_pairs": num_pairs, "seed": seed, "fpr": fpr, "batch_size": batch_size, "device": device}
    opts["resamples"] = resamples
    opts["eval_overrides"] = list(eval_overrides or [])
    report_runs = {r["name"]: _play_run(r, panel, reals, pairs, out, opts) for r in loaded}
    kw = {"batch_size": batch_size, "device": device, "resamples": resamples}
    finals = {r["name"]: r["fakes"] for r in loaded}
    cross_run = crossplay_matrix(panel, finals, reals, pairs, **kw)
    cross_run.write(out, "cross_run")
    cross_evasion = evasion_rates(finals, panel, reals, pairs, fpr, **kw)
    cross_evasion.write(out, "cross_run_evasion")
    unseen_matrix = None
    if others:
        unseen_matrix = crossplay_matrix(panel, {k: m.swap for k, m in others.items()}, reals, pairs, **kw)
        unseen_matrix.write(out, "unseen")
    world = loaded[0]["model"].config["data"]["world"]
    report = {
        "schema": SCHEMA,
        "settings": {**opts, "reals": REALS, "image_size": size, "world": world, "final": "last.ckpt"},
        "runs": report_runs,
        "cross_run": cross_run.to_dict(),
        "cross_run_evasion": cross_evasion.to_dict(),
        "unseen": unseen_matrix.to_dict() if unseen_matrix is not None else None,
        "provenance": _provenance(loaded, unseen_paths, seed, device, t0),
    }
    kinds = ("crossplay", "evasion", "robustness")
    names = (
        [f"{k}_{r}.csv" for r in report_runs for k in kinds]
        + ["cross_run.csv"]
        + ["unseen.csv"] * bool(others)
    )
    report["summary"] = seed_summary(report)
    names += ["cross_run_evasion.csv", "arms_race.json", "arms_race.md"]
    report["files"] = [str(out / n) for n in names]
    (out / "arms_race.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "arms_race.md").write_text(format_report(report) + "\n")
    return report


def welch(a: list[float], b: list[float]) -> dict[str, float]:
    """Mean of ``a`` minus mean of ``b`` with a 95% Welch t-interval (unequal variances; nan with fewer
    than two values on a side). ``significant``: the interval excludes 0."""
    from deepswap.evaluation.merge import t975

    na, nb = len(a), len(b)
    d = float(np.mean(a) - np.mean(b)) if na and nb else float("nan")
    if na < 2 or nb < 2:
        return {"diff": d, "lo": float("nan"), "hi": float("nan"), "df": float("nan"), "significant": False}
    va, vb = np.var(a, ddof=1) / na, np.var(b, ddof=1) / nb
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se > 0 else float(na + nb - 2)
    t = t975(df)
    lo, hi = d - t * se, d + t * se
    return {"diff": d, "lo": lo, "hi": hi, "df": float(df), "significant": bool(lo > 0 or hi < 0)}


def permutation_p(a: list[float], b: list[float], max_exact: int = 200_000, seed: int = 0) -> float:
    """Two-sided p-value of mean(a) - mean(b) under exchangeable mode labels: the share of relabellings
    of the pooled runs whose |difference| is at least the observed one. Exact over every relabelling when
    there are at most ``max_exact`` of them (3 + 3 runs: 20; 10 + 10: 184,756), else ``max_exact`` random
    ones (seeded). It makes no normality assumption, so it stays meaningful where a t-interval does not:
    outcomes that split into "evades" and "does not" across seeds."""
    na, nb = len(a), len(b)
    if not na or not nb:
        return float("nan")
    pooled = np.asarray(list(a) + list(b), dtype=float)
    observed = abs(pooled[:na].mean() - pooled[na:].mean())
    n = na + nb
    if math.comb(n, na) <= max_exact:
        from itertools import combinations

        groups = np.zeros((math.comb(n, na), n), dtype=bool)
        for row, idx in enumerate(combinations(range(n), na)):
            groups[row, list(idx)] = True
    else:
        rng = np.random.default_rng(seed)
        groups = np.zeros((max_exact, n), dtype=bool)
        for row in range(max_exact):
            groups[row, rng.choice(n, na, replace=False)] = True
    diffs = np.abs(groups @ pooled / na - (~groups) @ pooled / nb)
    return float(np.mean(diffs >= observed - 1e-12))


def _per_run(report: dict) -> dict[str, dict]:
    """Per run: evasion of its final generator against the foreign panel (all / observer / adversarial
    detectors of the other runs) and its own detector, AUCs, and swap quality."""
    runs, ev, auc = report["runs"], report["cross_run_evasion"], report["cross_run"]
    e, a = np.asarray(ev["values"]), np.asarray(auc["values"])  # e: (gen, det), a: (det, gen)
    out = {}
    for i, g in enumerate(ev["rows"]):
        own = ev["cols"].index(g)
        foreign = [j for j, d in enumerate(ev["cols"]) if d != g]
        row: dict[str, float] = {
            "evasion_own": float(e[i, own]),
            "auc_own": float(a[auc["rows"].index(g), auc["cols"].index(g)]),
        }
        for label, keep in (("", None), ("_observer", "observer"), ("_adversarial", "adversarial")):
            js = [j for j in foreign if keep is None or runs[ev["cols"][j]]["mode"] == keep]
            row[f"evasion_foreign{label}"] = float(e[i, js].mean()) if js else float("nan")
            row[f"auc_foreign{label}"] = (
                float(np.mean([a[auc["rows"].index(ev["cols"][j]), auc["cols"].index(g)] for j in js]))
                if js
                else float("nan")
            )
        model = runs[g]["swap_quality"]["model"]
        row |= {k: float(model[k]) for k in QUALITY if k in model}
        out[g] = {"mode": runs[g]["mode"], **row}
    return out


def seed_summary(report: dict) -> dict:
    """Observer vs adversarial over training seeds (the runs of each mode): per metric the mean, sd and
    95% t-interval over runs, and adversarial - observer with a Welch interval. Metrics: evasion of each
    final generator against the foreign panel (``evasion_foreign``, and split by the panel detectors'
    mode) and against its own detector, the matching AUCs, and the swap quality of ``QUALITY``."""
    from deepswap.evaluation.merge import seed_stats

    per_run = _per_run(report)
    modes = sorted({r["mode"] for r in per_run.values()})
    metrics = [k for k in next(iter(per_run.values())) if k != "mode"]
    values = {
        m: {k: [r[k] for r in per_run.values() if r["mode"] == m and math.isfinite(r[k])] for k in metrics}
        for m in modes
    }
    by_mode = {m: {k: seed_stats(v) for k, v in vs.items() if v} for m, vs in values.items()}
    diff = {}
    if {"observer", "adversarial"} <= set(modes):
        diff = {
            k: {
                **welch(values["adversarial"][k], values["observer"][k]),
                "perm_p": permutation_p(values["adversarial"][k], values["observer"][k]),
            }
            for k in metrics
            if values["adversarial"][k] and values["observer"][k]
        }
    return {
        "what": "final generators vs the final detectors of the OTHER runs (foreign panel); "
        "mean and 95% t-interval over the runs of each mode; adversarial - observer: Welch interval, "
        "and p: exact two-sided permutation test over the runs' mode labels",
        "fpr": report["settings"]["fpr"],
        "per_run": per_run,
        "by_mode": by_mode,
        "adversarial_minus_observer": diff,
    }


def _fmt_stats(st: dict | None, fmt: str) -> str:
    if not st:
        return "-"
    if st["n"] < 2 or not math.isfinite(st["lo"]):
        return fmt.format(st["mean"]) + f" (n={st['n']})"
    return f"{fmt.format(st['mean'])} [{fmt.format(st['lo'])}, {fmt.format(st['hi'])}]"


def _fmt_diff(d: dict | None, fmt: str) -> str:
    if not d:
        return "-"
    if not math.isfinite(d["lo"]):
        return fmt.format(d["diff"])
    star = "*" if d["significant"] else ""
    p = f"; p = {d['perm_p']:.3g}" if math.isfinite(d.get("perm_p", float("nan"))) else ""
    return f"{fmt.format(d['diff'])} [{fmt.format(d['lo'])}, {fmt.format(d['hi'])}]{star}{p}"


SUMMARY_ROWS = {  # metric: (label, format)
    "evasion_foreign": ("evasion vs foreign panel (all)", "{:.3f}"),
    "evasion_foreign_observer": ("evasion vs foreign observer detectors", "{:.3f}"),
    "evasion_foreign_adversarial": ("evasion vs foreign adversarial detectors", "{:.3f}"),
    "evasion_own": ("evasion vs its own detector", "{:.3f}"),
    "auc_foreign": ("AUC of the foreign panel", "{:.3f}"),
    "auc_own": ("AUC of its own detector", "{:.3f}"),
    "gt_l1_face": ("GT L1, face (lower = better)", "{:.4f}"),
    "gt_l1": ("GT L1, whole image", "{:.4f}"),
    "id_top1": ("ID retrieval top-1 %", "{:.1f}"),
    "id_cos_gallery": ("ID cosine to the source", "{:.3f}"),
    "pose_err": ("pose error (deg)", "{:.2f}"),
}


def format_summary(summary: dict) -> str:
    """The seed summary as a Markdown table: one row per metric, one column per mode and the difference."""
    modes = list(summary["by_mode"])
    diff = summary["adversarial_minus_observer"]
    head = ["metric", *(f"{m} (n={_n(summary, m)})" for m in modes)] + (
        ["adversarial - observer"] * bool(diff)
    )
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for k, (label, fmt) in SUMMARY_ROWS.items():
        if not any(k in summary["by_mode"][m] for m in modes):
            continue
        cells = [_fmt_stats(summary["by_mode"][m].get(k), fmt) for m in modes]
        cells += [_fmt_diff(diff.get(k), fmt)] * bool(diff)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    note = f"Evasion at {summary['fpr']:.0%} FPR on reals. {summary['what']}; *: the interval excludes 0."
    return "\n".join([note, "", *lines])


def _n(summary: dict, mode: str) -> int:
    return sum(r["mode"] == mode for r in summary["per_run"].values())


def load_report(path: str | Path) -> dict:
    """Read an ``arms_race.json`` (the file or its folder) and check its schema."""
    path = Path(path).expanduser()
    report = json.loads((path / "arms_race.json" if path.is_dir() else path).read_text())
    if report.get("schema") not in (SCHEMA, "deepswap.arms_race/1"):  # /1: no intervals, no summary
        raise ValueError(f"{path}: schema {report.get('schema')!r}, expected {SCHEMA!r}")
    return report


def _table(corner: str, cols: list[str], rows: dict[str, list[str]]) -> list[str]:
    head = [f"| {corner} | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
    return ["", *head, *(f"| {r} | " + " | ".join(cells) + " |" for r, cells in rows.items()), ""]


def _cells(m: dict, fmt: str = "{:.3f}") -> dict[str, list[str]]:
    """Cells of a matrix dict, with ``[lo, hi]`` where the matrix carries intervals."""
    if "lo" in m and "hi" in m:
        return {
            r: [f"{fmt.format(v)} [{fmt.format(a)}, {fmt.format(b)}]" for v, a, b in zip(vs, los, his)]
            for r, vs, los, his in zip(m["rows"], m["values"], m["lo"], m["hi"])
        }
    return {r: [fmt.format(v) for v in vals] for r, vals in zip(m["rows"], m["values"])}


def format_report(report: dict) -> str:
    """Markdown tables of a report (as returned or loaded), for an experiment README."""
    from deepswap.evaluation.report import format_markdown

    runs, s = report["runs"], report["settings"]
    out = [f"{s['num_pairs']} held-out pairs (seed {s['seed']}, {s['image_size']} px); reals: {s['reals']}."]
    if report.get("summary"):
        out += ["", "### Observer vs adversarial over seeds", "", format_summary(report["summary"]), ""]
    rows = {f"{k} ({r['mode']})": r["swap_quality"]["model"] for k, r in runs.items()}
    refs = next(iter(runs.values()))["swap_quality"]["references"]
    rows.update({k: refs[k] for k in ("output = target", "ground truth (ceiling)") if k in refs})
    out += ["", "### Swap quality", "", format_markdown(rows), ""]
    final, cols = _cells(report["cross_run"]), list(report["cross_run"]["cols"])
    if report.get("unseen"):
        cols += [f"unseen: {c}" for c in report["unseen"]["cols"]]
        final = {r: final[r] + cells for r, cells in _cells(report["unseen"]).items()}
    out += ["### Final detectors (rows) vs final generators and unseen families: AUC"]
    out += _table("detector \\ generator", cols, final)
    if report.get("cross_run_evasion"):
        ev = report["cross_run_evasion"]
        out += [f"### Final generators (rows) vs final detectors: {ev['what']} (own run on the diagonal)"]
        out += _table("generator \\ detector", ev["cols"], _cells(ev, "{:.1%}"))
    for name, r in runs.items():
        out += [f"### {name}: detector snapshots (rows) vs generator snapshots: AUC"]
        out += _table("detector \\ generator", r["crossplay"]["cols"], _cells(r["crossplay"]))
        out += [f"### {name}: generator snapshots vs the panel of final detectors: {r['evasion']['what']}"]
        out += _table("generator \\ detector", r["evasion"]["cols"], _cells(r["evasion"], "{:.1%}"))
    conds = next(iter(runs.values()))["robustness"]
    auc = {c: [f"{r['robustness'][c]['auc']:.3f}" for r in runs.values()] for c in conds}
    out += ["### Robustness: each final detector on its own final generator's swaps: AUC"]
    out += _table("condition", list(runs), auc)
    return "\n".join(out).rstrip() + "\n"


def _named(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not (sep and name and path):
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m deepswap.detection.arms_race", description=__doc__.split("\n")[0]
    )
    p.add_argument("--run", type=_named, action="append", required=True, help="NAME=run folder (repeat)")
    p.add_argument("--unseen", type=_named, action="append", default=[], help="NAME=last.ckpt (repeat)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--num-pairs", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fpr", type=float, default=0.01)
    p.add_argument("--device", default="cpu")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples per interval (0: none)")
    p.add_argument("overrides", nargs="*", help="deepswap.evaluate overrides, e.g. oracle.steps=300")
    a = p.parse_args(argv)
    report = arms_race_report(
        dict(a.run), dict(a.unseen), a.num_pairs, a.seed, a.out, a.fpr, a.overrides,
        device=a.device, resamples=a.resamples,
    )  # fmt: skip
    print("\n" + format_report(report) + "\nwritten: " + ", ".join(report["files"]), flush=True)
    return report


if __name__ == "__main__":
    main()
