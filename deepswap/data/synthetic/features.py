"""Inner face features: eye sockets, eyes (white, iris, pupil, lid), brows, nose and mouth.

Each feature is evaluated on a crop of the canvas around it, in local coordinates: centred on its
projected position and un-squashed by the yaw / pitch foreshortening (``sx``, ``sy``), so a feature
seen from the side gets narrower. Paired features (eyes, brows, nostrils) are drawn in one pass: each
pixel uses the feature on its side of the midline between the two.
"""

from __future__ import annotations

import numpy as np
import torch

from deepswap.data.synthetic.canvas import Canvas, crop
from deepswap.data.synthetic.raster import band, capsule, circle, cover, ellipse_fast, paint, soft

Tensor = torch.Tensor

_WHITE = torch.tensor([0.94, 0.92, 0.89]).view(1, 3, 1, 1)
_DARK = torch.tensor([0.10, 0.07, 0.06]).view(1, 3, 1, 1)
_MOUTH_IN = torch.tensor([0.28, 0.06, 0.07]).view(1, 3, 1, 1)
_TEETH = torch.tensor([0.95, 0.93, 0.87]).view(1, 3, 1, 1)
_GROW = 1.3  # largest local stretch (sx, sy <= 1.3): crop boxes are widened by it


def _pair_crop(cv: Canvas, img: Tensor, key: str, half_x: Tensor, up: Tensor, down: Tensor):
    """Crop around both ``key`` features (half width, extent above and below their centres, (B,))."""
    p = cv.p
    x, y = p[key + "_x"], p[key + "_y"]
    return crop(
        cv,
        img,
        x.min(1) - _GROW * half_x,
        x.max(1) + _GROW * half_x,
        y.min(1) - _GROW * up,
        y.max(1) + _GROW * down,
    )


