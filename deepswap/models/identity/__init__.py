"""Identity encoders (IResNet / ArcFace) and the ArcFace margin head."""

from deepswap.models.identity.arcface_head import ArcMarginHead
from deepswap.models.identity.iresnet import (
    IResNet,
    iresnet18,
    iresnet34,
    iresnet50,
    iresnet100,
    load_arcface_backbone,
)

__all__ = [
    "ArcMarginHead",
    "IResNet",
    "iresnet18",
    "iresnet34",
    "iresnet50",
    "iresnet100",
    "load_arcface_backbone",
]
