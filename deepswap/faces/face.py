"""A found face (:class:`Face`), the order faces come in, and the image check every analyser makes.

Shared by the analysers (:mod:`deepswap.faces.analyser`, :mod:`deepswap.faces.synthetic_analyser`) and
the synthetic scenes (:mod:`deepswap.faces.scenes`), which import it and not each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Face:
    """One face in image pixels (x right, y down, pixel centres at integers).

    bbox: (4,) float32 ``x0, y0, x1, y1``; kps: (5, 2) float32 in ArcFace order (left eye, right eye
    as seen in the image, nose tip, left and right mouth corner); det_score: detector confidence;
    embedding: (D,) L2-normalised float32 identity embedding of the analyser's recogniser, or None;
    pose: (3,) float32 pitch, yaw, roll in degrees, or None; identity: the world identity id of a
    synthetic face, else None.
    """

    bbox: np.ndarray
    kps: np.ndarray
    det_score: float = 1.0
    embedding: np.ndarray | None = None
    pose: np.ndarray | None = None
    identity: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def area(self) -> float:
        return float(max(self.bbox[2] - self.bbox[0], 0) * max(self.bbox[3] - self.bbox[1], 0))

    def to_json(self) -> dict:
        d = {"bbox": floats(self.bbox), "kps": floats(self.kps), "det_score": float(self.det_score)}
        if self.embedding is not None:
            d["embedding"] = floats(self.embedding)
        if self.identity is not None:
            d["identity"] = int(self.identity)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Face:
        emb = d.get("embedding")
        return cls(
            bbox=np.asarray(d["bbox"], np.float32).reshape(4),
            kps=np.asarray(d["kps"], np.float32).reshape(5, 2),
            det_score=float(d.get("det_score", 1.0)),
            embedding=None if emb is None else np.asarray(emb, np.float32),
            identity=d.get("identity"),
        )


def floats(a: np.ndarray) -> list:
    return np.round(np.asarray(a, np.float64), 4).tolist()


def check_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            "expected an (H, W, 3) uint8 RGB image, got "
            f"{type(image).__name__} {getattr(image, 'dtype', '')} {getattr(image, 'shape', '')}"
        )
    return image


def sort_faces(faces: list[Face]) -> list[Face]:
    """Left to right by box centre (ties: top to bottom)."""
    return sorted(faces, key=lambda f: (float(f.bbox[0] + f.bbox[2]), float(f.bbox[1] + f.bbox[3])))


__all__ = ["Face", "sort_faces", "check_rgb", "floats"]