def _mirror_frame(cv: Canvas, key: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """-> local x, y (B, h, w) of the nearer ``key`` feature, 1 / pixel in local units, side (-1 or +1)."""
    q = cv.q
    left = cv.xf < (q[key + "_x.0"] + q[key + "_x.1"]) * 0.5

    def pick(name: str) -> Tensor:
        return torch.where(left, q[name + ".0"], q[name + ".1"])

    sx, sy = pick(key + "_sx"), pick(key + "_sy")
    lx, ly = (cv.xf - pick(key + "_x")) / sx, (cv.yf - pick(key + "_y")) / sy
    side = torch.where(left, -1.0, 1.0)
    return lx, ly, cv.inv * (sx * sy).sqrt(), side


def eyes(img: Tensor, cv: Canvas) -> None:
    """Eye sockets, whites, irises, pupils, highlights and upper lid lines of both eyes."""
    p, q = cv.p, cv.q
    cw, iw = _pair_crop(
        cv, img, "eye", p["eye_w"] * 1.4 + 0.04, p["eye_h"] * 1.75 + 0.05, p["eye_h"] * 1.3 + 0.05
    )
    lx, ly, inv, _ = _mirror_frame(cw, "eye")
    ew, eh, op = q["eye_w"], q["eye_h"], q["eye_open"]
    skin = q["skin"]
    socket = soft(ellipse_fast(lx, ly + eh * 0.25, ew * 1.35, eh * 1.5 + 0.02), inv, 0.05)
    paint(iw, socket * 0.3, skin * 0.8)
    arc = 1 - (lx / ew) ** 2
    upper = eh * op * arc
    d_white = torch.maximum(band(ly, -upper, eh * (0.25 + 0.4 * op) * arc), lx.abs() - ew)
    a_white = cover(d_white, inv)
    paint(iw, a_white, _WHITE)
    ri = ew * 0.32 + eh * 0.55
    ix, iy = lx - q["iris_dx"], ly - eh * 0.05
    d_iris = circle(ix, iy, ri)
    paint(iw, cover(d_iris, inv) * a_white, q["iris"])
    paint(iw, cover(d_iris + ri * 0.55, inv) * a_white, _DARK)
    glint = circle(ix + ri * 0.35, iy + ri * 0.35, ri * 0.2)
    paint(iw, cover(glint, inv) * a_white * 0.9, _WHITE)
    d_lid = torch.maximum((ly + upper).abs() - 0.012 - 0.01 * op, lx.abs() - ew * 1.06)
    paint(iw, cover(d_lid, inv), _DARK)


def brows(img: Tensor, cv: Canvas) -> None:
    """Both eyebrows: arched, tilted, tapering strokes (thick inner end)."""
    p, q = cv.p, cv.q
    reach = p["brow_arch"] + abs(p["brow_tilt"]) * p["brow_len"] + p["brow_t"] * 1.5 + 0.03
    cw, iw = _pair_crop(cv, img, "brow", p["brow_len"] + 0.03, reach, reach)
    lx, ly, inv, side = _mirror_frame(cw, "brow")
    bl, bt = q["brow_len"], q["brow_t"]
    tilt, arch = q["brow_tilt"], q["brow_arch"]
    v = lx / bl * side  # -1 at the inner end, +1 at the outer end
    centre = -arch * (1 - v * v) - tilt * v * bl
    slope = (2 * arch * v - tilt * bl) / bl
    outer = v.clamp(min=0)
    half = bt * (0.55 - 0.15 * v) * (1 - 0.6 * outer * outer)
    d = (ly - centre).abs() / (1 + slope * slope).sqrt() - half
    d = torch.maximum(d, lx.abs() - bl)
    paint(iw, cover(d, inv), q["brow"])


def nose(img: Tensor, cv: Canvas) -> None:
    """Nose: shaded side of the ridge, lit tip, wing shadows and nostrils."""
    p, q = cv.p, cv.q
    nw = p["nose_w"]
    xs = np.stack([p["bridge_x"], p["tip_x"], p["nostril_x"][:, 0], p["nostril_x"][:, 1]], 1)
    reach = _GROW * (nw * 1.3 + 0.06)
    cw, iw = crop(
        cv,
        img,
        xs.min(1) - reach,
        xs.max(1) + reach,
        p["bridge_y"] - nw * 0.5 - 0.06,
        np.maximum(p["tip_y"], p["nostril_y"].max(1)) + _GROW * (nw * 0.7 + 0.06),
    )
    xf, yf, nw, skin = cw.xf, cw.yf, q["nose_w"], q["skin"]
    sx, sy = q["nose_sx"], q["nose_sy"]
    inv = cw.inv * (sx * sy).sqrt()
    tx, ty = q["tip_x"], q["tip_y"]
    off = -q["light_x"] * nw * 0.55
    ridge = capsule(xf, yf, q["bridge_x"] + off * 0.6, q["bridge_y"], tx + off, ty - nw * 0.2, nw * 0.35)
    paint(iw, soft(ridge, cw.inv, 0.05) * 0.28, skin * 0.72)
    lx, ly = (xf - tx) / sx, (yf - ty) / sy
    wings = ellipse_fast(lx.abs() - nw * 0.75, ly - nw * 0.1, nw * 0.42, nw * 0.4)
    paint(iw, soft(wings, inv, 0.03) * 0.45, skin * 0.7)
    paint(iw, soft(ellipse_fast(lx, ly, nw * 0.55, nw * 0.42), inv, 0.03) * 0.35, (skin * 1.12).clamp(max=1))
    hx, hy, inv_h, _ = _mirror_frame(cw, "nostril")
    paint(iw, cover(ellipse_fast(hx, hy, nw * 0.3, nw * 0.16), inv_h) * 0.9, skin * 0.3)


def mouth(img: Tensor, cv: Canvas) -> None:
    """Mouth: lips following the smile curve; dark interior and upper teeth when open; lip line."""
    p, q = cv.p, cv.q
    mw, lt, smile, gap = p["mouth_w"], p["lip_t"], p["smile"], p["mouth_gap"]
    reach = abs(smile) + 1.6 * (gap + 1.4 * lt) + 0.04
    mx, my = p["mouth_x"], p["mouth_y"]
    cw, iw = crop(
        cv, img, mx - _GROW * (mw + 0.03), mx + _GROW * (mw + 0.03), my - _GROW * reach, my + _GROW * reach
    )
    sx, sy = q["mouth_sx"], q["mouth_sy"]
    lx, ly = (cw.xf - q["mouth_x"]) / sx, (cw.yf - q["mouth_y"]) / sy
    inv = cw.inv * (sx * sy).sqrt()
    mw, lt, smile, gap = q["mouth_w"], q["lip_t"], q["smile"], q["mouth_gap"]
    u = lx / mw
    qs = (1 - u * u).clamp(min=0).sqrt()
    centre = -smile * u * u
    norm = 1 / (1 + (2 * smile * u / mw) ** 2).sqrt()
    g = gap * qs
    t = lt * (0.2 + 0.8 * qs)
    bow = lt * 0.35 * (1 - u.abs() / 0.22).clamp(min=0)
    outside = lx.abs() - mw
    d_lips = torch.maximum(band(ly, centre - g - t + bow, centre + g + t * 1.35) * norm, outside)
    paint(iw, cover(d_lips, inv), q["lips"])
    d_in = torch.maximum(band(ly, centre - g, centre + g) * norm, outside + mw * 0.08)
    paint(iw, cover(d_in, inv), _MOUTH_IN)
    d_teeth = torch.maximum(d_in, (ly - (centre - g + g * 0.55)) * norm)
    paint(iw, cover(d_teeth, inv), _TEETH)
    d_line = torch.maximum((ly - centre).abs() * norm - 0.006 - gap * 0.1, outside)
    paint(iw, cover(d_line, inv) * 0.7, q["lips"] * 0.45)
