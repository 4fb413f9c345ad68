"""Where a face is: an outline polygon from its landmarks and a feathered mask of it, so a swap's paste
stays on the face and leaves hair, ears, shoulders and background alone.

- From the 5 ArcFace points: an ellipse fixed in a template's 112 px frame (``OUTLINES``: for
  ``"arcface"`` mid-forehead to chin and cheek to cheek of insightface's aligned crops; for
  ``"synthetic"`` the same on the synthetic renders, whose eyes sit wider and mouths higher) is mapped
  onto the face by the similarity that takes the template's 5 points to the face's, and joined with
  the 5 points themselves (their convex hull): the hull of the 5 points grown to the face outline. It
  follows the face's position, size and roll; it cannot follow a jaw that yaw hides.
- From 106 points (insightface's ``2d106det``, when the pack has it): their convex hull (jaw line and
  brows), joined with the upper half of the 5-point outline for the forehead the 106 points leave out.

Points are ``(x, y)`` pixels in any frame (a photo or an aligned crop): the outline is computed in the
points' own frame. :func:`region_mask` rasterises an outline into a ``(size, size)`` float mask that
is 1 well inside, falls smoothly to 0 at the outline and is exactly 0 outside it.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from deepswap.faces.align import similarity, template_points

# template -> (centre, half-axes) of the face ellipse, px in its 112 px frame. ArcFace: eyes at
# y = 51.6, mouth at 92.3; the ellipse spans x 16..96, y 22..112 (mid-forehead to chin).
OUTLINES = {"arcface": ((56.0, 67.0), (40.0, 45.0)), "synthetic": ((55.5, 66.0), (36.0, 38.0))}


def _ellipse(template: str, grow: float, n: int = 48) -> np.ndarray:
    (cx, cy), axes = OUTLINES[template]
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ax, ay = np.asarray(axes) * grow
    return np.stack([cx + ax * np.cos(angle), cy + ay * np.sin(angle)], 1)


def face_outline(
    kps: np.ndarray, landmarks_106: np.ndarray | None = None, template: str = "arcface", grow: float = 1.0
) -> np.ndarray:
    """(5, 2) ArcFace-order points (and optionally (106, 2) points) -> (N, 2) float32 convex outline.

    ``template``: a key of ``OUTLINES``, the frame the faces' proportions come from; ``grow`` scales
    the ellipse about its centre (1.0: mid-forehead to chin)."""
    if template not in OUTLINES:
        raise ValueError(f"template must be one of {sorted(OUTLINES)}, got {template!r}")
    kps = np.asarray(kps, np.float64).reshape(5, 2)
    frame = template_points(template, 112).astype(np.float64)
    to_face = similarity(frame, kps)
    ellipse = _ellipse(template, grow) @ to_face[:, :2].T + to_face[:, 2]
    points = [kps, ellipse]
    if landmarks_106 is not None:
        dense = np.asarray(landmarks_106, np.float64).reshape(-1, 2)
        above_eyes = _ellipse(template, grow)[:, 1] < frame[:2, 1].mean()
        points = [kps, dense, ellipse[above_eyes]]
    hull = cv2.convexHull(np.concatenate(points).astype(np.float32))
    return hull.reshape(-1, 2)


def region_mask(size: int, outline: np.ndarray, feather: float = 0.12) -> np.ndarray:
    """(size, size) float32 mask of the ``outline`` polygon (crop pixels): 1 deep inside, rising from 0
    at the outline over ``feather`` x the outline's width (smoothstep of the distance to the edge),
    exactly 0 outside."""
    poly = np.asarray(outline, np.float64).reshape(-1, 2)
    inside = np.zeros((size, size), np.uint8)
    cv2.fillPoly(inside, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    if not inside.any():
        return inside.astype(np.float32)
    width = max(float(np.ptp(poly[:, 0])), 1.0)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    ramp = np.clip(dist / max(feather * width, 1.0), 0, 1)
    return (ramp * ramp * (3 - 2 * ramp)).astype(np.float32)


def dilate_mask(mask: Tensor, pixels: int) -> Tensor:
    """``(B, 1, H, W)`` in [0, 1] -> the mask grown by ``pixels`` (a square max filter); 0: as it is.
    Training's ``model.face_region`` and the protocol's pasted scoring both grow the face mask this way."""
    if pixels <= 0:
        return mask
    return F.max_pool2d(mask, 2 * pixels + 1, stride=1, padding=pixels)


def paste_inside(image: Tensor, target: Tensor, region: Tensor) -> Tensor:
    """``image`` inside ``region`` (a soft ``(B, 1, H, W)`` weight), ``target`` everywhere else."""
    return target + region * (image - target)


def scramble_face(images: Tensor, region: Tensor, max_px: float, grid: int = 6) -> Tensor:
    """``(B, 3, H, W)`` -> each face's geometry moved by a smooth random warp inside ``region``.

    A displacement of up to ``max_px`` pixels (uniform per axis) is drawn on a ``grid`` x ``grid``
    lattice of control points, upsampled bicubically to the image and multiplied by ``region`` (a
    ``(B, 1, H, W)`` weight, 0 outside the face: pixels there do not move). Features change position,
    size and spacing as they do between identities, while the hair, background, pose and lighting
    stay: a generator asked to undo it (``model.restore``) can only do so from the source identity.
    No gradient flows through it."""
    if max_px <= 0:
        return images
    if grid < 2:
        raise ValueError(f"scramble grid must be >= 2 control points per side, got {grid}")
    b, _, h, w = images.shape
    with torch.no_grad():
        coarse = (torch.rand(b, 2, grid, grid, device=images.device) * 2 - 1) * max_px
        flow = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
        flow = flow * region.to(flow.dtype)
        ys, xs = torch.meshgrid(
            torch.arange(h, device=images.device, dtype=flow.dtype),
            torch.arange(w, device=images.device, dtype=flow.dtype),
            indexing="ij",
        )
        x = (xs + flow[:, 0] + 0.5) / w * 2 - 1  # pixel centres -> [-1, 1] (align_corners=False)
        y = (ys + flow[:, 1] + 0.5) / h * 2 - 1
        grid_xy = torch.stack([x, y], -1)
        out = F.grid_sample(images.float(), grid_xy, "bilinear", "border", align_corners=False)
        moved = region.to(out.dtype) > 0
        return torch.where(moved, out, images.float()).to(images.dtype)
