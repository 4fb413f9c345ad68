"""Is a swap's face error misregistration? Per test pair, a similarity transform (shift, rotation,
scale) of each output is fitted to the ground truth (face L1 inside the protocol's face region, Adam,
all pairs at once) and the face L1 before and after is reported, with the fitted motion.

A similarity cannot draw another identity's features, so its gain on a well-registered output (the
average identity row, rendered in the target's exact pose) is the share of identity geometry that a
global motion absorbs (face size and feature heights). A gain well above that row's says the output is
drawn off the target's pose: the registration error that pixel losses pay for and the identity and
pose heads do not see.

With ``--flow G`` the fitted motion is a coarse G x G flow instead (bilinearly upsampled, at most 8 px,
as ``../2026-12-06_warp_only/warp_ceiling.py``): it can move features, so its gain on the average identity
row measures how far that row's features are from the source's, and an output whose gain is as large
has its features no closer to the source's than the average face has.

    python experiments/2026-12-07_cycle/registration.py [--flow G] NAME=CKPT ...
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from face_pairs import FacePairs, interval

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-12-06_warp_only"))
from common import warp as coarse_flow  # noqa: E402  (the warp-only ceiling's flow: bilinear, at most 8 px)


def similarity(image: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """``params`` (B, 4): shift x, y (in pixels), rotation (degrees), log scale; border padding."""
    n, _, h, w = image.shape
    tx, ty = params[:, 0] * 2 / w, params[:, 1] * 2 / h
    a = params[:, 2] * math.pi / 180
    s = params[:, 3].exp()
    theta = torch.stack(
        [
            torch.stack([s * a.cos(), -s * a.sin(), tx], 1),
            torch.stack([s * a.sin(), s * a.cos(), ty], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, padding_mode="border", align_corners=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", help="NAME=PATH")
    ap.add_argument("--num-pairs", type=int, default=200)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--flow", type=int, default=0, help="fit a G x G flow instead of a similarity")
    args = ap.parse_args()
    fp = FacePairs(args.num_pairs)
    face_l1 = fp.face_l1
    outputs = fp.outputs(args.checkpoints)
    motion = f"{args.flow}x{args.flow} flow" if args.flow else "similarity"
    print(f"{len(fp)} pairs; {motion} fitted to the truth by face L1 ({args.steps} Adam steps)\n")
    extra = "mean flow px" if args.flow else "shift px | rotation ° | scale %"
    print(f"| output | face L1 | after the fit | gain | {extra} |")
    print("|---|---:|---:|---|" + "---:|" * (1 if args.flow else 3))
    for name, out in outputs.items():
        if args.flow:
            params = torch.zeros(len(out), 2, args.flow, args.flow, requires_grad=True)
            move = coarse_flow
        else:
            params, move = torch.zeros(len(out), 4, requires_grad=True), similarity
        opt = torch.optim.Adam([params], lr=0.05)
        for _ in range(args.steps):
            loss = face_l1(move(out, params)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            before, after = face_l1(out), face_l1(move(out, params))
            p = params.detach()
            if args.flow:
                moved = (torch.tanh(F.interpolate(p, out.shape[-1], mode="bilinear")) * 8.0).norm(dim=1)
                extra = f"{fp.per_face(moved[:, None]).mean():.2f}"
            else:
                shift = p[:, :2].norm(dim=1).mean()
                rot, scale = p[:, 2].abs().mean(), (p[:, 3].exp() - 1).abs().mean() * 100
                extra = f"{shift:.2f} | {rot:.2f} | {scale:.2f}"
        gain = interval(after - before, star=False)
        print(f"| {name} | {before.mean():.4f} | {after.mean():.4f} | {gain} | {extra} |")


if __name__ == "__main__":
    main()
