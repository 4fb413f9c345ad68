"""Exponential moving average of a generator's weights (StyleGAN's G_ema), used for samples and export.

The average is set by a half-life in thousands of images (kimg), as in StyleGAN2-ADA: after an update on
a batch of ``n`` images, ``shadow = beta * shadow + (1 - beta) * weights`` with
``beta = 0.5 ** (n / (1000 * half_life_kimg))``, so the weights of ``half_life_kimg`` ago count half, at
any batch size and on any number of processes.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

# The half-life of the main job: 2.2 kimg is the 0.995 per-batch decay it used at batch 16.
DEFAULT_HALF_LIFE_KIMG = 2.2
# StyleGAN2-ADA's ema_rampup: early on the half-life is at most this share of the images seen so far,
# so the average forgets the random initialisation quickly.
RAMPUP = 0.05


def ema_beta(batch_images: int, half_life_kimg: float, images_seen: int | None = None) -> float:
    """The weight of the old average after one batch of ``batch_images`` images (see the module doc).

    ``images_seen`` (including this batch) applies the ramp-up; None: no ramp-up."""
    half_life = half_life_kimg * 1000.0
    if images_seen is not None:
        half_life = min(half_life, RAMPUP * images_seen)
    return 0.5 ** (batch_images / max(half_life, 1e-8))


class EMA(nn.Module):
    """Holds ``shadow``, an EMA copy of ``model``; buffers (e.g. BatchNorm stats) are copied, or with
    ``average_buffers`` the floating-point ones are averaged like the weights. A BatchNorm network needs
    that: averaged weights with the live network's running statistics are a mismatched pair (measured:
    the co-trained ResNet detector's held-out paste AUC fell from 0.85 to 0.76 with copied statistics)."""

    def __init__(
        self, model: nn.Module, half_life_kimg: float = DEFAULT_HALF_LIFE_KIMG, average_buffers: bool = False
    ):  # fmt: skip
        super().__init__()
        if not half_life_kimg > 0:
            raise ValueError(f"ema half-life must be > 0 kimg, got {half_life_kimg}")
        self.half_life_kimg, self.average_buffers = float(half_life_kimg), bool(average_buffers)
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, model: nn.Module, batch_images: int, images_seen: int | None = None) -> None:
        """Move the average towards ``model`` after a batch of ``batch_images`` images (all processes);
        ``images_seen``: images of the whole run so far, this batch included (for the ramp-up)."""
        self.num_updates += 1
        beta = ema_beta(batch_images, self.half_life_kimg, images_seen)
        for ema_p, p in zip(self.shadow.parameters(), model.parameters()):
            ema_p.lerp_(p.detach().to(ema_p.dtype), 1.0 - beta)
        for ema_b, b in zip(self.shadow.buffers(), model.buffers()):
            if self.average_buffers and ema_b.dtype.is_floating_point:
                ema_b.lerp_(b.to(ema_b.dtype), 1.0 - beta)
            else:
                ema_b.copy_(b)

    def forward(self, *args, **kwargs):
        return self.shadow(*args, **kwargs)
