"""Deepfake detectors: ``(B, 3, H, W)`` float in [-1, 1] -> real/fake logit ``(B,)``, positive = fake.

All networks start from random weights; nothing is downloaded. ``EfficientNetDetector`` can load a
state_dict file the user supplies (``weights_path``).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn

from deepswap.detection.postprocess import block_dct


def check_input(x: Tensor) -> None:
    """Raise a clear error unless ``x`` is ``(B, 3, H, W)`` float."""
    if x.dim() != 4 or x.shape[1] != 3 or not x.is_floating_point():
        raise ValueError(
            f"detectors take float images (B, 3, H, W) in [-1, 1], got {tuple(x.shape)} {x.dtype}; "
            "add a batch dimension or convert uint8 images with x / 127.5 - 1"
        )


class FlipAverage(nn.Module):
    """Test-time augmentation as a network: the mean logit of each image and its left-right mirror image.
    Wrapping twice changes nothing (:func:`with_tta`)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * (self.net(x) + self.net(x.flip(-1)))


TTA = (None, "flip")


def check_tta(tta) -> str | None:
    """``tta``: None (one pass) or ``"flip"``, else a clear error."""
    if tta not in TTA:
        raise ValueError(f"test-time augmentation (tta) must be null or 'flip', got {tta!r}")
    return tta


def with_tta(net: nn.Module, tta: str | None) -> nn.Module:
    """``net`` scored with test-time augmentation ``tta`` (None, or already flip-averaged: as it is)."""
    if check_tta(tta) is None or isinstance(net, FlipAverage):
        return net
    return FlipAverage(net)


def unwrap_tta(net: nn.Module) -> nn.Module:
    """The single-pass network inside a flip average (any other network as it is)."""
    return net.net if isinstance(net, FlipAverage) else net


COMBINE = ("mean", "max")


class StandardisedEnsemble(nn.Module):
    """Several detectors as one: each member's logit standardised by the mean and standard deviation of
    its logits on clean reals (``loc``, ``scale``, saved with the weights), then averaged
    (``combine="mean"``) or maxed (``"max"``). Standardising puts members trained with different
    recipes on one scale, so neither dominates the mean by the size of its logits (:meth:`set_calibration`).

    ``members``: networks (a member may be a :class:`FlipAverage`: its own test-time augmentation), or
    their ``_target_`` configs when instantiated by Hydra from a detector file. Build and calibrate one
    with ``python -m deepswap.detect ensemble`` (:func:`deepswap.detect.ensemble`)."""

    def __init__(self, members, combine: str = "mean") -> None:
        super().__init__()
        if combine not in COMBINE:
            raise ValueError(f"ensemble combine must be one of {COMBINE}, got {combine!r}")
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 member detectors, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.combine = combine
        self.register_buffer("loc", torch.zeros(len(members)))
        self.register_buffer("scale", torch.ones(len(members)))

    def member_logits(self, x: Tensor) -> Tensor:
        """``(B, K)``: each member's raw logit."""
        return torch.stack([m(x) for m in self.members], dim=1)

    def combine_logits(self, logits: Tensor) -> Tensor:
        """``(B, K)`` member logits -> ``(B,)`` ensemble scores (standardise, then mean or max)."""
        z = (logits - self.loc) / self.scale
        return z.mean(dim=1) if self.combine == "mean" else z.amax(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.combine_logits(self.member_logits(x))

    @torch.no_grad()
    def set_calibration(self, real_logits: Tensor) -> None:
        """Set ``loc`` / ``scale`` from the members' logits on clean reals, ``(N, K)`` with N >= 2 (column
        k: member k, scored as it will be used, its own test-time augmentation included). A member whose
        logits do not vary on them is refused: it could not be standardised."""
        if real_logits.dim() != 2 or real_logits.shape[1] != len(self.members) or real_logits.shape[0] < 2:
            raise ValueError(
                f"calibration logits must be (N >= 2 reals, {len(self.members)} members), "
                f"got {tuple(real_logits.shape)}"
            )
        loc, scale = real_logits.float().mean(0), real_logits.float().std(0)
        flat = [i for i, v in enumerate(scale.tolist()) if not v > 1e-6]
        if flat:
            raise ValueError(
                f"ensemble member(s) {flat} give the same logit to every calibration real: they cannot be "
                "standardised; check that they are trained detectors"
            )
        self.loc.copy_(loc)
        self.scale.copy_(scale)


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class SmallDetector(nn.Module):
    """Tiny CNN for tests: ``(B, 3, H, W)`` -> ``(B,)``; four stride-2 convs, about 60k params at width 16."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn_relu(3, w, 2), conv_bn_relu(w, 2 * w, 2), conv_bn_relu(2 * w, 4 * w, 2),
            conv_bn_relu(4 * w, 4 * w, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(4 * w, 1)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x)
        return self.head(self.features(x)).squeeze(1)


class BasicBlock(nn.Module):
    """ResNet basic block (He et al. 2016): two 3x3 conv + BatchNorm, ReLU, a (projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )  # fmt: skip
        self.skip = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride > 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNetDetector(nn.Module):
    """A compact ResNet for 64-128 px faces: ``(B, 3, H, W)`` -> ``(B,)``.

    A stride-1 3x3 stem (the first layer sees every pixel, where blending seams and resampling live),
    then four stages of ``blocks`` basic blocks at widths ``width * (1, 2, 4, 8)``, each stage starting
    with a stride-2 block; global average pooling, dropout, a linear logit. Width 16, 2 blocks: 0.70M
    parameters and 37M multiply-adds at 64 px, against SmallDetector's 61k and 3.4M: a CPU-sized
    stand-in for the ResNet / EfficientNet backbones of DeepfakeBench.
    """

    def __init__(self, width: int = 16, blocks: int = 2, dropout: float = 0.2) -> None:
        super().__init__()
        if width < 1 or blocks < 1:
            raise ValueError(f"ResNetDetector needs width >= 1 and blocks >= 1, got {width}, {blocks}")
        layers: list[nn.Module] = [conv_bn_relu(3, width)]
        c = width
        for stage in range(4):
            w = width * 2**stage
            layers += [BasicBlock(c, w, 2)] + [BasicBlock(w, w) for _ in range(blocks - 1)]
            c = w
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, 1))

    def forward(self, x: Tensor) -> Tensor:
        check_input(x)
        return self.head(self.features(x)).squeeze(1)


