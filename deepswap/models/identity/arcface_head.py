"""ArcFace additive angular margin head (Deng et al., 2019) for training identity encoders."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ArcMarginHead(nn.Module):
    """(B, embedding_size) embeddings + (B,) int64 labels -> (B, num_classes) logits for cross-entropy.

    logits = s * cos(theta_j) for the other classes and s * cos(theta_y + m) for the true class, with
    theta the angle between the L2-normalised embedding and class weight. Where theta_y + m > pi the
    margin would make the target logit grow again, so the monotone fallback
    cos(theta_y) - m * sin(m) is used instead (``easy_margin=True`` applies the margin only where
    cos(theta_y) > 0). Without labels it returns the plain s * cos(theta) (inference).
    """

    def __init__(
        self,
        embedding_size: int,
        num_classes: int,
        scale: float = 64.0,
        margin: float = 0.5,
        easy_margin: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_size))
        nn.init.normal_(self.weight, std=0.01)
        self.scale = scale
        self.margin = margin
        self.easy_margin = easy_margin
        self.cos_m, self.sin_m = math.cos(margin), math.sin(margin)
        self.threshold = math.cos(math.pi - margin)  # cos(theta) above this <=> theta + m < pi

    def forward(self, embeddings: Tensor, labels: Tensor | None = None) -> Tensor:
        """(B, D) embeddings, (B,) labels -> (B, num_classes) scaled logits with margin on the true class."""
        if embeddings.dim() != 2 or embeddings.shape[1] != self.weight.shape[1]:
            raise ValueError(f"embeddings must be (B, {self.weight.shape[1]}), got {tuple(embeddings.shape)}")
        cos = F.linear(F.normalize(embeddings, dim=1), F.normalize(self.weight, dim=1)).clamp(-1.0, 1.0)
        if labels is None:
            return cos * self.scale
        if labels.shape != (embeddings.shape[0],):
            raise ValueError(f"labels must be ({embeddings.shape[0]},), got {tuple(labels.shape)}")
        cos_y = cos.gather(1, labels[:, None])
        sin_y = (1.0 - cos_y * cos_y).clamp_min(1e-9).sqrt()
        cos_y_m = cos_y * self.cos_m - sin_y * self.sin_m  # cos(theta_y + m)
        if self.easy_margin:
            target = torch.where(cos_y > 0, cos_y_m, cos_y)
        else:
            target = torch.where(cos_y > self.threshold, cos_y_m, cos_y - self.margin * self.sin_m)
        return cos.scatter(1, labels[:, None], target) * self.scale
