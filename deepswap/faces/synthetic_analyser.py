"""Faces of known synthetic images (:mod:`deepswap.faces.scenes`), found without models.

Makes the swap pipeline testable without insightface: :class:`SyntheticSceneAnalyser` returns the faces
a scene was made with, with an oracle identity embedding.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from deepswap.faces.face import Face, check_rgb, sort_faces


def fingerprint(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (72, 128) float32 grey thumbnail, for finding a known frame again."""
    grey = cv2.cvtColor(check_rgb(image), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (128, 72), interpolation=cv2.INTER_AREA).astype(np.float32)


def _digest(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest() + str(
        image.shape
    )


class SyntheticSceneAnalyser:
    """Faces of known synthetic images, no models: ``add(image, faces)``, then ``detect(image)``.

    An image is found by its exact bytes, else by the nearest registered thumbnail of the same shape
    (RMS grey difference at most ``max_distance`` levels; survives JPEG re-encoding); an unknown
    image has no faces. :meth:`from_files` registers images and videos written by
    ``deepswap.faces.scenes`` with their ``<file>.faces.json`` annotations, decoding them as the swap
    pipeline will (so video frames match exactly). Face embeddings are the scenes' oracle ones (the
    world's identity factors, centred and normalised): cosine 1 for the same identity.
    """

    def __init__(self, max_distance: float = 6.0):
        self.max_distance = float(max_distance)
        self._exact: dict[str, list[Face]] = {}
        self._thumbs: list[tuple[tuple[int, ...], np.ndarray, list[Face]]] = []

    def __len__(self) -> int:
        return len(self._exact)

    def add(self, image: np.ndarray, faces: list[Face], thumbnail: bool = True) -> None:
        """Register an (H, W, 3) uint8 RGB image and its faces (``thumbnail=False``: exact bytes only,
        as for decoded video frames, which decode identically every time)."""
        faces = sort_faces(list(faces))
        self._exact[_digest(check_rgb(image))] = faces
        if thumbnail:
            self._thumbs.append((image.shape, fingerprint(image), faces))

    def add_scene(self, scene) -> None:
        """Register a ``deepswap.faces.scenes.SyntheticScene``."""
        self.add(scene.image, scene.faces)

    @classmethod
    def from_files(cls, paths, max_distance: float = 6.0) -> SyntheticSceneAnalyser:
        """Register every image or video in ``paths`` that has a ``<file>.faces.json`` annotation
        (files without one are skipped: they have no known faces)."""
        from deepswap.faces import scenes, video

        self = cls(max_distance)
        for path in map(Path, paths):
            frames = scenes.read_annotations(path)
            if frames is None:
                continue
            if video.is_video(path):
                for image, faces in zip(video.iter_frames(path), frames):
                    self.add(image, faces, thumbnail=False)
            else:
                self.add(video.read_image(path), frames[0])
        return self

    def detect(self, image: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 RGB -> the registered faces of this image (copies), or [] if unknown."""
        found = self._exact.get(_digest(check_rgb(image)))
        if found is None and self._thumbs:
            thumb = fingerprint(image)
            best, best_d = None, self.max_distance
            for shape, other, faces in self._thumbs:
                if shape == image.shape:
                    d = float(np.sqrt(np.mean((thumb - other) ** 2)))
                    if d <= best_d:
                        best, best_d = faces, d
            found = best
        return [Face.from_json(f.to_json()) for f in found or []]


__all__ = ["SyntheticSceneAnalyser", "fingerprint"]