class SeparableConv(nn.Module):
    """``(B, c_in, H, W)`` -> ``(B, c_out, H, W)``: depthwise 3x3 conv, pointwise 1x1 conv, BatchNorm."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.pointwise(self.depthwise(x)))


class XceptionBlock(nn.Module):
    """``reps`` (ReLU, separable conv) units, optional stride-2 max-pool, plus a (projected) residual."""

    def __init__(
        self, c_in: int, c_out: int, reps: int, stride: int, relu_first: bool = True, grow_first: bool = True
    ):
        super().__init__()
        layers: list[nn.Module] = []
        widths = [c_out if (grow_first or i == reps - 1) else c_in for i in range(reps)]
        c = c_in
        for i, w in enumerate(widths):
            if i > 0 or relu_first:
                layers.append(nn.ReLU(inplace=False))
            layers.append(SeparableConv(c, w))
            c = w
        if stride > 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.body = nn.Sequential(*layers)
        self.skip = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride > 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x)


class XceptionDetector(nn.Module):
    """Xception (Chollet 2017) as a detector: ``(B, 3, H, W)`` -> ``(B,)``.

    Entry flow (two convs, three stride-2 residual blocks), ``middle_blocks`` residual blocks of three
    separable convs (8 in the paper), exit flow (stride-2 block, two separable convs), global pooling and
    a linear logit. ``width`` scales every channel count (1.0 = the paper's 32..2048 channels, ~20.8M params).
    """

    def __init__(self, width: float = 1.0, middle_blocks: int = 8, dropout: float = 0.5) -> None:
        super().__init__()

        def c(n: int) -> int:
            return max(8, int(round(n * width)))

        self.entry = nn.Sequential(
            conv_bn_relu(3, c(32), 2), conv_bn_relu(c(32), c(64)),
            XceptionBlock(c(64), c(128), 2, 2, relu_first=False),
            XceptionBlock(c(128), c(256), 2, 2),
            XceptionBlock(c(256), c(728), 2, 2),
        )  # fmt: skip
        self.middle = nn.Sequential(*[XceptionBlock(c(728), c(728), 3, 1) for _ in range(middle_blocks)])
        self.exit = nn.Sequential(
            XceptionBlock(c(728), c(1024), 2, 2, grow_first=False),
            SeparableConv(c(1024), c(1536)), nn.ReLU(inplace=True),
            SeparableConv(c(1536), c(2048)), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c(2048), 1))

    def forward(self, x: Tensor) -> Tensor:
        check_input(x)
        return self.head(self.exit(self.middle(self.entry(x)))).squeeze(1)


class EfficientNetDetector(nn.Module):
    """torchvision EfficientNet-B0..B4 with a 1-logit head: ``(B, 3, H, W)`` -> ``(B,)``.

    Inputs in [-1, 1] are mapped to ImageNet normalisation inside. ``weights_path`` loads a state_dict you
    supply: torchvision's own EfficientNet checkpoint (its 1000-class classifier is skipped) or one saved
    from ``detector.net``. SBI uses B4 at 380 px.
    """

    VARIANTS = ("b0", "b1", "b2", "b3", "b4")

    def __init__(
        self, variant: str = "b4", weights_path: str | Path | None = None, dropout: float | None = None
    ):
        super().__init__()
        if variant not in self.VARIANTS:
            raise ValueError(f"unknown EfficientNet variant {variant!r}; expected one of {self.VARIANTS}")
        kw = {} if dropout is None else {"dropout": dropout}
        self.net = getattr(torchvision.models, f"efficientnet_{variant}")(weights=None, **kw)
        if weights_path is not None:
            self._load(Path(weights_path).expanduser())
        last = self.net.classifier[-1]
        self.net.classifier[-1] = nn.Linear(last.in_features, 1)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def _load(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(
                f"EfficientNet weights not found at {str(path)!r}. deepswap never downloads weights: save a "
                "torchvision EfficientNet state_dict there yourself (torch.save(model.state_dict(), path)) "
                "or pass weights_path=None for random initialisation."
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        state = {k.removeprefix("module.").removeprefix("net."): v for k, v in state.items()}
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("classifier.")]
        if missing or unexpected:
            raise RuntimeError(
                f"{path} does not match this EfficientNet: {len(missing)} missing keys "
                f"(first: {missing[:5]}), {len(unexpected)} unexpected (first: {list(unexpected)[:5]}). "
                "Check the variant argument."
            )

    def forward(self, x: Tensor) -> Tensor:
        check_input(x)
        return self.net(((x + 1) * 0.5 - self.mean) / self.std).squeeze(1)


def log_spectrum(x: Tensor) -> Tensor:
    """``(B, 3, H, W)`` -> standardised, centred log-magnitude spectrum of the grayscale ``(B, 1, H, W)``."""
    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    mag = torch.fft.fftshift(torch.fft.fft2(gray.float(), norm="ortho"), dim=(-2, -1)).abs()
    s = torch.log1p(mag)
    return (s - s.mean((2, 3), keepdim=True)) / (s.std((2, 3), keepdim=True) + 1e-6)


def dct_channels(x: Tensor) -> Tensor:
    """``(B, 3, H, W)``, H and W multiples of 8 -> 64 frequency channels ``(B, 64, H/8, W/8)`` (log |DCT|)."""
    b, _, h, w = x.shape
    if h % 8 or w % 8:
        raise ValueError(
            f"the DCT branch needs H and W divisible by 8, got {h}x{w}; resize or use freq='fft'"
        )
    gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1) * 127.5
    coef = block_dct(gray.float()).reshape(b, h // 8, 8, w // 8, 8).permute(0, 2, 4, 1, 3)
    return torch.log1p(coef.abs()).reshape(b, 64, h // 8, w // 8)


class FrequencyDetector(nn.Module):
    """Two-branch detector (F3Net/SPSL family): ``(B, 3, H, W)`` -> ``(B,)``.

    An RGB CNN and a CNN on a frequency view of the grayscale face, either the centred log-magnitude
    FFT spectrum (``freq="fft"``) or the 8x8 block DCT rearranged into 64 frequency channels
    (``freq="dct"``); pooled features of both are concatenated and mapped to a logit by an MLP.
    """

    def __init__(self, width: int = 32, freq: str = "fft", depth: int = 4) -> None:
        super().__init__()
        if freq not in ("fft", "dct"):
            raise ValueError(f"freq must be 'fft' or 'dct', got {freq!r}")
        self.freq = freq

        def branch(c_in: int, n_down: int) -> nn.Sequential:
            layers, c = [], c_in
            for i in range(n_down):
                layers.append(conv_bn_relu(c, width * 2 ** min(i, 3), 2))
                c = width * 2 ** min(i, 3)
            return nn.Sequential(*layers, conv_bn_relu(c, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten())

        self.rgb = branch(3, depth)
        # the DCT view is already 8x smaller, so it needs fewer stride-2 stages
        self.spectral = branch(1, depth) if freq == "fft" else branch(64, max(1, depth - 3))
        self.head = nn.Sequential(
            nn.Linear(8 * width, 4 * width), nn.ReLU(inplace=True), nn.Linear(4 * width, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        check_input(x)
        view = log_spectrum(x) if self.freq == "fft" else dct_channels(x)
        return self.head(torch.cat([self.rgb(x), self.spectral(view.to(x.dtype))], 1)).squeeze(1)
