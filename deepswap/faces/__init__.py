"""Faces in pictures: find them, align them to a template crop and paste crops back.

Images are ``(H, W, 3)`` ``uint8`` **RGB** numpy arrays throughout (insightface's BGR stays inside
:class:`FaceAnalyser`); points are ``(x, y)`` pixels in ArcFace's 5-point order.

- :class:`FaceAnalyser` (insightface models from a pack folder you supply; never downloads) and
  :class:`SyntheticSceneAnalyser` (faces of synthetic scenes, known by construction): ``detect(image)``
  -> list of :class:`Face` (bbox, kps, det_score, embedding, pose), left to right.
- ``deepswap.faces.align``: ``align(image, kps, size, template)`` -> ``(crop, M)`` and ``paste_back``,
  with the ``"arcface"`` or ``"synthetic"`` template (the align function is not re-exported here:
  it would hide the module).
- ``deepswap.faces.scenes``: synthetic scenes and videos with known faces.
"""

from deepswap.faces.analyser import FaceAnalyser, ModelPackError
from deepswap.faces.face import Face
from deepswap.faces.synthetic_analyser import SyntheticSceneAnalyser

__all__ = [
    "Face",
    "FaceAnalyser",
    "ModelPackError",
    "SyntheticSceneAnalyser",
]
