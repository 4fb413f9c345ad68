"""Spectral loss: ``(B, 3, H, W)`` fakes and reals in [-1, 1] -> scalar; matches 1-D power spectra.

Up-sampling layers leave periodic high-frequency traces that a detector can read from the azimuthally
averaged power spectrum (Durall et al., CVPR 2020). Everything here is torch, so the loss sends gradient
to the generator; a spectrum computed on detached numpy arrays (as in the public reference code) trains
nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _gray(images: Tensor) -> Tensor:
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images (B, 3, H, W) or (B, 1, H, W), got shape {tuple(images.shape)}")
    if images.shape[1] == 1:
        return images[:, 0]
    return 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]


def _radius_index(h: int, w: int, device: torch.device) -> tuple[Tensor, int]:
    """Integer distance ``(H*W,)`` of each centred-spectrum pixel from the centre, and the bin count."""
    y = torch.arange(h, device=device) - h // 2
    x = torch.arange(w, device=device) - w // 2
    r = torch.sqrt(y[:, None].double() ** 2 + x[None, :].double() ** 2).round().long().flatten()
    return r, min(h, w) // 2  # bins beyond the inscribed circle (the corners) are dropped


def azimuthal_power_spectrum(images: Tensor, eps: float = 1e-4) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, R)``, R = min(H, W) // 2: log power averaged over rings of integer radius.

    Grayscale image -> ``fft2`` (orthonormal, so the scale does not depend on the size) -> centred power
    ``|F|^2`` -> ``log(power + eps)`` -> mean over each ring. Differentiable (``index_add``, no numpy).
    ``eps`` floors the log so near-empty frequencies cannot blow up the gradient.
    """
    gray = _gray(images).float()
    b, h, w = gray.shape
    spec = torch.fft.fftshift(torch.fft.fft2(gray, norm="ortho"), dim=(-2, -1))
    log_power = torch.log(spec.real**2 + spec.imag**2 + eps).reshape(b, h * w)
    r, n_bins = _radius_index(h, w, gray.device)
    keep = r < n_bins
    r, log_power = r[keep], log_power[:, keep]
    sums = torch.zeros(b, n_bins, device=gray.device, dtype=log_power.dtype).index_add(1, r, log_power)
    counts = torch.bincount(r, minlength=n_bins).to(sums)
    return sums / counts


def normalise_spectrum(spectrum: Tensor) -> Tensor:
    """``(B, R)`` -> each row min-max scaled to [0, 1] (keeps the shape of the fall-off, drops the level)."""
    lo = spectrum.amin(1, keepdim=True)
    hi = spectrum.amax(1, keepdim=True)
    return (spectrum - lo) / (hi - lo).clamp_min(1e-6)


class SpectralLoss(nn.Module):
    """``forward(fake, real)`` with ``(B, 3, H, W)`` images -> scalar; gradient flows to ``fake`` only.

    Both batches' spectra are min-max normalised per image and averaged over the batch; the fake
    batch-mean spectrum is compared with the (detached) real one. ``mode="l1"`` (default): mean absolute
    difference per radius, bounded gradient and every radius weighted equally, so the few high-frequency
    bins where up-sampling artefacts live are not drowned by the low frequencies. ``mode="bce"``: binary
    cross-entropy with the real spectrum as soft target (Durall et al.'s choice), which penalises errors
    near 0 and 1 more strongly. Batch means are compared because fakes and reals need not be pairs and a
    single image's spectrum is noisy. ``min_radius`` skips the lowest ``min_radius`` bins (image content).
    """

    def __init__(self, mode: str = "l1", min_radius: int = 0) -> None:
        super().__init__()
        if mode not in ("l1", "bce"):
            raise ValueError(f"SpectralLoss mode must be 'l1' or 'bce', got {mode!r}")
        self.mode = mode
        self.min_radius = int(min_radius)

    def forward(self, fake: Tensor, real: Tensor) -> Tensor:
        f = normalise_spectrum(azimuthal_power_spectrum(fake)[:, self.min_radius :]).mean(0)
        with torch.no_grad():
            r = normalise_spectrum(azimuthal_power_spectrum(real)[:, self.min_radius :]).mean(0)
        if f.shape != r.shape:
            raise ValueError(
                f"fake spectrum has {f.shape[0]} bins but real has {r.shape[0]}; "
                "resize both batches to one size"
            )
        if self.mode == "l1":
            return (f - r).abs().mean()
        return F.binary_cross_entropy(f.clamp(1e-6, 1 - 1e-6), r)
