"""Paired difference of two detectors' AUC on the same test frames, with a stratified bootstrap.

    python paired_auc.py A/holdout_paste/test_frames.csv B/holdout_paste/test_frames.csv
    python paired_auc.py A/scored_pre.csv B/scored_pre.csv paste     # lofo score rows: one family's fakes

Both files must score the same frames (same families, pairs and seed: LOFO runs that differ only in
the training recipe). Prints AUC(B) - AUC(A) and its 95% interval (1000 resamples of reals and fakes,
the same resample for both detectors).
"""

import csv
import sys

import numpy as np

from deepswap.detection.metrics import roc_auc


def read(path: str, family: str | None = None) -> dict[str, tuple[int, float]]:
    """``video -> (label, score)``; with ``family``, the reals and that family's fakes only."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    keep = [r for r in rows if family is None or r["label"] == "0" or f"/{family}/" in r["video"]]
    return {r["video"]: (int(r["label"]), float(r["score"])) for r in keep}


def paired(path_a: str, path_b: str, family: str | None = None, resamples: int = 1000, seed: int = 0):
    """``(AUC A, AUC B, B - A, lo, hi)`` on the frames both files score (the reals and ``family``'s fakes)."""
    a, b = read(path_a, family), read(path_b, family)
    if set(a) != set(b):
        raise SystemExit("the two files score different frames; compare runs on the same test split")
    keys = sorted(a)
    y = np.array([a[k][0] for k in keys])
    sa, sb = np.array([a[k][1] for k in keys]), np.array([b[k][1] for k in keys])
    diff = roc_auc(y, sb) - roc_auc(y, sa)
    rng = np.random.default_rng(seed)
    reals, fakes = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    boot = []
    for _ in range(resamples):
        i = np.r_[rng.choice(reals, len(reals)), rng.choice(fakes, len(fakes))]
        boot.append(roc_auc(y[i], sb[i]) - roc_auc(y[i], sa[i]))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return roc_auc(y, sa), roc_auc(y, sb), diff, lo, hi


def main(path_a: str, path_b: str, family: str | None = None) -> None:
    auc_a, auc_b, diff, lo, hi = paired(path_a, path_b, family)
    print(f"AUC A {auc_a:.3f}  B {auc_b:.3f}  B - A {diff:+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
