"""Swap faces in pictures and videos with a trained deepswap model; every output carries provenance.

    swapper = FaceSwapper.from_checkpoint("last.ckpt", analyser=FaceAnalyser("/models/buffalo_l"))
    result = swapper.swap("source.jpg", "group.jpg", out="swapped.png")      # every face
    result = swapper.swap(["a1.jpg", "a2.jpg"], "group.jpg", reference="b.jpg")  # faces like b.jpg
    report = swapper.swap_video("source.jpg", "clip.mp4", "swapped.mp4")

Images are (H, W, 3) uint8 RGB arrays or file paths. Per face: align to the model's template at its
training size (``template="auto"``: ``"synthetic"`` for models trained on the synthetic world, else
``"arcface"``; see ``deepswap.faces.align``), run the EMA generator in batches, colour-correct the
result to the target inside the face (LAB mean/std), and paste it back through the generator's soft
mask (``GeneratorOutput.mask``, if it has one) times the face region of the landmarks
(``deepswap.faces.region``: nothing outside the face outline changes) times a feathered crop
border. Faces are numbered left to right. The source identity is the mean of the model's
identity-encoder embeddings of the largest face in each source image.

Provenance: swapped images are watermarked and saved with the metadata record
(``deepswap.provenance.mark``); swapped video frames are watermarked (``provenance.VideoMarker``) and the
file is tagged with ``provenance.tag_video`` (without ffmpeg: a ``<video>.provenance.json`` sidecar).
Images and frames in which no face was swapped pass through unchanged, unmarked (they are not
synthetic), and are counted. Audio: OpenCV writes video only; with ``ffmpeg`` on PATH the input's
audio is copied into the output, without it the output has no audio.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepswap import provenance
from deepswap.errors import DeepswapError
from deepswap.faces import align as al
from deepswap.faces import region
from deepswap.faces.face import Face, sort_faces
from deepswap.faces.keyframes import KeyframeFaces
from deepswap.faces.synthetic_analyser import SyntheticSceneAnalyser
from deepswap.faces.tracking import LandmarkSmoother
from deepswap.faces.video import (
    MediaError,
    VideoWriter,
    check_writable,
    copy_audio,
    iter_frames,
    load_rgb,
    prefetch,
    video_info,
    write_image,
)
from deepswap.inference.model import SwapModel

DEFAULT_THRESHOLD = 0.5


class SwapError(DeepswapError, ValueError):
    """A swap cannot be done as asked (no face in a source or reference, bad option)."""


class NoFaceError(SwapError):
    """No face was found in a source or reference image."""


@dataclass
class SwapResult:
    """image: (H, W, 3) uint8 RGB (watermarked when a face was swapped); faces: all faces found, left to
    right; swapped: indices into ``faces``; path: the file written, if any."""

    image: np.ndarray
    faces: list[Face]
    swapped: list[int]
    path: Path | None = None


@dataclass
class VideoReport:
    path: Path
    frames: int = 0
    frames_swapped: int = 0
    frames_without_face: int = 0  # no face found: passed through unchanged
    faces_swapped: int = 0
    audio: str = ""
    provenance: str = ""
    timings: dict = field(default_factory=dict)  # seconds per stage


def template_for(config: dict) -> str:
    """The crop a checkpoint's generator was trained on: ``"synthetic"`` or ``"arcface"``."""
    data = config.get("data", {})
    return "synthetic" if str(data.get("_target_", "")).endswith("SyntheticDataModule") else "arcface"


