"""Two detectors' scores of the same frames (`score.sh` rows) combined after the fact, per family and
condition:

    python ensemble.py /tmp/x160/score_both deepswap_s0 robust_s0 > results/ensemble.md

Each detector's logits are standardised by the mean and sd of its logits on the CLEAN reals (what a user
can calibrate on; the degraded reals' statistics are not known at test time), then averaged ("mean") or
maxed ("max"). Frame AUC per family, reals against that family's fakes.
"""

import sys
from pathlib import Path

import numpy as np

from deepswap.detection.metrics import roc_auc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "2026-12-05_paste_column"))
from paired_auc import read  # noqa: E402  (video -> (label, score) of a scored_<name>.csv)

FAMILIES = ("sbi", "paste", "deepswap", "ghost", "simswap", "faceshifter")


def main(folder: str, a: str, b: str) -> None:
    root = Path(folder)
    conds = ["clean"] + sorted(p.stem.split("@", 1)[1] for p in root.glob(f"scored_{a}@*.csv"))
    stats = {}
    for name in (a, b):
        reals = np.array([s for y, s in read(root / f"scored_{name}.csv").values() if y == 0])
        stats[name] = (reals.mean(), reals.std())
    print("AUC of the mean / of the max of the standardised logits")
    print()
    print(f"| condition | {' | '.join(FAMILIES)} |")
    print("|---|" + "---|" * len(FAMILIES))
    for cond in conds:
        suffix = "" if cond == "clean" else f"@{cond}"
        sa, sb = read(root / f"scored_{a}{suffix}.csv"), read(root / f"scored_{b}{suffix}.csv")
        cells = []
        for fam in FAMILIES:
            keys = [k for k, (y, _) in sa.items() if y == 0 or f"/{fam}/" in k]
            y = np.array([sa[k][0] for k in keys])
            za = (np.array([sa[k][1] for k in keys]) - stats[a][0]) / stats[a][1]
            zb = (np.array([sb[k][1] for k in keys]) - stats[b][0]) / stats[b][1]
            cells.append(f"{roc_auc(y, (za + zb) / 2):.3f} / {roc_auc(y, np.maximum(za, zb)):.3f}")
        print(f"| {cond} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
