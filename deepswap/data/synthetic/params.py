"""Maps factor vectors in [0, 1] to the physical scene: head frame, projected feature positions, colours.

Units are "face units": the image spans [-1, 1] in both axes at scale 1, y points down, and the origin
is the head centre. Everything here works on per-sample ``(B,)`` float64 tensors (cheap, and precise
enough that batched and one-by-one rendering round to the same float32 values); the rasteriser
casts to float32. Head pose is approximate 3-D: a feature at frontal position (x0, y0) lies on an
ellipsoid with semi-axes (W, H, W), protrudes by ``zp``, and is turned by yaw then pitch.
"""

from __future__ import annotations

import math

import torch

Params = dict[str, torch.Tensor]

HEAD_Y = -0.07  # image-normalised vertical position of the head centre before jitter
# World v2 frames the face like an ArcFace-aligned crop: the head is drawn ZOOM times larger than in
# v1, so the face spans about three quarters of the image width and identity features get pixels.
ZOOM = 1.28
# Attribute-only layers (hair, neck, clothes, lighting) are laid out on this reference head, never on
# the identity's own head, so that a ground-truth swap changes the face region only. Its size is
# the largest head of the identity ranges below: the hair cap covers every cranium.
REF_W, REF_H = 0.66, 0.80
FRINGE_LOW = -0.40  # the fringe never reaches below this face-frame height (above every brow)

_SKIN_DARK, _SKIN_MID, _SKIN_LIGHT = (0.30, 0.18, 0.12), (0.72, 0.50, 0.37), (0.98, 0.84, 0.75)
_HAIR = [
    (0.07, 0.06, 0.05),
    (0.22, 0.13, 0.08),
    (0.42, 0.27, 0.15),
    (0.58, 0.24, 0.11),
    (0.86, 0.70, 0.42),
    (0.76, 0.75, 0.73),
]
_IRIS = [  # saturated and far apart: eye colour is an identity cue with some area in v2
    (0.30, 0.13, 0.04),
    (0.72, 0.45, 0.08),
    (0.20, 0.58, 0.22),
    (0.10, 0.45, 0.85),
    (0.55, 0.62, 0.70),
    (0.50, 0.22, 0.62),
]


# Pose ranges in degrees: a pose factor in [0, 1] maps linearly onto -X..X (one source of truth: the
# scorers convert with POSE_SPAN_DEG).
YAW_DEG, PITCH_DEG, ROLL_DEG = 30.0, 15.0, 15.0
POSE_SPAN_DEG = (2 * YAW_DEG, 2 * PITCH_DEG, 2 * ROLL_DEG)


