"""Inner face features: eyes (shadow, white, iris, pupil, lid, outline), brows, nose and mouth.

Each feature is evaluated in local coordinates: centred on its projected position and un-squashed by
the yaw / pitch foreshortening (``sx``, ``sy``), so a feature seen from the side gets narrower. Paired
features (eyes, brows, nostrils): each pixel uses the feature on its side of the midline between the
two. Every feature is clipped to the head's coverage (``Canvas.clip``), so the face region holds
everything identity changes.

Rendering cost is the number of pixels each layer is evaluated on, so every layer is evaluated only on a
crop bounding where it can be non-zero: a box in the feature's local frame, from its shape parameters
and the half-pixel coverage ramp (``_ramp``), intersected with the feature's layout box (the crop that
drew it before these tighter boxes, so that no pixel moves by more than rounding: 2e-5 measured against
the one-crop renderer at 256 px, from the fused multiply-adds). Each side of a pair has its own crops,
with the clip restricted to that side's pixels.

World v2 draws the features large and inked (a dark outline on eyes, lips and nose wings), so that
every identity factor moves at least 150 pixels of a 64 px render (see ``footprint.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from deepswap.data.synthetic.canvas import Canvas, crop
from deepswap.data.synthetic.raster import band, capsule, circle, cover, ellipse_fast, paint, soft

Tensor = torch.Tensor
Array = np.ndarray

_WHITE = torch.tensor([0.95, 0.93, 0.90]).view(1, 3, 1, 1)
_DARK = torch.tensor([0.08, 0.06, 0.05]).view(1, 3, 1, 1)
_MOUTH_IN = torch.tensor([0.28, 0.06, 0.07]).view(1, 3, 1, 1)
_TEETH = torch.tensor([0.95, 0.93, 0.87]).view(1, 3, 1, 1)
_GROW = 1.3  # largest local stretch (sx, sy <= 1.3): crop boxes are widened by it
INK = 0.009  # half width of the ink lines around features, face units
_135, _055 = torch.tensor(1.35), torch.tensor(0.55)


def _pair_box(p: dict, key: str, half_x: Array, up: Array, down: Array) -> tuple[Array, ...]:
    """Face-frame box around both ``key`` features (half width, extent above and below their centres)."""
    x, y = p[key + "_x"], p[key + "_y"]
    return (
        x.min(1) - _GROW * half_x,
        x.max(1) + _GROW * half_x,
        y.min(1) - _GROW * up,
        y.max(1) + _GROW * down,
    )


def _ramp(cv: Canvas, sx: Array, sy: Array) -> Array:
    """(B,) half a pixel in the local units of a frame squashed by (sx, sy): a coverage ramp ends there."""
    return 0.5 / (cv.p["scale"] * (cv.size / 2) * np.sqrt(sx * sy))


def _local_box(cx: Array, cy: Array, sx: Array, sy: Array, lx0, lx1, ly0, ly1) -> tuple[Array, ...]:
    """Box in a local frame (centre (cx, cy), squashed by (sx, sy)) -> the face-frame box (x0, x1, y0, y1)."""
    return cx + sx * lx0, cx + sx * lx1, cy + sy * ly0, cy + sy * ly1


def _union(*boxes: tuple[Array, ...]) -> tuple[Array, ...]:
    x0, x1, y0, y1 = zip(*boxes)
    return np.min(x0, 0), np.max(x1, 0), np.min(y0, 0), np.max(y1, 0)


def _ellipse_reach(rx: Array, ry: Array, reach: Array) -> Array:
    """:func:`ellipse_fast` is below ``reach`` only inside the ellipse of radii ``(rx, ry)`` times this."""
    return 1 + reach / np.minimum(rx, ry)


def _side_frame(cw: Canvas, key: str, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Feature ``k`` (0: image left, 1: right) of the ``key`` pair on a crop -> local x, y (B, h, w),
    1 / pixel in local units, and the clip restricted to the pixels on its side of the midline.

    A pixel belongs to the feature on its side of the midline between the two; painting with the
    restricted clip leaves the other side's pixels exactly as they are."""
    q = cw.q
    sx, sy = q[f"{key}_sx.{k}"], q[f"{key}_sy.{k}"]
    lx = (cw.xf - q[f"{key}_x.{k}"]).div_(sx)
    ly = (cw.yf - q[f"{key}_y.{k}"]).div_(sy)
    left = cw.xf < (q[key + "_x.0"] + q[key + "_x.1"]) * 0.5
    own = left if k == 0 else left.logical_not_()
    return lx, ly, cw.inv * (sx * sy).sqrt(), cw.clip * own


