"""Five-point face alignment to a template crop, with the inverse kept for pasting the crop back.

Images are ``(H, W, 3)`` ``uint8`` RGB numpy arrays; points are ``(5, 2)`` float ``(x, y)`` pixels with
pixel centres at integers, in ArcFace order: left eye, right eye (image left / right), nose tip, left
mouth corner, right mouth corner. ``M`` is the ``(2, 3)`` similarity that maps frame pixels to crop
pixels (``crop = cv2.warpAffine(frame, M, (size, size))``).

Two templates:

- ``"arcface"``: insightface's 5-point template (112 px, ``face_align.arcface_dst``). insightface's
  ``estimate_norm`` scales it two ways: sizes that are multiples of 112 scale it by ``size / 112``
  (the tight recognition crop: 112, 224, 336, 448); other multiples of 128 scale it by ``size / 128``
  and shift it ``8 * size / 128`` px right (the looser inswapper crop: 128, 256, 384, 512; the face
  keeps its 112-px size inside a 128-px crop, with a margin left, right and below). 448 is a multiple
  of both: the 112 rule wins, as in insightface. Sizes that are neither use the 128 rule here
  (insightface refuses them). Multiples of 112 or 128 go through insightface's own ``estimate_norm``.
- ``"synthetic"``: the frame deepswap's synthetic faces are rendered in (``deepswap.data.synthetic``):
  the whole render, head centred, eyes about 0.24 x size apart (looser than ArcFace's 0.31). A model
  trained on the synthetic world saw only such renders, so its crops must be aligned to this frame:
  the template is the mean of the renderer's 5 landmarks over 2048 draws of the training
  distribution with the pose set to neutral (no yaw, pitch or roll, scale 1, no offset: averaging
  over poses would shrink the template by ~7%), made left-right symmetric, at the model's size. A
  frontal render then aligns to (nearly) the identity transform; the training renders' pose,
  scale (+-8%) and offset (+-3%) jitter is removed by the alignment, which a model trained on them
  tolerates.
"""

from __future__ import annotations

import functools
import warnings

import cv2
import numpy as np

TEMPLATES = ("arcface", "synthetic")
MIN_SIZE, MAX_SIZE = 32, 1024
_MIRROR = [1, 0, 2, 4, 3]  # ArcFace order under a left-right flip
_NEUTRAL = ("yaw", "pitch", "roll", "scale", "offset_x", "offset_y")


def arcface_template(size: int) -> np.ndarray:
    """-> (5, 2) float32: insightface's ArcFace template at ``size`` px (rules in the module docstring)."""
    from insightface.utils.face_align import arcface_dst

    size = _check_size(size)
    if size % 112 == 0:
        ratio, shift = size / 112.0, 0.0
    else:
        ratio = size / 128.0
        shift = 8.0 * ratio
    dst = arcface_dst.astype(np.float64) * ratio
    dst[:, 0] += shift
    return dst.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _synthetic_unit(world_seed: int, samples: int) -> np.ndarray:
    """(5, 2) mean neutral-pose landmarks in the renderer's normalised frame ([-1, 1] across the image)."""
    import torch

    from deepswap.data.synthetic import SyntheticFaceWorld
    from deepswap.data.synthetic.params import scene_params
    from deepswap.data.synthetic.render import landmarks

    world = SyntheticFaceWorld(num_train_identities=1000, num_heldout_identities=0, seed=world_seed)
    ids = torch.stack([world.identity_factors(world.identity_of("train", i)) for i in range(samples)])
    attrs = torch.stack([world.attribute_factors("train", i) for i in range(samples)])
    neutral = [world.attribute_names.index(n) for n in _NEUTRAL]
    attrs[:, neutral] = 0.5  # frontal, upright, scale 1, centred: the frame's nominal geometry
    pts = (landmarks(scene_params(world.factor_dict(ids, attrs)), 2) - 0.5).double().mean(0).numpy()
    mirrored = pts[_MIRROR] * np.array([-1.0, 1.0])
    return ((pts + mirrored) / 2).astype(np.float64)


def synthetic_template(size: int, world_seed: int = 0) -> np.ndarray:
    """-> (5, 2) float32: the synthetic renderer's mean landmarks at ``size`` px (module docstring)."""
    size = _check_size(size)
    return (_synthetic_unit(int(world_seed), 2048) * (size / 2) + (size / 2 - 0.5)).astype(np.float32)


