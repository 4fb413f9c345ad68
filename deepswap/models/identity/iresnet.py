"""IResNet face-recognition backbones (ArcFace / arcface_torch layout, so its backbone.pth files load)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IRESNET_LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 14, 3), 100: (3, 13, 30, 3)}
BN_EPS = 1e-5  # arcface_torch builds every BatchNorm with eps=1e-05


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class IBasicBlock(nn.Module):
    """(B, C_in, H, W) -> (B, C, H / stride, W / stride): BN-conv-BN-PReLU-conv(stride)-BN + shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels, eps=BN_EPS)
        self.conv1 = _conv3x3(in_channels, channels)
        self.bn2 = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.prelu = nn.PReLU(channels)
        self.conv2 = _conv3x3(channels, channels, stride)
        self.bn3 = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(channels, eps=BN_EPS),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return out + shortcut


class IResNet(nn.Module):
    """(B, 3, H, W) face crop in [-1, 1] -> (B, embedding_size) raw embedding (not L2-normalised).

    Improved ResNet of ArcFace: 3x3 stem at full resolution, four stages of IBasicBlocks (each starting
    with a stride-2 block, widths ``width * (1, 2, 4, 8)``), BN, dropout, FC, and a BatchNorm1d
    (``features``, weight frozen at 1). Inputs whose size differs from ``input_size`` are resized
    bilinearly (antialiased). The state-dict keys equal arcface_torch's (``width=64``,
    ``input_size=112``), so its ``backbone.pth`` files load with ``strict=True``. Normalise the
    output with ``F.normalize`` for cosine similarity.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] | list[int],
        width: int = 64,
        input_size: int = 112,
        embedding_size: int = 512,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"layers must list 4 stage depths, got {layers}")
        if input_size % 16:
            raise ValueError(f"input_size must be divisible by 16, got {input_size}")
        self.input_size = input_size
        self.embedding_size = embedding_size
        self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=BN_EPS)
        self.prelu = nn.PReLU(width)
        cin = width
        for i, depth in enumerate(layers):
            cout = width * 2**i
            blocks = [IBasicBlock(cin if j == 0 else cout, cout, 2 if j == 0 else 1) for j in range(depth)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            cin = cout
        self.bn2 = nn.BatchNorm2d(cin, eps=BN_EPS)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(cin * (input_size // 16) ** 2, embedding_size)
        self.features = nn.BatchNorm1d(embedding_size, eps=BN_EPS)
        nn.init.ones_(self.features.weight)
        self.features.weight.requires_grad_(False)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] -> (B, embedding_size) raw (unnormalised) embedding."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"IResNet expects (B, 3, H, W) images in [-1, 1], got {tuple(x.shape)}")
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            size = (self.input_size, self.input_size)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.dropout(torch.flatten(self.bn2(x), 1))
        return self.features(self.fc(x))


def _build(depth: int, **kw) -> IResNet:
    return IResNet(IRESNET_LAYERS[depth], **kw)


def iresnet18(**kw) -> IResNet:
    """IResNet-18 (stage depths 2-2-2-2); kwargs go to :class:`IResNet`."""
    return _build(18, **kw)


def iresnet34(**kw) -> IResNet:
    """IResNet-34 (3-4-6-3)."""
    return _build(34, **kw)


def iresnet50(**kw) -> IResNet:
    """IResNet-50 (3-4-14-3)."""
    return _build(50, **kw)


def iresnet100(**kw) -> IResNet:
    """IResNet-100 (3-13-30-3)."""
    return _build(100, **kw)


def parse_depth(depth: int | str) -> int:
    text = str(depth).lower().removeprefix("iresnet").removeprefix("r")
    if not text.isdigit() or int(text) not in IRESNET_LAYERS:
        raise ValueError(f"unknown IResNet depth {depth!r}; expected one of {sorted(IRESNET_LAYERS)}")
    return int(text)


def load_arcface_backbone(path: str | Path, depth: int | str = 50, **kw) -> IResNet:
    """Build ``iresnet{depth}(**kw)`` and load an arcface_torch ``backbone.pth`` into it (strict).

    ``depth`` is 18/34/50/100 (or "r50", "iresnet50"). Nothing is downloaded: a missing file raises
    FileNotFoundError saying where to get one; mismatched keys raise RuntimeError listing a few.
    The model is returned in eval mode.
    """
    path = Path(path).expanduser()
    depth = parse_depth(depth)
    model = _build(depth, **kw)
    if not path.is_file():
        raise FileNotFoundError(
            f"ArcFace backbone not found at {str(path)!r}. deepswap never downloads weights: get a "
            f"backbone.pth for iresnet{depth} from insightface's arcface_torch model zoo "
            "(github.com/deepinsight/insightface/tree/master/recognition/arcface_torch) and pass its path "
            "(e.g. via the DEEPSWAP_ARCFACE environment variable)."
        )
    from deepswap.utils.safeload import load_weights

    state = load_weights(path, "arcface_torch backbone.pth")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    missing, unexpected = _key_mismatch(model, state)
    if missing or unexpected:
        from deepswap.errors import WeightsMismatchError

        raise WeightsMismatchError(
            f"{path} does not match iresnet{depth}(**{kw}): {len(missing)} missing keys "
            f"(first: {missing[:5]}), {len(unexpected)} unexpected keys (first: {unexpected[:5]}). "
            "Check the depth and width/input_size arguments."
        )
    model.load_state_dict(state, strict=True)
    return model.eval()


def _key_mismatch(model: nn.Module, state: dict[str, Tensor]) -> tuple[list[str], list[str]]:
    expected = model.state_dict().keys()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    return missing, unexpected
