"""Detector inference on files (images, videos, folders) -> CSV, and ONNX export with a parity check.

:func:`predict` writes ``frames.csv`` (one row per face or frame: path, frame, face, score, prob, status)
and ``videos.csv`` (one row per input file, or per folder of images with ``group="folder"``: mean, max
and top-k mean of its frame logits, keyed by full path). A file that cannot be used is never dropped:
it gets a row with an empty score and a status (``unreadable`` image, ``undecodable`` video,
``no_face``, ``empty_folder``, ``missing``), the run goes on, and the number of failures is printed.
Without a face finder every image or frame is taken as a face crop and resized to the detector's size
(``cv2.INTER_AREA``); with one (anything with ``detect(rgb) -> [Face]``, e.g.
:class:`deepswap.faces.analyser.FaceAnalyser`) each detected face is aligned (ArcFace template) and scored.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from deepswap.data.folder import IMAGE_EXTENSIONS, read_rgb
from deepswap.detection.data import VIDEO_EXTENSIONS

FRAME_COLUMNS = ["path", "frame", "face", "score", "prob", "status"]
VIDEO_COLUMNS = ["path", "kind", "n_frames", "n_failed", "mean", "max", "topk", "prob_mean", "status"]


@dataclass
class Prediction:
    """Rows of ``frames.csv`` and ``videos.csv`` (dicts keyed by the column names) and the failures."""

    frames: list[dict] = field(default_factory=list)
    videos: list[dict] = field(default_factory=list)
    n_failed: int = 0
    files: dict[str, str] = field(default_factory=dict)


def _kind(path: Path) -> str | None:
    ext = path.suffix.lower()
    return "image" if ext in IMAGE_EXTENSIONS else "video" if ext in VIDEO_EXTENSIONS else None


def expand_inputs(inputs: list[str | Path]) -> list[tuple[str, str]]:
    """Paths -> ``(full path, kind)`` with kind image | video | empty_folder | missing; folders are
    searched recursively for images and videos."""
    out = []
    for item in inputs:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and _kind(f))
            out += [(os.path.abspath(f), _kind(f)) for f in found] or [(os.path.abspath(p), "empty_folder")]
        elif p.is_file():
            out.append((os.path.abspath(p), _kind(p) or "image"))  # unknown extension: try to decode it
        else:
            out.append((os.path.abspath(p), "missing"))
    return out


def iter_video(path: str, stride: int = 1, max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a video sequentially -> ``(frame index, (H, W, 3) uint8 RGB)`` every ``stride`` frames."""
    cap = cv2.VideoCapture(path)
    try:
        i, n = 0, 0
        while cap.isOpened() and (max_frames is None or n < max_frames):
            ok = cap.grab()
            if not ok:
                break
            if i % stride == 0:
                ok, bgr = cap.retrieve()
                if ok:
                    n += 1
                    yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()


def _crops(rgb: np.ndarray, size: int, face_finder) -> list[np.ndarray]:
    if face_finder is None:
        return [
            cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
            if rgb.shape[:2] != (size, size)
            else rgb
        ]
    from deepswap.faces.align import align

    return [align(rgb, f.kps, size)[0] for f in face_finder.detect(rgb)]


@torch.no_grad()
def _score(net: nn.Module, crops: list[np.ndarray], device: str) -> np.ndarray:
    x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return net(x.to(device)).float().cpu().double().numpy()


def _frames_of(path: str, kind: str, stride: int, max_frames: int | None) -> Iterator[tuple[int, np.ndarray]]:
    if kind == "video":
        yield from iter_video(path, stride, max_frames)
    elif (rgb := read_rgb(path)) is not None:
        yield -1, rgb


def _score_file(net, path, kind, size, device, batch_size, stride, max_frames, face_finder):
    """-> (frame rows sorted by frame and face, scores, frames decoded, frames without a face)."""
    rows, scores, pending, n, no_face = [], [], [], 0, 0

    def flush():
        for (index, face, _), s in zip(pending, _score(net, [c for *_, c in pending], device)):
            prob = 1 / (1 + np.exp(-s))
            rows.append(
                dict(path=path, frame=index, face=face, score=f"{s:.6f}", prob=f"{prob:.6f}", status="ok")
            )
            scores.append(float(s))
        pending.clear()

    for index, rgb in _frames_of(path, kind, stride, max_frames):
        n += 1
        crops = _crops(rgb, size, face_finder)
        if not crops:
            no_face += 1
            rows.append(dict(path=path, frame=index, face="", score="", prob="", status="no_face"))
        pending += [(index, k, c) for k, c in enumerate(crops)]
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    rows.sort(key=lambda r: (r["frame"], -1 if r["face"] == "" else r["face"]))
    return rows, scores, n, no_face


