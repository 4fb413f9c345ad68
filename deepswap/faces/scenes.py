"""Synthetic scenes: synthetic faces placed, scaled and rotated in a larger picture, faces known.

A face is rendered by ``SyntheticFaceWorld.render`` in its own square frame, then warped into the scene
by a placement similarity ``M`` (render pixels -> scene pixels) through a soft disc (the render's own
background fades into the scene's gradient). Its 5 landmarks are the render's landmarks mapped by
``M``; its box bounds the mapped face mask (skin, as a detector's box would). Faces carry an oracle
identity embedding, the world's identity factors centred and L2-normalised (:func:`oracle_embedding`).

    scene = make_scene(world, identities=[3, 7, 11])            # 720x1280, three faces
    write_scene(scene, "scene.png")                              # + scene.png.faces.json
    make_video(world, "clip.mp4", num_frames=30, identities=[3])  # + clip.mp4.faces.json

Annotations (``<file>.faces.json``: ``{"format": 1, "height", "width", "frames": [[face, ...], ...]}``)
are what :class:`deepswap.faces.SyntheticSceneAnalyser` reads back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from deepswap.faces.align import transform_points
from deepswap.faces.face import Face, sort_faces
from deepswap.faces.video import VideoWriter, write_image

ANNOTATION_FORMAT = 1
ANIMATED = ("yaw", "pitch", "roll", "smile", "mouth_open", "eye_open", "brow_raise")


@dataclass
class SyntheticScene:
    """image: (H, W, 3) uint8 RGB; faces: left to right, in scene pixels."""

    image: np.ndarray
    faces: list[Face]


@dataclass
class Placement:
    """Where a render goes: centre (x, y) in scene pixels, ``scale`` scene px per render px, ``angle``
    in degrees (counter-clockwise on screen)."""

    x: float
    y: float
    scale: float
    angle: float = 0.0

    def matrix(self, render_size: int) -> np.ndarray:
        """(2, 3) render-pixel -> scene-pixel similarity."""
        c = (render_size - 1) / 2
        rot = cv2.getRotationMatrix2D((c, c), self.angle, self.scale)
        rot[:, 2] += (self.x - c, self.y - c)
        return rot


def oracle_embedding(world, identity: int) -> np.ndarray:
    """(K_id,) float32: the identity's factors minus 0.5, L2-normalised (perfect recognition)."""
    e = world.identity_factors(int(identity)).double().numpy() - 0.5
    return (e / max(np.linalg.norm(e), 1e-12)).astype(np.float32)


def gradient_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 RGB: a diagonal two-colour gradient with a soft vignette."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (xx / max(width - 1, 1) * 0.6 + yy / max(height - 1, 1) * 0.4)[..., None]
    r2 = ((xx - width / 2) / width) ** 2 + ((yy - height / 2) / height) ** 2
    img = (a * (1 - t) + b * t) * (1 - 0.5 * r2[..., None])
    return np.clip(img, 0, 255).astype(np.uint8)


