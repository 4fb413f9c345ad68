"""Self-blended images (SBI; Shiohara & Yamasaki, CVPR 2022): pseudo-fakes ``(B, 3, H, W)`` from real faces.

Idea, in short: a face swap leaves traces where a foreign face is pasted into a frame (colour mismatch,
slight misalignment, a blending boundary). SBI creates such traces without a second identity: it
perturbs a copy of the same real face (colour statistics, small scale/shift) and pastes the copy back
into the original through a softened face mask at a random opacity. A detector trained on real vs
self-blended learns those generic traces rather than one generator's fingerprint.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from deepswap.detection.manipulations import from_uint8, poisson_clone, soften_mask, to_uint8
from deepswap.detection.postprocess import gaussian_blur

SBI_OPTIONS = ("max_shift", "max_scale", "frequency", "relight", "poisson", "mirror", "warp")


def check_sbi_options(options: dict | None) -> dict:
    """Self-blend options (``recipe.sbi``, ``detector.sbi``) -> a plain dict, or a clear error."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(SBI_OPTIONS))
    if unknown:
        raise ValueError(f"unknown self-blend option(s) {unknown}; valid: {list(SBI_OPTIONS)}")
    for name in ("frequency", "relight", "poisson", "mirror"):
        if name in options and not 0.0 <= float(options[name]) <= 1.0:
            raise ValueError(f"sbi {name} is a probability in [0, 1], got {options[name]}")
    if "warp" in options and not 0.0 <= float(options["warp"]) <= 0.2:
        raise ValueError(f"sbi warp is a displacement in [0, 0.2] of the image size, got {options['warp']}")
    return {k: float(v) for k, v in options.items()}


def _generator(rng: torch.Generator | int | None) -> torch.Generator | None:
    if rng is None or isinstance(rng, torch.Generator):
        return rng
    return torch.Generator().manual_seed(int(rng))


def landmarks_to_mask(
    landmarks: Tensor | np.ndarray, size: tuple[int, int], expand: float | None = None
) -> Tensor:
    """Landmarks ``(N, 2)`` or ``(B, N, 2)`` in pixels (x, y) -> convex-hull mask ``(B, 1, H, W)`` in {0, 1}.

    The hull is scaled by ``expand`` about the landmarks' centre; by default 1.0 for 68 points and 1.8 for
    5 points (eyes, nose, mouth corners span only the inner face).
    """
    pts = landmarks.detach().cpu().numpy() if isinstance(landmarks, Tensor) else np.asarray(landmarks)
    pts = pts[None] if pts.ndim == 2 else pts
    if pts.ndim != 3 or pts.shape[-1] != 2 or pts.shape[1] < 3:
        raise ValueError(f"landmarks must be (N, 2) or (B, N, 2) with N >= 3, got shape {pts.shape}")
    expand = expand if expand is not None else (1.0 if pts.shape[1] >= 68 else 1.8)
    h, w = size
    masks = []
    for p in pts.astype(np.float64):
        centre = p.mean(0, keepdims=True)
        hull = cv2.convexHull(((p - centre) * expand + centre).round().astype(np.int32))
        m = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(m, hull, 1)
        masks.append(m)
    return torch.from_numpy(np.stack(masks)).float().unsqueeze(1)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _colour_jitter(x: Tensor, g: torch.Generator | None) -> Tensor:
    """``(B, 3, H, W)`` -> per-image random brightness, contrast, saturation and per-channel shift."""
    b = x.shape[0]
    brightness = _uniform(b, -0.1, 0.1, g).view(b, 1, 1, 1)
    contrast = _uniform(b, 0.85, 1.15, g).view(b, 1, 1, 1)
    saturation = _uniform(b, 0.8, 1.2, g).view(b, 1, 1, 1)
    shift = _uniform(3 * b, -0.06, 0.06, g).view(b, 3, 1, 1)
    gray = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    x = gray + (x - gray) * saturation.to(x)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * contrast.to(x) + mean + brightness.to(x) + shift.to(x)
    return x.clamp(-1, 1)