@torch.no_grad()
def predict(
    net: nn.Module,
    inputs: list[str | Path],
    out_dir: str | Path | None,
    size: int,
    device: str = "cpu",
    batch_size: int = 64,
    stride: int = 1,
    max_frames: int | None = None,
    topk: int = 3,
    face_finder=None,
    group: str = "file",
) -> Prediction:
    """Score every image, video frame (every ``stride``-th, at most ``max_frames``) and face of
    ``inputs``; write ``frames.csv`` and ``videos.csv`` to ``out_dir`` (if given). Videos are decoded
    as a stream, ``batch_size`` crops at a time. ``group``: ``file`` (one videos.csv row per input file)
    or ``folder`` (images are grouped by their folder, e.g. FF++ ``frames/<name>/``; videos stay per file).
    """
    if group not in ("file", "folder"):
        raise ValueError(f"group must be 'file' or 'folder', got {group!r}")
    net.eval().to(device)
    result, groups = Prediction(), {}
    for path, kind in expand_inputs(inputs):
        rows, scores, n, no_face = [], [], 0, 0
        if kind in ("image", "video"):
            rows, scores, n, no_face = _score_file(
                net, path, kind, size, device, batch_size, stride, max_frames, face_finder
            )
        key, gkind = (
            (os.path.dirname(path), "frames") if group == "folder" and kind == "image" else (path, kind)
        )
        g = groups.setdefault(key, {"kind": gkind, "scores": [], "n": 0, "failed": 0, "status": None})
        if n == 0:
            status = {"image": "unreadable", "video": "undecodable"}.get(kind, kind)
            result.frames.append(dict(path=path, frame="", face="", score="", prob="", status=status))
            result.n_failed += 1
            g["failed"] += 1
            g["status"] = g["status"] or status
            continue
        result.frames += rows
        result.n_failed += no_face
        g["scores"] += scores
        g["n"] += n
        g["failed"] += no_face
    result.videos = [_aggregate(key, g, topk) for key, g in groups.items()]
    if out_dir is not None:
        result.files = _write(result, Path(out_dir))
    n_ok = sum(r["status"] == "ok" for r in result.frames)
    print(
        f"predict: {n_ok} faces/frames scored, {result.n_failed} failed (status column of frames.csv)",
        flush=True,
    )
    return result


def _aggregate(path: str, g: dict, topk: int) -> dict:
    """One videos.csv row: mean, max and top-k mean of the group's logits (empty when it has none)."""
    status = "ok" if g["scores"] else g["status"] or "no_face"
    row = dict(path=path, kind=g["kind"], n_frames=g["n"], n_failed=g["failed"], status=status)
    if g["scores"]:
        s = np.sort(np.asarray(g["scores"]))[::-1]
        row.update(mean=f"{s.mean():.6f}", max=f"{s[0]:.6f}", topk=f"{s[:topk].mean():.6f}")
        row["prob_mean"] = f"{float(np.mean(1 / (1 + np.exp(-s)))):.6f}"
    return row


def _write(result: Prediction, out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"frames": str(out / "frames.csv"), "videos": str(out / "videos.csv")}
    for key, rows, cols in (
        ("frames", result.frames, FRAME_COLUMNS),
        ("videos", result.videos, VIDEO_COLUMNS),
    ):
        with open(files[key], "w", newline="") as f:
            w = csv.DictWriter(f, cols, restval="")
            w.writeheader()
            w.writerows(rows)
    return files


# ---------------------------------------------------------------- ONNX


def export_onnx(
    net: nn.Module, out_path: str | Path, size: int, opset: int = 18, check: bool = True
) -> float:
    """Write ``net`` as ONNX: input ``images`` (batch, 3, size, size) float32 in [-1, 1] (dynamic batch),
    output ``logits`` (batch,). With ``check``, runs ONNX Runtime on random inputs and raises if the
    largest difference from PyTorch reaches 1e-3. Returns that difference (0.0 without ``check``)."""
    try:
        import onnx
        import onnxscript  # noqa: F401 - torch.onnx.export(dynamo=True) needs it
    except ImportError as e:
        raise ImportError(
            f"ONNX export needs onnx and onnxscript ({e}); `pip install onnx onnxscript`"
        ) from None
    net = net.float().cpu().eval()
    example = torch.rand(2, 3, size, size) * 2 - 1
    program = torch.onnx.export(
        net, (example,), dynamo=True, verbose=False, external_data=False, opset_version=opset,
        input_names=["images"], output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
    )  # fmt: skip
    onnx.checker.check_model(program.model_proto)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(program.model_proto, out_path)
    return onnx_parity(net, out_path, size) if check else 0.0


@torch.no_grad()
def onnx_parity(net: nn.Module, path: str | Path, size: int, batch: int = 3, tol: float = 1e-3) -> float:
    """Largest |ONNX Runtime - PyTorch| logit difference on ``batch`` random images; raises at >= ``tol``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    diff = float(np.abs(got - net.eval()(x).numpy()).max())
    if not diff < tol:
        raise RuntimeError(f"ONNX export of {path} differs from PyTorch by {diff:.2e} (tolerance {tol})")
    return diff
