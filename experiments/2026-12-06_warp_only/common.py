"""Shared pieces of the per-pair warp probes: the protocol's 200 test pairs at 64 px, a coarse warp and
the closing table's scores (evaluation oracle: ID top-1 and cosine against the gallery, pose error;
face GT L1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation.harness import synthetic_oracle
from deepswap.evaluation.protocol import score_outputs, synthetic_pairs
from deepswap.evaluation.scorers import scorer_for

SIZE = 64


def test_pairs() -> tuple[SyntheticFaceWorld, dict]:
    world = SyntheticFaceWorld(1000, 400, 0, "target")  # configs/data/synthetic.yaml's world
    return world, synthetic_pairs(world, 200, SIZE, 0)


def oracle() -> torch.nn.Module:
    data = OmegaConf.to_container(OmegaConf.load("configs/data/synthetic.yaml"))
    return synthetic_oracle({"world": data["world"], "size": SIZE}).eval().requires_grad_(False)


def warp(images: torch.Tensor, flow: torch.Tensor, max_px: float = 8.0) -> torch.Tensor:
    """``images`` resampled by a coarse ``flow`` (B, 2, g, g), bilinearly upsampled, tanh-bounded."""
    h = images.shape[-1]
    axis = torch.linspace(-1, 1, h)
    base = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1)
    off = torch.tanh(F.interpolate(flow, h, mode="bilinear")).permute(0, 2, 3, 1) * max_px * 2 / (h - 1)
    return F.grid_sample(images, base + off, mode="bilinear", padding_mode="border", align_corners=True)


def report(outputs: dict[str, torch.Tensor], pairs: dict, scorer_net: torch.nn.Module | None = None) -> None:
    """One line per output: oracle ID top-1 and cosine, pose error, face GT L1 (the closing table's)."""
    base = {"output = target": pairs["target"], "average identity": pairs["average"], "truth": pairs["truth"]}
    res = score_outputs({**base, **outputs}, pairs, scorer_for(scorer_net or oracle()))
    for name, v in res.items():
        print(
            f"| {name} | {100 * v['id_top1'].mean():.1f} | {v['id_cos_gallery'].mean():.3f} | "
            f"{v['pose_err'].mean():.2f} | {v['gt_l1_face'].nanmean():.4f} |",
            flush=True,
        )
