"""Swap metrics on image batches. Images ``(B, 3, H, W)`` in [-1, 1]; masks ``(B, 1, H, W)`` in [0, 1].

All functions return per-sample values ``(B,)`` so callers can average, keep per-pair rows, or
bootstrap. Error metrics are computed on the [0, 1] scale (PSNR with peak 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def identity_cosine(embedding_a: Tensor, embedding_b: Tensor) -> Tensor:
    """Cosine similarity of two embedding batches ``(B, D)`` -> ``(B,)``."""
    return F.cosine_similarity(embedding_a.float(), embedding_b.float(), dim=1)


def psnr(pred: Tensor, truth: Tensor) -> Tensor:
    """PSNR in dB on the [0, 1] scale over the whole image -> ``(B,)``."""
    mse = ((pred.float() - truth.float()) * 0.5).square().flatten(1).mean(1)
    return 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))


def recolor_to_source(target: Tensor, target_mask: Tensor, source: Tensor, source_mask: Tensor) -> Tensor:
    """Reference output: the target with its face shifted to the source's mean face colour.

    The face region (soft ``target_mask``) gets ``+ (mean_source_face - mean_target_face)`` per channel.
    A swap that only recolours would score like this row.
    """

    def face_mean(x, m):
        return (x * m).flatten(2).sum(2) / m.flatten(2).sum(2).clamp_min(1e-6)

    shift = face_mean(source, source_mask) - face_mean(target, target_mask)
    return (target + shift[:, :, None, None] * target_mask).clamp(-1, 1)


def _gaussian_window(size: int, sigma: float, device, dtype) -> Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(pred: Tensor, truth: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Structural similarity (Wang et al. 2004) on the [0, 1] scale, per channel with an 11-tap Gaussian
    window (sigma 1.5), K1 = 0.01, K2 = 0.03, valid region only, averaged over channels -> ``(B,)``."""
    x, y = (pred.double() + 1) * 0.5, (truth.double() + 1) * 0.5  # double: var = E[x^2] - mu^2 cancels
    c = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2])
    g = _gaussian_window(window, sigma, x.device, x.dtype)
    kh, kw = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(F.conv2d(t, kh, groups=c), kw, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1).float()


REGIONS = ("face", "band", "outside", "")  # "" is the whole image


def face_regions(truth_mask: Tensor, target_mask: Tensor) -> dict[str, Tensor]:
    """Boolean ``(B, 1, H, W)`` regions of a swap: the face interior, the outline band and outside the
    face, from the union of the two face masks (binarised at 0.5) eroded / dilated by ``r`` pixels
    (2 at 64 px, scaled with the image size), plus the whole image under ``""``."""
    union = (torch.maximum(truth_mask.float(), target_mask.float()) > 0.5).float()
    r = max(1, round(2 * union.shape[-1] / 64))
    grown = F.max_pool2d(union, 2 * r + 1, 1, r) > 0
    eroded = -F.max_pool2d(-union, 2 * r + 1, 1, r) > 0
    return {"face": eroded, "band": grown & ~eroded, "outside": ~grown, "": torch.ones_like(grown)}


def ssim_map(pred: Tensor, truth: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-pixel SSIM ``(B, 1, H, W)`` (channel mean; same constants as :func:`ssim`), with reflected
    borders so every pixel has a value (region averages need the full map)."""
    x, y = (pred.double() + 1) * 0.5, (truth.double() + 1) * 0.5
    c = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2]) | 1
    g = _gaussian_window(window, sigma, x.device, x.dtype)
    kh, kw = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    pad = window // 2

    def blur(t: Tensor) -> Tensor:
        t = F.pad(t, (pad, pad, pad, pad), mode="reflect")
        return F.conv2d(F.conv2d(t, kh, groups=c), kw, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.mean(1, keepdim=True).float()


def region_errors(pred: Tensor, truth: Tensor, truth_mask: Tensor, target_mask: Tensor) -> dict[str, Tensor]:
    """``gt_{l1,psnr,ssim}_{face,band,outside}`` and whole-image ``gt_{l1,psnr,ssim}`` per sample (B,),
    on the [0, 1] scale. A region a sample lacks gives NaN (skipped by the bootstrap)."""
    regions = face_regions(truth_mask, target_mask)
    diff = (pred.float() - truth.float()) * 0.5
    abs_err, sq_err = diff.abs().mean(1, keepdim=True), diff.square().mean(1, keepdim=True)
    smap = torch.cat([ssim_map(pred[i : i + 64], truth[i : i + 64]) for i in range(0, len(pred), 64)])
    out = {}
    for name, region in regions.items():
        m = region.float()
        area = m.flatten(1).sum(1)
        valid = area > 0
        area = area.clamp_min(1)
        suffix = f"_{name}" if name else ""
        l1 = (abs_err * m).flatten(1).sum(1) / area
        mse = (sq_err * m).flatten(1).sum(1) / area
        ss = (smap * m).flatten(1).sum(1) / area
        nan = torch.full_like(l1, float("nan"))
        out[f"gt_l1{suffix}"] = torch.where(valid, l1, nan)
        out[f"gt_psnr{suffix}"] = torch.where(valid, 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10)), nan)
        out[f"gt_ssim{suffix}"] = torch.where(valid, ss, nan)
    return out


def streak_energy(residual: Tensor, blur: int = 5) -> Tensor:
    """``(B, C, H, W)`` residual -> ``(B,)`` energy of its row- and column-constant patterns.

    The residual is high-passed (minus its ``blur`` x ``blur`` box blur, so smooth colour changes do not
    count), then averaged over columns (a profile per row: horizontal streaks) and over rows (a profile
    per column: vertical streaks); the energy is the mean square of both profiles. A swap painting
    axis-aligned bands has a large one; a face edit has a small one, as its changes cancel along rows.
    """
    if residual.dim() != 4:
        raise ValueError(f"residual must be (B, C, H, W), got {tuple(residual.shape)}")
    r = residual.float()
    high = r - F.avg_pool2d(r, blur, stride=1, padding=blur // 2, count_include_pad=False)
    rows, cols = high.mean(3), high.mean(2)  # (B, C, H), (B, C, W)
    return rows.square().mean((1, 2)) + cols.square().mean((1, 2))


def streak_ratio(swap: Tensor, truth: Tensor, target: Tensor) -> float:
    """Mean :func:`streak_energy` of ``swap - truth`` over that of the truth's own change
    ``truth - target`` (issue 10's streak test fails above 1.5)."""
    model = streak_energy(swap - truth).mean()
    reference = streak_energy(truth - target).mean().clamp_min(1e-12)
    return float(model / reference)
