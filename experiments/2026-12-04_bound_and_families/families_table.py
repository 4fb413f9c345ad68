"""The generator families (and the supervised bound) over training seeds, one table with intervals.

    python experiments/2026-12-04_bound_and_families/families_table.py NAME=RUN[,RUN...] [...]

Each RUN is a run folder (its ``heldout_eval.json``) or a result file. For each NAME: mean and 95%
t-interval over its runs of ID top-1, ID cosine, pose error, face GT L1 and whole-image GT L1 minus
output = target. With ``--reference NAME``, the difference of every other row's mean to that row's, with a
Welch 95% interval over seeds (``*``: it excludes 0; rows with one run get no interval).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from deepswap.evaluation.merge import seed_stats, t975

METRICS = [
    ("ID top-1 %", lambda d: d["rows"]["model"]["id_top1"]),
    ("ID cos", lambda d: d["rows"]["model"]["id_cos_gallery"]),
    ("pose °", lambda d: d["rows"]["model"]["pose_err"]),
    ("face L1 - target", lambda d: d["differences"]["model"]["output = target"]["gt_l1_face"][0]),
    ("face L1 - average", lambda d: d["differences"]["model"]["average identity"]["gt_l1_face"][0]),
    ("whole L1 - target", lambda d: d["differences"]["model"]["output = target"]["gt_l1"][0]),
]


def load(path: str) -> dict:
    p = Path(path)
    return json.loads((p / "heldout_eval.json" if p.is_dir() else p).read_text())


def fmt(s: dict, digits: int) -> str:
    if s["n"] < 2:
        return f"{s['mean']:.{digits}f} (1 run)"
    return f"{s['mean']:.{digits}f} [{s['lo']:.{digits}f}, {s['hi']:.{digits}f}]"


def welch(a: list[float], b: list[float]) -> tuple[float, float, float] | None:
    if len(a) < 2 or len(b) < 2:
        return None
    sa, sb = seed_stats(a), seed_stats(b)
    va, vb = sa["sd"] ** 2 / len(a), sb["sd"] ** 2 / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else 1e9
    d = sa["mean"] - sb["mean"]
    return d, d - t975(df) * se, d + t975(df) * se


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", nargs="+", help="NAME=RUN[,RUN...]")
    ap.add_argument("--reference", default=None)
    args = ap.parse_args()
    values = {}
    for spec in args.rows:
        name, paths = spec.split("=", 1)
        runs = [load(p) for p in paths.split(",")]
        values[name] = {m: [f(d) for d in runs] for m, f in METRICS}
    digits = {"ID top-1 %": 1, "ID cos": 3, "pose °": 2}
    print("| row | runs | " + " | ".join(m for m, _ in METRICS) + " |")
    print("|---|---:|" + "---|" * len(METRICS))
    for name, v in values.items():
        cells = [fmt(seed_stats(v[m]), digits.get(m, 4)) for m, _ in METRICS]
        print(f"| {name} | {len(v['ID cos'])} | " + " | ".join(cells) + " |")
    if args.reference:
        ref = values[args.reference]
        print(f"\nDifference to {args.reference} (Welch 95% interval over seeds; * excludes 0):\n")
        print("| row | " + " | ".join(m for m, _ in METRICS) + " |")
        print("|---|" + "---|" * len(METRICS))
        for name, v in values.items():
            if name == args.reference:
                continue
            cells = []
            for m, _ in METRICS:
                w, k = welch(v[m], ref[m]), digits.get(m, 4)
                if w is None:
                    d = seed_stats(v[m])["mean"] - seed_stats(ref[m])["mean"]
                    cells.append(f"{d:+.{k}f} (1 run)")
                else:
                    star = "*" if w[1] > 0 or w[2] < 0 else ""
                    cells.append(f"{w[0]:+.{k}f} [{w[1]:+.{k}f}, {w[2]:+.{k}f}]{star}")
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
