"""The measuring instruments of the swap protocol: identity embedding, head pose and expression.

A :class:`Scorer` answers three questions about a batch ``(B, 3, H, W)`` in [-1, 1]: ``embed`` (unit
identity embeddings), ``pose`` ((yaw, pitch, roll) in degrees) and ``expression`` (a vector). Each
returns ``None`` when the instrument is missing; the harness then skips that metric and says what to
supply (``Scorer.missing``), it never fakes it.

- :class:`OracleScorer`: the synthetic world's factor oracle (all three).
- :class:`RealScorer`: a user-supplied recogniser (arcface_torch ``backbone.pth`` or an insightface
  recognition ONNX such as ``w600k_r50.onnx``) and insightface's 3D landmark model (``1k3d68.onnx``)
  for pose. No expression estimator ships with insightface, so expression error is skipped on real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.data.synthetic.params import POSE_SPAN_DEG as _SPAN

# The synthetic renderer's pose ranges (one source of truth: deepswap.data.synthetic.params): a pose
# factor f in [0, 1] is (f - 0.5) * span degrees.
POSE_SPAN_DEG = torch.tensor(_SPAN)


class Scorer:
    """Base: every instrument missing. ``missing`` maps metric name -> what to supply."""

    name = "none"
    missing: dict[str, str] = {}

    def measure(self, images: Tensor) -> dict[str, Tensor | None]:
        """``(B, 3, H, W)`` in [-1, 1] -> ``embedding`` (B, D) unit, ``pose`` (B, 3) degrees (yaw, pitch,
        roll), ``expression`` (B, K), ``landmarks`` (B, 5, 2) pixels; None where the instrument is missing."""
        return {"embedding": None, "pose": None, "expression": None, "landmarks": None}

    def factor_r2(self) -> dict[str, float]:
        """Held-out R^2 per identity factor, for scorers that read factors (else empty)."""
        return {}


class OracleScorer(Scorer):
    """All three from one pass of a :class:`~deepswap.models.identity.oracle.FactorOracle` (or subclass):
    the embedding is its standardised identity-factor estimate, pose its (yaw, pitch, roll) factors in
    degrees, expression its four expression factors (smile, mouth open, eye open, brow raise; [0, 1])."""

    def __init__(
        self,
        oracle: nn.Module,
        device: str | torch.device = "cpu",
        name: str = "synthetic factor oracle",
        factor_names: list[str] | None = None,
    ):
        self.oracle, self.name = oracle.eval().to(device), name
        self.device, self.factor_names = device, factor_names
        self.missing = {}

    @torch.no_grad()
    def measure(self, images: Tensor) -> dict[str, Tensor]:
        images = images.to(self.device)
        p = {k: v.float().cpu() for k, v in self.oracle.predict(images).items()}
        return {
            "embedding": F.normalize(self.oracle(images).float().cpu(), dim=1),  # reliability-weighted
            "pose": (p["pose"] - 0.5) * POSE_SPAN_DEG,
            "expression": p["expression"],
            "landmarks": p.get("landmarks"),
        }

    def factor_r2(self) -> dict[str, float]:
        r2 = getattr(self.oracle, "r2", None)
        if r2 is None or not bool(torch.isfinite(r2).any()):
            return {}
        names = self.factor_names or [f"identity_{i}" for i in range(len(r2))]
        return {n: round(float(v), 4) for n, v in zip(names, r2)}


class EmbeddingScorer(Scorer):
    """Identity only, from any embedding function ``(B, 3, H, W) -> (B, D)`` (e.g. an identity encoder)."""

    def __init__(self, embed_fn, name: str = "identity encoder"):
        self.embed_fn, self.name = embed_fn, name
        self.missing = {"pose": "a pose estimator (the synthetic oracle has one)", "expression": "the same"}

    @torch.no_grad()
    def measure(self, images: Tensor) -> dict[str, Tensor | None]:
        return {
            "embedding": F.normalize(self.embed_fn(images).float(), dim=1).cpu(),
            "pose": None,
            "expression": None,
            "landmarks": None,
        }


def scorer_for(encoder: nn.Module, name: str = "identity encoder", factor_names=None) -> Scorer:
    """A factor oracle (it has ``predict``) scores identity, pose and expression; any other encoder only
    identity."""
    if hasattr(encoder, "predict"):
        return OracleScorer(encoder, name=name, factor_names=factor_names)
    return EmbeddingScorer(encoder, name)


def _to_bgr_uint8(images: Tensor) -> list[np.ndarray]:
    arr = ((images.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(a[:, :, ::-1]) for a in arr]


class RealScorer(Scorer):
    """Identity from a user-supplied recogniser, pose from insightface's 3D landmark model.

    Args:
        recognizer: path to an arcface_torch ``backbone.pth`` (``recognizer_depth`` picks the IResNet)
            or to an insightface recognition ``.onnx``; None skips the identity metrics.
        landmark_model: path to insightface's ``1k3d68.onnx``, or a model-pack folder holding it;
            None skips pose error.
    """

    name = "user-supplied models"

    def __init__(
        self,
        recognizer: str | None = None,
        recognizer_depth: int = 50,
        landmark_model: str | None = None,
        device: str | torch.device = "cpu",
    ):
        self.device, self.missing = device, {}
        self._torch_rec = self._onnx_rec = self._landmark = None
        if recognizer:
            path = Path(recognizer).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"recognizer {path} does not exist (a backbone.pth or a .onnx)")
            if path.suffix == ".onnx":
                from insightface.model_zoo import model_zoo

                self._onnx_rec = model_zoo.get_model(str(path), providers=["CPUExecutionProvider"])
                if not hasattr(self._onnx_rec, "get_feat"):
                    raise ValueError(
                        f"{path} is not a recognition model (insightface loaded it as "
                        f"{type(self._onnx_rec).__name__})"
                    )
            else:
                from deepswap.models.identity.iresnet import load_arcface_backbone

                self._torch_rec = load_arcface_backbone(path, recognizer_depth).to(device)
        else:
            self.missing["identity"] = (
                "a face recogniser different from the training encoder: evaluation.recognizer=<arcface_torch "
                "backbone.pth or insightface recognition .onnx, e.g. buffalo_l/w600k_r50.onnx>"
            )
        if landmark_model:
            self._landmark = _load_landmark(landmark_model)
        else:
            self.missing["pose"] = (
                "insightface's 3D landmark model: evaluation.landmark_model=<buffalo_l/1k3d68.onnx or the "
                "pack folder>"
            )
        self.missing["expression"] = (
            "an expression estimator (none ships with insightface; not supported yet)"
        )

    def measure(self, images: Tensor) -> dict[str, Tensor | None]:
        return {
            "embedding": self._embed(images),
            "pose": self._pose(images),
            "expression": None,
            "landmarks": None,
        }

    @torch.no_grad()
    def _embed(self, images: Tensor) -> Tensor | None:
        if self._torch_rec is not None:
            x = F.interpolate(images.float(), size=(112, 112), mode="bilinear", antialias=True)
            return F.normalize(self._torch_rec(x.to(self.device)).float(), dim=1).cpu()
        if self._onnx_rec is not None:
            feats = self._onnx_rec.get_feat(_to_bgr_uint8(images))
            return F.normalize(torch.from_numpy(np.asarray(feats)).float(), dim=1)
        return None

    def _pose(self, images: Tensor) -> Tensor | None:
        if self._landmark is None:
            return None
        from insightface.app.common import Face

        out = []
        for img in _to_bgr_uint8(images):
            h, w = img.shape[:2]
            face = Face(bbox=np.array([0, 0, w, h], dtype=np.float32))
            self._landmark.get(img, face)
            pitch, yaw, roll = (float(v) for v in face["pose"])
            out.append([yaw, pitch, roll])
        return torch.tensor(out)


def _load_landmark(path: str):
    from insightface.model_zoo import model_zoo

    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "1k3d68.onnx"
    if not p.is_file():
        raise FileNotFoundError(
            f"landmark model {p} does not exist: pass insightface's 1k3d68.onnx (in the buffalo_l pack) or "
            "the pack folder holding it"
        )
    model = model_zoo.get_model(str(p), providers=["CPUExecutionProvider"])
    if not getattr(model, "require_pose", False):
        raise ValueError(f"{p} is not insightface's 3D 68-point landmark model (it gives no pose)")
    return model
