"""Aligned face crops from one image or video file: the per-file work of ``deepswap.prepare``.

:func:`scan_sources` lists the input files and where their crops go; :func:`extract_file` detects,
filters, aligns and writes the crops of one file -> a :class:`FileResult` (metadata rows and failure
rows). Images are ``(H, W, 3)`` ``uint8`` RGB; points are ``(x, y)`` pixels (``deepswap.faces.align``).

Layouts of the input folder:

- ``"identity"``: ``input/<identity>/**/<file>`` -> ``output/<identity>/<stem>...png``.
- ``"ffpp"``: FaceForensics++ ``input/{original,manipulated}_sequences/<x>/<raw|c23|c40>/videos/<id>.mp4``
  -> ``output/<same path, videos -> frames>/<id>/<id>_f<frame>.png``: the tree that
  ``FFPPDataModule`` (``frames_root``) and ``deepswap.detection.data.scan_ffpp`` read.

Crop names: ``<stem>[_f<frame>][_<face>].png``; ``_f<frame>`` (6 digits) for video frames, ``_<face>``
(index among the frame's detections, left to right) when all faces are kept.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from deepswap.data.folder import DataError
from deepswap.faces.align import align
from deepswap.faces.analyser import ModelPackError
from deepswap.faces.video import MediaError, is_image, is_video, read_image, video_info

# failure reason -> what it means (the ``reason`` column of failures.csv)
REASONS = {
    "unreadable_image": "the image file cannot be decoded",
    "undecodable_video": "the video, or one of its sampled frames, cannot be decoded",
    "no_face": "no face detected",
    "low_score": "detection score below min_score",
    "too_small": "face box shorter than min_face pixels",
    "unsupported_file": "not an image or video format deepswap reads",
    "no_identity_folder": "file is not inside an identity sub-folder",
    "error": "unexpected error (see detail); retried on the next run",
}
IGNORED_SUFFIXES = (".json", ".txt", ".csv", ".md")  # annotations, sidecars, lists: not media
FFPP_COMPRESSIONS = ("raw", "c23", "c40")


@dataclass(frozen=True)
class CropSettings:
    """How crops are made. keep: ``"largest"`` face or ``"all"`` faces of each image or frame;
    frames_per_video: evenly spaced frames sampled (0: every frame); min_face: shorter side of the
    detection box in pixels below which a face is rejected (0: no limit)."""

    size: int = 256
    template: str = "arcface"
    keep: str = "largest"
    frames_per_video: int = 10
    min_score: float = 0.5
    min_face: int = 32

    def __post_init__(self):
        if self.keep not in ("largest", "all"):
            raise ValueError(f"keep must be 'largest' or 'all', got {self.keep!r}")
        if self.template not in ("arcface", "synthetic"):
            raise ValueError(f"template must be 'arcface' or 'synthetic', got {self.template!r}")
        if self.frames_per_video < 0 or self.min_face < 0:
            raise ValueError("frames_per_video and min_face must be >= 0")


@dataclass(frozen=True)
class Source:
    """An input file: ``rel`` (posix path under the input root; the key in every output table),
    ``identity`` (None: outside any identity folder), ``out_dir`` (under the output root), ``stem``."""

    path: str
    rel: str
    identity: str | None
    out_dir: str
    stem: str


@dataclass
class FileResult:
    """What one file gave: metadata rows (one per crop), failure rows, faces detected, frames read."""

    source: str
    crops: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    faces: int = 0
    frames: int = 0

    def fail(self, src: Source, reason: str, detail: str = "", frame=None, face=None) -> None:
        row = {"source": src.rel, "identity": src.identity, "frame": frame, "face": face}
        self.failures.append({**row, "reason": reason, "detail": detail})


# ---------------------------------------------------------------------------------------- scanning
def _candidate(p: Path, parts: tuple[str, ...]) -> bool:
    return (
        p.is_file() and not any(x.startswith(".") for x in parts) and p.suffix.lower() not in IGNORED_SUFFIXES
    )


def _media_files(folder: Path, recursive: bool = True) -> list[Path]:
    """Files under ``folder`` but hidden ones (or in hidden folders) and ``IGNORED_SUFFIXES``."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if _candidate(p, p.relative_to(folder).parts))


