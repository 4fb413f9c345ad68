"""One table from the closing tables (``heldout_eval.json``) of several main-job runs.

    python experiments/2026-12-02_recipe/collect.py NAME=RUN_DIR_OR_JSON [...] [--copy DIR]

For each run: the model's GT L1 on the face and on the whole image with 95% intervals, its paired
differences to output = target and to the average identity (``*``: interval excludes 0), ID top-1,
ID cosine to the gallery render, pose error and the streak ratio. ``--copy`` keeps each run's
``heldout_eval.json`` under DIR/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def load(path: str) -> dict:
    p = Path(path)
    return json.loads((p / "heldout_eval.json" if p.is_dir() else p).read_text())


def diff(d: dict, baseline: str, metric: str) -> str:
    mean, lo, hi = d["differences"]["model"][baseline][metric]
    star = "*" if lo > 0 or hi < 0 else " "
    return f"{mean:+.4f} [{lo:+.4f},{hi:+.4f}]{star}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="name=path")
    ap.add_argument("--copy", default=None)
    args = ap.parse_args()
    head = (
        f"{'run':22s} {'GT L1 face':22s} {'- target':28s} {'- average':28s} {'GT L1':8s} "
        f"{'- target':28s} {'ID top1':7s} {'ID cos':6s} {'pose':5s} streaks"
    )
    print(head)
    print("-" * len(head))
    for spec in args.runs:
        name, path = spec.split("=", 1)
        d = load(path)
        m, iv = d["rows"]["model"], d["intervals"]["model"]
        lo, hi = iv["gt_l1_face"]
        print(
            f"{name:22s} {m['gt_l1_face']:.4f} [{lo:.4f},{hi:.4f}] "
            f"{diff(d, 'output = target', 'gt_l1_face'):28s} {diff(d, 'average identity', 'gt_l1_face'):28s} "
            f"{m['gt_l1']:.4f}   {diff(d, 'output = target', 'gt_l1'):28s} {m['id_top1']:5.1f}   "
            f"{m['id_cos_gallery']:.3f}  {m['pose_err']:.2f}  {d.get('streaks') or float('nan'):.2f}"
        )
        if args.copy:
            Path(args.copy).mkdir(parents=True, exist_ok=True)
            src = Path(path) / "heldout_eval.json" if Path(path).is_dir() else Path(path)
            shutil.copy(src, Path(args.copy) / f"{name}.json")
    d = load(args.runs[0].split("=", 1)[1])
    for row in ("output = target", "average identity", "ground truth (ceiling)"):
        r = d["rows"][row]
        print(
            f"{row:22s} {r['gt_l1_face']:.4f}  GT L1 {r['gt_l1']:.4f}  ID top1 {r['id_top1']:.1f}  "
            f"ID cos {r['id_cos_gallery']:.3f}  pose {r['pose_err']:.2f}"
        )


if __name__ == "__main__":
    main()