def _frequency_jitter(x: Tensor, g: torch.Generator | None, p: float) -> Tensor:
    """``(B, 3, H, W)`` -> with probability ``p`` per image, a change of its frequency content: half of
    those downscaled by 0.5-0.9 and scaled back up (bilinear: the softness of a warped, resampled
    paste), half sharpened by an unsharp mask of strength 0.2-0.8 (SBI's source-side Downscale /
    Sharpen). A real swap's pasted face rarely has the frame's own sharpness."""
    b, _, h, w = x.shape
    pick = torch.rand(b, generator=g)
    down = torch.rand(b, generator=g) < 0.5
    factor = _uniform(b, 0.5, 0.9, g)
    amount = _uniform(b, 0.2, 0.8, g)
    out = []
    for i in range(b):
        xi = x[i : i + 1]
        if pick[i] < p and down[i]:
            size = (max(2, round(h * float(factor[i]))), max(2, round(w * float(factor[i]))))
            small = F.interpolate(xi, size=size, mode="bilinear", align_corners=False, antialias=True)
            xi = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        elif pick[i] < p:
            xi = xi + float(amount[i]) * (xi - gaussian_blur(xi, 1.0))
        out.append(xi)
    return torch.cat(out).clamp(-1, 1)


def _relight(x: Tensor, g: torch.Generator | None, p: float) -> Tensor:
    """``(B, 3, H, W)`` -> with probability ``p`` per image, shading from another light: the image (on the
    [0, 1] scale) times ``1 + s * ramp``, a linear ramp across the image in a random direction with
    strength ``s`` in 0.15-0.4. A face pasted from another photo keeps that photo's light, which no
    longer matches the frame's hair, neck and background (lighting inconsistency as a forgery cue:
    Johnson & Farid, 2005); colour jitter alone shifts every pixel alike and leaves no such trace."""
    b, _, h, w = x.shape
    pick = torch.rand(b, generator=g) < p
    angle = _uniform(b, 0.0, 2 * np.pi, g)
    strength = _uniform(b, 0.15, 0.4, g) * pick.float()
    ys = torch.linspace(-1, 1, h).view(1, h, 1)
    xs = torch.linspace(-1, 1, w).view(1, 1, w)
    ramp = torch.cos(angle).view(b, 1, 1) * xs + torch.sin(angle).view(b, 1, 1) * ys
    gain = (1 + strength.view(b, 1, 1) * ramp).unsqueeze(1).to(x)
    return (((x + 1) / 2 * gain) * 2 - 1).clamp(-1, 1)


def _poisson_blend(source: Tensor, image: Tensor, mask: Tensor) -> Tensor:
    """Poisson image editing (``cv2.seamlessClone``) of ``source`` into ``image`` over ``mask > 0.5``,
    each ``(3, H, W)`` / ``(1, H, W)``; the gradient-domain blend leaves no colour step at the boundary,
    only the pasted face's own gradients (its shading, its edges) inside it."""
    binary = (mask[0] > 0.5).cpu().numpy().astype(np.uint8)
    if binary.sum() < 9:
        return image
    out = poisson_clone(to_uint8(source), to_uint8(image), binary)
    return from_uint8(out).to(image)


def _small_affine(x: Tensor, g: torch.Generator | None, max_shift: float, max_scale: float) -> Tensor:
    """``(B, C, H, W)`` -> each image zoomed by <= ``max_scale``, shifted by <= ``max_shift`` of its size."""
    b = x.shape[0]
    scale = 1.0 + _uniform(b, -max_scale, max_scale, g)
    shift = _uniform(2 * b, -2 * max_shift, 2 * max_shift, g).view(b, 2)  # grid units span [-1, 1]
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _mirror(x: Tensor, mask: Tensor, g: torch.Generator | None, p: float) -> Tensor:
    """``(B, C, H, W)`` -> with probability ``p`` per image, the image flipped left-right about the vertical
    line through its face mask's centroid (``mask`` ``(B, 1, H, W)``), so the face stays in place.

    A face seen at a yaw, flipped, looks the other way and is lit from the other side: pasted back over
    the original it gives the two traces a face pasted from another photo carries (its pose and its
    light no longer match the head and the frame, and the frame's own features show around the pasted
    ones), from one real image and one identity."""
    b, _, h, w = x.shape
    pick = torch.rand(b, generator=g) < p
    if not bool(pick.any()):
        return x
    xs = (torch.arange(w, dtype=torch.float32) * 2 + 1) / w - 1  # pixel centres, align_corners=False
    weight = mask.float().cpu().sum((1, 2))  # (B, W): mask mass per column
    centre = (weight * xs).sum(1) / weight.sum(1).clamp_min(1e-6)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = torch.where(pick, -1.0, 1.0)
    theta[:, 0, 2] = torch.where(pick, 2 * centre, torch.zeros(b))
    theta[:, 1, 1] = 1.0
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _local_warp(x: Tensor, mask: Tensor, g: torch.Generator | None, amount: float) -> Tensor:
    """``(B, C, H, W)`` -> the face's features moved by a smooth random warp of up to ``amount`` x the
    image size (uniform per axis, drawn on a 6 x 6 lattice, upsampled bicubically) inside ``mask``
    grown by 3% of the size. Between identities the eyes, nose and mouth sit at other places relative
    to the head: pasted back over the original, the warped copy's features no longer line up with the
    frame's (doubled edges where the two overlap, features that do not fit the head) from one image."""
    b, _, h, w = x.shape
    grow = max(1, round(0.03 * h))
    region = F.max_pool2d(mask.float(), 2 * grow + 1, 1, grow).to(x)
    coarse = (torch.rand(b, 2, 6, 6, generator=g) * 2 - 1).to(x) * amount * h
    flow = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True) * region
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=x.dtype, device=x.device),
        torch.arange(w, dtype=x.dtype, device=x.device),
        indexing="ij",
    )
    gx = (xs + flow[:, 0] + 0.5) / w * 2 - 1
    gy = (ys + flow[:, 1] + 0.5) / h * 2 - 1
    return F.grid_sample(x, torch.stack([gx, gy], -1), "bilinear", "border", align_corners=False)


