"""Replay buffer of past generator outputs ``(3, H, W)`` in [-1, 1], so the detector keeps seeing old fakes.

Once full, ``add`` uses reservoir sampling (Vitter's algorithm R): after ``n`` images have been offered,
each of them is in the buffer with probability ``capacity / n``, so early generators stay represented
instead of being pushed out by the newest ones. Storage is on the CPU, detached, optionally uint8.
"""

from __future__ import annotations

import torch
from torch import Tensor


class ReplayBuffer:
    """Fixed-capacity reservoir of images ``(3, H, W)``; ``sample(n)`` -> ``(n, 3, H, W)`` float."""

    def __init__(self, capacity: int, seed: int = 0, as_uint8: bool = False) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.as_uint8 = bool(as_uint8)
        self.seen = 0  # images offered to add() so far
        self.size = 0
        self.storage: Tensor | None = None
        self.generator = torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return self.size

    def _encode(self, x: Tensor) -> Tensor:
        x = x.detach().to("cpu", torch.float32)
        if self.as_uint8:
            return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.clone()

    def _decode(self, x: Tensor) -> Tensor:
        return x.float() / 127.5 - 1.0 if self.as_uint8 else x.clone()

    def add(self, images: Tensor) -> None:
        """Offer a batch ``(B, 3, H, W)`` (or one ``(3, H, W)``); keeps each with reservoir probability."""
        if images.dim() == 3:
            images = images.unsqueeze(0)
        if images.dim() != 4:
            raise ValueError(f"expected images (B, 3, H, W), got shape {tuple(images.shape)}")
        items = self._encode(images)
        if self.storage is None:
            self.storage = torch.empty((self.capacity, *items.shape[1:]), dtype=items.dtype)
        elif items.shape[1:] != self.storage.shape[1:]:
            raise ValueError(
                f"image shape {tuple(items.shape[1:])} differs from the buffer's "
                f"{tuple(self.storage.shape[1:])}; resize generator outputs to one size before add()"
            )
        u = torch.rand(items.shape[0], generator=self.generator, dtype=torch.float64)
        for i in range(items.shape[0]):
            self.seen += 1
            if self.size < self.capacity:
                self.storage[self.size] = items[i]
                self.size += 1
                continue
            j = int(u[i].item() * self.seen)  # uniform in [0, seen)
            if j < self.capacity:
                self.storage[j] = items[i]

    def sample(self, n: int, device: torch.device | str | None = None) -> Tensor:
        """``n`` random stored images ``(n, 3, H, W)`` in [-1, 1]; without replacement if ``n <= len``."""
        if self.size == 0 or self.storage is None:
            raise ValueError("replay buffer is empty; call add() with generator outputs before sample()")
        if n <= self.size:
            idx = torch.randperm(self.size, generator=self.generator)[:n]
        else:
            idx = torch.randint(self.size, (n,), generator=self.generator)
        return self._decode(self.storage[idx]).to(device or "cpu")

    def state_dict(self) -> dict:
        """Everything needed to resume: stored images, counters and the random state."""
        return {
            "capacity": self.capacity,
            "as_uint8": self.as_uint8,
            "seen": self.seen,
            "size": self.size,
            "items": None if self.storage is None else self.storage[: self.size].clone(),
            "rng_state": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`; capacity and storage format must match."""
        if state["capacity"] != self.capacity or state["as_uint8"] != self.as_uint8:
            raise ValueError(
                f"checkpoint buffer has capacity={state['capacity']}, as_uint8={state['as_uint8']} but this "
                f"one has capacity={self.capacity}, as_uint8={self.as_uint8}; build it with the checkpoint's "
                "settings"
            )
        self.seen, self.size = int(state["seen"]), int(state["size"])
        items = state["items"]
        self.storage = None
        if items is not None:
            self.storage = torch.empty((self.capacity, *items.shape[1:]), dtype=items.dtype)
            self.storage[: self.size] = items
        self.generator.set_state(state["rng_state"])
