"""Factor names, their sides, vector layouts and the deterministic random streams that draw them.

Every factor is a float in [0, 1]; ``params.py`` maps it to a physical range. The layout of the
identity and attribute vectors depends on which side skin tone is on (``skin_tone_side``).
"""

from __future__ import annotations

import numpy as np
import torch

IDENTITY_CORE: list[tuple[str, str]] = [
    ("face_width", "half width of the cranium"),
    ("face_length", "distance from head centre to chin"),
    ("jaw_shape", "0 round/square jaw, 1 narrow pointed chin"),
    ("cheek_width", "width of the jaw relative to the cranium"),
    ("eye_spacing", "distance between the eye centres"),
    ("eye_size", "eye width"),
    ("eye_shape", "eye height / width (narrow to round)"),
    ("eye_height", "vertical position of the eyes on the face"),
    ("iris_hue", "iris colour: dark brown, brown, hazel, green, blue, grey"),
    ("brow_thickness", "eyebrow thickness"),
    ("brow_angle", "eyebrow tilt (outer end down to up)"),
    ("brow_arch", "eyebrow curvature (flat to arched)"),
    ("nose_length", "eye line to nose tip"),
    ("nose_width", "width of the nose wings"),
    ("mouth_width", "mouth width"),
    ("lip_thickness", "lip thickness"),
    ("ear_size", "ear size"),
]

ATTRIBUTE_CORE: list[tuple[str, str]] = [
    ("yaw", "head turn, -35..35 deg; positive turns the face towards image right"),
    ("pitch", "head nod, -20..20 deg; positive looks up"),
    ("roll", "in-plane head rotation about its centre, -18..18 deg"),
    ("smile", "mouth curvature, frown (0) to broad smile (1)"),
    ("mouth_open", "closed below 0.4, then opening"),
    ("eye_open", "eyes closed (0) to wide open (1)"),
    ("brow_raise", "eyebrows lowered (0) to raised (1)"),
    ("light_angle", "direction of the light in the image plane"),
    ("light_strength", "strength of the shading gradient"),
    ("hair_color", "black, dark brown, brown, auburn, blonde, grey"),
    ("hair_length", "short cap (0) to long hair past the jaw (1), with volume"),
    ("hair_style", "hairline height, fringe and parting"),
    ("bg_hue_a", "hue of the first background colour"),
    ("bg_hue_b", "hue of the second background colour (also sets the clothes colour)"),
    ("bg_value", "background brightness"),
    ("bg_angle", "direction of the background gradient"),
    ("scale", "head scale jitter, 0.92..1.08"),
    ("offset_x", "horizontal jitter of the head centre, +-3% of the image"),
    ("offset_y", "vertical jitter of the head centre, +-3% of the image"),
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

SPLIT_CODES = {"train": 1, "heldout": 2}
SKIN_SIDES = ("target", "source")

# stream tags: the first words of every seed tuple, so no two kinds of draw share a stream
_ID_STREAM, _ATTR_STREAM, _WHO_STREAM, _SKIN_ID_STREAM, _SKIN_ATTR_STREAM = 11, 12, 13, 14, 15


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


def draw_identity_of(seed: int, split: str, index: int, first: int, count: int) -> int:
    """Identity id of sample ``index``: uniform over ``range(first, first + count)``."""
    return first + int(_rng(seed, _WHO_STREAM, split_code(split), index).integers(0, count))


def factor_table_markdown() -> str:
    """The FACTORS list as a markdown table (name | side | meaning)."""
    rows = ["| factor | side | meaning |", "|---|---|---|"]
    rows += [f"| `{n}` | {s} | {d} |" for n, s, d in FACTORS]
    return "\n".join(rows)
