"""Shared contract of every face-swap generator: ``(target, source_id) -> GeneratorOutput``."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

_RES_CLAMP = 0.999  # atanh(0.999) = 3.8: keeps the residual's pre-activation finite


def tanh_residual(change: Tensor, base: Tensor) -> Tensor:
    """``tanh(change + atanh(base))``: an RGB change from ``base`` (in [-1, 1]) predicted in tanh
    space, so ``change = 0`` returns ``base`` (clamped to +-0.999) and the output stays in (-1, 1)."""
    return torch.tanh(change + torch.atanh(base.clamp(-_RES_CLAMP, _RES_CLAMP)))


class GeneratorOutput(NamedTuple):
    """``image`` (B, 3, H, W) in [-1, 1]; ``mask`` (B, 1, H, W) in [0, 1] or None.

    When the generator predicts a mask, ``image`` is already the blended result
    ``mask * raw + (1 - mask) * target``.
    """

    image: Tensor
    mask: Tensor | None


class SwapGenerator(nn.Module):
    """Base class: target (B, 3, H, W) in [-1, 1] + source_id (B, id_dim) -> GeneratorOutput.

    Subclasses set ``id_dim``, ``has_mask`` and ``size_multiple`` (H and W must be divisible by it,
    usually ``2 ** n_down``) and implement ``forward`` and ``encode_attributes``.
    """

    id_dim: int
    has_mask: bool
    size_multiple: int

    def __init__(self, id_dim: int, has_mask: bool, size_multiple: int) -> None:
        super().__init__()
        if id_dim <= 0:
            raise ValueError(f"id_dim must be positive, got {id_dim}")
        self.id_dim = id_dim
        self.has_mask = has_mask
        self.size_multiple = size_multiple

    def forward(self, target: Tensor, source_id: Tensor) -> GeneratorOutput:  # pragma: no cover
        raise NotImplementedError

    def encode_attributes(self, x: Tensor) -> list[Tensor]:  # pragma: no cover
        """(B, 3, H, W) in [-1, 1] -> list of multi-level attribute feature maps (B, C_k, H_k, W_k)."""
        raise NotImplementedError

    def check_image(self, x: Tensor, name: str = "target") -> None:
        """Raise ValueError unless ``x`` is (B, 3, H, W) with H, W divisible by ``size_multiple``."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{type(self).__name__}: {name} must be (B, 3, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(
                f"{type(self).__name__}: {name} H and W must be divisible by {m} (2**n_down), "
                f"got {h}x{w}; resize/crop the input or change n_down"
            )

    def check_inputs(self, target: Tensor, source_id: Tensor) -> None:
        """Validate (B, 3, H, W) target and (B, id_dim) source_id; raise ValueError with the mismatch."""
        self.check_image(target)
        if source_id.dim() != 2 or source_id.shape[1] != self.id_dim:
            raise ValueError(
                f"{type(self).__name__}: source_id must be (B, {self.id_dim}) (id_dim={self.id_dim}), "
                f"got {tuple(source_id.shape)}"
            )
        if source_id.shape[0] != target.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: batch sizes differ: target {target.shape[0]} vs "
                f"source_id {source_id.shape[0]}"
            )

    @staticmethod
    def blend(raw: Tensor, mask: Tensor, target: Tensor) -> Tensor:
        """(B, 3, H, W) raw, (B, 1, H, W) mask, (B, 3, H, W) target -> mask * raw + (1 - mask) * target."""
        return mask * raw + (1.0 - mask) * target
