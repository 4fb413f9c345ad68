"""SimSwap generator (Chen et al., 2020): encoder, identity-injection AdaIN blocks, decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.models.generators.base import GeneratorOutput, SwapGenerator
from deepswap.models.layers import AdaIN, channel_plan, make_norm2d


class IDInjectionBlock(nn.Module):
    """(B, C, h, w) features + (B, id_dim) identity -> (B, C, h, w).

    Residual block: conv3x3 -> AdaIN(id) -> ReLU -> conv3x3 -> AdaIN(id), added to the input.
    """

    def __init__(self, channels: int, id_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        self.adain1 = AdaIN(channels, id_dim)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect")
        self.adain2 = AdaIN(channels, id_dim)

    def forward(self, x: Tensor, source_id: Tensor) -> Tensor:
        y = F.relu(self.adain1(self.conv1(x), source_id))
        return x + self.adain2(self.conv2(y), source_id)


def _conv_norm_relu(cin: int, cout: int, kernel: int, stride: int, norm: str) -> nn.Sequential:
    pad_mode = "reflect" if kernel > 3 else "zeros"
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, padding_mode=pad_mode)
    return nn.Sequential(conv, make_norm2d(norm, cout), nn.ReLU(inplace=True))


class SimSwapGenerator(SwapGenerator):
    """(B, 3, H, W) target in [-1, 1] + (B, id_dim) source_id -> GeneratorOutput(image, mask=None).

    Encoder: 7x7 conv to ``base_channels``, then ``n_down`` stride-2 3x3 convs doubling the channels
    (capped at ``max_channels``); ``n_blocks`` ID-injection residual blocks at 1/2**n_down resolution
    whose AdaIN scale/bias come from the identity embedding; decoder of bilinear x2 upsampling + 3x3
    conv stages and a 7x7 conv to RGB with tanh. Norm (encoder/decoder) is BatchNorm in SimSwap.
    Defaults are SimSwap-224 (55.1M params); SimSwap-512 is ``base_channels=32, n_down=4``.
    """

    def __init__(
        self,
        id_dim: int = 512,
        base_channels: int = 64,
        n_down: int = 3,
        n_blocks: int = 9,
        max_channels: int = 512,
        norm: str = "batch",
    ) -> None:
        super().__init__(id_dim=id_dim, has_mask=False, size_multiple=2**n_down)
        if n_down < 1 or n_blocks < 0:
            raise ValueError(f"need n_down >= 1 and n_blocks >= 0, got {n_down}, {n_blocks}")
        ch = channel_plan(base_channels, n_down + 1, max_channels)
        self.stem = _conv_norm_relu(3, ch[0], 7, 1, norm)
        self.downs = nn.ModuleList(_conv_norm_relu(ch[i], ch[i + 1], 3, 2, norm) for i in range(n_down))
        self.blocks = nn.ModuleList(IDInjectionBlock(ch[-1], id_dim) for _ in range(n_blocks))
        self.ups = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear"), *_conv_norm_relu(ch[i + 1], ch[i], 3, 1, norm)
            )
            for i in reversed(range(n_down))
        )
        self.to_rgb = nn.Conv2d(ch[0], 3, 7, padding=3, padding_mode="reflect")

    def encode_attributes(self, x: Tensor) -> list[Tensor]:
        """(B, 3, H, W) -> [stem (B, C0, H, W), down_1 (B, C1, H/2, W/2), ..., bottleneck]."""
        self.check_image(x, "x")
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        return feats

    def forward(self, target: Tensor, source_id: Tensor) -> GeneratorOutput:
        """(B, 3, H, W) target, (B, id_dim) source_id -> image (B, 3, H, W) in [-1, 1], mask None."""
        self.check_inputs(target, source_id)
        h = self.encode_attributes(target)[-1]
        for block in self.blocks:
            h = block(h, source_id)
        for up in self.ups:
            h = up(h)
        return GeneratorOutput(image=torch.tanh(self.to_rgb(h)), mask=None)
