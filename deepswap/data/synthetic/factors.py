"""Factor names, their sides, vector layouts and the deterministic random streams that draw them.

Every factor is a float in [0, 1]; ``params.py`` maps it to a physical range. The layout of the
identity and attribute vectors depends on which side skin tone is on (``skin_tone_side``).
"""

from __future__ import annotations

import numpy as np
import torch

IDENTITY_CORE: list[tuple[str, str]] = [
    ("face_width", "half width of the cranium, 0.44..0.66 face units"),
    ("face_length", "head centre to chin, 0.60..0.80"),
    ("jaw_shape", "0 square jaw widening below, 1 pointed chin"),
    ("cheek_width", "jaw width, 0.55..1.08 of the cranium's"),
    ("eye_spacing", "half distance between the eye centres, 0.17..0.36"),
    ("eye_size", "eye half width, 0.095..0.185"),
    ("eye_shape", "eye height / width, 0.34 (narrow) .. 0.86 (round); always outlined"),
    ("eye_height", "vertical position of the eye line (moves brows, nose and mouth with it)"),
    ("iris_hue", "eye colour (iris and eye shadow): brown, amber, green, blue, grey, violet"),
    ("brow_thickness", "eyebrow thickness, 0.02..0.18"),
    ("brow_angle", "eyebrow tilt, outer end down (0) to up (1)"),
    ("brow_arch", "eyebrow curvature, slightly sagging (0) to arched (1)"),
    ("nose_length", "eye line to nose tip, 0.10..0.30"),
    ("nose_width", "nose wing width, 0.045..0.305 (with the folds towards the mouth)"),
    ("mouth_width", "mouth half width, 0.025..0.39 (with the cheek marks at the corners)"),
    ("lip_thickness", "lip thickness, 0.01..0.13"),
    ("ear_size", "ear size, 0.09..0.32; bigger ears stand further out"),
]

ATTRIBUTE_CORE: list[tuple[str, str]] = [
    ("yaw", "head turn, -30..30 deg; positive turns the face towards image right"),
    ("pitch", "head nod, -15..15 deg; positive looks up"),
    ("roll", "in-plane head rotation about its centre, -15..15 deg"),
    ("smile", "mouth curvature, frown (0) to smile (1); the corners stay at the mouth's width"),
    ("mouth_open", "closed below 0.4, then opening"),
    ("eye_open", "upper lid from nearly closed (0) to open (1); the eye's outline stays"),
    ("brow_raise", "translates both brows up or down; never changes their tilt or arch"),
    ("light_angle", "direction of the light in the image plane"),
    ("light_strength", "strength of the shading gradient"),
    ("hair_color", "black, dark brown, brown, auburn, blonde, grey"),
    ("hair_length", "short cap (0) to long hair past the jaw (1), with volume"),
    ("hair_style", "hairline height, fringe and parting"),
    ("bg_hue_a", "hue of the first background colour"),
    ("bg_hue_b", "hue of the second background colour (also sets the clothes colour)"),
    ("bg_value", "background brightness"),
    ("bg_angle", "direction of the background gradient"),
    ("scale", "head scale jitter, 0.98..1.02 (small: widths stay readable)"),
    ("offset_x", "horizontal jitter of the head centre, +-2.5% of the image"),
    ("offset_y", "vertical jitter of the head centre, +-2% of the image"),
]

SKIN: list[tuple[str, str]] = [
    ("skin_lightness", "skin tone, dark (0) to light (1)"),
    ("skin_warmth", "skin undertone, pink (0) to yellow (1)"),
]

FACTORS: list[tuple[str, str, str]] = (
    [(n, "identity", d) for n, d in IDENTITY_CORE]
    + [(n, "attribute", d) for n, d in ATTRIBUTE_CORE]
    + [(n, "setting", d + "; side set by skin_tone_side") for n, d in SKIN]
)

