"""A plain CNN identity encoder for small synthetic faces.

The IResNet (arcface_torch layout) is the architecture for real checkpoints; trained from scratch on
2 CPU cores for a few minutes it did not learn (held-out retrieval at chance after 300 steps), while
this plain CNN does. The synthetic default therefore uses this one.
"""

from __future__ import annotations

from torch import Tensor, nn


class ConvTrunk(nn.Module):
    """``(B, 3, H, W)`` -> ``(B, outputs)``: a plain VGG-like CNN (stride-2 conv + conv per stage, BN,
    ReLU), flattened at ``input_size / 16`` and a linear layer. Inputs are resized to ``input_size``."""

    def __init__(self, outputs: int, width: int = 32, input_size: int = 64):
        super().__init__()
        if input_size % 16:
            raise ValueError(f"input_size must be divisible by 16, got {input_size}")
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        stages = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            stages += [
                nn.Conv2d(cin, cout, 3, 2, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
        self.features = nn.Sequential(*stages)
        self.fc = nn.Linear(chans[-1] * (input_size // 16) ** 2, outputs)
        self.input_size = input_size
        self.embedding_size = outputs

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = nn.functional.interpolate(x, size=(self.input_size,) * 2, mode="bilinear", antialias=True)
        return self.fc(self.features(x).flatten(1))


class ConvIdentityEncoder(ConvTrunk):
    """``(B, 3, H, W)`` in [-1, 1] -> ``(B, embedding_size)`` identity embedding (unnormalised).

    A BatchNorm1d (no affine) centres the embedding, as IResNet's ``features`` layer does: without it
    a shared offset dominated every embedding (cosine ~1 between any two faces)."""

    def __init__(self, embedding_size: int = 512, width: int = 32, input_size: int = 64):
        super().__init__(embedding_size, width, input_size)
        self.out_norm = nn.BatchNorm1d(embedding_size, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.out_norm(super().forward(x))
