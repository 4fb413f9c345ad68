"""Losses. Adversarial losses take the list of per-scale logits a multi-scale D returns."""

from deepswap.losses.adversarial import AdversarialLoss, HingeLoss, LeastSquaresLoss, NonSaturatingLoss
from deepswap.losses.regularizers import LazyR1, r1_penalty
from deepswap.losses.spectral import SpectralLoss, azimuthal_power_spectrum
from deepswap.losses.swap_losses import (
    AttributeLoss,
    FeatureMatchingLoss,
    IdentityLoss,
    ReconstructionLoss,
    TargetIdentityLoss,
)

__all__ = [
    "AdversarialLoss",
    "HingeLoss",
    "NonSaturatingLoss",
    "LeastSquaresLoss",
    "LazyR1",
    "r1_penalty",
    "IdentityLoss",
    "ReconstructionLoss",
    "TargetIdentityLoss",
    "AttributeLoss",
    "FeatureMatchingLoss",
    "SpectralLoss",
    "azimuthal_power_spectrum",
]
