"""Detection data: frames ``(3, S, S)`` float in [-1, 1] with labels (1 = fake), from three sources.

- **FaceForensics++ layout** on disk: ``original_sequences/youtube/<comp>/<videos|frames>/<id>`` and
  ``manipulated_sequences/<Method>/<comp>/<videos|frames>/<tid>_<sid>``, filtered by the official split
  files (JSON lists of ``[a, b]`` id pairs): an original belongs to a split when its id is listed, a
  manipulated video when its pair is listed, in either order. Frames are face crops (``frames/<name>/``
  images) or video frames (``videos/<name>.mp4``), resized to ``S`` with ``cv2.INTER_AREA``.
- **Swap models on the synthetic world**: pairs of a split (train identities, or one half of the
  held-out identities each for val and test), the target is the real image and ``swap(target, source)``
  the fake; any deepswap checkpoint or export, or any callable.
- **Self-blended images** ("generator 0", :func:`~deepswap.detection.sbi.self_blend`) of the reals; fresh
  blends every epoch for training, fixed ones for val/test.

Every image is on the 8-bit grid before a detector sees it (files are uint8; swaps and self-blends are
rounded), so quantisation cannot become the cue that separates the classes. Videos are keyed by their
FULL path: FF++ methods share names such as ``000_003``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from deepswap.data.ffpp import read_split
from deepswap.data.folder import IMAGE_EXTENSIONS, DataError, read_rgb
from deepswap.detection.postprocess import quantize
from deepswap.detection.sbi import self_blend

log = logging.getLogger(__name__)
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
FFPP_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
SPLITS = ("train", "val", "test")


def soft_face_mask(size: int) -> Tensor:
    """``(1, size, size)`` soft ellipse over the face of an aligned crop: the SBI mask when no
    landmarks are known (FF++ crops)."""
    from deepswap.evaluation.protocol import ellipse_mask

    return ellipse_mask(size)


# ---------------------------------------------------------------- FaceForensics++ layout


@dataclass(frozen=True)
class Video:
    """A real or fake video of the FF++ tree: a video file or a folder of frames, by its full path."""

    path: str
    label: int
    method: str  # "original" or the manipulation method
    name: str  # "<id>" or "<tid>_<sid>"


@dataclass(frozen=True)
class Frame:
    """One detector input. ``path``: an image file (``frame = -1``), a video file (``frame`` = index)
    or ``memory:<key>`` (``frame`` = row of an in-memory tensor); ``video``: the grouping key (full
    path); ``sbi``: a self-blend of this real frame (label 1)."""

    path: str
    frame: int
    label: int
    video: str
    sbi: bool = False


def split_members(pairs: Sequence[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """Pairs -> (original ids, manipulated names ``a_b`` and ``b_a``) belonging to the split."""
    ids = {x for p in pairs for x in p}
    return ids, {f"{a}_{b}" for a, b in pairs} | {f"{b}_{a}" for a, b in pairs}


def _entries(base: Path, prefer: str) -> dict[str, Path]:
    """``base/videos/<name>.<ext>`` and ``base/frames/<name>/`` -> {name: path}; ``prefer`` wins ties."""
    found: dict[str, Path] = {}
    for kind in sorted(("videos", "frames"), key=lambda k: k == prefer):  # preferred kind last
        folder = base / kind
        if folder.is_dir():
            for p in folder.iterdir():
                if kind == "frames" and p.is_dir():
                    found[p.name] = p
                elif kind == "videos" and p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
                    found[p.stem] = p
    return found


def scan_ffpp(
    root: str | Path,
    compression: str = "c23",
    methods: Sequence[str] = FFPP_METHODS,
    split: str | Path | Sequence | None = None,
    prefer: str = "frames",
) -> list[Video]:
    """The videos of an FF++ tree (originals first, then each method), optionally only one split's."""
    if prefer not in ("frames", "videos"):
        raise ValueError(f"prefer must be 'frames' or 'videos', got {prefer!r}")
    root = Path(root).expanduser()
    ids, names = split_members(read_split(split)) if split is not None else (None, None)
    folders = [("original", root / "original_sequences" / "youtube" / compression, 0)]
    folders += [(m, root / "manipulated_sequences" / m / compression, 1) for m in methods]
    videos = []
    for method, base, label in folders:
        entries = _entries(base, prefer)
        if not entries:
            raise DataError(
                f"{base} holds no videos/<name>.mp4 or frames/<name>/ folders. Expected the FaceForensics++ "
                "layout original_sequences/youtube/<comp>/<videos|frames>/<id> and "
                "manipulated_sequences/<Method>/<comp>/<videos|frames>/<tid>_<sid>; check data.root, "
                "data.compression and data.methods."
            )
        for name, path in sorted(entries.items()):
            if ids is None or name in (ids if label == 0 else names):
                videos.append(Video(str(path.resolve()), label, method, name))
    return videos