def self_blend(
    image: Tensor,
    mask: Tensor,
    rng: torch.Generator | int | None = None,
    max_shift: float = 0.03,
    max_scale: float = 0.05,
    frequency: float = 0.5,
    relight: float = 0.0,
    poisson: float = 0.0,
    mirror: float = 0.0,
    warp: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """Faces ``(B, 3, H, W)`` or ``(3, H, W)`` in [-1, 1], masks ``(B, 1, H, W)``/``(1, H, W)``/``(H, W)``
    in [0, 1] -> ``(fake, blend_mask)`` of the same batch shape.

    ``fake = image * (1 - blend_mask) + source * blend_mask`` where ``source`` is the same face after colour
    jitter, with probability ``frequency`` a downscale or a sharpening (:func:`_frequency_jitter`; 0 =
    off), with probability ``relight`` a shading ramp from another light (:func:`_relight`; 0 = off),
    with probability ``mirror`` a left-right flip about the face's centre (:func:`_mirror`; 0 = off),
    a smooth random warp of the features of up to ``warp`` x the size (:func:`_local_warp`; 0 = off),
    and a small random zoom/shift, and ``blend_mask`` is the face mask randomly dilated or eroded,
    blurred, and scaled by a blend ratio (1 with probability 1/2, else uniform in [0.25, 1)). With
    probability ``poisson`` per image the copy is instead Poisson-blended (:func:`_poisson_blend`) over
    the binary face mask (``blend_mask`` is then that mask): no boundary, only the copy's gradients.
    Outside ``blend_mask > 0`` the fake equals the input exactly (Poisson: outside the mask).
    Deterministic for a given generator or int seed.
    Use :func:`landmarks_to_mask` to build masks from 5 or 68 landmarks.
    """
    single = image.dim() == 3
    x = image.unsqueeze(0) if single else image
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"image must be (3, H, W) or (B, 3, H, W), got {tuple(image.shape)}")
    m = mask.float()
    m = m.view(1, 1, *m.shape) if m.dim() == 2 else m.unsqueeze(0) if m.dim() == 3 else m
    if m.shape[0] != x.shape[0] or m.shape[1] != 1 or m.shape[2:] != x.shape[2:]:
        raise ValueError(
            f"mask {tuple(mask.shape)} does not match image {tuple(image.shape)}; "
            "expected one single-channel mask of the image's size per face"
        )
    g = _generator(rng)  # a CPU generator: all random draws happen on the CPU
    b = x.shape[0]
    source = _colour_jitter(x, g)
    if frequency > 0:
        source = _frequency_jitter(source, g, frequency)
    if relight > 0:
        source = _relight(source, g, relight)
    if mirror > 0:
        source = _mirror(source, m, g, mirror)
    if warp > 0:
        source = _local_warp(source, m.to(source.device), g, warp)
    source = _small_affine(source, g, max_shift, max_scale)
    soft = soften_mask(m.to(x.device).clamp(0, 1), g)
    ratio = torch.where(torch.rand(b, generator=g) < 0.5, torch.ones(b), _uniform(b, 0.25, 1.0, g))
    blend = soft * ratio.to(soft).view(b, 1, 1, 1)
    fake = x * (1 - blend) + source.to(x.dtype) * blend
    if poisson > 0:
        cloned = torch.rand(b, generator=g) < poisson
        for i in torch.nonzero(cloned).flatten().tolist():
            region = (m[i].to(x.device) > 0.5).to(x.dtype)
            fake[i] = _poisson_blend(source[i].to(x.dtype), x[i], region)
            blend[i] = region
    return (fake[0], blend[0]) if single else (fake, blend)
