"""Rasterisation primitives: pixel grids, signed distances, anti-aliased coverage and painting.

Distances are negative inside a shape. Coverage is a linear ramp one pixel wide centred on the
edge, the box-filtered area of a straight edge. Per-pixel work uses only +, -, *, /, sqrt, min, max
and clamp (all exactly rounded), so a pixel gets the same value whatever the batch size or the
vectorisation path that computed it.
"""

from __future__ import annotations

from functools import lru_cache

import torch

Tensor = torch.Tensor


@lru_cache(maxsize=16)
def pixel_grid(size: int) -> tuple[Tensor, Tensor]:
    """-> X (1, 1, W), Y (1, H, 1): pixel centres in image-normalised units [-1, 1], y down."""
    c = (torch.arange(size, dtype=torch.float64) * 2 + 1) / size - 1
    return c.to(torch.float32).view(1, 1, size), c.to(torch.float32).view(1, size, 1)


def cover(d: Tensor, inv_pw: Tensor) -> Tensor:
    """Signed distance -> coverage in [0, 1] (1 inside), ramp one pixel wide (``inv_pw`` = 1 / pixel)."""
    return (0.5 - d * inv_pw).clamp_(0.0, 1.0)


def soft(d: Tensor, inv_pw: Tensor, width: float) -> Tensor:
    """Like :func:`cover` but with a ramp ``width`` face units wide (at least one pixel): soft shading."""
    return cover(d, torch.clamp(inv_pw, max=1.0 / width))


def ellipse(x: Tensor, y: Tensor, rx: Tensor, ry: Tensor) -> Tensor:
    """Approximate signed distance to an axis-aligned ellipse centred at the origin of (x, y).

    First-order estimate ``k0 (k0 - 1) / k1`` (implicit value over gradient length): exact on the
    boundary, which is all anti-aliasing needs.
    """
    a, b = x / rx, y / ry
    k0 = (a * a + b * b + 1e-8).sqrt()
    a2, b2 = a / rx, b / ry
    k1 = (a2 * a2 + b2 * b2 + 1e-8 / (rx * ry)).sqrt()
    return k0 * (k0 - 1) / k1


def ellipse_fast(x: Tensor, y: Tensor, rx: Tensor, ry: Tensor) -> Tensor:
    """Cheaper, cruder ellipse distance (radial, scaled by the smaller radius): for soft or tiny shapes."""
    a, b = x / rx, y / ry
    return ((a * a + b * b).sqrt() - 1) * torch.minimum(rx, ry)


def circle(x: Tensor, y: Tensor, r: Tensor) -> Tensor:
    """Signed distance to a circle of radius r at the origin of (x, y)."""
    return (x * x + y * y).sqrt() - r


def capsule(x: Tensor, y: Tensor, ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor, r: Tensor) -> Tensor:
    """Signed distance to a segment (a -> b) thickened by radius r."""
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    h = ((px * dx + py * dy) / (dx * dx + dy * dy + 1e-12)).clamp_(0.0, 1.0)
    ex, ey = px - dx * h, py - dy * h
    return (ex * ex + ey * ey).sqrt() - r


def smooth_union(d1: Tensor, d2: Tensor, k: float) -> Tensor:
    """Polynomial smooth minimum of two distances, blending over about ``k``."""
    h = (0.5 + 0.5 * (d2 - d1) / k).clamp_(0.0, 1.0)
    return d2 + (d1 - d2) * h - k * h * (1 - h)


def band(v: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Signed vertical distance to the band lo <= v <= hi (negative inside)."""
    return torch.maximum(lo - v, v - hi)


def paint(img: Tensor, alpha: Tensor, color: Tensor) -> Tensor:
    """img (B, 3, H, W), alpha (B, H, W), color (B, 3, 1, 1) or (B, 3, H, W): paints color in place."""
    a = alpha.unsqueeze(1)
    return img.add_(a * (color - img))
