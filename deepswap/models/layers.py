"""Building blocks shared by the generators and discriminators (norm factory, AdaIN, modulated conv)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NORM_KINDS = ("batch", "instance", "none")


def make_norm2d(kind: str, channels: int) -> nn.Module:
    """Return a 2-D normalisation layer: ``batch`` (affine), ``instance`` (affine) or ``none``."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORM_KINDS}")


def channel_plan(base_channels: int, n_levels: int, max_channels: int) -> list[int]:
    """Channels per level: ``min(base * 2**i, max_channels)`` for i in range(n_levels)."""
    if base_channels <= 0 or max_channels <= 0:
        raise ValueError(f"channels must be positive, got base={base_channels}, max={max_channels}")
    return [min(base_channels * 2**i, max_channels) for i in range(n_levels)]


class AdaIN(nn.Module):
    """(B, C, H, W) features + (B, style_dim) style -> (B, C, H, W).

    Adaptive instance normalisation: instance-normalise ``x`` (no affine), then apply a per-sample
    scale ``1 + gamma`` and shift ``beta`` predicted from the style vector by one linear layer.
    """

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.style = nn.Linear(style_dim, 2 * channels)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        gamma, beta = self.style(style)[:, :, None, None].chunk(2, dim=1)
        return self.norm(x) * (1.0 + gamma) + beta


def _tracing() -> bool:
    """True while a graph is traced or exported (shape-dependent branches would be baked in)."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


class ModulatedConv2d(nn.Module):
    """(B, C_in, H, W) features + (B, w_dim) latent -> (B, C_out, H, W).

    StyleGAN2-style weight modulation/demodulation, computed without per-sample weights: the input is
    scaled per channel by ``s = affine(w)``, convolved with the shared weight, and each output channel
    is rescaled by ``1 / ||W * s||`` (demodulation). Mathematically equal to the per-sample weight form.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        demodulate: bool = True,
        shift: bool = False,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.affine = nn.Linear(w_dim, in_channels)
        nn.init.normal_(self.affine.weight, std=1.0 / math.sqrt(w_dim))
        nn.init.ones_(self.affine.bias)  # style starts at 1: an unmodulated conv
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2
        self.demodulate = demodulate
        # An additive, per-channel shift of the output from the latent (AdaIN's beta, AAD's id_beta):
        # modulation alone only rescales features, so the latent cannot add what the input lacks.
        # Zero-initialised: the layer starts as the plain modulated conv.
        self.shift = nn.Linear(w_dim, out_channels) if shift else None
        if self.shift is not None:
            nn.init.zeros_(self.shift.weight)
            nn.init.zeros_(self.shift.bias)

    def _bias(self, w: Tensor) -> Tensor:
        """(B, C_out): the shared bias, plus the latent's shift when enabled."""
        bias = self.bias[None, :].expand(w.shape[0], -1)
        return bias if self.shift is None else bias + self.shift(w)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        s = self.affine(w)  # (B, C_in)
        weight = self.weight * self.scale
        if x.shape[0] == 1 and not _tracing():
            # one sample (inference on one face): modulation, demodulation and bias folded into the
            # weights, so the conv is the only pass over the activations (no full-resolution multiplies)
            weight = weight * s[0][None, :, None, None]
            if self.demodulate:
                weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(1, 2, 3)) + 1e-8)[:, None, None, None]
            return F.conv2d(x, weight, self._bias(w)[0], padding=self.padding)
        y = F.conv2d(x * s[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            energy = (s * s) @ weight.pow(2).sum(dim=(2, 3)).t()  # (B, C_out)
            y = y * torch.rsqrt(energy + 1e-8)[:, :, None, None]
        return y + self._bias(w)[:, :, None, None]


class MappingNetwork(nn.Module):
    """(B, id_dim) L2-normalised identity -> (B, w_dim) latent driving the modulations.

    The unit-norm embedding is rescaled by ``sqrt(id_dim)`` (unit variance per component) and passed
    through ``n_layers`` linear + LeakyReLU(0.2) layers.
    """

    def __init__(self, id_dim: int, w_dim: int, n_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(n_layers):
            layers += [nn.Linear(id_dim if i == 0 else w_dim, w_dim), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers) if layers else nn.Identity()
        self.gain = math.sqrt(id_dim)
        self.out_dim = w_dim if n_layers else id_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z * self.gain)
