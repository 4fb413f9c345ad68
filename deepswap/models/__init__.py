"""Networks of deepswap: generators, discriminators and identity encoders."""

from deepswap.models.discriminator import DiscriminatorOutput, MultiScalePatchDiscriminator
from deepswap.models.generators import (
    AADGenerator,
    DeepSwapLiteGenerator,
    GeneratorOutput,
    SimSwapGenerator,
    SwapGenerator,
)
from deepswap.models.identity import ArcMarginHead, IResNet, load_arcface_backbone

__all__ = [
    "AADGenerator",
    "ArcMarginHead",
    "DeepSwapLiteGenerator",
    "DiscriminatorOutput",
    "GeneratorOutput",
    "IResNet",
    "MultiScalePatchDiscriminator",
    "SimSwapGenerator",
    "SwapGenerator",
    "load_arcface_backbone",
]