def _render(world, identities: Sequence[int], attributes: torch.Tensor, size: int):
    ids = torch.stack([world.identity_factors(int(i)) for i in identities])
    out = world.render(ids, attributes, size)
    images = (out.image.permute(0, 2, 3, 1).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    return images, out.mask[:, 0].numpy(), out.landmarks.numpy().astype(np.float64)


def render_face(world, identity: int, attributes: torch.Tensor, size: int) -> SyntheticScene:
    """One plain render (the world's own frame, no placement) as a one-face scene."""
    images, masks, lmks = _render(world, [identity], attributes.reshape(1, -1), size)
    return SyntheticScene(images[0], [_face(world, identity, masks[0], lmks[0], np.eye(2, 3))])


def _face(world, identity: int, mask: np.ndarray, lmk: np.ndarray, m: np.ndarray) -> Face:
    ys, xs = np.nonzero(mask > 0.5)
    pts = transform_points(np.stack([xs, ys], 1), m) if len(xs) else transform_points(lmk, m)
    return Face(
        bbox=np.concatenate([pts.min(0) - 0.5, pts.max(0) + 0.5]).astype(np.float32),
        kps=transform_points(lmk, m).astype(np.float32),
        det_score=1.0,
        embedding=oracle_embedding(world, identity),
        identity=int(identity),
    )


def composite(canvas: np.ndarray, render: np.ndarray, m: np.ndarray, feather: float = 0.05) -> None:
    """Warp a square ``render`` into ``canvas`` (in place) by ``m`` through a soft disc."""
    s = render.shape[0]
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    r = np.hypot(xx - (s - 1) / 2, yy - (s - 1) / 2) / s
    alpha = np.clip((0.48 - r) / feather, 0, 1)
    h, w = canvas.shape[:2]
    warped = cv2.warpAffine(render, m, (w, h), flags=cv2.INTER_LINEAR)
    a = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    canvas[:] = np.clip(np.rint(canvas + a * (warped.astype(np.float32) - canvas)), 0, 255).astype(np.uint8)


def place_faces(
    world,
    background: np.ndarray,
    identities: Sequence[int],
    attributes: torch.Tensor,
    placements: Sequence[Placement],
    render_size: int = 256,
) -> SyntheticScene:
    """Render ``identities`` with ``attributes`` (B, K_attr) and put them at ``placements``."""
    if not len(identities) == len(attributes) == len(placements):
        raise ValueError("identities, attributes and placements must have the same length")
    canvas = background.copy()
    faces = []
    if len(identities):
        images, masks, lmks = _render(world, identities, attributes, render_size)
        for ident, img, mask, lmk, place in zip(identities, images, masks, lmks, placements):
            m = place.matrix(render_size)
            composite(canvas, img, m)
            faces.append(_face(world, ident, mask, lmk, m))
    return SyntheticScene(canvas, sort_faces(faces))


def make_scene(
    world,
    identities: Sequence[int] = (0, 1, 2),
    size: tuple[int, int] = (720, 1280),
    seed: int = 0,
    render_size: int = 256,
    face_height: float = 0.45,
    max_angle: float = 20.0,
) -> SyntheticScene:
    """One picture of ``size`` (H, W) with ``identities`` side by side, each about ``face_height`` x H
    tall (render size on screen), randomly rotated by up to ``max_angle`` degrees."""
    h, w = size
    rng = np.random.default_rng(seed)
    n = len(identities)
    attrs = torch.stack([world.attribute_factors("heldout", seed * 1000 + i) for i in range(n)])
    places = []
    for i in range(n):
        scale = min(face_height * h, 0.95 * w / max(n, 1)) / render_size * rng.uniform(0.85, 1.0)
        x = (i + 0.5) * w / n + rng.uniform(-0.05, 0.05) * w / n
        y = h / 2 + rng.uniform(-0.1, 0.1) * h
        places.append(Placement(x, y, scale, rng.uniform(-max_angle, max_angle)))
    return place_faces(world, gradient_background(h, w, seed), identities, attrs, places, render_size)


def make_video(
    world,
    path: str | Path,
    num_frames: int = 30,
    identities: Sequence[int] = (0,),
    size: tuple[int, int] = (720, 1280),
    fps: float = 25.0,
    seed: int = 0,
    render_size: int = 256,
    face_height: float = 0.45,
    empty_frames: Sequence[int] = (),
    period: float = 4.0,
) -> list[list[Face]]:
    """Write a video of ``identities`` drifting on a circle, rocking, zooming and changing expression
    smoothly (all with ``period`` seconds); frames in ``empty_frames`` show only the background.
    Writes ``<path>.faces.json``; returns the faces per frame."""
    h, w = size
    rng = np.random.default_rng(seed)
    bg = gradient_background(h, w, seed)
    n = len(identities)
    t = np.arange(num_frames) / (fps * period)  # in periods
    ease = torch.as_tensor(0.5 - 0.5 * np.cos(2 * math.pi * t), dtype=torch.float32)[:, None]
    animated = torch.tensor([name in ANIMATED for name in world.attribute_names])
    per_face = []
    for i, ident in enumerate(identities):
        a = world.attribute_factors("heldout", seed * 1000 + 2 * i)
        b = torch.where(animated, world.attribute_factors("heldout", seed * 1000 + 2 * i + 1), a)
        attrs = a + (b - a) * ease
        images, masks, lmks = _render(world, [ident] * num_frames, attrs, render_size)
        phase, radius = rng.uniform(0, 2 * math.pi), rng.uniform(0.03, 0.08)
        scale = min(face_height * h, 0.95 * w / max(n, 1)) / render_size
        places = [
            Placement(
                (i + 0.5) * w / n + radius * w * math.cos(phase + 2 * math.pi * k),
                h / 2 + radius * h * math.sin(phase + 2 * math.pi * k),
                scale * (1 + 0.1 * math.sin(2 * math.pi * k)),
                12.0 * math.sin(phase + 2 * math.pi * k),
            )
            for k in t
        ]
        per_face.append((ident, images, masks, lmks, places))
    frames = []
    with VideoWriter(path, fps, (w, h)) as writer:
        for k in range(num_frames):
            canvas, faces = bg.copy(), []
            if k not in set(empty_frames):
                for ident, images, masks, lmks, places in per_face:
                    m = places[k].matrix(render_size)
                    composite(canvas, images[k], m)
                    faces.append(_face(world, ident, masks[k], lmks[k], m))
            writer.write(canvas)
            frames.append(sort_faces(faces))
    write_annotations(path, frames, (h, w))
    return frames


def annotation_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".faces.json")


def write_annotations(path: str | Path, frames: list[list[Face]], size: tuple[int, int]) -> Path:
    """Write ``<path>.faces.json`` for an image (one frame) or a video."""
    record = {
        "format": ANNOTATION_FORMAT,
        "height": int(size[0]),
        "width": int(size[1]),
        "frames": [[f.to_json() for f in faces] for faces in frames],
    }
    out = annotation_path(path)
    out.write_text(json.dumps(record))
    return out


def read_annotations(path: str | Path) -> list[list[Face]] | None:
    """Faces per frame from ``<path>.faces.json``, or None when there is none."""
    side = annotation_path(path)
    if not side.is_file():
        return None
    record = json.loads(side.read_text())
    return [[Face.from_json(f) for f in faces] for faces in record["frames"]]


def write_scene(scene: SyntheticScene, path: str | Path) -> Path:
    """Write the picture (use .png: lossless) and its ``.faces.json``; returns ``path``."""
    path = write_image(path, scene.image)
    write_annotations(path, [scene.faces], scene.image.shape[:2])
    return path