def eyes(img: Tensor, cv: Canvas) -> None:
    """Eye shadow (in the eye colour), almond whites, irises, pupils, highlights, lids and outlines.

    The almond (``eye_shape``, ``eye_size``) is always outlined; ``eye_open`` only lowers the lid.
    Each eye is drawn on two crops: its shadow, and the almond with everything on it."""
    p, q = cv.p, cv.q
    pw, ph = p["eye_w"], p["eye_h"]
    layout = _pair_box(p, "eye", pw * 1.25 + 0.03, ph * 2.15 + 0.07, ph * 0.8 + 0.04)
    ew, eh, op, skin = q["eye_w"], q["eye_h"], q["eye_open"], q["skin"]
    sh_dy, sh_rx, sh_ry, sh_color = (
        eh * 1.05 + 0.01,
        ew * 1.2,
        eh * 1.05 + 0.03,
        q["iris"] * 0.75 + skin * 0.25,
    )
    ri = eh * 0.85 + ew * 0.12
    iris_dy, glint_d, glint_r, pupil = eh * 0.05, ri * 0.35, ri * 0.2, ri * -0.55
    neg_eh, low, shut, line_w, lid_color = -eh, eh * 0.7, 1 - op, ew * 1.05, skin * 0.82
    for k in (0, 1):
        cx, cy, sx, sy = p["eye_x"][:, k], p["eye_y"][:, k], p["eye_sx"][:, k], p["eye_sy"][:, k]
        m = _ramp(cv, sx, sy)
        rx, ry, dy = pw * 1.2, ph * 1.05 + 0.03, ph * 1.05 + 0.01
        r = _ellipse_reach(rx, ry, np.maximum(m, 0.015))  # soft ramp 0.03 wide
        box = _local_box(cx, cy, sx, sy, -rx * r, rx * r, -dy - ry * r, -dy + ry * r)
        cw, iw = crop(cv, img, *box, within=layout)
        lx, ly, inv, clip = _side_frame(cw, "eye", k)
        shadow = soft(ellipse_fast(lx, ly.add_(sh_dy), sh_rx, sh_ry), inv, 0.03, 0.6)
        paint(iw, shadow.mul_(clip), sh_color)
        # the almond lies in |lx| <= ew, -eh <= ly <= 0.7 eh; the lid line reaches 1.05 ew and 0.012 further
        box = _local_box(
            cx, cy, sx, sy, -(pw * 1.05 + m), pw * 1.05 + m, -ph - 0.012 - m, ph * 0.7 + 0.012 + m
        )
        cw, iw = crop(cv, img, *box, within=layout)
        lx, ly, inv, clip = _side_frame(cw, "eye", k)
        alx = lx.abs()
        arc = (lx / ew).pow_(2).neg_().add_(1.0).clamp_(min=0)
        top, bottom = arc * neg_eh, arc.mul_(low)
        d_almond = torch.maximum(band(ly, top, bottom), alx - ew)
        a_eye = cover(d_almond, inv).mul_(clip)
        paint(iw, a_eye, _WHITE)
        ix, iy = lx - q["iris_dx"], ly - iris_dy
        d_iris = circle(ix, iy, ri)
        paint(iw, cover(d_iris, inv).mul_(a_eye), q["iris"])
        paint(iw, cover(d_iris, inv, pupil).mul_(a_eye), _DARK)
        glint = circle(ix.add_(glint_d), iy.add_(glint_d), glint_r)
        paint(iw, cover(glint, inv, weight=0.9).mul_(a_eye), _WHITE)
        lid_y = torch.addcmul(top, bottom.sub_(top), shut)
        d_lid = torch.maximum(band(ly, top.sub_(0.05), lid_y), alx - ew)
        paint(iw, cover(d_lid, inv).mul_(a_eye), lid_color)
        d_line = torch.maximum(ly.sub_(lid_y).abs_().sub_(0.012), alx.sub_(line_w))
        paint(iw, cover(d_line, inv).mul_(clip), _DARK)
        paint(iw, cover(d_almond.abs_(), inv, INK, 0.8).mul_(clip), _DARK)


