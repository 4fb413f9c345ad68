"""What the scripts of this folder share: the closing table's pairs, the protocol's face region, and the
face-interior L1 to the truth ([0, 1] scale) of an output."""

from __future__ import annotations

import torch

from deepswap.evaluation.harness import checkpoint_swaps, closing_pairs
from deepswap.evaluation.metrics import face_regions


class FacePairs:
    """The closing table's ``num_pairs`` test pairs, with the face region and its area per pair."""

    def __init__(self, num_pairs: int = 200):
        self.pairs = closing_pairs(num_pairs)
        self.truth = self.pairs["truth"].float()
        self.target = self.pairs["target"].float()
        self.average = self.pairs["average"].float()
        self.face = face_regions(self.pairs["truth_mask"], self.pairs["target_mask"])["face"].float()
        self.area = self.face.flatten(1).sum(1).clamp_min(1)

    def __len__(self) -> int:
        return len(self.truth)

    def per_face(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``x`` (B, 1, H, W) over each pair's face region -> (B,)."""
        return (x * self.face).flatten(1).sum(1) / self.area

    def face_l1(self, out: torch.Tensor) -> torch.Tensor:
        """Per-pair face-interior L1 of ``out`` to the truth, on the [0, 1] scale."""
        return self.per_face(((out.float() - self.truth).abs() * 0.5).mean(1, keepdim=True))

    def outputs(self, specs: list[str]) -> dict[str, torch.Tensor]:
        """The two trivial rows, then one swap per ``NAME=CHECKPOINT``."""
        rows = {"output = target": self.target, "average identity": self.average}
        for spec in specs:
            name, _, path = spec.partition("=")
            rows[name] = checkpoint_swaps(path, self.pairs).float()
        return rows


def interval(x: torch.Tensor, star: bool = True) -> str:
    """``mean [lo, hi]`` of per-pair values with the protocol's 95% bootstrap; ``*`` when it excludes 0."""
    from deepswap.evaluation import protocol

    lo, hi = protocol.bootstrap_interval(x)
    mark = "*" if star and (lo > 0 or hi < 0) else ""
    return f"{x.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]{mark}"
