"""Composites all layers of a batch of synthetic faces and computes masks and 5-point landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepswap.data.synthetic import features, head
from deepswap.data.synthetic.canvas import make_canvas
from deepswap.data.synthetic.params import Params

Tensor = torch.Tensor

# pixels per chunk: a batch is rendered in slices of about this many pixels to stay in CPU cache
CHUNK_PIXELS = 1 << 16


@dataclass
class RenderOutput:
    """A rendered batch.

    image: (B, 3, H, W) float32 in [0, 1].
    mask: (B, 1, H, W) float32 in [0, 1], face coverage: head skin and ears, not hair, neck or background.
    landmarks: (B, 5, 2) float32 pixel coordinates (x, y), pixel centres at integers: left eye, right eye
        (image left / right), nose tip, left mouth corner, right mouth corner (ArcFace order).
    """

    image: Tensor
    mask: Tensor
    landmarks: Tensor


def draw(p: Params, size: int) -> tuple[Tensor, Tensor]:
    """Float64 scene parameters of B faces -> image (B, 3, H, W) and face mask (B, 1, H, W)."""
    cv = make_canvas(p, size)
    img = head.background(cv)
    a_back = head.back_hair(img, cv)
    a_body = head.clothes_and_neck(img, cv)
    a_ears = head.ears(img, cv)
    a_head = head.head(img, cv)
    cv.clip = a_head
    features.eyes(img, cv)
    features.brows(img, cv)
    features.nose(img, cv)
    features.mouth(img, cv)
    a_hair = head.hair_cap(img, cv)
    face = torch.maximum(a_head, a_ears)
    fg = torch.maximum(torch.maximum(a_back, a_body), torch.maximum(face, a_hair))
    head.shading(img, cv, fg)
    mask = face * (1 - a_hair)
    return img, mask.unsqueeze(1)


def landmarks(p: Params, size: int) -> Tensor:
    """-> (B, 5, 2) float32 pixel coordinates of eyes, nose tip and mouth corners."""
    xs = torch.cat([p["eye_x"], p["tip_x"][:, None], p["corner_x"]], 1)
    ys = torch.cat([p["eye_y"], p["tip_y"][:, None], p["corner_y"]], 1)
    c, s, k = (p[n][:, None] for n in ("cos_roll", "sin_roll", "scale"))
    x = p["cx"][:, None] + k * (c * xs - s * ys)
    y = p["cy"][:, None] + k * (s * xs + c * ys)
    pix = torch.stack([x, y], -1) * (size / 2) + (size / 2 - 0.5)
    return pix.to(torch.float32)


def render_params(p: Params, size: int) -> RenderOutput:
    """Scene parameters of B faces -> :class:`RenderOutput`, rendered in cache-sized chunks."""
    n = p["W"].shape[0]
    step = max(1, CHUNK_PIXELS // (size * size))
    images, masks = [], []
    for start in range(0, n, step):
        part = {k: v[start : start + step] for k, v in p.items()}
        img, mask = draw(part, size)
        images.append(img)
        masks.append(mask)
    image = images[0] if len(images) == 1 else torch.cat(images)
    mask = masks[0] if len(masks) == 1 else torch.cat(masks)
    return RenderOutput(image=image, mask=mask, landmarks=landmarks(p, size))
