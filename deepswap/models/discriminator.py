"""Multi-scale PatchGAN discriminator (pix2pixHD-style) returning logits and features per scale."""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from deepswap.models.layers import make_norm2d


class DiscriminatorOutput(NamedTuple):
    """``logits[k]`` (B, 1, h_k, w_k) patch logits of scale k; ``features[k]`` its intermediate maps."""

    logits: list[Tensor]
    features: list[list[Tensor]]


class PatchDiscriminator(nn.Module):
    """(B, C, H, W) -> (logits (B, 1, H / 2**num_layers, W / 2**num_layers), [feature maps]).

    ``num_layers`` 4x4 stride-2 convs (channels doubling from ``base_channels`` up to ``max_channels``;
    no norm on the first), one 3x3 stride-1 conv, and a 3x3 conv to one logit per patch; LeakyReLU(0.2).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_layers: int = 4,
        base_channels: int = 64,
        max_channels: int = 512,
        norm: str = "instance",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        wrap = _spectral_norm if spectral_norm else (lambda m: m)
        stages, cin = [], in_channels
        for i in range(num_layers + 1):
            cout = min(base_channels * 2**i, max_channels)
            stride, kernel = (2, 4) if i < num_layers else (1, 3)
            conv = wrap(nn.Conv2d(cin, cout, kernel, stride=stride, padding=1))
            norm_layer = nn.Identity() if i == 0 else make_norm2d(norm, cout)
            stages.append(nn.Sequential(conv, norm_layer, nn.LeakyReLU(0.2, inplace=True)))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.to_logits = wrap(nn.Conv2d(cin, 1, 3, padding=1))

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return self.to_logits(x), features


class MultiScalePatchDiscriminator(nn.Module):
    """(B, C, H, W) image in [-1, 1] -> DiscriminatorOutput with ``num_scales`` entries.

    Scale k is an independent PatchDiscriminator that sees ``x`` average-pooled by 2 (3x3, stride 2)
    k times, i.e. at 1/2**k resolution. H and W must be at least 2**(num_layers + num_scales - 1).
    ``norm`` is ``instance``, ``batch`` or ``none``; ``spectral_norm`` wraps every conv.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_scales: int = 2,
        num_layers: int = 4,
        base_channels: int = 64,
        max_channels: int = 512,
        norm: str = "instance",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        if num_scales < 1 or num_layers < 1:
            raise ValueError(f"need num_scales >= 1 and num_layers >= 1, got {num_scales}, {num_layers}")
        make_norm2d(norm, 1)  # validate the name early
        self.in_channels = in_channels
        self.min_size = 2 ** (num_layers + num_scales - 1)
        self.scales = nn.ModuleList(
            PatchDiscriminator(in_channels, num_layers, base_channels, max_channels, norm, spectral_norm)
            for _ in range(num_scales)
        )

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        """(B, C, H, W) -> logits: num_scales x (B, 1, h_k, w_k); features: num_scales x list of maps."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"discriminator input must be (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"discriminator input {tuple(x.shape[-2:])} is too small: need H, W >= {self.min_size} "
                f"(2**(num_layers + num_scales - 1)); use fewer layers or scales"
            )
        logits, features = [], []
        for k, disc in enumerate(self.scales):
            if k > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out, feats = disc(x)
            logits.append(out)
            features.append(feats)
        return DiscriminatorOutput(logits=logits, features=features)
