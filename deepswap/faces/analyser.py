"""Face analysers: find faces in an image -> :class:`Face` (box, 5 points, score, optional embedding).

Colour convention: every public function here takes ``(H, W, 3)`` ``uint8`` **RGB** numpy images (what
PIL and the rest of deepswap use). insightface's models expect BGR (OpenCV's order); the conversion
happens inside :class:`FaceAnalyser`, nowhere else.

- :class:`FaceAnalyser`: insightface's ONNX models from a model pack folder the user supplies (e.g.
  ``buffalo_l``). Nothing is downloaded: the models are built one by one with
  ``insightface.model_zoo.get_model(<file>.onnx)`` (insightface's ``FaceAnalysis`` fetches packs it does
  not find, so it is not used).
- :class:`SyntheticSceneAnalyser`: the faces of synthetic scenes (``deepswap.faces.scenes``), known by
  construction, with an oracle identity embedding; makes the swap pipeline testable without models.

Faces come back sorted left to right (by box centre), so a face index is stable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from deepswap.errors import DeepswapError

# buffalo_l's files and what each is for (another pack's files are recognised by their graph shapes)
PACK_FILES = {
    "det_10g.onnx": "SCRFD face detector (boxes + 5 points), required",
    "w600k_r50.onnx": "ArcFace recogniser (embeddings; reference matching)",
    "1k3d68.onnx": "68 3-D landmarks (head pose)",
    "2d106det.onnx": "106 2-D landmarks",
    "genderage.onnx": "gender and age",
}
DEFAULT_MODULES = ("detection", "recognition", "landmark_3d_68", "landmark_2d_106")  # when present
REQUIRED_MODULES = ("detection",)  # a swap or a prepare run needs only faces and their 5 points


class ModelPackError(DeepswapError, FileNotFoundError):
    """The model pack folder is missing, incomplete or unreadable."""


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
        d = {"bbox": _floats(self.bbox), "kps": _floats(self.kps), "det_score": float(self.det_score)}
        if self.embedding is not None:
            d["embedding"] = _floats(self.embedding)
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


def _floats(a: np.ndarray) -> list:
    return np.round(np.asarray(a, np.float64), 4).tolist()


def _check_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            "expected an (H, W, 3) uint8 RGB image, got "
            f"{type(image).__name__} {getattr(image, 'dtype', '')} {getattr(image, 'shape', '')}"
        )
    return image


def sort_faces(faces: list[Face]) -> list[Face]:
    """Left to right by box centre (ties: top to bottom)."""
    return sorted(faces, key=lambda f: (float(f.bbox[0] + f.bbox[2]), float(f.bbox[1] + f.bbox[3])))


# --------------------------------------------------------------------------------------- insightface
def _pack_message(folder: Path, problem: str) -> str:
    files = "; ".join(f"{name} ({what})" for name, what in PACK_FILES.items())
    return (
        f"{problem}. Expected an insightface model pack folder at {folder} holding, for buffalo_l: "
        f"{files}. deepswap never downloads models: get the pack from insightface's model zoo "
        "(e.g. buffalo_l.zip), unzip it and pass its folder (--model-pack DIR)."
    )


class FaceAnalyser:
    """insightface models from a pack folder: SCRFD detection, then recognition and pose if present.

    Args:
        pack: folder of ``.onnx`` files (``buffalo_l``: see ``PACK_FILES``).
        modules: tasks to use when the pack has them (insightface task names; pose comes from
            ``landmark_3d_68``, the face outline for pasting from ``landmark_2d_106``).
        required: tasks whose absence raises :class:`ModelPackError`: names, or ``{task: what needs
            it}`` so the message says why (``{"recognition": "--reference matching"}``).
        device: ``"cpu"`` or ``"cuda"`` (onnxruntime's CUDA provider must be installed).
        det_size: detector input size; det_thresh: minimum detection score.
    """

    def __init__(
        self,
        pack: str | Path,
        modules: tuple[str, ...] = DEFAULT_MODULES,
        required: tuple[str, ...] | dict[str, str] = REQUIRED_MODULES,
        device: str = "cpu",
        det_size: tuple[int, int] = (640, 640),
        det_thresh: float = 0.5,
        threads: int | None = None,
    ):
        folder = Path(pack).expanduser()
        if not folder.is_dir():
            raise ModelPackError(_pack_message(folder, f"model pack folder {folder} does not exist"))
        models = _load_pack(folder, device, threads)
        needs = {"detection": "finding faces", **_reasons(required)}
        missing = [f"{task} (needed for {why})" for task, why in needs.items() if task not in models]
        if missing:
            raise ModelPackError(
                _pack_message(folder, f"model pack {folder} has no model for {', '.join(missing)}")
            )
        self.folder = folder
        self.models = {
            task: models[task] for task in dict.fromkeys(("detection", *modules)) if task in models
        }
        ctx = 0 if str(device).startswith("cuda") else -1
        for task, model in self.models.items():
            if task == "detection":
                model.prepare(ctx, input_size=det_size, det_thresh=det_thresh)
            else:
                model.prepare(ctx)

    @classmethod
    def from_models(cls, detector, **others) -> FaceAnalyser:
        """Wrap already-built insightface-style models (``detector.detect(bgr, max_num=0)`` ->
        ``(boxes (N, 5), kps (N, 5, 2))``; others ``.get(bgr, face)``), e.g. ``recognition=...``."""
        self = cls.__new__(cls)
        self.folder = None
        self.models = {"detection": detector, **others}
        return self

    def detect(self, image: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 RGB -> faces, left to right."""
        from insightface.app.common import Face as InsightFace

        bgr = np.ascontiguousarray(_check_rgb(image)[..., ::-1])
        boxes, kpss = self.models["detection"].detect(bgr, max_num=0)
        faces = []
        for i in range(boxes.shape[0]):
            if kpss is None:
                raise ModelPackError(
                    "the detector gives no 5-point landmarks; use an SCRFD model (det_10g.onnx)"
                )
            raw = InsightFace(bbox=boxes[i, :4], kps=kpss[i], det_score=boxes[i, 4])
            for task, model in self.models.items():
                if task != "detection":
                    model.get(bgr, raw)
            emb = raw.embedding
            outline = raw.get("landmark_2d_106")
            faces.append(
                Face(
                    bbox=np.asarray(raw.bbox, np.float32),
                    kps=np.asarray(raw.kps, np.float32),
                    det_score=float(raw.det_score),
                    embedding=None
                    if emb is None
                    else (emb / max(np.linalg.norm(emb), 1e-12)).astype(np.float32),
                    pose=None if raw.pose is None else np.asarray(raw.pose, np.float32),
                    extra={} if outline is None else {"landmark_2d_106": np.asarray(outline, np.float32)},
                )
            )
        return sort_faces(faces)


def _reasons(required) -> dict[str, str]:
    reasons = required if isinstance(required, dict) else dict.fromkeys(required, "this run")
    return {str(k): str(v) for k, v in reasons.items() if k != "detection"}


def _load_pack(folder: Path, device: str, threads: int | None = None) -> dict:
    """{task: model} from the pack's ``.onnx`` files (buffalo_l's names first, then the others),
    each routed by insightface's ``get_model`` from its graph's shapes; never downloads. ``threads``
    caps onnxruntime's intra-op threads per session (parallel workers: one or two each)."""
    import onnxruntime
    from insightface.model_zoo import model_zoo

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)

    providers = ["CPUExecutionProvider"]
    if str(device).startswith("cuda"):
        providers.insert(0, "CUDAExecutionProvider")
    files = sorted(folder.glob("*.onnx"), key=lambda p: (p.name not in PACK_FILES, p.name))
    models = {}
    for path in files:
        try:
            model = model_zoo.get_model(str(path), providers=providers, download=False, sess_options=options)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for damaged files
            raise ModelPackError(
                _pack_message(folder, f"{path.name} in {folder} is not a readable ONNX model ({e})")
            ) from None
        if model is not None and model.taskname not in models:
            models[model.taskname] = model
    return models


# ------------------------------------------------------------------------------------------ synthetic
def fingerprint(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (72, 128) float32 grey thumbnail, for finding a known frame again."""
    grey = cv2.cvtColor(_check_rgb(image), cv2.COLOR_RGB2GRAY)
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
        self._exact[_digest(_check_rgb(image))] = faces
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
        found = self._exact.get(_digest(_check_rgb(image)))
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