def brows(img: Tensor, cv: Canvas) -> None:
    """Both eyebrows: arched, tilted, tapering strokes (thick inner end), each on its own crop."""
    p, q = cv.p, cv.q
    pl, pt, pa, ptilt = p["brow_len"], p["brow_t"], p["brow_arch"], p["brow_tilt"]
    reach = np.abs(pa) + abs(ptilt) * pl + pt * 1.5 + 0.03
    layout = _pair_box(p, "brow", pl + 0.03, reach, reach)
    bl, bt = q["brow_len"], q["brow_t"]
    tilt, arch = q["brow_tilt"], q["brow_arch"]
    neg_arch, arch2, tilt_l, bt55, bt15 = -arch, 2 * arch, tilt * bl, 0.55 * bt, 0.15 * bt
    for k, side in ((0, -1.0), (1, 1.0)):
        cx, cy, sx, sy = p["brow_x"][:, k], p["brow_y"][:, k], p["brow_sx"][:, k], p["brow_sy"][:, k]
        m = _ramp(cv, sx, sy)
        # the stroke: |lx| < bl + m, so v in [-vm, vm]; |ly - centre(v)| < (half + m) sqrt(1 + slope^2)
        vm = 1 + m / pl
        with np.errstate(divide="ignore", invalid="ignore"):
            v_turn = np.clip(np.where(pa != 0, ptilt * pl / (2 * pa), 0.0), -vm, vm)
        centres = [-pa * (1 - v * v) - ptilt * v * pl for v in (-vm, vm, v_turn)]
        slope = (2 * np.abs(pa) * vm + np.abs(ptilt) * pl) / pl
        reach_y = (pt * (0.55 + 0.15 * vm) + m) * np.sqrt(1 + slope * slope)
        box = _local_box(
            cx, cy, sx, sy, -(pl + m), pl + m, np.min(centres, 0) - reach_y, np.max(centres, 0) + reach_y
        )
        cw, iw = crop(cv, img, *box, within=layout)
        lx, ly, inv, clip = _side_frame(cw, "brow", k)
        v = lx / (bl * side)  # -1 at the inner end, +1 at the outer end
        v2 = v * v
        centre = torch.addcmul(neg_arch, arch, v2).addcmul_(v, tilt_l, value=-1.0)
        slope = (v * arch2).sub_(tilt_l).div_(bl)
        outer = v.clamp(min=0)
        half = torch.addcmul(bt55, v, bt15, value=-1.0).mul_(outer.mul_(outer).mul_(-0.6).add_(1.0))
        d = ly.sub_(centre).abs_().div_(slope.mul_(slope).add_(1.0).sqrt_()).sub_(half)
        d = torch.maximum(d, lx.abs_().sub_(bl))
        paint(iw, cover(d, inv).mul_(clip), q["brow"])


