"""Background, clothes, neck, ears, head, hair and lighting layers of the synthetic face.

Each function takes the image (B, 3, H, W), painted in place, and a :class:`Canvas`; those that draw
return their coverage (B, H, W) over the full image, used for the face mask and the lighting.
"""

from __future__ import annotations

import numpy as np
import torch

from deepswap.data.synthetic.canvas import Canvas, crop
from deepswap.data.synthetic.raster import capsule, cover, ellipse, paint, smooth_union

Tensor = torch.Tensor
_ONE = torch.tensor(1.0)
_MIN_JAW_RX = 1e-4  # face units: about 1/80 of a pixel at 256 px, so only a pointed chin changes

_FAR = 4.0  # a face-frame distance beyond the image in every direction
RIM = 0.07  # width of the shading ramp inside the face outline, face units
OUTLINE = 0.011  # half width of the cartoon ink line around the face, face units (about 1 px at 64 px)


def background(cv: Canvas) -> Tensor:
    """-> (B, 3, H, W): linear gradient between two colours along the background direction."""
    q = cv.q
    t = (q["bg_dir_x"] * cv.x + q["bg_dir_y"] * cv.y) * 0.5 + 0.5
    a, b = q["bg_a"], q["bg_b"]
    return a + (b - a) * t.unsqueeze(1)


def back_hair(img: Tensor, cv: Canvas) -> Tensor:
    """Long hair hanging behind the head and shoulders."""
    p, q = cv.p, cv.q
    hx, top = p["hair_dx"] * 0.5, p["hH"] * -0.35
    bottom = np.maximum(p["hair_long"], top)
    r = p["hW"] * 0.98 + p["hair_vol"] * 1.3
    reach = abs(hx) + r + 0.03
    cw, iw = crop(cv, img, -reach, reach, top - r - 0.03, bottom + r + 0.03)
    hx32, top32 = q["hair_dx"] * 0.5, q["hH"] * -0.35
    bottom32 = torch.maximum(q["hair_long"], top32)
    r32 = q["hW"] * 0.98 + q["hair_vol"] * 1.3
    d = capsule(cw.xf, cw.yf, hx32, top32, hx32 * 0.3, bottom32, r32)
    a = cover(d, cw.inv)
    paint(iw, a, q["hair"] * 0.8)
    return _accumulate(cv, None, cw, a)


def clothes_and_neck(img: Tensor, cv: Canvas) -> Tensor:
    """Neck below the head, then shoulders in clothes (on the reference head: attribute-only)."""
    p, q = cv.p, cv.q
    nx, r, far = -p["body_x"] * 0.5, p["neck_w"], np.full_like(p["hH"], _FAR)
    cw, iw = crop(cv, img, nx - r - 0.03, nx + r + 0.03, p["hH"] * 0.2 - r - 0.03, far)
    h = q["hH"]
    nx32 = q["body_x"] * -0.5
    a = cover(capsule(cw.xf, cw.yf, nx32, h * 0.2, nx32, h + 0.8, q["neck_w"]), cw.inv)
    paint(iw, a, q["skin"] * 0.74)
    total = _accumulate(cv, None, cw, a)
    half = p["hW"] * 2.1 + 0.03
    cw, iw = crop(cv, img, nx - half, nx + half, p["hH"] + 0.11, far)
    a = cover(ellipse(cw.xf - nx32, cw.yf - (q["hH"] + 0.62), q["hW"] * 2.1, 0.48), cw.inv)
    paint(iw, a, q["clothes"])
    return _accumulate(cv, total, cw, a)


def ears(img: Tensor, cv: Canvas) -> Tensor:
    """Both ears, each with a darker inner ear (drawn before the head: a turned-away ear hides behind it)."""
    p, q = cv.p, cv.q
    skin, total = q["skin"], None
    for k, side in ((0, -1.0), (1, 1.0)):
        ex, ey, r = p["ear_x"][:, k], p["ear_y"][:, k], p["ear_r"]
        cw, iw = crop(cv, img, ex - r * 0.55 - 0.03, ex + r * 0.55 + 0.03, ey - r - 0.03, ey + r + 0.03)
        lx, ly, r = cw.xf - q[f"ear_x.{k}"], cw.yf - q[f"ear_y.{k}"], q["ear_r"]
        a = cover(ellipse(lx, ly, r * 0.55, r), cw.inv)
        a_in = cover(ellipse(lx + side * r * 0.1, ly + r * 0.05, r * 0.3, r * 0.62), cw.inv) * a
        paint(iw, a, skin * 0.93)
        paint(iw, a_in * 0.8, skin * 0.7)
        total = _accumulate(cv, total, cw, a)
    return total


