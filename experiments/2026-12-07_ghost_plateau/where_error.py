"""Where in the face is a swap's error: on pixels the swap should leave as the target's, or on pixels
the identity change moves?

The closing table's test pairs (seed 0, pasted as in the closing table) are split, inside the
protocol's face region (`face_regions`), by the truth's own change from the target:

- *kept*: |truth - target| < `--tau` (mean over channels, [0, 1] scale): the swap should copy the target;
- *changed*: the rest, where the identity change moves something.

For each output, the face L1 is split into the two parts (each as a share of the face's pixels, so
that the two add up to the protocol's face L1). Intervals: 95% bootstrap over pairs.

    python experiments/2026-12-07_where_error/where_error.py --checkpoint NAME=PATH ...
"""

from __future__ import annotations

import argparse

import torch

from deepswap.evaluation import protocol
from deepswap.evaluation.harness import checkpoint_swaps, closing_pairs
from deepswap.evaluation.metrics import face_regions


def boot(x: torch.Tensor) -> str:
    lo, hi = protocol.bootstrap_interval(x)
    return f"{x.mean():.4f} [{lo:.4f}, {hi:.4f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", action="append", default=[], help="NAME=PATH")
    ap.add_argument("--num-pairs", type=int, default=200)
    ap.add_argument("--tau", type=float, default=0.02)
    args = ap.parse_args()
    pairs = closing_pairs(args.num_pairs)
    truth, target = pairs["truth"].float(), pairs["target"].float()
    face = face_regions(pairs["truth_mask"], pairs["target_mask"])["face"].float()
    change = ((truth - target).abs() * 0.5).mean(1, keepdim=True)
    kept = face * (change < args.tau).float()
    moved = face - kept
    area = face.flatten(1).sum(1).clamp_min(1)
    outputs = {"output = target": target, "average identity": pairs["average"].float()}
    for spec in args.checkpoint:
        name, _, path = spec.partition("=")
        outputs[name] = checkpoint_swaps(path, pairs).float()
    share = kept.flatten(1).sum(1) / area
    print(f"{len(truth)} pairs, tau {args.tau}: kept pixels are {share.mean():.1%} of the face region\n")
    print("| output | face L1 | on kept pixels | on changed pixels |\n|---|---|---|---|")
    for name, out in outputs.items():
        err = ((out - truth).abs() * 0.5).mean(1, keepdim=True)
        parts = [(err * m).flatten(1).sum(1) / area for m in (face, kept, moved)]
        print(f"| {name} | " + " | ".join(boot(p) for p in parts) + " |")


if __name__ == "__main__":
    main()