def nose(img: Tensor, cv: Canvas) -> None:
    """Nose: shaded ridge, lit tip, inked wings, nostrils and the shadow under the nose.

    Drawn on three crops: the ridge, the lower nose (tip, wings, folds, the shadow under it) and the
    nostrils."""
    p, q = cv.p, cv.q
    pn = p["nose_w"]
    xs = np.stack([p["bridge_x"], p["tip_x"], p["nostril_x"][:, 0], p["nostril_x"][:, 1]], 1)
    reach = _GROW * (pn * 1.7 + 0.1)
    layout = (
        xs.min(1) - reach,
        xs.max(1) + reach,
        p["bridge_y"] - pn * 0.5 - 0.06,
        np.maximum(p["tip_y"], p["nostril_y"].max(1)) + _GROW * (pn * 1.3 + 0.14),
    )
    nw, skin = q["nose_w"], q["skin"]
    # the ridge: a capsule from the bridge to above the tip, soft ramp 0.03 wide
    poff = -p["light_x"] * pn * 0.55
    ax, ay, bx, by = p["bridge_x"] + poff * 0.6, p["bridge_y"], p["tip_x"] + poff, p["tip_y"] - pn * 0.2
    r = pn * 0.45 + np.maximum(_ramp(cv, 1.0, 1.0), 0.015)
    box = (np.minimum(ax, bx) - r, np.maximum(ax, bx) + r, np.minimum(ay, by) - r, np.maximum(ay, by) + r)
    cw, iw = crop(cv, img, *box, within=layout)
    tx, ty = q["tip_x"], q["tip_y"]
    off = -q["light_x"] * nw * 0.55
    ridge = capsule(
        cw.xf, cw.yf, q["bridge_x"] + off * 0.6, q["bridge_y"], tx + off, ty - nw * 0.2, nw * 0.45
    )
    paint(iw, soft(ridge, cw.inv, 0.03, 0.5).mul_(cw.clip), skin * 0.62)
    # the lower nose, in the tip's local frame
    psx, psy = p["nose_sx"], p["nose_sy"]
    m = _ramp(cv, psx, psy)
    ru, rv = pn * 1.5 + 0.01, pn * 0.3 + 0.01
    g = _ellipse_reach(ru, rv, np.maximum(m, 0.0125))  # the shadow under the nose, soft ramp 0.025
    under = (-ru * g, ru * g, pn * 0.5 + 0.012 - rv * g, pn * 0.5 + 0.012 + rv * g)
    ru, rv = pn * 0.35 + 0.02, pn * 0.3 + 0.02
    g = _ellipse_reach(ru, rv, INK + m)  # the wings and their outline
    wings = (-(pn * 0.8 + ru * g), pn * 0.8 + ru * g, pn * 0.1 - rv * g, pn * 0.1 + rv * g)
    g = _ellipse_reach(pn * 0.62, pn * 0.48, INK + m)  # the tip and its outline
    tip = (-pn * 0.62 * g, pn * 0.62 * g, -pn * 0.48 * g, pn * 0.48 * g)
    e = INK + m  # the folds: capsules of radius INK
    fold_x = pn * 1.35 + 0.07 + e
    folds = (-fold_x, fold_x, pn * 0.1 - e, pn * 0.1 + 0.11 + e)
    boxes = [_local_box(p["tip_x"], p["tip_y"], psx, psy, *b) for b in (under, wings, tip, folds)]
    cw, iw = crop(cv, img, *_union(*boxes), within=layout)
    xf, yf, clip = cw.xf, cw.yf, cw.clip
    sx, sy = q["nose_sx"], q["nose_sy"]
    inv = cw.inv * (sx * sy).sqrt()
    lx, ly = (xf - tx).div_(sx), (yf - ty).div_(sy)
    under = ellipse_fast(lx, ly - (nw * 0.5 + 0.012), nw * 1.5 + 0.01, nw * 0.3 + 0.01)
    paint(iw, soft(under, inv, 0.025, 0.7).mul_(clip), skin * 0.55)
    alx = lx.abs()
    wings = ellipse_fast(alx - nw * 0.8, ly - nw * 0.1, nw * 0.35 + 0.02, nw * 0.3 + 0.02)
    paint(iw, cover(wings, inv, weight=0.8).mul_(clip), skin * 0.65)
    paint(iw, cover(wings.abs_(), inv, INK, 0.9).mul_(clip), skin * 0.3)
    tip = ellipse_fast(lx, ly, nw * 0.62, nw * 0.48)
    paint(iw, cover(tip, inv, weight=0.6).mul_(clip), (skin * 1.15).clamp(max=1))
    paint(iw, cover(torch.maximum(tip.abs_().sub_(INK), -ly), inv, weight=0.8).mul_(clip), skin * 0.35)
    fx = alx.sub_(nw * 1.15 + 0.02)  # folds from the wings towards the mouth corners
    fold = capsule(fx, ly, torch.zeros_like(nw), nw * 0.1, 0.05 + nw * 0.2, nw * 0.1 + 0.11, INK)
    paint(iw, cover(fold, inv, weight=0.55).mul_(clip), skin * 0.45)
    # the nostrils
    ru, rv = pn * 0.2 + 0.012, pn * 0.1 + 0.008
    g = _ellipse_reach(ru, rv, m)
    for k in (0, 1):
        nx, ny = p["nostril_x"][:, k], p["nostril_y"][:, k]
        box = (nx - psx * ru * g, nx + psx * ru * g, ny - psy * rv * g, ny + psy * rv * g)
        cw, iw = crop(cv, img, *box, within=layout)
        hx, hy, inv_h, clip = _side_frame(cw, "nostril", k)
        nostril = ellipse_fast(hx, hy, nw * 0.2 + 0.012, nw * 0.1 + 0.008)
        paint(iw, cover(nostril, inv_h).mul_(clip), skin * 0.25)