def lerp(lo: float, hi: float, t: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B,): maps t in [0, 1] to [lo, hi]."""
    return lo + (hi - lo) * t


def palette(t: torch.Tensor, colors: list[tuple[float, float, float]]) -> torch.Tensor:
    """(B,) in [0, 1] -> (B, 3): piecewise-linear walk through a list of RGB colours."""
    table = torch.tensor(colors, dtype=t.dtype)
    pos = t.clamp(0, 1) * (len(colors) - 1)
    i0 = pos.floor().clamp(max=len(colors) - 2).long()
    frac = (pos - i0.to(t.dtype))[:, None]
    return table[i0] * (1 - frac) + table[i0 + 1] * frac


def hue_rgb(h: torch.Tensor, sat: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
    """(B,) hue, saturation, value in [0, 1] -> (B, 3) RGB."""
    n = torch.tensor([5.0, 3.0, 1.0], dtype=h.dtype)
    k = torch.remainder(n + h[:, None] * 6.0, 6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp(0, 1)
    return val[:, None] * (1 - sat[:, None] * ramp)


def skin_rgb(lightness: torch.Tensor, warmth: torch.Tensor) -> torch.Tensor:
    """(B,), (B,) -> (B, 3) skin colour from tone lightness and undertone."""
    dark, mid, light = (torch.tensor(c, dtype=lightness.dtype) for c in (_SKIN_DARK, _SKIN_MID, _SKIN_LIGHT))
    t = lightness[:, None]
    lo = dark + (mid - dark) * (t / 0.5).clamp(max=1)
    rgb = lo + (light - mid) * ((t - 0.5) / 0.5).clamp(min=0)
    w = (warmth[:, None] - 0.5) * 2
    tint = (
        torch.tensor([0.0, 0.05, -0.10], dtype=w.dtype) * w
        + torch.tensor([0.04, -0.02, 0.0], dtype=w.dtype) * -w
    )
    return (rgb * (1 + tint)).clamp(0, 1)


def project(p: Params, x0: torch.Tensor, y0: torch.Tensor, zp: float | torch.Tensor = 0.0):
    """Frontal face point (x0, y0) (+ protrusion zp) -> projected (x, y) and local compression (sx, sy).

    Shapes broadcast: (B,) or (B, 2). ``sx``/``sy`` are how much a small shape at that point is squashed
    horizontally / vertically by yaw / pitch (1 = frontal).
    """
    w, h = _bcast(p["W"], x0), _bcast(p["H"], x0)
    cy, sy_, cp, sp = (_bcast(p[k], x0) for k in ("cos_yaw", "sin_yaw", "cos_pitch", "sin_pitch"))
    xn, yn = x0 / w, y0 / h
    zn = (1 - xn * xn - yn * yn).clamp(min=0.04).sqrt()
    z = zn + zp
    x1 = xn * cy + z * sy_
    z1 = -xn * sy_ + z * cy
    y2 = yn * cp - z1 * sp
    sx = (cy - sy_ * xn / zn).clamp(0.25, 1.3)
    sy = (cp + sp * cy * yn / zn).clamp(0.25, 1.3)
    return x1 * w, y2 * h, sx, sy


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape(v.shape + (1,) * (like.dim() - v.dim())) if isinstance(like, torch.Tensor) else v


def scene_params(f: dict[str, torch.Tensor]) -> Params:
    """Factor dict {name: (B,) float64 in [0, 1]} -> physical parameters {name: (B,) / (B, 2) / (B, 3)}."""
    p: Params = {}
    _pose(p, f)
    _head(p, f)
    _eyes_and_brows(p, f)
    _nose_and_mouth(p, f)
    _colours(p, f)
    return p


def _pose(p: Params, f: dict[str, torch.Tensor]) -> None:
    deg = math.pi / 180
    yaw, pitch = lerp(-YAW_DEG, YAW_DEG, f["yaw"]) * deg, lerp(-PITCH_DEG, PITCH_DEG, f["pitch"]) * deg
    roll = lerp(-ROLL_DEG, ROLL_DEG, f["roll"]) * deg
    p.update(cos_yaw=yaw.cos(), sin_yaw=yaw.sin(), cos_pitch=pitch.cos(), sin_pitch=pitch.sin())
    p.update(cos_roll=roll.cos(), sin_roll=roll.sin(), scale=ZOOM * lerp(0.98, 1.02, f["scale"]))
    p.update(cx=lerp(-0.05, 0.05, f["offset_x"]), cy=HEAD_Y + lerp(-0.04, 0.04, f["offset_y"]))
    p["light_x"], p["light_y"] = (
        (f["light_angle"] * 2 * math.pi).cos(),
        (f["light_angle"] * 2 * math.pi).sin(),
    )
    p["light_k"] = lerp(0.0, 0.5, f["light_strength"])


def _head(p: Params, f: dict[str, torch.Tensor]) -> None:
    p["W"], p["H"] = lerp(0.44, 0.66, f["face_width"]), lerp(0.60, 0.80, f["face_length"])
    p["jaw_w"] = p["W"] * lerp(0.55, 1.08, f["cheek_width"])
    p["jaw_c"] = p["H"] * 0.12
    p["jaw_point"] = lerp(-0.8, 1.0, f["jaw_shape"])
    p["jaw_x"] = p["W"] * p["sin_yaw"] * 0.30 * p["cos_pitch"]
    ear_y = p["H"] * lerp(-0.10, 0.14, f["eye_height"]) + 0.10
    p["ear_r"] = lerp(0.09, 0.32, f["ear_size"])
    ear_x = p["W"] * 0.86 + p["ear_r"] * 0.5  # bigger ears also stand further out
    ex, ey, _, _ = project(p, torch.stack([-ear_x, ear_x], 1), ear_y[:, None].expand(-1, 2), -0.25)
    p["ear_x"], p["ear_y"] = ex, ey
    _reference_head(p, f)


def _reference_head(p: Params, f: dict[str, torch.Tensor]) -> None:
    """Hair, neck and clothes geometry: attribute factors on the fixed reference head (REF_W, REF_H)."""
    ones = torch.ones_like(f["hair_style"])
    p["hW"], p["hH"] = ones * REF_W, ones * REF_H
    ref = {**p, "W": p["hW"], "H": p["hH"]}
    p["body_x"] = p["hW"] * p["sin_yaw"] * 0.30 * p["cos_pitch"]
    p["neck_w"] = ones * 0.27
    p["hair_vol"] = lerp(0.03, 0.10, f["hair_length"])
    p["hair_long"] = lerp(-0.30, 1.25, f["hair_length"])
    style = f["hair_style"]
    p["hair_h0"] = -p["hH"] * lerp(0.80, 0.58, style)
    p["hair_tilt"] = 0.28 * (2 * math.pi * style).sin()
    p["hair_curve"] = lerp(1.1, 0.35, style)
    fx, fy, _, _ = project(ref, torch.zeros_like(style), -p["hH"] * 0.5, 0.0)
    p["hair_dx"], p["hair_dy"] = fx, fy + p["hH"] * 0.5
    p["fringe_low"] = ones * FRINGE_LOW


def _eyes_and_brows(p: Params, f: dict[str, torch.Tensor]) -> None:
    side = torch.tensor([-1.0, 1.0], dtype=p["W"].dtype)
    ey = p["H"] * lerp(-0.10, 0.14, f["eye_height"])
    ex = lerp(0.17, 0.36, f["eye_spacing"])
    ew = lerp(0.095, 0.185, f["eye_size"])
    eh = ew * lerp(0.34, 0.86, f["eye_shape"])
    # eye_open moves the upper lid only; the almond outline (eye_shape) stays drawn whatever it is
    p.update(eye_y0=ey, eye_w=ew, eye_h=eh, eye_open=lerp(0.15, 1.0, f["eye_open"]))
    x, y, sx, sy = project(p, ex[:, None] * side, ey[:, None].expand(-1, 2), 0.0)
    p.update(eye_x=x, eye_y=y, eye_sx=sx, eye_sy=sy)
    p["iris_dx"] = -p["sin_yaw"] * ew * 0.35
    raise_ = lerp(-0.03, 0.07, f["brow_raise"])  # a translation of the brow, nothing else
    p["brow_t"] = lerp(0.02, 0.18, f["brow_thickness"])
    by = ey - eh - 0.05 - p["brow_t"] * 0.8 - raise_
    bx, byy, bsx, bsy = project(p, (ex + 0.015)[:, None] * side, by[:, None].expand(-1, 2), 0.02)
    p.update(brow_x=bx, brow_y=byy, brow_sx=bsx, brow_sy=bsy, brow_len=ew * 0.9 + 0.09)
    p["brow_tilt"] = lerp(-0.9, 0.9, f["brow_angle"])
    p["brow_arch"] = lerp(-0.04, 0.18, f["brow_arch"])


def _nose_and_mouth(p: Params, f: dict[str, torch.Tensor]) -> None:
    ey, zero = p["eye_y0"], torch.zeros_like(p["W"])
    nl = lerp(0.10, 0.30, f["nose_length"])
    nw = lerp(0.045, 0.305, f["nose_width"])
    tip_y = ey + nl
    p["nose_w"] = nw
    p["bridge_x"], p["bridge_y"], _, _ = project(p, zero, ey + 0.04, 0.08)
    p["tip_x"], p["tip_y"], p["nose_sx"], p["nose_sy"] = project(p, zero, tip_y, 0.10 + 0.5 * nl)
    side = torch.tensor([-1.0, 1.0], dtype=nw.dtype)
    nx, ny, _, _ = project(p, nw[:, None] * side * 0.5, (tip_y + 0.02)[:, None].expand(-1, 2), 0.12)
    p["nostril_x"], p["nostril_y"] = nx, ny
    p["nostril_sx"], p["nostril_sy"] = (
        p["nose_sx"][:, None].expand(-1, 2),
        p["nose_sy"][:, None].expand(-1, 2),
    )
    my = tip_y + 0.075 + 0.2 * (p["H"] - tip_y)
    mw = lerp(0.025, 0.39, f["mouth_width"])
    p["mouth_w"], p["lip_t"] = mw, lerp(0.01, 0.13, f["lip_thickness"])
    p["smile"] = lerp(-0.03, 0.06, f["smile"])
    p["mouth_gap"] = ((f["mouth_open"] - 0.4) / 0.6).clamp(min=0) * 0.06
    p["mouth_x"], p["mouth_y"], p["mouth_sx"], p["mouth_sy"] = project(p, zero, my, 0.05)
    cx, cy, _, _ = project(p, mw[:, None] * side, (my - p["smile"])[:, None], 0.0)
    p["corner_x"], p["corner_y"] = cx, cy


def _colours(p: Params, f: dict[str, torch.Tensor]) -> None:
    skin = skin_rgb(f["skin_lightness"], f["skin_warmth"])
    hair = palette(f["hair_color"], _HAIR)
    red = torch.tensor([0.72, 0.22, 0.26], dtype=skin.dtype)
    p.update(skin=skin, hair=hair, brow=hair * 0.55 + 0.03, iris=palette(f["iris_hue"], _IRIS))
    p["lips"] = skin * 0.35 + red * 0.65 * (0.5 + 0.45 * f["skin_lightness"][:, None])
    val = lerp(0.45, 0.92, f["bg_value"])
    p["bg_a"] = hue_rgb(f["bg_hue_a"], torch.full_like(val, 0.45), val)
    p["bg_b"] = hue_rgb(f["bg_hue_b"], torch.full_like(val, 0.35), val * 0.8)
    p["bg_dir_x"], p["bg_dir_y"] = (f["bg_angle"] * 2 * math.pi).cos(), (f["bg_angle"] * 2 * math.pi).sin()
    p["clothes"] = hue_rgb(
        torch.remainder(f["bg_hue_b"] + 0.5, 1.0), torch.full_like(val, 0.55), 0.3 + 0.3 * val
    )