def video_frame_count(path: str | Path) -> int:
    """Frames cv2 can decode from a video (0: unreadable). Uses the container's count when it decodes."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened() or not cap.read()[0]:
            return 0
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if n > 0:
            return n
        n = 1
        while cap.grab():
            n += 1
        return n
    finally:
        cap.release()


def read_video_frame(path: str | Path, index: int) -> np.ndarray | None:
    """Frame ``index`` of a video as ``(H, W, 3)`` uint8 RGB, or None if it cannot be decoded."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return None
        if index > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None
    finally:
        cap.release()


def _evenly(count: int, n: int) -> list[int]:
    if n <= 0 or n >= count:
        return list(range(count))
    return sorted({int(round(i)) for i in np.linspace(0, count - 1, n)})


def video_frames(video: Video, n: int) -> tuple[list[Frame], str | None]:
    """``n`` evenly spaced frames of a video (all if ``n <= 0``) -> (frames, problem or None)."""
    p = Path(video.path)
    if p.is_dir():
        images = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS)
        if not images:
            return [], "no_images"
        return [Frame(str(images[i]), -1, video.label, video.path) for i in _evenly(len(images), n)], None
    count = video_frame_count(p)
    if count == 0:
        return [], "undecodable"
    return [Frame(video.path, i, video.label, video.path) for i in _evenly(count, n)], None


def load_frame(frame: Frame, size: int) -> np.ndarray | None:
    """A file-backed frame as ``(size, size, 3)`` uint8 RGB (``cv2.INTER_AREA``), or None if unreadable."""
    if frame.frame < 0:
        return read_rgb(frame.path, size)
    image = read_video_frame(frame.path, frame.frame)
    if image is not None and image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


# ---------------------------------------------------------------- the dataset


class FrameSet(Dataset):
    """Frames -> ``{"image": (3, S, S) float in [-1, 1], "label", "index", "ok"}``.

    ``memory`` maps keys to uint8 tensors ``(N, 3, S, S)`` for ``memory:<key>`` frames, ``masks`` to
    ``(N, 1, S, S)`` face masks used by self-blending (default: a soft ellipse). An unreadable frame
    comes back with ``ok = False`` and a zero image; ``problems`` lists ``(path, status)`` of videos that
    gave no frame at all. ``fresh_sbi``: self-blends depend on ``self.epoch`` too (training).
    """

    def __init__(
        self,
        frames: list[Frame],
        size: int,
        memory: dict[str, Tensor] | None = None,
        masks: dict[str, Tensor] | None = None,
        seed: int = 0,
        fresh_sbi: bool = False,
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        self.frames, self.size = list(frames), int(size)
        self.memory, self.masks = memory or {}, masks or {}
        self.seed, self.fresh_sbi, self.epoch = int(seed), bool(fresh_sbi), 0
        self.problems = list(problems or [])

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def labels(self) -> np.ndarray:
        return np.asarray([f.label for f in self.frames], np.int64)

    def _real(self, f: Frame) -> Tensor | None:
        if f.path.startswith("memory:"):
            return self.memory[f.path[7:]][f.frame].float() / 127.5 - 1
        image = load_frame(f, self.size)
        return None if image is None else torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1

    def _blend(self, x: Tensor, f: Frame, i: int) -> Tensor:
        key = f.path[7:] if f.path.startswith("memory:") else None
        mask = self.masks[key][f.frame] if key in self.masks else soft_face_mask(self.size)
        entropy = [self.seed, self.epoch, i] if self.fresh_sbi else [self.seed, i]
        g = torch.Generator().manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))
        return quantize(self_blend(x, mask, g)[0])

    def __getitem__(self, i: int) -> dict:
        f = self.frames[i]
        x = self._real(f)
        ok = x is not None
        if not ok:
            x = torch.zeros(3, self.size, self.size)
        elif f.sbi:
            x = self._blend(x, f, i)
        return {"image": x, "label": torch.tensor(float(f.label)), "index": i, "ok": ok}


def with_sbi(frames: list[Frame]) -> list[Frame]:
    """The frames plus one self-blend of every real frame (its own video key: ``<video>#sbi``)."""
    return frames + [Frame(f.path, f.frame, 1, f.video + "#sbi", True) for f in frames if f.label == 0]