class FaceSwapper:
    """A :class:`SwapModel` + a face analyser (``detect(rgb) -> list[Face]``).

    Args:
        template: ``"auto"``, ``"arcface"``, ``"synthetic"`` or (5, 2) points at the model's size.
        batch_size: crops per generator call. threshold: cosine for ``reference`` matching.
        match_with: embeddings for ``reference`` matching: ``"analyser"`` (its recogniser), ``"model"``
            (the model's identity encoder) or ``"auto"`` (the analyser's when it gives embeddings).
        color_correction: LAB mean/std matching to the target. smoothing: landmark filter in videos.
        detect_every: in videos, run the detector on every n-th frame and follow the faces by optical
            flow in between (``deepswap.faces.keyframes``; 1: detect on every frame).
        metadata: extra fields for the provenance record.
        video_watermark_strength: RMS grey levels of the watermark on moving video frames (images
            and still shots keep ``provenance.DEFAULT_STRENGTH``; ``provenance.VideoMarker``). Under
            camera motion the mark changes from frame to frame, so it is weaker there, and
            :func:`deepswap.provenance.verify_video` pools the frames; at least
            ``provenance.MIN_VIDEO_STRENGTH``.
    """

    def __init__(
        self,
        model: SwapModel,
        analyser,
        template: str | np.ndarray = "auto",
        batch_size: int = 8,
        threshold: float = DEFAULT_THRESHOLD,
        match_with: str = "auto",
        color_correction: bool = True,
        smoothing: bool = True,
        metadata: dict | None = None,
        detect_every: int = 1,
        video_watermark_strength: float = provenance.DEFAULT_VIDEO_STRENGTH,
    ):
        if not video_watermark_strength >= provenance.MIN_VIDEO_STRENGTH:
            raise SwapError(
                f"video_watermark_strength must be >= {provenance.MIN_VIDEO_STRENGTH} (below it a second of "
                f"video no longer verifies reliably), got {video_watermark_strength}"
            )
        self.video_watermark_strength = float(video_watermark_strength)
        if match_with not in ("auto", "analyser", "model"):
            raise SwapError(f"match_with must be auto, analyser or model, got {match_with!r}")
        if batch_size < 1:
            raise SwapError(f"batch_size must be >= 1, got {batch_size}")
        self.model, self.analyser = model, analyser
        self.template = (
            template_for(model.config) if isinstance(template, str) and template == "auto" else template
        )
        self.size = model.image_size
        self.points = al.template_points(self.template, self.size)
        self.batch_size, self.threshold, self.match_with = int(batch_size), float(threshold), match_with
        self.color_correction, self.smoothing = bool(color_correction), bool(smoothing)
        self.detect_every = int(detect_every)
        self.device = next(model.generator.parameters()).device
        self.metadata = {
            "operation": "face_swap",
            "checkpoint": getattr(model, "source", None),
            "template": self.template if isinstance(self.template, str) else "custom",
            "crop_size": self.size,
            **(metadata or {}),
        }
        self.timings: dict[str, float] = defaultdict(float)

    @classmethod
    def from_checkpoint(
        cls, path, analyser=None, device: str = "cpu", template="auto", **kwargs
    ) -> FaceSwapper:
        """Load a training checkpoint (or a safetensors export folder). ``analyser=None``: an empty
        :class:`SyntheticSceneAnalyser` for synthetic-world models (add scenes to it), else an error."""
        path = Path(path)
        model = (
            SwapModel.from_export(path, device) if path.is_dir() else SwapModel.from_checkpoint(path, device)
        )
        if analyser is None:
            if (template_for(model.config) if template == "auto" else template) != "synthetic":
                raise SwapError(
                    "this model was trained on aligned photos: pass "
                    "analyser=FaceAnalyser('/path/to/buffalo_l')"
                )
            analyser = SyntheticSceneAnalyser()
        return cls(model, analyser, template=template, **kwargs)

    # ------------------------------------------------------------------------------------ pieces
    def _timed(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.timings[stage] += now - t0
        return now

    def detect(self, image: np.ndarray) -> list[Face]:
        return sort_faces(self.analyser.detect(image))

    def crops(self, image: np.ndarray, faces: list[Face]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Aligned (S, S, 3) crops and their (2, 3) frame-to-crop matrices."""
        pairs = [al.align(image, f.kps, self.size, self.template) for f in faces]
        return [c for c, _ in pairs], [m for _, m in pairs]

    def _tensor(self, crops: list[np.ndarray]) -> torch.Tensor:
        x = torch.from_numpy(np.stack(crops)).to(self.device).permute(0, 3, 1, 2).float()
        return x / 127.5 - 1.0

    @torch.inference_mode()
    def embed(self, crops: list[np.ndarray]) -> torch.Tensor:
        """(S, S, 3) uint8 crops -> (N, D) L2-normalised embeddings of the model's identity encoder."""
        out = [
            self.model.embed(self._tensor(crops[i : i + self.batch_size]))
            for i in range(0, len(crops), self.batch_size)
        ]
        return torch.cat(out)

    def _largest(self, image: np.ndarray, what: str) -> Face:
        faces = self.detect(image)
        if not faces:
            raise NoFaceError(f"no face found in the {what}")
        return max(faces, key=lambda f: f.area)

    def source_embedding(self, source) -> torch.Tensor:
        """One image or path, or a list of them (the same person) -> (1, D) mean identity embedding.
        A (1, D) tensor is taken as an embedding computed before."""
        if isinstance(source, torch.Tensor):
            return source
        items = source if isinstance(source, (list, tuple)) else [source]
        if not items:
            raise SwapError("no source image given")
        crops = []
        for item in items:
            image = load_rgb(item)
            face = self._largest(image, f"source {_name(item)}")
            crops.append(self.crops(image, [face])[0][0])
        return F.normalize(self.embed(crops).mean(0, keepdim=True), dim=1)

    def reference_embedding(self, reference) -> tuple[torch.Tensor, np.ndarray | None]:
        """-> (model-encoder embedding (1, D), analyser embedding or None) of the reference's largest face.
        Such a pair is returned as it is."""
        if isinstance(reference, tuple):
            return reference
        image = load_rgb(reference)
        face = self._largest(image, f"reference {_name(reference)}")
        return self.embed(self.crops(image, [face])[0]), face.embedding

    def select(self, image, faces, face_index=None, reference=None) -> list[int]:
        """Indices of the faces to swap: all, ``face_index`` (left to right; none if out of range) or
        those whose cosine to ``reference`` (from :meth:`reference_embedding`) is >= ``threshold``."""
        if face_index is not None:
            return [face_index % len(faces)] if -len(faces) <= face_index < len(faces) else []
        if reference is None or not faces:
            return list(range(len(faces)))
        ref_model, ref_analyser = reference
        use_analyser = self.match_with == "analyser" or (
            self.match_with == "auto"
            and ref_analyser is not None
            and all(f.embedding is not None for f in faces)
        )
        if use_analyser:
            if ref_analyser is None or any(f.embedding is None for f in faces):
                raise SwapError("match_with='analyser' but the analyser gives no embeddings")
            sims = np.array([float(np.dot(f.embedding, ref_analyser)) for f in faces])
        else:
            sims = (self.embed(self.crops(image, faces)[0]) @ ref_model.T).squeeze(1).cpu().numpy()
        return [i for i, s in enumerate(sims) if s >= self.threshold]

    @torch.inference_mode()
    def generate(self, crops: list[np.ndarray], source_id: torch.Tensor):
        """Crops (S, S, 3) uint8 + (1, D) identity -> swapped crops (uint8) and masks ((S, S) or None)."""
        images, masks = [], []
        for i in range(0, len(crops), self.batch_size):
            x = self._tensor(crops[i : i + self.batch_size])
            out = self.model.generate(x, source_id.to(self.device).expand(x.shape[0], -1))
            img = ((out.image.float().clamp(-1, 1) + 1) * 127.5).round().byte()
            images.extend(img.permute(0, 2, 3, 1).cpu().numpy())
            mask = out.mask.float()[:, 0].cpu().numpy() if out.mask is not None else [None] * len(img)
            masks.extend(mask)
        return images, masks

    def blend_mask(self, face: Face, m: np.ndarray, gen_mask: np.ndarray | None) -> np.ndarray:
        """(S, S) float32 paste weight: the face region from the landmarks (``deepswap.faces.region``;
        the 106 points when the analyser gives them) x the generator's mask x a crop-border feather."""
        dense = face.extra.get("landmark_2d_106")
        outline = region.face_outline(
            al.transform_points(face.kps, m),
            None if dense is None else al.transform_points(dense, m),
            template=self.template if isinstance(self.template, str) else "arcface",
        )
        mask = region.region_mask(self.size, outline) * al.border_feather(self.size)
        return mask if gen_mask is None else mask * np.clip(gen_mask, 0, 1).astype(np.float32)

    def composite(self, frame, faces, crops, matrices, swapped, gen_masks) -> np.ndarray:
        """Colour-correct each swapped crop and paste it into ``frame`` inside its face -> a new frame."""
        out = frame
        for face, crop, m, fake, gen_mask in zip(faces, crops, matrices, swapped, gen_masks):
            mask = self.blend_mask(face, m, gen_mask)
            if self.color_correction:
                fake = al.match_color(fake, crop, mask)
            out = al.paste_back(out, fake, m, mask)
        return out if out is not frame else frame.copy()

    # ------------------------------------------------------------------------------------ images
    def swap(self, source, target, *, face_index: int | None = None, reference=None, out=None) -> SwapResult:
        """Swap ``source``'s identity into the selected faces of ``target`` (array or path).

        ``out``: write the result there (PNG, JPEG or WebP) with provenance; an image with no swapped
        face is written unchanged, without provenance. The returned image is watermarked if swapped.
        """
        image = load_rgb(target)
        source_id = self.source_embedding(source)
        ref = self.reference_embedding(reference) if reference is not None else None
        faces = self.detect(image)
        chosen = self.select(image, faces, face_index, ref)
        result = image.copy()
        if chosen:
            picked = [faces[i] for i in chosen]
            crops, mats = self.crops(image, picked)
            fakes, masks = self.generate(crops, source_id)
            result = self.composite(image, picked, crops, mats, fakes, masks)
        return self._save_image(result, faces, chosen, out)

    def _save_image(self, image, faces, chosen, out) -> SwapResult:
        meta = {**self.metadata, "faces_swapped": len(chosen)}
        path = None if out is None else check_writable(out)
        if path is not None and path.suffix.lower() not in provenance.IMAGE_FORMATS:
            raise MediaError(
                f"cannot write {path.name}: image output must be one of {', '.join(provenance.IMAGE_FORMATS)}"
            )
        if not chosen:
            if path is not None:
                write_image(path, image)
            return SwapResult(image, faces, [], path)
        if min(image.shape[:2]) < provenance.MIN_EMBED_SIDE:  # too small to watermark: metadata only
            if path is not None:
                provenance.save_image(path, image, {**meta, "watermark": "none (image too small)"})
            return SwapResult(image, faces, chosen, path)
        return SwapResult(provenance.mark(image, meta, path=path), faces, chosen, path)

    # ------------------------------------------------------------------------------------ videos
    def swap_video(
        self, source, video_path, out_path, *, face_index=None, reference=None, progress: bool = True
    ) -> VideoReport:
        """Swap into every frame of ``video_path`` and write ``out_path`` (.mp4 or .avi) -> a report."""
        from tqdm.auto import tqdm

        if Path(out_path).resolve() == Path(video_path).resolve():
            raise MediaError(f"cannot write {out_path}: it is the input video")
        info = video_info(video_path)
        source_id = self.source_embedding(source)
        ref = self.reference_embedding(reference) if reference is not None else None
        report = VideoReport(Path(out_path))
        smoother = LandmarkSmoother(enabled=self.smoothing)
        strength = self.video_watermark_strength
        marker = provenance.VideoMarker(
            strength=strength, still_strength=max(strength, provenance.DEFAULT_STRENGTH)
        )
        finder = KeyframeFaces(self.analyser, self.detect_every)
        self.timings.clear()
        frames = prefetch(iter_frames(video_path), 2 * self.batch_size)  # decoding in a thread
        try:
            with (
                VideoWriter(
                    out_path, info["fps"], (info["width"], info["height"]), background=True
                ) as writer,
                tqdm(total=info["frames"] or None, disable=not progress, unit="frame", desc="swap") as bar,
            ):
                while True:
                    t0 = time.perf_counter()
                    chunk = [f for _, f in zip(range(self.batch_size), frames)]
                    t0 = self._timed("decode", t0)
                    if not chunk:
                        break
                    done = self._swap_chunk(
                        chunk, report, (finder, smoother, marker), source_id, face_index, ref, info["fps"]
                    )
                    t0 = time.perf_counter()
                    for frame in done:
                        writer.write(frame)
                    self._timed("encode", t0)
                    bar.update(len(chunk))
        finally:
            frames.close()  # stops the decoding thread
        report.frames = writer.frames
        report.audio = copy_audio(video_path, out_path)
        record = {**self.metadata, "faces_swapped": report.faces_swapped}
        strengths = {"moving": marker.strength, "still": marker.still_strength}
        report.provenance = _tag(out_path, {**record, "watermark_strength": strengths})
        report.timings = dict(self.timings)
        return report

    def _swap_chunk(self, chunk, report, tracking, source_id, face_index, ref, fps):
        t0 = time.perf_counter()
        finder, smoother, marker = tracking
        jobs = []  # (frame index in chunk, face)
        for k, frame in enumerate(chunk):
            faces = smoother.smooth(sort_faces(finder.detect(frame)), (report.frames + k) / fps)
            report.frames_without_face += not faces
            jobs += [(k, faces[i]) for i in self.select(frame, faces, face_index, ref)]
        t0 = self._timed("detect", t0)
        crops, mats = [], []
        for k, face in jobs:
            c, m = al.align(chunk[k], face.kps, self.size, self.template)
            crops.append(c)
            mats.append(m)
        t0 = self._timed("align", t0)
        fakes, masks = self.generate(crops, source_id) if jobs else ([], [])
        t0 = self._timed("swap", t0)
        out = []
        for k, frame in enumerate(chunk):
            idx = [j for j, (kk, _) in enumerate(jobs) if kk == k]
            if idx:
                faces = [jobs[j][1] for j in idx]
                parts = ([lst[j] for j in idx] for lst in (crops, mats, fakes, masks))
                frame = self.composite(frame, faces, *parts)
                t0 = self._timed("paste", t0)
                frame = marker(frame)
                t0 = self._timed("watermark", t0)
                report.frames_swapped += 1
                report.faces_swapped += len(idx)
            else:
                marker(frame, mark=False)  # it follows the motion on every frame
            out.append(frame)
        report.frames += len(chunk)
        return out


def _name(item) -> str:
    return "image" if isinstance(item, np.ndarray) else str(item)


def _tag(path, metadata: dict) -> str:
    try:
        provenance.tag_video(path, metadata)
        return "container comment (ffmpeg) + per-frame watermark"
    except RuntimeError:
        side = provenance.sidecar_path(path)
        if side.is_file():
            return f"sidecar {side.name} (no ffmpeg to tag the container) + per-frame watermark"
        raise