def template_points(template: str | np.ndarray, size: int) -> np.ndarray:
    """``"arcface"``, ``"synthetic"`` or explicit (5, 2) points at ``size`` px -> (5, 2) float32."""
    if isinstance(template, str):
        if template == "arcface":
            return arcface_template(size)
        if template == "synthetic":
            return synthetic_template(size)
        raise ValueError(f"template must be one of {TEMPLATES} or a (5, 2) array, got {template!r}")
    pts = np.asarray(template, dtype=np.float32)
    if pts.shape != (5, 2):
        raise ValueError(f"template points must be (5, 2), got {pts.shape}")
    return pts


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991, as skimage's ``SimilarityTransform.estimate``) mapping
    (N, 2) ``src`` onto (N, 2) ``dst`` -> (2, 3) float64 matrix."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(sig) @ fix) / s.var(0).sum())
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def estimate_transform(kps: np.ndarray, size: int, template: str | np.ndarray = "arcface") -> np.ndarray:
    """(5, 2) frame points -> (2, 3) frame-to-crop similarity for a ``size`` px crop of ``template``.

    ArcFace crops at multiples of 112 or 128 px come from insightface's ``estimate_norm``.
    """
    kps = _check_points(kps)
    size = _check_size(size)
    if isinstance(template, str) and template == "arcface" and (size % 112 == 0 or size % 128 == 0):
        from insightface.utils.face_align import estimate_norm

        with warnings.catch_warnings():  # skimage 0.26 deprecates SimilarityTransform.estimate
            warnings.simplefilter("ignore", FutureWarning)
            return np.asarray(estimate_norm(kps, size), np.float64)
    return similarity(kps, template_points(template, size))


def align(
    image: np.ndarray, kps: np.ndarray, size: int, template: str | np.ndarray = "arcface"
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, C) image, (5, 2) points -> ``(crop (size, size, C), M (2, 3))``.

    Bilinear sampling; pixels outside the image repeat its border (insightface pads with black,
    which a generator would take for part of the face's surroundings).
    """
    m = estimate_transform(kps, size, template)
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, m


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(N, 2) points, (2, 3) affine -> (N, 2) float64 mapped points."""
    pts = np.asarray(points, np.float64)
    return pts @ np.asarray(m, np.float64)[:, :2].T + np.asarray(m, np.float64)[:, 2]


def invert(m: np.ndarray) -> np.ndarray:
    """(2, 3) affine -> its (2, 3) inverse (crop-to-frame for an alignment ``M``)."""
    return cv2.invertAffineTransform(np.asarray(m, np.float64))


def paste_back(frame: np.ndarray, crop: np.ndarray, m: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend ``crop`` (S, S, C) back into ``frame`` (H, W, C) through ``M``'s inverse -> a new frame.

    ``mask`` (S, S) float in [0, 1] weights the crop (1: crop pixel, 0: frame pixel); give it a zero
    border so no crop edge shows. Only the frame's region under the crop is resampled and blended.
    """
    if crop.shape[:2] != mask.shape[:2] or crop.shape[0] != crop.shape[1]:
        raise ValueError(f"crop {crop.shape} and mask {mask.shape} must be square and of equal size")
    h, w = frame.shape[:2]
    s = crop.shape[0]
    inv = invert(m)
    corners = transform_points(np.array([[0, 0], [s - 1, 0], [0, s - 1], [s - 1, s - 1]]), inv)
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 2, [w, h])
    out = frame.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    shifted = inv.copy()
    shifted[:, 2] -= (x0, y0)
    size = (int(x1 - x0), int(y1 - y0))
    warped = cv2.warpAffine(crop, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask.astype(np.float32), shifted, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    alpha = alpha[..., None] if out.ndim == 3 else alpha
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = region + alpha * (warped.astype(np.float32) - region)
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(out.dtype)
    return out


def border_feather(size: int, width: float = 0.06) -> np.ndarray:
    """(size, size) float32: 0 on the crop's edge, rising smoothly to 1 over ``width * size`` px."""
    ramp = np.clip((np.arange(size, dtype=np.float32) + 0.5) / max(width * size, 1.0), 0, 1)
    ramp = np.minimum(ramp, ramp[::-1])
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    return np.outer(ramp, ramp)


def _check_size(size: int) -> int:
    if int(size) != size or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"crop size must be an integer in [{MIN_SIZE}, {MAX_SIZE}], got {size}")
    return int(size)


def _check_points(kps: np.ndarray) -> np.ndarray:
    kps = np.asarray(kps, np.float32)
    if kps.shape != (5, 2) or not np.isfinite(kps).all():
        raise ValueError(f"landmarks must be a finite (5, 2) array (ArcFace order), got {kps.shape}")
    return kps


def match_color(
    crop: np.ndarray, reference: np.ndarray, mask: np.ndarray, max_gain: float = 2.0
) -> np.ndarray:
    """Colour-correct ``crop`` to ``reference`` (both (S, S, 3) uint8 RGB): per-channel mean and
    standard deviation matching in CIELAB, statistics weighted by ``mask`` (S, S) in [0, 1].

    The gain is clipped to [1 / max_gain, max_gain]; returns ``crop`` unchanged if the mask is empty.
    """
    w = mask.astype(np.float64)
    total = w.sum()
    if total < 1.0:
        return crop
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    ref = cv2.cvtColor(reference.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    out = np.empty_like(lab)
    for c in range(3):
        mu_s, mu_r = (w * lab[..., c]).sum() / total, (w * ref[..., c]).sum() / total
        sd_s = np.sqrt((w * (lab[..., c] - mu_s) ** 2).sum() / total)
        sd_r = np.sqrt((w * (ref[..., c] - mu_r) ** 2).sum() / total)
        gain = np.clip(sd_r / max(sd_s, 1e-3), 1 / max_gain, max_gain)
        out[..., c] = (lab[..., c] - mu_s) * gain + mu_r
    rgb = cv2.cvtColor(out, cv2.COLOR_LAB2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
