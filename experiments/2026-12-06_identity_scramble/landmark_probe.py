"""What a 5-point landmark warp can carry of identity, per test pair (no training).

- ``truth's points``: the target warped so its 5 points land on the ground truth's (same pose, the
  source's identity): the ceiling of a 5-point shape transfer.
- ``source's points``: the target warped to the source's point shape (placed by a similarity): what any
  method with a landmark detector can do without learning; the source's pose leaks in.
- ``another face's points``: the scramble of ``model.restore.landmarks`` (the next pair's target).

    python experiments/2026-12-06_identity_scramble/landmark_probe.py
"""

import sys

import torch
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, "experiments/2026-12-06_warp_only")
from common import report, test_pairs  # noqa: E402

from deepswap.faces.region import dilate_mask  # noqa: E402


def _similarity_batch(src: Tensor, dst: Tensor) -> tuple[Tensor, Tensor]:
    """Least-squares similarities taking points ``src`` ``(B, N, 2)`` onto ``dst``, as complex numbers:
    ``dst ~ a * src + b`` with ``a`` (rotation and scale) and ``b`` (shift) of shape ``(B, 1)``."""
    z = torch.complex(src[..., 0].double(), src[..., 1].double())
    w = torch.complex(dst[..., 0].double(), dst[..., 1].double())
    zc, wc = z - z.mean(1, keepdim=True), w - w.mean(1, keepdim=True)
    a = (wc * zc.conj()).sum(1, keepdim=True) / (zc.abs() ** 2).sum(1, keepdim=True).clamp_min(1e-9)
    return a, w.mean(1, keepdim=True) - a * z.mean(1, keepdim=True)


def landmark_scramble(
    images: Tensor, region: Tensor, landmarks: Tensor, donors: Tensor, sigma: float = 0.12
) -> Tensor:
    """``(B, 3, H, W)`` -> each face's features moved to where another face's are: a scramble drawn from
    the variation between real faces rather than from random warps.

    ``landmarks`` ``(B, K, 2)``: each image's points (pixels, e.g. the 5 ArcFace points); ``donors``
    ``(B, K, 2)``: another face's points. The donor's points are placed on the face by the least-squares
    similarity that maps them onto its own points, so only their *shape* moves over: eye spacing and
    height, nose length, mouth width (and, between faces at different yaws, some pose). Each point is
    displaced onto its placed donor point, the displacement is spread by Gaussian radial basis functions
    (width ``sigma`` x the image size, exact at the points) and multiplied by ``region`` (0: no move).
    Sampling is backward at the displaced points, so a feature lands where the donor's is. On real
    aligned crops the points come from the landmark detector: any method can draw these scrambles.
    No gradient flows through it."""
    b, _, h, w = images.shape
    if landmarks.shape != donors.shape or landmarks.dim() != 3 or landmarks.shape[0] != b:
        raise ValueError(
            f"landmarks {tuple(landmarks.shape)} and donors {tuple(donors.shape)} must be (B, K, 2), B={b}"
        )
    with torch.no_grad():
        a, shift = _similarity_batch(donors, landmarks)
        zd = torch.complex(donors[..., 0].double(), donors[..., 1].double())
        placed = a * zd + shift
        placed = torch.stack([placed.real, placed.imag], -1).float()
        lm = landmarks.float()
        move = placed - lm  # (B, K, 2): where each point goes
        s2 = 2 * (sigma * h) ** 2
        # nodes at the destinations: the backward sampler at dest_k reads the source pixel at lm_k
        kern = torch.exp(-(torch.cdist(placed, placed) ** 2) / s2)
        eye = torch.eye(kern.shape[-1], dtype=kern.dtype)
        weights = torch.linalg.solve(kern + 1e-4 * eye, move)  # (B, K, 2)
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij"
        )
        grid = torch.stack([xs, ys], -1).view(1, h * w, 2).expand(b, -1, -1)
        phi = torch.exp(-(torch.cdist(grid, placed) ** 2) / s2)  # (B, HW, K)
        flow = (phi @ weights).view(b, h, w, 2).permute(0, 3, 1, 2)
        flow = flow.to(images.device) * region.to(images.device, torch.float32)
        base = torch.stack([xs, ys], 0).to(images.device)
        x = (base[0] - flow[:, 0] + 0.5) / w * 2 - 1
        y = (base[1] - flow[:, 1] + 0.5) / h * 2 - 1
        out = F.grid_sample(
            images.float(), torch.stack([x, y], -1), "bilinear", "border", align_corners=False
        )
        moved = region.to(out.dtype) > 0
        return torch.where(moved, out, images.float()).to(images.dtype)


_, p = test_pairs()
region = dilate_mask(p["target_mask"], 4)
lm = p["target_landmarks"]
outputs = {}
for name, donors in (
    ("target warped onto the truth's 5 points", p["truth_landmarks"]),
    ("target warped to the source's 5-point shape", p["source_landmarks"]),
    ("target warped to another target's 5-point shape", lm.roll(1, 0)),
):
    for sigma in (0.08, 0.12, 0.18):
        outputs[f"{name}, sigma {sigma}"] = landmark_scramble(p["target"], region, lm, donors, sigma)
moves = (p["truth_landmarks"] - lm).norm(dim=-1)
print(f"mean |truth - target| per point: {moves.mean(0).tolist()} px")
print("| output | ID top-1 % | ID cos | pose ° | face L1 |\n|---|---:|---:|---:|---:|")
report(outputs, p)
