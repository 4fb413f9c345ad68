"""Rasterisation primitives: pixel grids, signed distances, anti-aliased coverage and painting.

Distances are negative inside a shape. Coverage is a linear ramp one pixel wide centred on the
edge, the box-filtered area of a straight edge. Per-pixel work uses only element-wise +, -, *, /,
sqrt, min, max, clamp and the fused multiply-adds ``addcmul`` and ``lerp`` (which torch computes the
same way on its vectorised and its scalar paths), so a pixel gets the same value whatever the batch
size or the crop that computed it.

The primitives take the pixel coordinates as full (B, h, w) tensors and never modify their inputs; they
work in place on their own temporaries (rendering is memory-bound: every pass over a crop costs).
"""

from __future__ import annotations

from functools import lru_cache

import torch

Tensor = torch.Tensor
_HALF = torch.tensor(0.5)


@lru_cache(maxsize=16)
def pixel_grid(size: int) -> tuple[Tensor, Tensor]:
    """-> X (1, 1, W), Y (1, H, 1): pixel centres in image-normalised units [-1, 1], y down."""
    c = (torch.arange(size, dtype=torch.float64) * 2 + 1) / size - 1
    return c.to(torch.float32).view(1, 1, size), c.to(torch.float32).view(1, size, 1)


def cover(d: Tensor, inv_pw: Tensor, offset: float | Tensor = 0.0, weight: float = 1.0) -> Tensor:
    """Signed distance -> ``weight`` times the coverage in [0, 1] (1 inside) of the shape ``d <= offset``,
    ramp one pixel wide (``inv_pw`` = 1 / pixel): ``weight * clamp(0.5 - (d - offset) * inv_pw, 0, 1)``."""
    if not isinstance(offset, Tensor) and offset == 0.0 and weight == 1.0:
        return torch.addcmul(_HALF, d, inv_pw, value=-1.0).clamp_(0.0, 1.0)
    base = (inv_pw * offset + 0.5) * weight
    return torch.addcmul(torch.as_tensor(base), d, inv_pw * weight, value=-1.0).clamp_(0.0, weight)


def soft(d: Tensor, inv_pw: Tensor, width: float, weight: float = 1.0) -> Tensor:
    """Like :func:`cover` but with a ramp ``width`` face units wide (at least one pixel): soft shading."""
    return cover(d, torch.clamp(inv_pw, max=1.0 / width), weight=weight)


def ellipse(x: Tensor, y: Tensor, rx: Tensor, ry: Tensor) -> Tensor:
    """Approximate signed distance to an axis-aligned ellipse centred at the origin of (x, y).

    First-order estimate ``k0 (k0 - 1) / k1`` (implicit value over gradient length): exact on the
    boundary, which is all anti-aliasing needs.
    """
    a, b = x / rx, y / ry
    k0 = (a * a).addcmul_(b, b).add_(1e-8).sqrt_()
    a.div_(rx)
    b.div_(ry)
    k1 = a.mul_(a).addcmul_(b, b).add_(1e-8 / (rx * ry)).sqrt_()
    return torch.sub(k0, 1.0).mul_(k0).div_(k1)


def ellipse_fast(x: Tensor, y: Tensor, rx: Tensor, ry: Tensor) -> Tensor:
    """Cheaper, cruder ellipse distance (radial, scaled by the smaller radius): for soft or tiny shapes."""
    a, b = x / rx, y / ry
    return a.mul_(a).addcmul_(b, b).sqrt_().sub_(1.0).mul_(torch.minimum(rx, ry))


def circle(x: Tensor, y: Tensor, r: Tensor) -> Tensor:
    """Signed distance to a circle of radius r at the origin of (x, y)."""
    return (x * x).addcmul_(y, y).sqrt_().sub_(r)


def capsule(x: Tensor, y: Tensor, ax: Tensor, ay: Tensor, bx: Tensor, by: Tensor, r: Tensor) -> Tensor:
    """Signed distance to a segment (a -> b) thickened by radius r."""
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    dd = dx * dx + dy * dy + 1e-12
    h = (px * (dx / dd)).addcmul_(py, dy / dd).clamp_(0.0, 1.0)
    px.addcmul_(h, dx, value=-1.0)
    py.addcmul_(h, dy, value=-1.0)
    return px.mul_(px).addcmul_(py, py).sqrt_().sub_(r)


def smooth_union(d1: Tensor, d2: Tensor, k: float) -> Tensor:
    """Polynomial smooth minimum of two distances, blending over about ``k``."""
    diff = d2 - d1
    h = diff.mul(0.5 / k).add_(0.5).clamp_(0.0, 1.0)
    # d2 + (d1 - d2) h - k h (1 - h) = d2 - h (d2 - d1 + k - k h)
    return torch.sub(d2, diff.add_(h, alpha=-k).add_(k).mul_(h))


def band(v: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Signed vertical distance to the band lo <= v <= hi (negative inside)."""
    return torch.maximum(lo - v, v - hi)


def paint(img: Tensor, alpha: Tensor, color: Tensor) -> Tensor:
    """img (B, 3, H, W), alpha (B, H, W), color (B, 3, 1, 1) or (B, 3, H, W): paints color in place."""
    return img.lerp_(color.expand_as(img), alpha.unsqueeze(1))
