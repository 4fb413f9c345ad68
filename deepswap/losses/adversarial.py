"""Adversarial losses over the list of scales a multi-scale patch discriminator returns.

Each loss takes ``list[Tensor]`` of patch logits ``(B, 1, h, w)``, one per scale, and returns a scalar:
the mean over patches of each scale, averaged over scales. A single tensor is treated as one scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _scales(logits: Tensor | list[Tensor]) -> list[Tensor]:
    return [logits] if isinstance(logits, Tensor) else list(logits)


def _mean_over_scales(values: list[Tensor]) -> Tensor:
    return torch.stack([v.float().mean() for v in values]).mean()


class AdversarialLoss(nn.Module):
    """Base class: ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)``."""

    def d_loss(self, real_logits, fake_logits) -> Tensor:
        reals = [self.d_real(r) for r in _scales(real_logits)]
        fakes = [self.d_fake(f) for f in _scales(fake_logits)]
        return _mean_over_scales(reals) + _mean_over_scales(fakes)

    def g_loss(self, fake_logits) -> Tensor:
        return _mean_over_scales([self.g_fake(f) for f in _scales(fake_logits)])

    def forward(self, fake_logits) -> Tensor:
        return self.g_loss(fake_logits)


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN): D: relu(1 - real) + relu(1 + fake); G: -fake."""

    def d_real(self, x):
        return F.relu(1.0 - x)

    def d_fake(self, x):
        return F.relu(1.0 + x)

    def g_fake(self, x):
        return -x


class NonSaturatingLoss(AdversarialLoss):
    """Non-saturating logistic loss (Goodfellow 2014; StyleGAN2): D: softplus(-real) + softplus(fake)."""

    def d_real(self, x):
        return F.softplus(-x)

    def d_fake(self, x):
        return F.softplus(x)

    def g_fake(self, x):
        return F.softplus(-x)


class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN (Mao 2017): D: (real - 1)^2 + fake^2; G: (fake - 1)^2. Halved as in the paper."""

    def d_real(self, x):
        return 0.5 * (x - 1.0).square()

    def d_fake(self, x):
        return 0.5 * x.square()

    def g_fake(self, x):
        return 0.5 * (x - 1.0).square()
