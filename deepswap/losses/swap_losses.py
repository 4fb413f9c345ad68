"""Face-swap generator losses: identity, reconstruction, attribute preservation, feature matching.

Each is a small module with a fixed signature; weights live in ``configs/loss/*.yaml``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class IdentityLoss(nn.Module):
    """``1 - cos(e_swap, e_source)`` averaged over the batch; embeddings ``(B, D)`` (any norm)."""

    def forward(self, swap_embedding: Tensor, source_embedding: Tensor) -> Tensor:
        if swap_embedding.shape != source_embedding.shape:
            raise ValueError(
                f"embedding shapes differ: {tuple(swap_embedding.shape)} vs {tuple(source_embedding.shape)}"
            )
        return (1.0 - F.cosine_similarity(swap_embedding.float(), source_embedding.float(), dim=1)).mean()


class TargetIdentityLoss(nn.Module):
    """Target-identity leakage: ``relu(cos(e_swap, e_target) - cos(e_source, e_target))`` averaged over
    the pairs whose ``same`` ``(B,)`` is not set; embeddings ``(B, D)`` (any norm).

    The swap should look no more like the target's identity than the source itself does. The identity
    loss alone only pulls towards the source, and a generator whose attribute path carries the target's
    face geometry can raise that cosine while keeping much of the target's identity (measured per factor
    in ``experiments/2026-12-07_identity_frontier``: GHOST at 12 kimg keeps target weights of 0.15-0.58).
    Same-identity pairs are left out (their source is the target). Returns 0 (with a graph) without a
    pair of different identities.
    """

    def forward(self, swap: Tensor, source: Tensor, target: Tensor, same: Tensor) -> Tensor:
        if not swap.shape == source.shape == target.shape:
            raise ValueError(
                f"embedding shapes differ: swap {tuple(swap.shape)}, source {tuple(source.shape)}, "
                f"target {tuple(target.shape)}"
            )
        to_target = F.cosine_similarity(swap.float(), target.float(), dim=1)
        allowed = F.cosine_similarity(source.float(), target.float(), dim=1)
        keep = (~same.bool()).float()
        return (F.relu(to_target - allowed) * keep).sum() / keep.sum().clamp_min(1.0)


class ReconstructionLoss(nn.Module):
    """L1 (or L2) between swap and target ``(B, 3, H, W)``, counted only where ``same`` ``(B,)`` is set.

    FaceShifter and SimSwap ask the generator to return the target unchanged when source and target
    show the same person. Returns 0 (with a graph) when the batch has no same-identity pair.
    """

    def __init__(self, kind: str = "l1"):
        super().__init__()
        if kind not in ("l1", "l2"):
            raise ValueError(f"reconstruction kind must be 'l1' or 'l2', got {kind!r}")
        self.kind = kind

    def forward(self, swap: Tensor, target: Tensor, same: Tensor) -> Tensor:
        diff = swap.float() - target.float()
        per_sample = (diff.abs() if self.kind == "l1" else 0.5 * diff.square()).flatten(1).mean(1)
        weight = same.float().to(per_sample.device)
        return (per_sample * weight).sum() / weight.sum().clamp_min(1.0)


class AttributeLoss(nn.Module):
    """FaceShifter's attribute preservation: ``0.5 * mean_k ||z_k(swap) - z_k(target)||^2``.

    Takes the two lists of multi-level attribute features (same shapes, level by level). The target's
    features are detached so the loss cannot be lowered by moving the target side.
    """

    def forward(self, swap_features: list[Tensor], target_features: list[Tensor]) -> Tensor:
        if len(swap_features) != len(target_features) or not swap_features:
            raise ValueError("attribute feature lists must be non-empty and of equal length")
        terms = [
            0.5 * (s.float() - t.detach().float()).square().mean()
            for s, t in zip(swap_features, target_features)
        ]
        return torch.stack(terms).mean()


class FeatureMatchingLoss(nn.Module):
    """SimSwap's weak feature matching: L1 between D features of swap and of the real target.

    ``fake_features`` / ``real_features``: per scale, a list of feature maps. Only the last ``last_n``
    maps of each scale are matched ("weak": the deep, semantic layers).
    """

    def __init__(self, last_n: int = 2):
        super().__init__()
        self.last_n = int(last_n)

    def forward(self, fake_features: list[list[Tensor]], real_features: list[list[Tensor]]) -> Tensor:
        terms = []
        for fake_scale, real_scale in zip(fake_features, real_features):
            for f, r in list(zip(fake_scale, real_scale))[-self.last_n :]:
                terms.append((f.float() - r.detach().float()).abs().mean())
        if not terms:
            raise ValueError("feature matching got no discriminator features")
        return torch.stack(terms).mean()
