"""A factor oracle for the synthetic world: regresses the renderer's identity, pose and expression
factors from an image. Used as an identity scorer that is independent of the training encoder.

Its identity embedding is the predicted identity-factor vector, standardised (factors are uniform on
[0, 1], so ``(f - 0.5) / 0.2887`` has zero mean and unit variance) and weighted per factor by how
reliably the oracle reads it (``reliability``, set by :func:`calibrate_reliability` from the held-out
R^2: a factor it cannot read would only add noise to the cosine). The cosine of two random identities
is then about 0, and of two renders of one identity close to 1. With ``landmarks=True`` it also
regresses the five landmarks (for the protocol's landmark error).
"""

from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from deepswap.models.identity.conv import ConvTrunk

POSE = ("yaw", "pitch", "roll")
EXPRESSION = ("smile", "mouth_open", "eye_open", "brow_raise")
UNIFORM_STD = 0.2887  # std of U(0, 1)
NUM_LANDMARKS = 5
MAX_RELIABILITY = 5.0  # cap on a factor's weight sqrt(R2 / (1 - R2)) (R2 = 0.96)

log = logging.getLogger(__name__)


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
        landmarks: bool = False,
    ):
        super().__init__()
        self.num_identity = int(num_identity)
        self.with_landmarks = bool(landmarks)
        self.num_factor_outputs = self.num_identity + len(POSE) + len(EXPRESSION)
        self.num_outputs = self.num_factor_outputs + (2 * NUM_LANDMARKS if landmarks else 0)
        self.trunk = ConvTrunk(self.num_outputs, width, input_size)
        self.embedding_size = int(embedding_size or self.num_identity)
        if self.embedding_size < self.num_identity:
            raise ValueError(f"embedding_size must be >= num_identity ({self.num_identity})")
        # An isometric lift to embedding_size dims (orthonormal rows): cosines are those of the factor
        # estimates, but the embedding has the width generators expect (512, like ArcFace).
        g = torch.Generator().manual_seed(lift_seed)
        q, _ = torch.linalg.qr(torch.randn(self.embedding_size, self.num_identity, generator=g))
        self.register_buffer("lift", q.T.contiguous(), persistent=False)
        # per-factor weights of the embedding and the held-out R^2 they came from (calibrate_reliability)
        self.register_buffer("reliability", torch.ones(self.num_identity))
        self.register_buffer("r2", torch.full((self.num_identity,), float("nan")))

    def predict(self, x: Tensor) -> dict[str, Tensor]:
        """All predicted factors in [0, 1] units: ``identity``, ``pose`` (yaw, pitch, roll), ``expression``.

        The trunk regresses standardised factors.
        """
        raw = self.trunk(x)
        out = raw[:, : self.num_factor_outputs] * UNIFORM_STD + 0.5
        n = self.num_identity
        result = {"identity": out[:, :n], "pose": out[:, n : n + 3], "expression": out[:, n + 3 :]}
        if self.with_landmarks:  # normalised [-1, 1] image coordinates -> pixels of the input image
            lm = raw[:, self.num_factor_outputs :].view(-1, NUM_LANDMARKS, 2)
            result["landmarks"] = (lm + 1) * (x.shape[-1] / 2) - 0.5
        return result

    def forward(self, x: Tensor) -> Tensor:
        """-> ``(B, embedding_size)``: standardised identity-factor estimates weighted by reliability
        (lifted if configured)."""
        ident = self.trunk(x)[:, : self.num_identity] * self.reliability
        return ident if self.embedding_size == self.num_identity else ident @ self.lift


def oracle_targets(world, identity: Tensor, attributes: Tensor, landmarks: Tensor | None = None, size=None):
    """Standardised regression targets ``(B, num_outputs)`` for the trunk, in the oracle's output order;
    with ``landmarks`` ((B, 5, 2) pixels of a ``size`` image) their normalised coordinates follow."""
    names = world.attribute_names
    cols = [names.index(k) for k in POSE + EXPRESSION]
    targets = (torch.cat([identity, attributes[:, cols]], dim=1) - 0.5) / UNIFORM_STD
    if landmarks is None:
        return targets
    return torch.cat([targets, ((landmarks + 0.5) / (size / 2) - 1).flatten(1)], dim=1)


@torch.no_grad()
def calibrate_reliability(oracle: FactorOracle, world, size: int, n: int = 512, seed: int = 11) -> Tensor:
    """Held-out R^2 of each identity factor on ``n`` renders of the val identities; sets the oracle's
    ``r2`` and its embedding weights ``reliability = sqrt(R2 / (1 - R2))`` (the factor's signal-to-noise
    ratio, capped at MAX_RELIABILITY; 0 where R2 <= 0). Returns the R^2."""
    oracle.eval()
    ids = list(world.identity_ids("val"))
    picks = [ids[i % len(ids)] for i in range(n)]
    views = world.views("val", picks, 1, size, seed=seed)
    pred = torch.cat([oracle.predict(x * 2 - 1)["identity"] for x in views.image.split(128)])
    truth = torch.stack([world.identity_factors(i) for i in picks])
    r2 = 1 - (pred - truth).square().mean(0) / truth.var(0, unbiased=False).clamp_min(1e-8)
    snr = (r2.clamp(0, 0.999) / (1 - r2.clamp(0, 0.999))).sqrt()
    oracle.r2.copy_(r2)
    if not bool((snr > 0).any()):  # reads no factor above chance: weighting would zero the embedding
        log.warning(
            "no identity factor has held-out R^2 > 0 (best %.3f): the embedding stays unweighted; "
            "train this encoder longer",
            float(r2.max()),
        )
        snr = torch.ones_like(snr)
    oracle.reliability.copy_(snr.clamp(max=MAX_RELIABILITY))
    return r2
