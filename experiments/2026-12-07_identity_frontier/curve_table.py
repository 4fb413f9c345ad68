"""Rows of ``deepswap.evaluate`` outputs against kimg: ``python curve_table.py DIR`` where DIR holds
``kimgNN/evaluation.json`` (one per checkpoint)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cell(d: dict, base: str, metric: str) -> str:
    mean, lo, hi = d["differences"]["model"][base][metric]
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{mean:+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"


def main(folder: str) -> None:
    print("| kimg | ID top-1 % [95%] | pose ° | face L1 - target | face L1 - average | whole L1 - target |")
    print("|---:|---|---:|---|---|---|")
    runs = sorted(Path(folder).glob("kimg*/evaluation.json"), key=lambda p: int(p.parent.name[4:]))
    for path in runs:
        d = json.loads(path.read_text())
        m, (lo, hi) = d["rows"]["model"], d["intervals"]["model"]["id_top1"]
        print(
            f"| {int(path.parent.name[4:])} | {m['id_top1']:.1f} [{lo:.1f}, {hi:.1f}] | {m['pose_err']:.2f} "
            f"| {cell(d, 'output = target', 'gt_l1_face')} | {cell(d, 'average identity', 'gt_l1_face')} "
            f"| {cell(d, 'output = target', 'gt_l1')} |"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
