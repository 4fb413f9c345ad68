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
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from deepswap.evaluation import protocol
from deepswap.evaluation.harness import CONFIG_DIR, heldout_pairs
from deepswap.evaluation.metrics import face_regions
from deepswap.inference.loader import load_model


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, int(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / sigma) ** 2)
    k = (k / k.sum()).to(x)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(
        F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c
    )


def interval(x: torch.Tensor) -> str:
    lo, hi = protocol.bootstrap_interval(x)
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{x.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", help="NAME=PATH")
    ap.add_argument("--num-pairs", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=2.0)
    args = ap.parse_args()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        train = compose("train")
        ev = compose("evaluate", overrides=["checkpoint=unused", f"num_pairs={args.num_pairs}"])
    with open_dict(ev):
        ev.data = train.data
    pairs, _, _ = heldout_pairs(ev, ev.data)
    truth = pairs["truth"].float()
    face = face_regions(pairs["truth_mask"], pairs["target_mask"])["face"].float()
    area = face.flatten(1).sum(1).clamp_min(1)

    def parts(out: torch.Tensor) -> list[torch.Tensor]:
        res = (out.float() - truth) * 0.5
        coarse = gaussian_blur(res, args.sigma)
        offset = (res * face).flatten(2).sum(2) / area[:, None]  # (B, 3) face-mean colour offset

        def over_face(x: torch.Tensor) -> torch.Tensor:
            return (x.abs().mean(1, keepdim=True) * face).flatten(1).sum(1) / area

        return [over_face(res), over_face(coarse), over_face(res - coarse), offset.abs().mean(1)]

    outputs = {"output = target": pairs["target"], "average identity": pairs["average"]}
    for spec in args.checkpoints:
        name, _, path = spec.partition("=")
        model, _ = load_model(path, "cpu")
        outputs[name] = protocol.run_model(model.swap, pairs, 64, protocol.paste_px_for(model.config, True))
    split = {name: parts(out) for name, out in outputs.items()}
    avg = split["average identity"]
    cols = ["face L1", f"coarse (sigma {args.sigma} px)", "fine", "face-mean colour offset"]
    print(f"{len(truth)} pairs; each cell: mean, and (below the average row) its paired difference\n")
    print("| output | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for name, ps in split.items():
        cells = [
            f"{p.mean():.4f}" + ("" if name == "average identity" else f" ({interval(p - a)})")
            for p, a in zip(ps, avg)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