# "heldout" is every identity outside training; it is split into "val" (training-time samples, model
# selection) and "test" (closing table, deepswap.evaluate, arms race). Each split has its own streams.
SPLIT_CODES = {"train": 1, "heldout": 2, "val": 3, "test": 4}
SKIN_SIDES = ("target", "source")

# stream tags: the first words of every seed tuple, so no two kinds of draw share a stream
_ID_STREAM, _ATTR_STREAM, _WHO_STREAM, _SKIN_ID_STREAM, _SKIN_ATTR_STREAM = 11, 12, 13, 14, 15
_VIEW_STREAM = 16  # P x K views: which attribute draws the views of a batch use


def layouts(skin_tone_side: str) -> tuple[list[str], list[str]]:
    """Names of the identity and of the attribute vector entries for a ``skin_tone_side``."""
    if skin_tone_side not in SKIN_SIDES:
        raise ValueError(f"skin_tone_side must be one of {SKIN_SIDES}, got {skin_tone_side!r}")
    ident = [n for n, _ in IDENTITY_CORE]
    attr = [n for n, _ in ATTRIBUTE_CORE]
    skin = [n for n, _ in SKIN]
    return (ident + skin, attr) if skin_tone_side == "source" else (ident, attr + skin)


def split_code(split: str) -> int:
    """Integer tag of a split name (used in seeds instead of a salted string hash)."""
    if split not in SPLIT_CODES:
        raise ValueError(f"split must be one of {tuple(SPLIT_CODES)}, got {split!r}")
    return SPLIT_CODES[split]


def _rng(*key: int) -> np.random.Generator:
    if any(k < 0 for k in key):
        raise ValueError(f"seed words must be non-negative, got {key}")
    return np.random.default_rng([int(k) for k in key])


def _uniform(rng: np.random.Generator, n: int) -> torch.Tensor:
    return torch.from_numpy(rng.random(n)).to(torch.float32)


def draw_identity(seed: int, identity_id: int, skin_in_identity: bool) -> torch.Tensor:
    """(K_id,) float32 in [0, 1] for one identity; skin tone appended when it is on the source side."""
    core = _uniform(_rng(seed, _ID_STREAM, identity_id), len(IDENTITY_CORE))
    if not skin_in_identity:
        return core
    return torch.cat([core, _uniform(_rng(seed, _SKIN_ID_STREAM, identity_id), len(SKIN))])


def draw_attributes(seed: int, split: str, index: int, skin_in_attributes: bool) -> torch.Tensor:
    """(K_attr,) float32 in [0, 1] for sample ``index`` of ``split``; skin tone appended if on target side."""
    code = split_code(split)
    core = _uniform(_rng(seed, _ATTR_STREAM, code, index), len(ATTRIBUTE_CORE))
    if not skin_in_attributes:
        return core
    return torch.cat([core, _uniform(_rng(seed, _SKIN_ATTR_STREAM, code, index), len(SKIN))])


def draw_view_indices(seed: int, split: str, view_seed: int, n: int) -> np.ndarray:
    """``n`` attribute-sample indices of ``split`` for P x K views, a pure function of the arguments."""
    if view_seed < 0:
        raise ValueError(f"seed words must be non-negative, got {view_seed}")
    return _rng(seed, _VIEW_STREAM, split_code(split), view_seed).integers(0, 2**31 - 1, size=n)


def draw_identity_of(seed: int, split: str, index: int, first: int, count: int) -> int:
    """Identity id of sample ``index``: uniform over ``range(first, first + count)``."""
    return first + int(_rng(seed, _WHO_STREAM, split_code(split), index).integers(0, count))


def factor_table_markdown() -> str:
    """The FACTORS list as a markdown table (name | side | meaning)."""
    rows = ["| factor | side | meaning |", "|---|---|---|"]
    rows += [f"| `{n}` | {s} | {d} |" for n, s, d in FACTORS]
    return "\n".join(rows)
