"""Inner face features: eyes (shadow, white, iris, pupil, lid, outline), brows, nose and mouth.

Each feature is evaluated on a crop of the canvas around it, in local coordinates: centred on its
projected position and un-squashed by the yaw / pitch foreshortening (``sx``, ``sy``), so a feature
seen from the side gets narrower. Paired features (eyes, brows, nostrils) are drawn in one pass: each
pixel uses the feature on its side of the midline between the two. Every feature is clipped to the
head's coverage (``Canvas.clip``), so the face region holds everything identity changes.

World v2 draws the features large and inked (a dark outline on eyes, lips and nose wings), so that
every identity factor moves at least 150 pixels of a 64 px render (see ``footprint.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from deepswap.data.synthetic.canvas import Canvas, crop
from deepswap.data.synthetic.raster import band, capsule, circle, cover, ellipse_fast, paint, soft

Tensor = torch.Tensor

_WHITE = torch.tensor([0.95, 0.93, 0.90]).view(1, 3, 1, 1)
_DARK = torch.tensor([0.08, 0.06, 0.05]).view(1, 3, 1, 1)
_MOUTH_IN = torch.tensor([0.28, 0.06, 0.07]).view(1, 3, 1, 1)
_TEETH = torch.tensor([0.95, 0.93, 0.87]).view(1, 3, 1, 1)
_GROW = 1.3  # largest local stretch (sx, sy <= 1.3): crop boxes are widened by it
INK = 0.009  # half width of the ink lines around features, face units


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
    """Eye shadow (in the eye colour), almond whites, irises, pupils, highlights, lids and outlines.

    The almond (``eye_shape``, ``eye_size``) is always outlined; ``eye_open`` only lowers the lid."""
    p, q = cv.p, cv.q
    cw, iw = _pair_crop(
        cv, img, "eye", p["eye_w"] * 1.25 + 0.03, p["eye_h"] * 2.15 + 0.07, p["eye_h"] * 0.8 + 0.04
    )
    lx, ly, inv, _ = _mirror_frame(cw, "eye")
    ew, eh, op, clip = q["eye_w"], q["eye_h"], q["eye_open"], cw.clip
    skin = q["skin"]
    shadow = soft(ellipse_fast(lx, ly + eh * 1.05 + 0.01, ew * 1.2, eh * 1.05 + 0.03), inv, 0.03)
    paint(iw, shadow * 0.6 * clip, q["iris"] * 0.75 + skin * 0.25)
    arc = (1 - (lx / ew) ** 2).clamp(min=0)
    top, bottom = -eh * arc, eh * 0.7 * arc
    d_almond = torch.maximum(band(ly, top, bottom), lx.abs() - ew)
    a_eye = cover(d_almond, inv) * clip
    paint(iw, a_eye, _WHITE)
    ri = eh * 0.85 + ew * 0.12
    ix, iy = lx - q["iris_dx"], ly - eh * 0.05
    d_iris = circle(ix, iy, ri)
    paint(iw, cover(d_iris, inv) * a_eye, q["iris"])
    paint(iw, cover(d_iris + ri * 0.55, inv) * a_eye, _DARK)
    glint = circle(ix + ri * 0.35, iy + ri * 0.35, ri * 0.2)
    paint(iw, cover(glint, inv) * a_eye * 0.9, _WHITE)
    lid_y = top + (1 - op) * (bottom - top)
    d_lid = torch.maximum(band(ly, top - 0.05, lid_y), lx.abs() - ew)
    paint(iw, cover(d_lid, inv) * a_eye, skin * 0.82)
    d_line = torch.maximum((ly - lid_y).abs() - 0.012, lx.abs() - ew * 1.05)
    paint(iw, cover(d_line, inv) * clip, _DARK)
    paint(iw, cover(d_almond.abs() - INK, inv) * 0.8 * clip, _DARK)


def brows(img: Tensor, cv: Canvas) -> None:
    """Both eyebrows: arched, tilted, tapering strokes (thick inner end)."""
    p, q = cv.p, cv.q
    reach = np.abs(p["brow_arch"]) + abs(p["brow_tilt"]) * p["brow_len"] + p["brow_t"] * 1.5 + 0.03
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
    paint(iw, cover(d, inv) * cw.clip, q["brow"])


def nose(img: Tensor, cv: Canvas) -> None:
    """Nose: shaded ridge, lit tip, inked wings, nostrils and the shadow under the nose."""
    p, q = cv.p, cv.q
    nw = p["nose_w"]
    xs = np.stack([p["bridge_x"], p["tip_x"], p["nostril_x"][:, 0], p["nostril_x"][:, 1]], 1)
    reach = _GROW * (nw * 1.7 + 0.1)
    cw, iw = crop(
        cv,
        img,
        xs.min(1) - reach,
        xs.max(1) + reach,
        p["bridge_y"] - nw * 0.5 - 0.06,
        np.maximum(p["tip_y"], p["nostril_y"].max(1)) + _GROW * (nw * 1.3 + 0.14),
    )
    xf, yf, nw, skin, clip = cw.xf, cw.yf, q["nose_w"], q["skin"], cw.clip
    sx, sy = q["nose_sx"], q["nose_sy"]
    inv = cw.inv * (sx * sy).sqrt()
    tx, ty = q["tip_x"], q["tip_y"]
    off = -q["light_x"] * nw * 0.55
    ridge = capsule(xf, yf, q["bridge_x"] + off * 0.6, q["bridge_y"], tx + off, ty - nw * 0.2, nw * 0.45)
    paint(iw, soft(ridge, cw.inv, 0.03) * 0.5 * clip, skin * 0.62)
    lx, ly = (xf - tx) / sx, (yf - ty) / sy
    under = ellipse_fast(lx, ly - nw * 0.5 - 0.012, nw * 1.5 + 0.01, nw * 0.3 + 0.01)
    paint(iw, soft(under, inv, 0.025) * 0.7 * clip, skin * 0.55)
    wings = ellipse_fast(lx.abs() - nw * 0.8, ly - nw * 0.1, nw * 0.35 + 0.02, nw * 0.3 + 0.02)
    paint(iw, cover(wings, inv) * 0.8 * clip, skin * 0.65)
    paint(iw, cover(wings.abs() - INK, inv) * 0.9 * clip, skin * 0.3)
    tip = ellipse_fast(lx, ly, nw * 0.62, nw * 0.48)
    paint(iw, cover(tip, inv) * 0.6 * clip, (skin * 1.15).clamp(max=1))
    paint(iw, cover(torch.maximum(tip.abs() - INK, -ly), inv) * 0.8 * clip, skin * 0.35)
    fx = lx.abs() - nw * 1.15 - 0.02  # folds from the wings towards the mouth corners
    fold = capsule(fx, ly, torch.zeros_like(nw), nw * 0.1, 0.05 + nw * 0.2, nw * 0.1 + 0.11, INK)
    paint(iw, cover(fold, inv) * 0.55 * clip, skin * 0.45)
    hx, hy, inv_h, _ = _mirror_frame(cw, "nostril")
    paint(iw, cover(ellipse_fast(hx, hy, nw * 0.2 + 0.012, nw * 0.1 + 0.008), inv_h) * clip, skin * 0.25)


def mouth(img: Tensor, cv: Canvas) -> None:
    """Mouth: inked lips following the smile curve, dark interior and teeth when open, lip line, and
    cheek marks just outside the corners (they move with ``mouth_width``)."""
    p, q = cv.p, cv.q
    mw, lt, smile, gap = p["mouth_w"], p["lip_t"], p["smile"], p["mouth_gap"]
    up = abs(smile) + 1.6 * (gap + 1.4 * lt) + 0.05  # the lips and the cheek marks
    down = up + 2.4 * lt + 0.04  # and the shadow under the lower lip
    mx, my = p["mouth_x"], p["mouth_y"]
    cw, iw = crop(
        cv, img, mx - _GROW * (mw + 0.06), mx + _GROW * (mw + 0.06), my - _GROW * up, my + _GROW * down
    )
    sx, sy, clip = q["mouth_sx"], q["mouth_sy"], cw.clip
    lx, ly = (cw.xf - q["mouth_x"]) / sx, (cw.yf - q["mouth_y"]) / sy
    inv = cw.inv * (sx * sy).sqrt()
    mw, lt, smile, gap = q["mouth_w"], q["lip_t"], q["smile"], q["mouth_gap"]
    u = lx / mw
    qs = (1 - u * u).clamp(min=0).sqrt()
    centre = -smile * u * u
    norm = 1 / (1 + (2 * smile * u / mw) ** 2).sqrt()
    g = gap * qs
    t = lt * (0.4 + 0.6 * qs)
    bow = lt * 0.35 * (1 - u.abs() / 0.22).clamp(min=0)
    outside = lx.abs() - mw
    d_lips = torch.maximum(band(ly, centre - g - t + bow, centre + g + t * 1.35) * norm, outside)
    below = ellipse_fast(lx, ly - (centre + t * 1.35 + g + lt * 0.9 + 0.012), mw * 0.95, lt * 0.7 + 0.02)
    paint(iw, soft(below, inv, 0.02) * 0.6 * clip, q["skin"] * 0.6)  # shadow under the lower lip
    paint(iw, cover(d_lips, inv) * clip, q["lips"])
    d_in = torch.maximum(band(ly, centre - g, centre + g) * norm, outside + mw * 0.08)
    paint(iw, cover(d_in, inv) * clip, _MOUTH_IN)
    d_teeth = torch.maximum(d_in, (ly - (centre - g + g * 0.55)) * norm)
    paint(iw, cover(d_teeth, inv) * clip, _TEETH)
    d_line = torch.maximum((ly - centre).abs() * norm - 0.007 - gap * 0.1, outside)
    paint(iw, cover(d_line, inv) * 0.8 * clip, q["lips"] * 0.4)
    paint(iw, cover(d_lips.abs() - INK, inv) * 0.7 * clip, q["lips"] * 0.45)
    cx = lx.abs() - mw - 0.03
    mark = capsule(cx, ly, torch.zeros_like(mw), -smile - lt - 0.035, -0.01, -smile + lt + 0.035, INK * 1.3)
    paint(iw, cover(mark, inv) * 0.9 * clip, q["skin"] * 0.45)