def ffpp_split(
    root: str | Path,
    split_file,
    size: int,
    frames_per_video: int = 32,
    fakes: Sequence[str] = ("manipulated",),
    compression: str = "c23",
    methods: Sequence[str] = FFPP_METHODS,
    prefer: str = "frames",
    seed: int = 0,
    fresh_sbi: bool = False,
) -> FrameSet:
    """A :class:`FrameSet` of one FF++ split. ``fakes``: ``manipulated`` (the methods' videos) and/or
    ``sbi`` (self-blends of the originals; SBI's protocol trains on ``[sbi]`` alone)."""
    unknown = set(fakes) - {"manipulated", "sbi"}
    if unknown or not fakes:
        raise ValueError(f"FF++ fakes must be a non-empty subset of [manipulated, sbi], got {list(fakes)}")
    frames, problems = [], []
    for video in scan_ffpp(root, compression, methods, split_file, prefer):
        if video.label == 1 and "manipulated" not in fakes:
            continue
        got, problem = video_frames(video, frames_per_video)
        frames += got
        if problem:
            problems.append((video.path, problem))
    if problems:
        log.warning("%d videos give no frame (first: %s)", len(problems), problems[0])
    frames = with_sbi(frames) if "sbi" in fakes else frames
    if not frames:
        raise DataError(f"the split {split_file} selects no readable frame under {root}")
    return FrameSet(frames, size, seed=seed, fresh_sbi=fresh_sbi, problems=problems)


# ---------------------------------------------------------------- synthetic world + swap models


def world_pairs(world, split: str, n: int, size: int, seed: int) -> dict[str, Tensor]:
    """``n`` (target, source) pairs of distinct identities of a split: ``train`` = the world's train
    identities, ``val`` / ``test`` = the first / second half of its held-out ones. Images
    ``(n, 3, size, size)`` in [-1, 1] on the 8-bit grid, ``target_mask`` ``(n, 1, size, size)``."""
    ids = np.asarray(list(world.identity_ids("train" if split == "train" else "heldout")))
    half = len(ids) // 2
    ids = ids if split == "train" else ids[:half] if split == "val" else ids[half:]
    if split not in SPLITS or len(ids) < 2:
        raise ValueError(f"split {split!r} must be one of {SPLITS} and have >= 2 identities, got {len(ids)}")
    rng = np.random.default_rng([int(seed), SPLITS.index(split), 3301])
    t = rng.integers(0, len(ids), n)
    s = (t + rng.integers(1, len(ids), n)) % len(ids)  # never the target's identity
    t_attr, s_attr = rng.integers(0, 2**31 - 1, n), rng.integers(0, 2**31 - 1, n)
    wsplit = "train" if split == "train" else "heldout"
    out: dict[str, list[Tensor]] = {"target": [], "source": [], "target_mask": []}

    def render(id_idx, attr_idx):
        id_f = torch.stack([world.identity_factors(int(ids[k])) for k in id_idx])
        attr = torch.stack([world.attribute_factors(wsplit, int(a)) for a in attr_idx])
        return world.render(id_f, attr, size)

    for lo in range(0, n, 64):
        sl = slice(lo, lo + 64)
        target, source = render(t[sl], t_attr[sl]), render(s[sl], s_attr[sl])
        out["target"].append(quantize(target.image.float() * 2 - 1))
        out["source"].append(quantize(source.image.float() * 2 - 1))
        out["target_mask"].append(target.mask.float())
    return {k: torch.cat(v) for k, v in out.items()}


def to_uint8(images: Tensor) -> Tensor:
    """``(N, 3, H, W)`` in [-1, 1] -> uint8."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def resolve_fakes(specs: Sequence[str], device: str = "cpu") -> dict[str, str | Callable]:
    """Config fake specs -> {name: "sbi" | swap callable}: ``sbi``, or a deepswap training checkpoint /
    export folder (named by its path)."""
    from deepswap.inference.loader import load_model

    out: dict[str, str | Callable] = {}
    for spec in specs:
        out[str(spec)] = "sbi" if spec == "sbi" else load_model(spec, device)[0].swap
    return out


def synthetic_split(
    world,
    split: str,
    n: int,
    size: int,
    fakes: dict[str, str | Callable],
    seed: int = 0,
    fresh_sbi: bool = False,
    batch_size: int = 64,
) -> FrameSet:
    """A :class:`FrameSet` of ``n`` reals (the pairs' targets) and ``n`` fakes per entry of ``fakes``
    (``"sbi"`` or a callable ``(target, source) -> swap``, all ``(B, 3, H, W)`` in [-1, 1])."""
    pairs = world_pairs(world, split, n, size, seed)
    memory, masks = {"real": to_uint8(pairs["target"])}, {"real": pairs["target_mask"]}
    frames = [Frame("memory:real", i, 0, f"synthetic/{split}/real/{i:06d}") for i in range(n)]
    for name, gen in fakes.items():
        if gen == "sbi":
            frames += [Frame("memory:real", i, 1, f"synthetic/{split}/sbi/{i:06d}", True) for i in range(n)]
            continue
        with torch.no_grad():
            swaps = [
                gen(pairs["target"][i : i + batch_size], pairs["source"][i : i + batch_size]).float().cpu()
                for i in range(0, n, batch_size)
            ]
        memory[name] = to_uint8(torch.cat(swaps))
        frames += [Frame(f"memory:{name}", i, 1, f"synthetic/{split}/{name}/{i:06d}") for i in range(n)]
    return FrameSet(frames, size, memory, masks, seed=seed, fresh_sbi=fresh_sbi)