def mouth(img: Tensor, cv: Canvas) -> None:
    """Mouth: inked lips following the smile curve, dark interior and teeth when open, lip line, and
    cheek marks just outside the corners (they move with ``mouth_width``)."""
    p, q = cv.p, cv.q
    pw, plt, psmile, pgap = p["mouth_w"], p["lip_t"], p["smile"], p["mouth_gap"]
    up = abs(psmile) + 1.6 * (pgap + 1.4 * plt) + 0.05  # the lips and the cheek marks
    down = up + 2.4 * plt + 0.04  # and the shadow under the lower lip
    mx, my, psx, psy = p["mouth_x"], p["mouth_y"], p["mouth_sx"], p["mouth_sy"]
    layout = (mx - _GROW * (pw + 0.06), mx + _GROW * (pw + 0.06), my - _GROW * up, my + _GROW * down)
    # where each layer can reach, in the mouth's local frame: centre = -smile u^2 for u = lx / mouth_w
    m = _ramp(cv, psx, psy)
    e = INK + m  # the lips and their outline (the interior, teeth and lip line lie inside)
    u = 1 + e / pw
    c_lo, c_hi = np.minimum(0, -psmile * u * u), np.maximum(0, -psmile * u * u)
    stretch = np.sqrt(1 + (2 * np.abs(psmile) * u / pw) ** 2)  # 1 / the smallest slope normaliser
    lips = (-(pw + e), pw + e, c_lo - pgap - plt - e * stretch, c_hi + pgap + plt * 1.35 + e * stretch)
    e = (0.007 + 0.1 * pgap + m) * stretch  # the lip line
    line = (-(pw + m), pw + m, c_lo - e, c_hi + e)
    ru, rv = pw * 0.95, plt * 0.7 + 0.02
    g = _ellipse_reach(ru, rv, np.maximum(m, 0.01))  # the shadow under the lower lip, soft ramp 0.02
    u = ru * g / pw
    c_lo, c_hi = np.minimum(0, -psmile * u * u), np.maximum(0, -psmile * u * u)
    lo, hi = c_lo + plt * 1.44 + 0.012 - rv * g, c_hi + plt * 2.25 + pgap + 0.012 + rv * g
    below = (-ru * g, ru * g, lo, hi)
    e = INK * 1.3 + m  # the cheek marks: capsules of radius 1.3 INK
    marks = (-(pw + 0.03 + e), pw + 0.03 + e, -psmile - plt - 0.035 - e, -psmile + plt + 0.035 + e)
    box = _union(*(_local_box(mx, my, psx, psy, *b) for b in (lips, line, below, marks)))
    cw, iw = crop(cv, img, *box, within=layout)
    sx, sy, clip = q["mouth_sx"], q["mouth_sy"], cw.clip
    lx, ly = (cw.xf - q["mouth_x"]).div_(sx), (cw.yf - q["mouth_y"]).div_(sy)
    inv = cw.inv * (sx * sy).sqrt()
    mw, lt, smile, gap = q["mouth_w"], q["lip_t"], q["smile"], q["mouth_gap"]
    u = lx / mw
    u2 = u * u
    qs = u2.neg().add_(1.0).clamp_(min=0).sqrt_()
    centre = u2.mul_(-smile)
    norm = (u * (2 * smile / mw)).pow_(2).add_(1.0).rsqrt_()
    g = qs * gap
    t = torch.addcmul(lt * 0.4, qs, lt * 0.6)
    bow = u.abs_().mul_(-1 / 0.22).add_(1.0).clamp_(min=0).mul_(lt * 0.35)
    outside = lx.abs().sub_(mw)
    lo_in, hi_in = centre - g, centre + g
    lo = (lo_in - t).add_(bow)
    hi = torch.addcmul(hi_in, t, _135)
    d_lips = torch.maximum(band(ly, lo, hi).mul_(norm), outside)
    below = ellipse_fast(lx, ly - (hi + (lt * 0.9 + 0.012)), mw * 0.95, lt * 0.7 + 0.02)
    paint(iw, soft(below, inv, 0.02, 0.6).mul_(clip), q["skin"] * 0.6)  # shadow under the lower lip
    paint(iw, cover(d_lips, inv).mul_(clip), q["lips"])
    d_in = torch.maximum(band(ly, lo_in, hi_in).mul_(norm), outside + mw * 0.08)
    paint(iw, cover(d_in, inv).mul_(clip), _MOUTH_IN)
    d_teeth = torch.maximum(d_in, (ly - torch.addcmul(lo_in, g, _055)).mul_(norm))
    paint(iw, cover(d_teeth, inv).mul_(clip), _TEETH)
    d_line = torch.maximum((ly - centre).abs_().mul_(norm).sub_(gap * 0.1 + 0.007), outside)
    paint(iw, cover(d_line, inv, weight=0.8).mul_(clip), q["lips"] * 0.4)
    paint(iw, cover(d_lips.abs_(), inv, INK, 0.7).mul_(clip), q["lips"] * 0.45)
    cx = lx.abs_().sub_(mw + 0.03)
    mark = capsule(cx, ly, torch.zeros_like(mw), -smile - lt - 0.035, -0.01, -smile + lt + 0.035, INK * 1.3)
    paint(iw, cover(mark, inv, weight=0.9).mul_(clip), q["skin"] * 0.45)
