"""Evaluation outputs: the terminal table, ``evaluation.json`` (every number and the provenance) and
``pairs.csv`` (one row per pair and output, for notebooks). The JSON layout is versioned
(``schema``); readers should check it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch

SCHEMA = 2  # 2: world v2 protocol (gallery renders, regions, intervals)
COLUMNS = {  # metric -> (header, format, better); the printed table shows SHOWN, the JSON/CSV all
    "id_top1": ("ID top-1 %", "{:.1f}", "↑"),
    "id_cos_gallery": ("ID cos src", "{:.3f}", "↑"),
    "id_cos_target": ("ID cos tgt", "{:.3f}", ""),
    "pose_err": ("pose err °", "{:.2f}", "↓"),
    "expr_err": ("expr err", "{:.3f}", "↓"),
    "lm_err": ("lm err px", "{:.2f}", "↓"),
    "gt_l1_face": ("GT L1 face", "{:.4f}", "↓"),
    "gt_psnr_face": ("PSNR face", "{:.2f}", "↑"),
    "gt_ssim_face": ("SSIM face", "{:.3f}", "↑"),
    "gt_l1_band": ("GT L1 band", "{:.4f}", "↓"),
    "gt_psnr_band": ("PSNR band", "{:.2f}", "↑"),
    "gt_ssim_band": ("SSIM band", "{:.3f}", "↑"),
    "gt_l1_outside": ("GT L1 out", "{:.4f}", "↓"),
    "gt_psnr_outside": ("PSNR out", "{:.2f}", "↑"),
    "gt_ssim_outside": ("SSIM out", "{:.3f}", "↑"),
    "gt_l1": ("GT L1", "{:.4f}", "↓"),
    "gt_psnr": ("GT PSNR", "{:.2f}", "↑"),
    "gt_ssim": ("GT SSIM", "{:.3f}", "↑"),
    "fid": ("FID", "{:.2f}", "↓"),
    "kid": ("KID", "{:.4f}", "↓"),
}
SHOWN = (
    "id_top1", "id_cos_gallery", "pose_err", "expr_err", "lm_err",
    "gt_l1_face", "gt_l1_band", "gt_l1_outside", "gt_l1", "gt_psnr", "gt_ssim", "fid", "kid",
)  # fmt: skip


def format_table(
    rows: dict[str, dict[str, float]], title: str = "", intervals: dict | None = None, metrics=SHOWN
) -> str:
    """Plain-text table: one line per output, the ``metrics`` present in any row (missing: '-'); with
    ``intervals`` a second line per output gives each mean's 95% interval as ``lo..hi``."""
    metrics = [m for m in metrics if any(m in r for r in rows.values())]
    heads = [f"{COLUMNS[m][0]} {COLUMNS[m][2]}".strip() for m in metrics]
    widths = [max(10, len(h)) for h in heads]
    head = f"{'output':<30}" + "".join(f" {h:>{w}}" for h, w in zip(heads, widths))
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for name, r in rows.items():
        cells = [COLUMNS[m][1].format(r[m]) if m in r else "-" for m in metrics]
        lines.append(f"{name:<30}" + "".join(f" {c:>{w}}" for c, w in zip(cells, widths)))
        iv = (intervals or {}).get(name)
        if iv:
            cells = [_interval(m, iv[m]) if m in iv else "" for m in metrics]
            lines.append(f"{'  95% interval':<30}" + "".join(f" {c:>{w}}" for c, w in zip(cells, widths)))
    return "\n".join(lines)


def _interval(metric: str, lo_hi) -> str:
    fmt = COLUMNS[metric][1]
    lo, hi = lo_hi
    return f"{fmt.format(lo)}..{fmt.format(hi)}" if lo == lo else ""  # NaN: no interval


def format_markdown(rows: dict[str, dict[str, float]], intervals: dict | None = None, metrics=SHOWN) -> str:
    """The same table as GitHub markdown (for experiment records); with ``intervals``, each cell is
    ``mean [lo, hi]``."""
    metrics = [m for m in metrics if any(m in r for r in rows.values())]
    out = ["| output | " + " | ".join(f"{COLUMNS[m][0]} {COLUMNS[m][2]}".strip() for m in metrics) + " |"]
    out.append("| --- |" + " ---: |" * len(metrics))
    for name, r in rows.items():
        iv = (intervals or {}).get(name, {})
        cells = []
        for m in metrics:
            cell = COLUMNS[m][1].format(r[m]) if m in r else "-"
            if m in iv and iv[m][0] == iv[m][0]:
                cell += " [" + ", ".join(COLUMNS[m][1].format(v) for v in iv[m]) + "]"
            cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def format_differences(differences: dict, metrics=SHOWN) -> str:
    """Lines ``model - baseline: metric +d [lo, hi]*`` (``*``: the interval excludes 0)."""
    lines = []
    for name, bases in differences.items():
        for base, values in bases.items():
            cells = []
            for m in metrics:
                if m in values:
                    d, lo, hi = values[m]
                    fmt = COLUMNS[m][1]
                    star = "*" if lo > 0 or hi < 0 else ""
                    cells.append(
                        f"{COLUMNS[m][0]} {fmt.format(d)} [{fmt.format(lo)}, {fmt.format(hi)}]{star}"
                    )
            lines.append(f"{name} - {base}: " + "; ".join(cells))
    return "\n".join(lines)


