"""A factor oracle for the synthetic world: regresses the renderer's identity, pose and expression
factors from an image. Used as an identity scorer that is independent of the training encoder.

Its identity embedding is the predicted identity-factor vector, standardised (factors are uniform on
[0, 1], so ``(f - 0.5) / 0.2887`` has zero mean and unit variance): the cosine of two random
identities is then about 0, and of two renders of one identity close to 1.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from deepswap.models.identity.conv import ConvTrunk

POSE = ("yaw", "pitch", "roll")
EXPRESSION = ("smile", "mouth_open", "eye_open", "brow_raise")
UNIFORM_STD = 0.2887  # std of U(0, 1)


class FactorOracle(nn.Module):
    """``(B, 3, H, W)`` in [-1, 1] -> standardised identity factors ``(B, num_identity)`` (the embedding).

    A different architecture from the IResNet identity encoders (a plain CNN), trained by regression
    on the renderer's factor labels rather than by identity classification.

    Args:
        num_identity: number of identity factors of the world it was trained on.
        width, input_size: the CNN trunk's base width and working resolution.
    """

    def __init__(
        self,
        num_identity: int,
        width: int = 32,
        input_size: int = 64,
        embedding_size: int | None = None,
        lift_seed: int = 0,
    ):
        super().__init__()
        self.num_identity = int(num_identity)
        self.num_outputs = self.num_identity + len(POSE) + len(EXPRESSION)
        self.trunk = ConvTrunk(self.num_outputs, width, input_size)
        self.embedding_size = int(embedding_size or self.num_identity)
        if self.embedding_size < self.num_identity:
            raise ValueError(f"embedding_size must be >= num_identity ({self.num_identity})")
        # An isometric lift to embedding_size dims (orthonormal rows): cosines are those of the factor
        # estimates, but the embedding has the width generators expect (512, like ArcFace).
        g = torch.Generator().manual_seed(lift_seed)
        q, _ = torch.linalg.qr(torch.randn(self.embedding_size, self.num_identity, generator=g))
        self.register_buffer("lift", q.T.contiguous(), persistent=False)

    def predict(self, x: Tensor) -> dict[str, Tensor]:
        """All predicted factors in [0, 1] units: ``identity``, ``pose`` (yaw, pitch, roll), ``expression``.

        The trunk regresses standardised factors.
        """
        out = self.trunk(x) * UNIFORM_STD + 0.5
        n = self.num_identity
        return {"identity": out[:, :n], "pose": out[:, n : n + 3], "expression": out[:, n + 3 :]}

    def forward(self, x: Tensor) -> Tensor:
        """-> ``(B, embedding_size)``: standardised identity-factor estimates (lifted if configured)."""
        ident = self.trunk(x)[:, : self.num_identity]
        return ident if self.embedding_size == self.num_identity else ident @ self.lift


def oracle_targets(world, identity: Tensor, attributes: Tensor) -> Tensor:
    """Standardised regression targets ``(B, num_outputs)`` for the trunk, in the oracle's output order."""
    names = world.attribute_names
    cols = [names.index(k) for k in POSE + EXPRESSION]
    return (torch.cat([identity, attributes[:, cols]], dim=1) - 0.5) / UNIFORM_STD
