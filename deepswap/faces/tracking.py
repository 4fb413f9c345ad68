"""Temporal smoothing of landmarks in videos: faces tracked by box overlap, each track's 5 points
filtered by a one-euro filter (Casiez, Roussel & Vogel, "1 euro filter", CHI 2012): a low-pass
whose cutoff rises with speed, so still faces stop jittering and moving faces do not lag.

Speeds are measured in face sizes per second (box diagonal), so the settings hold at any resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from deepswap.faces.face import Face


class OneEuroFilter:
    """x_t (any shape) at time t (seconds) -> filtered x_t. ``min_cutoff`` Hz at rest, plus ``beta``
    Hz per face size per second of speed; ``d_cutoff`` Hz smooths the speed estimate."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 5.0, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t: float | None = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.x is None or self.t is None or t <= self.t:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = t - self.t
        dx = (x - self.x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self.dx = self.dx + a_d * (dx - self.dx)
        speed = float(np.sqrt(np.mean(self.dx**2))) / max(scale, 1e-6)
        a = self._alpha(self.min_cutoff + self.beta * speed, dt)
        self.x, self.t = self.x + a * (x - self.x), float(t)
        return self.x.copy()


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``x0, y0, x1, y1`` boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class _Track:
    bbox: np.ndarray
    last_seen: float
    filter: OneEuroFilter = field(default_factory=OneEuroFilter)


class LandmarkSmoother:
    """Per-video state: ``smooth(faces, t)`` -> the faces with filtered ``kps`` (new objects).

    A face continues the free track whose last box overlaps it most (IoU >= ``min_iou``; see
    :meth:`assign`); tracks unseen for ``max_gap`` seconds end. ``enabled=False`` passes faces through.
    """

    def __init__(self, min_iou: float = 0.3, max_gap: float = 0.5, enabled: bool = True, **filter_kwargs):
        self.min_iou, self.max_gap, self.enabled = float(min_iou), float(max_gap), bool(enabled)
        self.filter_kwargs = filter_kwargs
        self.tracks: list[_Track] = []

    def smooth(self, faces: list[Face], t: float) -> list[Face]:
        """Faces of the frame at ``t`` seconds -> the same faces, in the same order, kps filtered."""
        if not self.enabled:
            return faces
        self.tracks = [tr for tr in self.tracks if t - tr.last_seen <= self.max_gap]
        owner = self.assign(faces)
        out = []
        for i, face in enumerate(faces):
            if owner[i] is None:
                self.tracks.append(_Track(face.bbox, t, OneEuroFilter(**self.filter_kwargs)))
                track = self.tracks[-1]
            else:
                track = self.tracks[owner[i]]
            track.bbox, track.last_seen = face.bbox, t
            diag = float(np.hypot(face.bbox[2] - face.bbox[0], face.bbox[3] - face.bbox[1]))
            out.append(replace(face, kps=track.filter(face.kps, t, scale=diag).astype(np.float32)))
        return out

    def assign(self, faces: list[Face]) -> list[int | None]:
        """-> for each face (by index) the index of the track it continues, or None (a new face).

        Greedy on box overlap: the best-overlapping (track, face) pair first, each track and face used
        once, pairs below ``min_iou`` never. Only indices are compared, never face or track objects."""
        pairs = sorted(
            (
                (iou(track.bbox, face.bbox), ti, fi)
                for ti, track in enumerate(self.tracks)
                for fi, face in enumerate(faces)
            ),
            key=lambda p: -p[0],
        )
        owner: list[int | None] = [None] * len(faces)
        used = set()
        for overlap, ti, fi in pairs:
            if overlap < self.min_iou:
                break
            if ti not in used and owner[fi] is None:
                owner[fi] = ti
                used.add(ti)
        return owner
