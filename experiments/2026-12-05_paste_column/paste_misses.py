"""Held-out paste: the detector's AUC per paste member, split by how much the paste changed the image.

    python paste_misses.py RUN/holdout_paste/test_frames.csv

Rebuilds the test split's paste fakes (world of configs/detect_data/synthetic.yaml, seed 0, 1000 pairs,
member k on pairs k, k + 4, ...; the seeds of deepswap.detection.data.synthetic_split) and prints, per
member, each fake's share of reals scored below it, averaged within quartiles of mean abs(fake - target).
"""

import csv
import sys

import numpy as np
import torch
from omegaconf import OmegaConf

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.detection.data import world_pairs
from deepswap.detection.manipulations import paste_swap

cfg = OmegaConf.load("configs/detect_data/synthetic.yaml")
world = SyntheticFaceWorld(**OmegaConf.to_container(cfg.world, resolve=True))
p = world_pairs(world, "test", 1000, 64, 0)
rows = list(csv.DictReader(open(sys.argv[1])))
real = np.array([float(r["score"]) for r in rows if r["label"] == "0"])
fs = {int(r["video"].rsplit("/", 1)[1]): float(r["score"]) for r in rows if r["label"] == "1"}
keys = ("target", "source", "target_mask", "source_mask", "target_landmarks", "source_landmarks")
for k, (name, blend, ct) in enumerate(
    [
        ("alpha", "alpha", False),
        ("alpha_ct", "alpha", True),
        ("poisson", "poisson", False),
        ("poisson_ct", "poisson", True),
    ]
):
    idx = torch.arange(k, 1000, 4)
    fk = paste_swap(*(p[kk][idx] for kk in keys), blend, ct, 0 + 101 * k)
    d = (fk - p["target"][idx]).abs().mean((1, 2, 3)).numpy()
    area = (fk - p["target"][idx]).abs().amax(1).gt(0.02).float().mean((1, 2)).numpy()
    s = np.array([fs[int(i)] for i in idx])
    # per-fake AUC contribution: fraction of reals below
    rank = np.array([(real < x).mean() + 0.5 * (real == x).mean() for x in s])
    q = np.quantile(d, [0.25, 0.5, 0.75])
    print(
        name,
        "auc",
        rank.mean().round(3),
        "corr(rank,diff)",
        np.corrcoef(rank, d)[0, 1].round(3),
        "corr(rank,area)",
        np.corrcoef(rank, area)[0, 1].round(3),
    )
    for lo, hi in [(0, q[0]), (q[0], q[1]), (q[1], q[2]), (q[2], 9)]:
        sel = (d >= lo) & (d < hi)
        print(f"   diff in [{lo:.3f}, {hi:.3f}): auc {rank[sel].mean():.3f} n={sel.sum()}")
