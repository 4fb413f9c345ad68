"""Face analysers: find faces in an image -> :class:`Face` (box, 5 points, score, optional embedding).

Colour convention: every public function here takes ``(H, W, 3)`` ``uint8`` **RGB** numpy images (what
PIL and the rest of deepswap use). insightface's models expect BGR (OpenCV's order); the conversion
happens inside :class:`FaceAnalyser`, nowhere else.

- :class:`FaceAnalyser`: insightface's ONNX models from a model pack folder the user supplies (e.g.
  ``buffalo_l``). Nothing is downloaded: the models are built one by one with
  ``insightface.model_zoo.get_model(<file>.onnx)`` (insightface's ``FaceAnalysis`` fetches packs it does
  not find, so it is not used).
- :class:`~deepswap.faces.synthetic_analyser.SyntheticSceneAnalyser` (its own module): the faces of
  synthetic scenes, known by construction.

Faces come back sorted left to right (by box centre), so a face index is stable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepswap.errors import DeepswapError
from deepswap.faces.face import Face, check_rgb, sort_faces

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
        det_size: detector input ``(width, height)``, multiples of 32. Smaller is faster and loses
            small faces first. A detector graph fixed at another size is made resizable
            (:mod:`deepswap.faces.scrfd_graph`; insightface alone would keep its fixed size).
        det_thresh: minimum detection score.
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
        det_size = tuple(int(v) for v in det_size)
        if len(det_size) != 2 or min(det_size) < 32 or any(v % 32 for v in det_size):  # before loading
            raise ValueError(f"det_size must be (width, height), multiples of 32, got {det_size}")
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
        models["detection"] = _sized_detector(models["detection"], det_size, device, threads)
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

        bgr = np.ascontiguousarray(check_rgb(image)[..., ::-1])
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


def _sized_detector(model, det_size, device: str, threads: int | None):
    """The detector able to run at ``det_size``: itself, or, for an SCRFD graph with another fixed
    input size (which insightface would silently keep), its resizable copy
    (:mod:`deepswap.faces.scrfd_graph`). A graph that cannot be rewritten is kept, with a warning."""
    import warnings

    from deepswap.faces import scrfd_graph

    fixed = getattr(model, "static_input_size", None)
    path = getattr(model, "model_file", None)
    if fixed is None or tuple(fixed) == det_size or path is None:
        return model
    try:
        resizable = scrfd_graph.resizable_scrfd(path)
    except (scrfd_graph.GraphRewriteError, OSError) as e:
        warnings.warn(
            f"{Path(path).name} takes only {fixed[0]}x{fixed[1]} images and could not be made "
            f"resizable ({e}): detecting at {fixed[0]}x{fixed[1]}, not {det_size[0]}x{det_size[1]}",
            stacklevel=3,
        )
        return model
    return _load_model(resizable, device, threads)


def _reasons(required) -> dict[str, str]:
    reasons = required if isinstance(required, dict) else dict.fromkeys(required, "this run")
    return {str(k): str(v) for k, v in reasons.items() if k != "detection"}


def _load_pack(folder: Path, device: str, threads: int | None = None) -> dict:
    """{task: model} from the pack's ``.onnx`` files (buffalo_l's names first, then the others),
    each routed by insightface's ``get_model`` from its graph's shapes; never downloads. ``threads``
    caps onnxruntime's intra-op threads per session (parallel workers: one or two each)."""
    files = sorted(folder.glob("*.onnx"), key=lambda p: (p.name not in PACK_FILES, p.name))
    models = {}
    for path in files:
        try:
            model = _load_model(path, device, threads)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for damaged files
            raise ModelPackError(
                _pack_message(folder, f"{path.name} in {folder} is not a readable ONNX model ({e})")
            ) from None
        if model is not None and model.taskname not in models:
            models[model.taskname] = model
    return models


def _load_model(path: Path, device: str, threads: int | None):
    """insightface's model for one ``.onnx`` file (``None``: a graph it does not recognise)."""
    import onnxruntime
    from insightface.model_zoo import model_zoo

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    # onnxruntime's threads busy-wait after each run by default, taking the cores from the torch
    # generator that runs next: off, a video swap runs 1.15x faster (720p, 2 cores, 3 paired runs:
    # 15.6 -> 18.4 fps detecting on every frame, 21.2 -> 24.5 on every 4th)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if str(device).startswith("cuda"):
        providers.insert(0, "CUDAExecutionProvider")
    return model_zoo.get_model(str(path), providers=providers, download=False, sess_options=options)