def _stems(files: list[Path], base: Path) -> list[str]:
    """Crop name prefixes: the path under ``base`` without suffix ("/" -> "__"); the suffix is added
    where two files would share one (``a.jpg`` and ``a.png`` -> ``a_jpg``, ``a_png``)."""
    plain = [p.relative_to(base).with_suffix("").as_posix().replace("/", "__") for p in files]
    count = Counter(plain)
    return [f"{s}_{p.suffix.lower().lstrip('.')}" if count[s] > 1 else s for s, p in zip(plain, files)]


def scan_sources(root: str | Path, layout: str = "identity", compression: str | None = None) -> list[Source]:
    """The input files of ``root`` in ``layout`` (module docstring), sorted by path."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"input folder {root} does not exist")
    if layout == "identity":
        sources = [Source(str(p), p.name, None, "", p.stem) for p in _media_files(root, recursive=False)]
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = _media_files(sub)
            for p, stem in zip(files, _stems(files, sub)):
                sources.append(Source(str(p), p.relative_to(root).as_posix(), sub.name, sub.name, stem))
        expected = "one sub-folder per identity holding images or videos (input/<identity>/<file>)"
        if sources and all(s.identity is None for s in sources):
            raise DataError(
                f"input folder {root} has files but no identity sub-folders. Expected {expected}."
            )
    elif layout == "ffpp":
        comps = FFPP_COMPRESSIONS if compression is None else (compression,)
        sources = []
        for top in ("original_sequences", "manipulated_sequences"):
            for videos in sorted((root / top).glob("*/*/videos")):
                if videos.parent.name not in comps:
                    continue
                for p in _media_files(videos):
                    frames = videos.parent.relative_to(root) / "frames" / p.stem
                    sources.append(
                        Source(str(p), p.relative_to(root).as_posix(), p.stem, frames.as_posix(), p.stem)
                    )
        expected = (
            "the FaceForensics++ layout original_sequences/youtube/<raw|c23|c40>/videos/<id>.mp4 and "
            "manipulated_sequences/<Method>/<raw|c23|c40>/videos/<tid>_<sid>.mp4"
        )
    else:
        raise ValueError(f"layout must be 'identity' or 'ffpp', got {layout!r}")
    if not sources:
        raise DataError(f"input folder {root} holds no files. Expected {expected}.")
    return sorted(sources, key=lambda s: s.rel)


# ---------------------------------------------------------------------------------------- videos
def sample_indices(count: int, n: int) -> list[int]:
    """``n`` evenly spaced frame indices of ``count``: the centres of ``n`` equal bins (first and last
    frames, often fades or not decodable, are avoided); every frame if ``n`` is 0 or >= ``count``."""
    if n <= 0 or n >= count:
        return list(range(count))
    return [int((i + 0.5) * count / n) for i in range(n)]


def sample_frames(path: str | Path, n: int) -> Iterator[tuple[int, np.ndarray | None]]:
    """``(index, (H, W, 3) uint8 RGB frame or None if it could not be decoded)`` for ``n`` evenly
    spaced frames (:func:`sample_indices`); decodes sequentially (seeking is not frame-exact).
    Raises MediaError if the video cannot be opened or has no decodable frame."""
    count = video_info(path)["frames"]
    cap = cv2.VideoCapture(str(path))
    try:
        if count <= 0:  # no estimate in the container: count by decoding
            while cap.grab():
                count += 1
            cap.release()
            cap = cv2.VideoCapture(str(path))
        wanted = sample_indices(count, n)
        todo, index = set(wanted), 0
        while todo and cap.grab():
            if index in todo:
                ok, bgr = cap.retrieve()
                todo.discard(index)
                yield index, (np.ascontiguousarray(bgr[..., ::-1]) if ok else None)
            index += 1
        if index == 0:
            raise MediaError(f"cannot read {path}: no decodable video frame")
        for i in sorted(todo):  # the container promised more frames than it holds
            yield i, None
    finally:
        cap.release()


# ---------------------------------------------------------------------------------------- one file
def crop_name(stem: str, frame: int | None, face: int | None) -> str:
    return stem + ("" if frame is None else f"_f{frame:06d}") + ("" if face is None else f"_{face}") + ".png"


def write_png(path: Path, image: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB PNG atomically (temp file + rename: never a half-written crop)."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise MediaError(f"cannot encode {path.name}")
    tmp = path.with_name(f".{path.name}.tmp")
    buf.tofile(tmp)
    os.replace(tmp, path)


def _frames(src: Source, settings: CropSettings, res: FileResult):
    if is_image(src.path):
        try:
            yield None, read_image(src.path)
        except MediaError as e:
            res.fail(src, "unreadable_image", str(e))
    else:
        try:
            for index, frame in sample_frames(src.path, settings.frames_per_video):
                if frame is None:
                    res.fail(src, "undecodable_video", f"frame {index} cannot be decoded", frame=index)
                else:
                    yield index, frame
        except MediaError as e:
            res.fail(src, "undecodable_video", str(e))


def extract_file(src: Source, settings: CropSettings, analyser, out_root: str | Path) -> FileResult:
    """Detect, filter, align and write the crops of one file -> its rows. Never raises for bad
    input: unreadable files and rejected faces become failure rows (reasons in ``REASONS``)."""
    res = FileResult(src.rel)
    if src.identity is None:
        res.fail(src, "no_identity_folder", "move it into input/<identity>/")
        return res
    if not (is_image(src.path) or is_video(src.path)):
        res.fail(src, "unsupported_file", f"suffix {Path(src.path).suffix or '(none)'!r}")
        return res
    out_dir = Path(out_root) / src.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        for index, image in _frames(src, settings, res):
            res.frames += 1
            faces = analyser.detect(image)
            res.faces += len(faces)
            for k, face in _kept(src, settings, faces, res, index):
                crop, m = align(image, face.kps, settings.size, settings.template)
                name = crop_name(src.stem, index, k if settings.keep == "all" else None)
                write_png(out_dir / name, crop)
                res.crops.append(_row(src, settings, f"{src.out_dir}/{name}", index, k, face, m))
    except ModelPackError:
        raise
    except Exception as e:  # noqa: BLE001 - recorded (and retried next run) rather than losing the run
        res.fail(src, "error", f"{type(e).__name__}: {e}")
    return res


def _kept(src, settings: CropSettings, faces, res: FileResult, index):
    """Faces that pass min_score and min_face, then the largest of them (keep="largest") or all.
    Rejections are failure rows with keep="all"; with keep="largest" only when no face passed."""
    if not faces:
        res.fail(src, "no_face", frame=index)
        return []
    good, rejected = [], []
    for k, face in enumerate(faces):
        side = float(min(face.bbox[2] - face.bbox[0], face.bbox[3] - face.bbox[1]))
        if face.det_score < settings.min_score:
            rejected.append((k, "low_score", f"score {face.det_score:.3f} < {settings.min_score}"))
        elif side < settings.min_face:
            rejected.append((k, "too_small", f"box side {side:.1f} px < {settings.min_face}"))
        else:
            good.append((k, face))
    if settings.keep == "all" or not good:
        for k, reason, detail in rejected:
            res.fail(src, reason, detail, frame=index, face=k)
    if settings.keep == "largest" and good:
        return [max(good, key=lambda kf: kf[1].area)]
    return good


def _row(src: Source, settings: CropSettings, crop: str, frame, face_index: int, face, m) -> dict:
    row = {
        "crop": crop,
        "source": src.rel,
        "identity": src.identity,
        "frame": frame,
        "face": face_index,
        "bbox": np.round(np.asarray(face.bbox, np.float64), 2).tolist(),
        "kps": np.round(np.asarray(face.kps, np.float64), 2).tolist(),
        "det_score": round(float(face.det_score), 4),
        "size": settings.size,
        "template": settings.template,
        "matrix": np.round(np.asarray(m, np.float64), 6).tolist(),
    }
    if face.identity is not None:  # synthetic scenes: the world identity, known by construction
        row["world_identity"] = int(face.identity)
    return row
