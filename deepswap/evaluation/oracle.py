"""The evaluation oracle for the synthetic world: a residual CNN regressing the renderer's identity,
pose and expression factors. It scores swaps (identity retrieval, pose and expression error).

The protocol (FaceShifter's on FaceForensics++) requires the scorer to be independent of the identity
encoder the generator was trained against: the synthetic training encoder is a plain VGG-like CNN
(:class:`deepswap.models.identity.conv.ConvTrunk`, seed 0); this oracle is a pre-activation ResNet
(He et al., "Identity Mappings in Deep Residual Networks", 2016) with GroupNorm and SiLU, trained from
another seed on the same labels. Its own error on real renders (the noise floor) is reported next to
every evaluation.
"""

from __future__ import annotations

from torch import Tensor, nn

from deepswap.models.identity.oracle import FactorOracle


class _PreActBlock(nn.Module):
    """``(B, cin, H, W) -> (B, cout, H/stride, W/stride)``: norm-act-conv twice, projected shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(min(8, cin), cin),
            nn.SiLU(),
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
            nn.GroupNorm(min(8, cout), cout),
            nn.SiLU(),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        )
        self.skip = (
            nn.Identity() if cin == cout and stride == 1 else nn.Conv2d(cin, cout, 1, stride, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.body(x)


class ResidualTrunk(nn.Module):
    """``(B, 3, H, W)`` -> ``(B, outputs)``: a stem conv, four stride-2 pre-activation residual stages
    (widths w, 2w, 4w, 4w), flattened at ``input_size / 16`` and a linear layer. Inputs are resized to
    ``input_size`` (antialiased bilinear)."""

    def __init__(self, outputs: int, width: int = 24, input_size: int = 64):
        super().__init__()
        if input_size % 16:
            raise ValueError(f"input_size must be divisible by 16, got {input_size}")
        chans = [width, width, 2 * width, 4 * width, 4 * width]
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.stages = nn.Sequential(*[_PreActBlock(a, b, 2) for a, b in zip(chans[:-1], chans[1:])])
        self.head = nn.Sequential(nn.GroupNorm(8, chans[-1]), nn.SiLU(), nn.Flatten())
        self.fc = nn.Linear(chans[-1] * (input_size // 16) ** 2, outputs)
        self.input_size = input_size

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = nn.functional.interpolate(x, size=(self.input_size,) * 2, mode="bilinear", antialias=True)
        return self.fc(self.head(self.stages(self.stem(x))))


class ResidualFactorOracle(FactorOracle):
    """:class:`FactorOracle` (same outputs: ``predict()`` -> identity / pose / expression factors, and
    ``forward()`` -> the standardised identity-factor embedding) on a :class:`ResidualTrunk`."""

    def __init__(
        self,
        num_identity: int,
        width: int = 24,
        input_size: int = 64,
        lift_seed: int = 0,
        landmarks: bool = True,
    ):
        super().__init__(num_identity, width, input_size, None, lift_seed, landmarks)
        self.trunk = ResidualTrunk(self.num_outputs, width, input_size)
