"""Faces in videos without running the detector on every frame: detect on keyframes, track in between.

The detector (SCRFD) is the costly stage of a video swap on a CPU: about 10x the rest of deepswap's
128 px pipeline. :class:`KeyframeFaces` runs it on every ``interval``-th frame only; on the frames in
between each face's 5 points are carried from the previous frame by pyramidal Lucas-Kanade optical
flow (``cv2.calcOpticalFlowPyrLK`` on the grey frame, a few ms at 720p), and its box follows them (the
similarity between the old and new points). A face whose points cannot be followed makes the frame a
keyframe (the detector runs on it) unless the face was at the frame's edge, leaving it: such a face is
dropped until the next keyframe. Without that re-detection a face lost inside the frame goes unswapped
for up to ``interval - 1`` frames, which shows as the face blinking between the swap and the original
(Solvay 1927 photo, ``interval=4``, faces kept per frame / keyframes: a fast 16-frame pan 13.6 / 4
without it, 14.8 / 12 with it; a 48-frame pan 14.4 / 12 and 14.6 / 17; the detector on every frame
finds 15.2 and 15.1). A face that enters is found at the next keyframe (at most ``interval - 1``
frames late). Landmark smoothing (``deepswap.faces.tracking``) still runs on the result.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from deepswap.faces.align import similarity, transform_points
from deepswap.faces.face import Face

LK_PARAMS = dict(
    winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
)


class KeyframeFaces:
    """``detect(rgb)`` -> faces, like an analyser: the detector's on keyframes, tracked in between.

    ``interval=1`` detects on every frame. ``max_error``: Lucas-Kanade's per-point error above which
    a face counts as lost. Per video: make a new one (it keeps the previous frame)."""

    def __init__(self, analyser, interval: int = 4, max_error: float = 30.0, edge: float = 0.1):
        if interval < 1:
            raise ValueError(f"interval must be >= 1, got {interval}")
        self.analyser, self.interval, self.max_error = analyser, int(interval), float(max_error)
        self.edge = float(edge)  # a lost face within edge x its box size of a border counts as leaving
        self.frame = 0
        self.keyframes = 0
        self.redetections = 0  # keyframes forced by a face lost inside the frame
        self._grey: np.ndarray | None = None
        self._faces: list[Face] = []

    def detect(self, image: np.ndarray) -> list[Face]:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if self.frame % self.interval == 0 or self._grey is None or self._grey.shape != grey.shape:
            faces = self.analyser.detect(image)
            self.keyframes += 1
        else:
            faces, lost_inside = self._follow(self._grey, grey, self._faces)
            if lost_inside:
                faces = self.analyser.detect(image)
                self.keyframes += 1
                self.redetections += 1
        self.frame += 1
        self._grey, self._faces = grey, faces
        return [replace(f) for f in faces]

    def _follow(self, before: np.ndarray, after: np.ndarray, faces: list[Face]) -> tuple[list[Face], bool]:
        """-> (the faces followed, whether one was lost away from the frame's edges)."""
        if not faces:
            return [], False
        points = np.concatenate([f.kps for f in faces]).astype(np.float32).reshape(-1, 1, 2)
        moved, ok, err = cv2.calcOpticalFlowPyrLK(before, after, points, None, **LK_PARAMS)
        moved, ok, err = moved.reshape(-1, 5, 2), ok.reshape(-1, 5), err.reshape(-1, 5)
        out, lost_inside = [], False
        h, w = after.shape[:2]
        for face, new, good, error in zip(faces, moved, ok, err):
            if not good.all() or error.max() > self.max_error:
                x0, y0, x1, y1 = face.bbox[:4]
                margin = self.edge * max(x1 - x0, y1 - y0)
                lost_inside |= bool(
                    x0 > margin and y0 > margin and x1 < w - 1 - margin and y1 < h - 1 - margin
                )
                continue
            m = similarity(face.kps, new)
            corners = transform_points(face.bbox.reshape(2, 2), m)
            bbox = np.concatenate([corners.min(0), corners.max(0)]).astype(np.float32)
            out.append(replace(face, bbox=bbox, kps=new.astype(np.float32)))
        return out, lost_inside
