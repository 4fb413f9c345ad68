"""Exponential moving average of a generator's weights (StyleGAN's G_ema), used for samples and export."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """Holds ``shadow``, an EMA copy of ``model``; buffers (e.g. BatchNorm stats) are copied.

    ``half_life_kimg``-style warm-up: the decay used at step t is ``min(decay, (1 + t) / (10 + t))``, so
    early samples are not dominated by the random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.num_updates += 1
        t = float(self.num_updates)
        decay = min(self.decay, (1.0 + t) / (10.0 + t))
        for ema_p, p in zip(self.shadow.parameters(), model.parameters()):
            ema_p.lerp_(p.detach().to(ema_p.dtype), 1.0 - decay)
        for ema_b, b in zip(self.shadow.buffers(), model.buffers()):
            ema_b.copy_(b)

    def forward(self, *args, **kwargs):
        return self.shadow(*args, **kwargs)
