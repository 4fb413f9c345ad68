"""Which scale is a swap's face error at? Each output's residual to the truth, inside the protocol's
face region, is split by a Gaussian low-pass (sigma in pixels at 64 px) into a coarse part (shading,
colour, feature placement at the scale of the blur) and a fine part (edges, texture, sharpness), plus
the face-mean colour offset alone. Each part is a mean absolute value over the face ([0, 1] scale),
with its paired difference to the average identity row (95% bootstrap over pairs).

    python experiments/2026-12-07_cycle/frequency_split.py NAME=CKPT ...
"""

from __future__ import annotations

import argparse

import torch
import torchvision.transforms.functional as TF
from face_pairs import FacePairs, interval


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", help="NAME=PATH")
    ap.add_argument("--num-pairs", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=2.0)
    args = ap.parse_args()
    fp = FacePairs(args.num_pairs)
    k = 2 * int(3 * args.sigma) + 1

    def parts(out: torch.Tensor) -> list[torch.Tensor]:
        res = (out - fp.truth) * 0.5
        coarse = TF.gaussian_blur(res, [k, k], [args.sigma, args.sigma])
        offset = (res * fp.face).flatten(2).sum(2) / fp.area[:, None]  # (B, 3) face-mean colour offset
        mags = [fp.per_face(x.abs().mean(1, keepdim=True)) for x in (res, coarse, res - coarse)]
        return [*mags, offset.abs().mean(1)]

    split = {name: parts(out) for name, out in fp.outputs(args.checkpoints).items()}
    avg = split["average identity"]
    cols = ["face L1", f"coarse (sigma {args.sigma} px)", "fine", "face-mean colour offset"]
    print(f"{len(fp)} pairs; each cell: mean, and (below the average row) its paired difference\n")
    print("| output | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for name, ps in split.items():
        cells = [
            f"{p.mean():.4f}" + ("" if name == "average identity" else f" ({interval(p - a)})")
            for p, a in zip(ps, avg)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
