"""Inference: trained swap models, loaded from checkpoints or export folders, swapping faces, exported.

Imports neither Lightning nor the training code (``deepswap.training``):

- :class:`SwapModel` (:mod:`.model`): the EMA generator and its identity encoder; ``swap``, ``embed``.
- :func:`load_model` / :func:`load_checkpoint` (:mod:`.loader`): the one loader for training
  checkpoints and export folders.
- :class:`FaceSwapper` (:mod:`.swapper`): whole images and videos, with provenance.
- :mod:`.exporters`: safetensors and ONNX (insightface's inswapper interface).
- :mod:`.format`: what the files hold.
"""

from deepswap.errors import CheckpointError
from deepswap.inference.loader import load_checkpoint, load_exported, load_model
from deepswap.inference.model import SwapModel, read_checkpoint


def __getattr__(name):  # FaceSwapper pulls in OpenCV and the face tools: only when asked for
    if name == "FaceSwapper":
        from deepswap.inference.swapper import FaceSwapper

        return FaceSwapper
    raise AttributeError(f"module 'deepswap.inference' has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "FaceSwapper",
    "SwapModel",
    "load_checkpoint",
    "load_exported",
    "load_model",
    "read_checkpoint",
]