def head(img: Tensor, cv: Canvas) -> Tensor:
    """Skin of the head: a cranium ellipse smoothly joined to a jaw that narrows towards the chin."""
    p, q = cv.p, cv.q
    half = np.maximum(p["W"], p["jaw_w"] * 1.3) + abs(p["jaw_x"]) + 0.06
    cw, iw = crop(cv, img, -half, half, -0.93 * p["H"] - 0.06, p["H"] + 0.06)
    w, h, xf, yf = q["W"], q["H"], cw.xf, cw.yf
    jc = q["jaw_c"]
    # the cranium's lower half is short, so the jaw alone draws the lower face (cheek width, jaw shape)
    d_top = ellipse(xf, yf, w, torch.where(yf < 0, h * 0.93, jc + h * 0.2))
    yj = yf - jc
    t = (yj / (h - jc)).clamp_(0.0, 1.0)
    jaw_rx = torch.addcmul(q["jaw_w"], t * t, q["jaw_w"] * q["jaw_point"], value=-1.0)
    # jaw_shape = 1 makes the chin a point (radius 0 there, a 0 / 0 in the distance): keep it positive
    jaw_rx.clamp_(min=_MIN_JAW_RX)
    d_jaw = ellipse(torch.addcmul(xf, t, q["jaw_x"], value=-1.0), yj, jaw_rx, h - jc)
    d = smooth_union(d_top, d_jaw, 0.08)
    a = cover(d, cw.inv, OUTLINE)  # the face includes its ink outline
    paint(iw, a, q["skin"])
    # soft shading inside the outline: it follows the face shape
    rim = d.mul(0.45 / RIM).add_(0.45).clamp_(0.0, 0.45).mul_(a)
    paint(iw, rim, q["skin"] * 0.7)
    paint(iw, cover(d.abs_(), cw.inv, OUTLINE, 0.75), q["skin"] * 0.45)
    return _accumulate(cv, None, cw, a)


def hair_cap(img: Tensor, cv: Canvas) -> Tensor:
    """Hair on top of the head down to a hairline curve (fringe, parting)."""
    p, q = cv.p, cv.q
    half = p["hW"] + p["hair_vol"] + abs(p["hair_dx"]) * 0.15 + 0.03
    reach = half + abs(p["hair_dx"])
    low = p["hair_h0"] + p["hair_dy"] + abs(p["hair_tilt"]) * reach + p["hair_curve"] * reach * reach
    top = -(p["hH"] * 0.93 + p["hair_vol"] * 1.6) - 0.03
    low = np.minimum(np.minimum(low, p["fringe_low"]), p["hH"] * 0.93 + p["hair_vol"])
    cw, iw = crop(cv, img, -half, half, top, low + 0.03)
    w, h, vol = q["hW"], q["hH"], q["hair_vol"]
    hx, hy = q["hair_dx"], q["hair_dy"]
    d_cap = ellipse(cw.xf - hx * 0.15, cw.yf + vol * 0.6, w + vol, h * 0.93 + vol)
    rx = cw.xf - hx
    tilt, curve = q["hair_tilt"], q["hair_curve"]
    line = q["hair_h0"] + hy + tilt * rx + curve * rx * rx
    slope = tilt + 2 * curve * rx
    d_line = (cw.yf - line) / (1 + slope * slope).sqrt()
    d_line = torch.maximum(d_line, cw.yf - q["fringe_low"])
    a = cover(torch.maximum(d_cap, d_line), cw.inv)
    paint(iw, a, q["hair"])
    return _accumulate(cv, None, cw, a)


def shading(img: Tensor, cv: Canvas, fg: Tensor) -> None:
    """Directional light and rim darkening over the foreground coverage ``fg`` (B, H, W), in place.

    The light field is laid out on the reference head, so it depends on attributes only."""
    q = cv.q
    nx, ny = cv.xf / q["hW"], cv.yf / q["hH"]
    k = q["light_k"]
    # shade - 1 = lit - 0.15 k - 0.12 r2^2, lit = (light . n) k, r2 = |n|^2 up to 1.5
    shade = (nx * (q["light_x"] * k)).addcmul_(ny, q["light_y"] * k).sub_(0.15 * k)
    r2 = nx.mul_(nx).addcmul_(ny, ny).clamp_(max=1.5)
    shade.addcmul_(r2, r2, value=-0.12)
    img.mul_(torch.addcmul(_ONE, fg, shade).unsqueeze(1))
    img.clamp_(0.0, 1.0)


def _accumulate(cv: Canvas, total: Tensor | None, cw: Canvas, a: Tensor) -> Tensor:
    """Union of a coverage ``a`` on crop ``cw`` into ``total`` (B, H, W) (a new zero one when None)."""
    if total is None:
        total = cv.xf.new_zeros(cv.xf.shape)
    region = total[:, cw.rows, cw.cols]
    if region.numel():
        torch.maximum(region, a, out=region)
    return total
