"""Discriminator regularisers."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def r1_penalty(real_logits: list[Tensor] | Tensor, real_images: Tensor) -> Tensor:
    """R1 (Mescheder 2018): ``E ||grad_x D(x)||^2`` on reals; ``real_images`` must require grad.

    ``real_logits`` are the logits D returned for ``real_images`` (one ``(B, ...)`` tensor per scale).
    Each image's score is the *mean* of its patch logits on each scale, summed over scales: the score
    the adversarial losses average, so R1's strength does not grow with the number of patches (with
    the sum it was 256x stronger at 256 px than at 64 px). Returns the per-sample squared gradient
    norm averaged over the batch; the caller scales by ``gamma / 2`` (and by the lazy interval,
    StyleGAN2's lazy regularisation).
    """
    logits = [real_logits] if isinstance(real_logits, Tensor) else list(real_logits)
    total = sum(lg.float().flatten(1).mean(1).sum() for lg in logits)
    (grad,) = torch.autograd.grad(total, real_images, create_graph=True)
    return grad.float().square().flatten(1).sum(1).mean()


# StyleGAN2's defaults (config F): gamma 10, and R1 every 16 D steps, its lazy-regularisation interval.
# The loss configs (configs/loss/*.yaml) set their own; these apply to a LazyR1 built without them.
DEFAULT_GAMMA = 10.0
DEFAULT_INTERVAL = 16


class LazyR1:
    """R1 applied every ``interval`` D steps with weight ``gamma / 2 * interval`` (StyleGAN2 lazy reg.)."""

    def __init__(self, gamma: float = DEFAULT_GAMMA, interval: int = DEFAULT_INTERVAL):
        if interval < 1:
            raise ValueError(f"r1 interval must be >= 1, got {interval}")
        self.gamma, self.interval = float(gamma), int(interval)

    def due(self, d_step: int) -> bool:
        return self.gamma > 0 and d_step % self.interval == 0

    def __call__(self, d_forward: Callable[[Tensor], list[Tensor]], real_images: Tensor) -> Tensor:
        reals = real_images.detach().requires_grad_(True)
        return r1_penalty(d_forward(reals), reals) * (self.gamma / 2 * self.interval)
