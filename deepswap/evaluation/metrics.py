"""Swap metrics on image batches. Images ``(B, 3, H, W)`` in [-1, 1]; masks ``(B, 1, H, W)`` in [0, 1].

All functions return per-sample values ``(B,)`` so callers can average, keep per-pair rows, or
bootstrap. Error metrics are computed on the [0, 1] scale (PSNR with peak 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def identity_cosine(embedding_a: Tensor, embedding_b: Tensor) -> Tensor:
    """Cosine similarity of two embedding batches ``(B, D)`` -> ``(B,)``."""
    return F.cosine_similarity(embedding_a.float(), embedding_b.float(), dim=1)


def masked_l1(pred: Tensor, truth: Tensor, mask: Tensor) -> Tensor:
    """Mean absolute error inside ``mask`` on the [0, 1] scale -> ``(B,)``."""
    diff = (pred.float() - truth.float()).abs() * 0.5
    m = mask.float().expand_as(diff)
    return (diff * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1e-6)


def psnr(pred: Tensor, truth: Tensor) -> Tensor:
    """PSNR in dB on the [0, 1] scale over the whole image -> ``(B,)``."""
    mse = ((pred.float() - truth.float()) * 0.5).square().flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))


def face_union_mask(*masks: Tensor) -> Tensor:
    """Union (max) of several face masks: the region where a swap may differ from its target."""
    return torch.stack([m.float() for m in masks]).amax(0)


def recolor_to_source(target: Tensor, target_mask: Tensor, source: Tensor, source_mask: Tensor) -> Tensor:
    """Reference output: the target with its face shifted to the source's mean face colour.

    The face region (soft ``target_mask``) gets ``+ (mean_source_face - mean_target_face)`` per channel.
    A swap that only recolours would score like this row.
    """

    def face_mean(x, m):
        return (x * m).flatten(2).sum(2) / m.flatten(2).sum(2).clamp_min(1e-6)

    shift = face_mean(source, source_mask) - face_mean(target, target_mask)
    return (target + shift[:, :, None, None] * target_mask).clamp(-1, 1)
