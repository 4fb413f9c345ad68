"""Seeded albumentations pipelines built from config (``strict=True``: a misspelt argument raises).

A pipeline is a list of albumentations transform configs with ``_target_``, e.g.::

    augment:
      - {_target_: albumentations.HorizontalFlip, p: 0.5}
      - {_target_: albumentations.ColorJitter, brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.02}

Each image's augmentation is a pure function of (seed, image key), so runs and loader workers agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import numpy as np
import torch
from hydra.utils import instantiate


class SeededAugment:
    """Callable ``(image (H,W,3) uint8 RGB, key) -> (3, H, W) float tensor in [0, 1]``.

    ``key`` is an int or a tuple of ints (e.g. ``(seed, index, epoch, side)``)."""

    def __init__(self, transforms: Sequence, seed: int = 0):
        built = [instantiate(t) if not isinstance(t, A.BasicTransform) else t for t in transforms]
        self.compose = A.Compose(built, strict=True, seed=seed)
        self.seed = int(seed)

    def __call__(self, image: np.ndarray | torch.Tensor, key: int | tuple[int, ...]) -> torch.Tensor:
        if isinstance(image, torch.Tensor):  # (3, H, W) in [0, 1]
            image = (image.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        self.compose.set_random_seed(
            int(np.random.SeedSequence([self.seed, *_ints(key)]).generate_state(1)[0])
        )
        out = self.compose(image=np.ascontiguousarray(image))["image"]
        return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).float() / 255.0


def _ints(key: int | tuple[int, ...]) -> list[int]:
    return [abs(int(k)) for k in (key if isinstance(key, (tuple, list)) else (key,))]


def build_augment(transforms: Sequence | None, seed: int = 0) -> SeededAugment | None:
    """None or an empty list gives no augmentation."""
    return SeededAugment(list(transforms), seed) if transforms else None
