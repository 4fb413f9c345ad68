"""Two runs' swaps on the same held-out pairs, compared pair by pair (``deepswap.evaluate``'s pairs.csv):

    python paired_runs.py A=EVAL_DIR B=EVAL_DIR

Prints each metric's mean for A and B and the paired difference B - A with a 95% bootstrap interval over
pairs (``*``: it excludes 0). One seed per run: the difference mixes the change under test with the run's
own training noise, so read a significant difference next to the spread over seeds.
"""

import csv
import sys
from pathlib import Path

import numpy as np

METRICS = ["id_top1", "id_cos_gallery", "pose_err", "expr_err", "gt_l1_face", "gt_l1_band", "gt_l1"]


def model_rows(folder: str) -> dict[int, dict[str, float]]:
    with open(Path(folder) / "pairs.csv") as f:
        return {int(r["pair"]): r for r in csv.DictReader(f) if r["output"] == "model"}


def main(args: list[str]) -> None:
    (na, da), (nb, db) = (a.split("=", 1) for a in args)
    ra, rb = model_rows(da), model_rows(db)
    if sorted(ra) != sorted(rb):
        raise SystemExit("the two evaluations scored different pairs")
    keys = sorted(ra)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(keys), (2000, len(keys)))
    print(f"| metric | {na} | {nb} | {nb} - {na} [95%, pairs] |\n|---|---:|---:|---|")
    for m in METRICS:
        if not ra[keys[0]].get(m):
            continue
        a = np.array([float(ra[k][m]) for k in keys])
        b = np.array([float(rb[k][m]) for k in keys])
        d = b - a
        lo, hi = np.quantile(d[idx].mean(1), [0.025, 0.975])
        star = "*" if lo > 0 or hi < 0 else ""
        print(f"| {m} | {a.mean():.4f} | {b.mean():.4f} | {d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]{star} |")


if __name__ == "__main__":
    main(sys.argv[1:])