def beats_in_words(differences: dict, name: str = "model") -> str:
    """One sentence per baseline: which metrics the model is significantly better / worse on."""
    out = []
    for base, values in differences.get(name, {}).items():
        better, worse = [], []
        for m, (_, lo, hi) in values.items():
            if m not in COLUMNS or not COLUMNS[m][2]:
                continue
            up = COLUMNS[m][2] == "↑"
            if (lo > 0 and up) or (hi < 0 and not up):
                better.append(COLUMNS[m][0])
            elif (hi < 0 and up) or (lo > 0 and not up):
                worse.append(COLUMNS[m][0])
        out.append(
            f"Against '{base}', the {name} is significantly better on: {', '.join(better) or 'nothing'}; "
            f"significantly worse on: {', '.join(worse) or 'nothing'} (95% paired bootstrap)."
        )
    return "\n".join(out)


def format_noise_floor(floor: dict[str, float]) -> str:
    """The scorer's own error on real renders, and its per-factor R^2 on held-out identities."""
    main = ", ".join(f"{k} {v:.3g}" for k, v in floor.items() if not k.startswith("r2/"))
    r2 = ", ".join(f"{k[3:]} {v:.2f}" for k, v in floor.items() if k.startswith("r2/"))
    return f"scorer noise floor on real renders: {main}" + (
        f"\nscorer per-factor R^2 (val identities): {r2}" if r2 else ""
    )


def write_json(path: Path, payload: dict) -> Path:
    """Write ``payload`` (with ``schema``) atomically."""
    payload = {"schema": SCHEMA, **payload}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)
    return path


def write_pairs_csv(path: Path, per_pair: dict[str, dict[str, torch.Tensor]], pairs: dict) -> Path:
    """One row per (pair, output): ids (and file paths on real data) then every metric."""
    metrics = [m for m in COLUMNS if any(m in v for v in per_pair.values())]
    keys = [
        k
        for k in ("target_id", "source_id", "target_index", "source_index", "target_path", "source_path")
        if k in pairs
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pair", "output", *keys, *metrics])
        for name, values in per_pair.items():
            for i in range(len(pairs["target"])):
                ids = [pairs[k][i].item() if torch.is_tensor(pairs[k]) else pairs[k][i] for k in keys]
                cells = [f"{float(values[m][i]):.6g}" if m in values else "" for m in metrics]
                w.writerow([i, name, *ids, *cells])
    return path


def load_evaluation(path: str | Path) -> dict:
    """Read an ``evaluation.json`` (or the folder holding it) and check its schema."""
    path = Path(path)
    if path.is_dir():
        path = path / "evaluation.json"
    data = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path} has evaluation schema {data.get('schema')}, this deepswap reads {SCHEMA}")
    return data


def load_pairs(path: str | Path) -> list[dict]:
    """Rows of a ``pairs.csv`` (or the folder holding it), numbers as floats (empty cells: None)."""
    path = Path(path)
    if path.is_dir():
        path = path / "pairs.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for k, v in row.items():
            if k not in ("output", "target_path", "source_path"):
                row[k] = float(v) if v not in ("", None) else None
    return rows


def rank_pairs(path: str | Path, metric: str = "gt_l1_face", output: str = "model") -> list[dict]:
    """The model's per-pair rows of an evaluation folder, best first by ``metric`` (its direction from
    :data:`COLUMNS`); pairs lacking the metric are left out."""
    rows = [r for r in load_pairs(path) if r["output"] == output and r.get(metric) is not None]
    return sorted(rows, key=lambda r: r[metric], reverse=COLUMNS[metric][2] == "↑")


def comparison_grid(folders: dict[str, str | Path], pairs: list[int], scale: int = 2) -> np.ndarray:
    """One uint8 RGB image: a row per pair, columns source | target | each run's swap | truth.

    ``folders`` maps a column name to an evaluation folder; all must have been made on the same pairs
    (same data and seed). Pixels are repeated ``scale`` times for viewing.
    """
    loaded = {name: np.load(Path(f) / "swaps.npz") for name, f in folders.items()}
    first = next(iter(loaded.values()))
    cols = [first["source"], first["target"], *[v["model"] for v in loaded.values()]]
    if "truth" in first:
        cols.append(first["truth"])
    grid = np.concatenate([np.concatenate([c[i] for c in cols], axis=1) for i in pairs], axis=0)
    return grid.repeat(scale, 0).repeat(scale, 1)


def format_streaks(ratio: float | None) -> str:
    """One line on the model's axis-aligned bands (``run_protocol``'s ``streaks``); '' without a truth."""
    if ratio is None:
        return ""
    verdict = "no more than the true swap's own change" if ratio <= STREAK_LIMIT else "STREAKS"
    return (
        f"streak energy (row/column-constant residual to the truth) / the truth's own change: "
        f"{ratio:.2f} ({verdict}; limit {STREAK_LIMIT})"
    )


STREAK_LIMIT = 1.5  # issue 10: a swap whose bands exceed 1.5x the true change's fails
