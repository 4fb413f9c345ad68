"""Provenance for every deepswap output: a metadata record and an invisible watermark.

Images are ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA or ``(H, W)`` grey ``uint8`` numpy arrays.

**Metadata.** :func:`save_image` writes PNG (iTXt chunk ``deepswap:provenance``), JPEG (COM comment
and EXIF ImageDescription) or WebP (EXIF ImageDescription) carrying a JSON record: ``synthetic: true``,
``generator: "deepswap"``, version, UTC time, the IPTC digital source type ``trainedAlgorithmicMedia``
and whatever the caller adds (model, checkpoint). :func:`read_metadata` reads it back. Videos:
:func:`video_metadata_args` gives ``-metadata comment=<json>`` for an ffmpeg muxing step;
:func:`tag_video` remuxes a file in place with ffmpeg (from PATH or the optional ``imageio-ffmpeg``);
without ffmpeg it writes ``<video>.provenance.json`` next to the file and raises ``RuntimeError``.
Most re-encoders, screenshots and upload pipelines drop this metadata, hence the watermark.

**Watermark.** Spread-spectrum in the DCT domain (Cox et al., "Secure spread spectrum watermarking
for multimedia", IEEE TIP 1997) with informed embedding (Cox, Miller & McKellips, "Watermarking as
communications with side information", Proc. IEEE 1999). The luminance is resized to a canonical
256x256 image, so the mark lives at fixed frequencies of the picture whatever its size. A key-seeded
sign pattern w (+-1) is assigned to the ~1100 DCT coefficients with radius in [12, 40) (6 to 20
cycles across the picture: present after halving a 64-pixel image, coarse enough for JPEG's 8x8
blocks to keep). :func:`embed` pushes coefficients to agree in sign with w by a margin, cheapest
first, until an energy budget of ``strength`` grey levels RMS is spent (PSNR ~ 20 log10(255 /
strength), 40 dB by default), and adds the resized difference to R, G and B alike. :func:`verify`
computes z = sum(w_i x_i) / ||x|| with x_i = sign(c_i) min(1, (36 / |c_i|)^3) (coefficients far
larger than the margin carry no information and are damped), and again with w mirrored (a
left-right flip only changes the sign of odd columns), keeping the larger. On an unmarked image x
does not depend on the key, so each z is a weighted sum of fair +-1 coins: mean 0, variance 1,
P(z >= t) <= exp(-t^2 / 2) by Hoeffding; the threshold 6 bounds the false-positive rate by
2 exp(-18) = 3e-8 per image and key.

**Video.** Under camera motion an informed mark changes from frame to frame (it pushes the
coefficients each picture needs least), which reads as flicker. :class:`VideoMarker` therefore marks
still shots at the image strength and moving ones at ``DEFAULT_VIDEO_STRENGTH`` (0.75 grey levels
RMS), and :func:`verify_frames` / :func:`verify_video` pool the frames' evidence before the one
correlation: the false-positive bound is unchanged, and on a pan the score grows about as the square
root of the frame count. Single weakly marked frames may fall under the threshold; any third of a
second of a pan verifies (benchmark figures at ``DEFAULT_VIDEO_STRENGTH``).

``python -m deepswap.provenance FILE...`` prints each file's metadata record and watermark verdict.

Limits: the mark survives JPEG, resizing, mirroring, grey conversion, mild blur and brightness or
contrast changes; not cropping, rotation or heavy blur, nor JPEG after halving a 128-pixel image to
64. It is not cryptographically robust: anyone with the code and the key (the default key is
public) can find and remove it, and an attacker can weaken it without the key.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

from deepswap import __version__

METADATA_KEY = "deepswap:provenance"
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
WATERMARK_SCHEME = "deepswap-dct-sign-v1"
DEFAULT_KEY = int.from_bytes(b"deepswap", "big")
DEFAULT_STRENGTH = 2.5  # RMS luminance change in grey levels
# Video frames: under camera motion the informed mark changes from frame to frame, which reads as
# flicker (a 720p pan over a crowd: +1.20 grey levels of motion-compensated change at 2.5, +0.19 at
# 0.75, +0.11 at 0.5), so moving video is marked weaker and verified by pooling frames
# (verify_frames): at 0.75 the weakest 8-frame window of the benchmark's pans scores 9.0 and 14.3,
# also after JPEG 75 + half, single frames 4.7-5.2 at worst (bench_video_watermark.py;
# experiments/benchmarks/results/real_pipeline_flicker_2026-12-03b.md).
DEFAULT_VIDEO_STRENGTH = 0.75
MIN_VIDEO_STRENGTH = 0.5  # there a slow pan's weakest 8-frame window scores 5.1, 25 frames 8.1
DEFAULT_THRESHOLD = 6.0
MIN_EMBED_SIDE, MIN_VERIFY_SIDE = 64, 32

_N = 256  # canonical side
_BAND = (12.0, 40.0)  # DCT radius range at the canonical size
_MARGIN = 16.0  # target |c_i| of pushed coefficients (canonical orthonormal DCT units)
_DAMP = 36.0  # coefficients above this magnitude are down-weighted by (_DAMP / |c|)^3
_KEEP = 0.8  # verify uses indices below 0.8 x the received image's side (the rest was resampled away)
_EXIF_DESCRIPTION, _EXIF_SOFTWARE = 0x010E, 0x0131

_U, _V = np.mgrid[:_N, :_N]
_R = np.hypot(_U, _V)
_MASK = (_R >= _BAND[0]) & (_R < _BAND[1]) & (_U >= 1) & (_V >= 1)
_BAND_U, _BAND_V = _U[_MASK], _V[_MASK]
_MIRROR = np.where(_BAND_V % 2 == 0, 1.0, -1.0).astype(np.float32)  # DCT of a left-right flip: (-1)^v


@dataclass(frozen=True)
class VerifyResult:
    """``detected = score >= threshold``; ``score`` is ~N(0, 1) on unmarked images."""

    detected: bool
    score: float
    threshold: float

    def __bool__(self) -> bool:
        return self.detected


# ----------------------------------------------------------------------------------------- watermark
@functools.lru_cache(maxsize=16)
def _signs(key: int) -> np.ndarray:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or key < 0:
        raise ValueError(f"key must be a non-negative integer, got {key!r}")
    w = np.random.default_rng(int(key)).integers(0, 2, int(_MASK.sum())).astype(np.float32) * 2 - 1
    w.flags.writeable = False
    return w


def _as_image(image, min_side: int) -> np.ndarray:
    if isinstance(image, (str, Path)):
        with Image.open(image) as im:
            image = np.asarray(im.convert("RGB"))
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(
            "expected a uint8 numpy image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got "
            f"{type(image).__name__} {getattr(image, 'dtype', '')}: convert a [0, 1] float image with "
            "(x * 255).round().astype(np.uint8)"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"expected an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")
    if min(image.shape[:2]) < min_side:
        raise ValueError(f"image sides must be at least {min_side} pixels, got {image.shape[:2]}")
    return image


_LUMA = np.array([[0.299, 0.587, 0.114]], np.float32)  # Rec. 601 weights of R, G, B


def _luma(image: np.ndarray) -> np.ndarray:
    """float32 luminance (RGBA: alpha ignored), in one OpenCV pass."""
    x = image.astype(np.float32)
    if x.ndim == 2:
        return x
    return cv2.transform(np.ascontiguousarray(x[..., :3]) if x.shape[2] == 4 else x, _LUMA)


def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area averaging along an axis that shrinks (no aliasing), bilinear along one that grows."""
    h, w = a.shape[:2]
    if (width - w) * (height - h) < 0:  # one axis shrinks, the other grows: one axis at a time
        return _resize(_resize(a, width, h), width, height)
    interp = cv2.INTER_AREA if width < w or height < h else cv2.INTER_LINEAR
    return cv2.resize(a, (width, height), interpolation=interp)


def _canonical_dct(image: np.ndarray) -> np.ndarray:
    return cv2.dct(_resize(_luma(image), _N, _N))


def embed(
    image: np.ndarray, key: int = DEFAULT_KEY, strength: float = DEFAULT_STRENGTH, *, _canonical=None
) -> np.ndarray:
    """Watermark ``image`` (uint8, sides >= 64) -> a new uint8 array of the same shape.

    ``strength`` is the RMS luminance change in grey levels (the same change is added to R, G, B).
    """
    shape = np.shape(image)
    image = _as_image(image, MIN_EMBED_SIDE)
    if not strength > 0:
        raise ValueError(f"strength must be > 0, got {strength}")
    w = _signs(key)
    canonical = _resize(_luma(image), _N, _N) if _canonical is None else _canonical
    agreement = w * cv2.dct(canonical)[_MASK]
    deficit = np.maximum(0.0, _MARGIN - agreement)
    order = np.argsort(deficit, kind="stable")  # cheapest first: already-agreeing ones cost nothing
    chosen = order[np.cumsum(deficit[order] ** 2) <= (strength * _N) ** 2]
    coeffs = np.zeros((_N, _N), np.float32)
    coeffs[_BAND_U[chosen], _BAND_V[chosen]] = w[chosen] * deficit[chosen]
    h, wd = image.shape[:2]
    delta = cv2.resize(cv2.idct(coeffs), (wd, h), interpolation=cv2.INTER_LINEAR)  # band-limited
    # image + delta in float32, rounded half to even and saturated to [0, 255], in one OpenCV pass
    # (equal to numpy's clip(rint(image + delta)); a 720p frame takes about a third of the time)
    if image.ndim == 2:
        out = cv2.add(image, delta, dtype=cv2.CV_8U)
    else:
        planes = (delta,) * 3 + ((np.zeros_like(delta),) if image.shape[2] == 4 else ())
        out = cv2.add(image, cv2.merge(planes), dtype=cv2.CV_8U)
    return out.reshape(shape if len(shape) == 3 else out.shape)


class VideoMarker:
    """Watermarks the frames of one video, in order, with a strength that follows the motion.

    A still shot gets ``still_strength`` (the image default: its mark does not change from frame to
    frame, so it costs no flicker and every frame verifies alone); once the picture moves, frames
    get ``strength`` (weaker: verified by pooling frames, :func:`verify_frames`). The picture counts
    as still after ``settle`` frames in a row whose canonical 256 x 256 luminance changed by less
    than ``still_below`` grey levels on average (codec noise is ~0.1-0.6; a slow zoom over a
    portrait ~2, a fast pan over a crowd ~30). Call it on every frame, also on those it should not
    mark (``mark=False``), so that it sees the motion.
    """

    def __init__(
        self,
        key: int = DEFAULT_KEY,
        strength: float = DEFAULT_VIDEO_STRENGTH,
        still_strength: float = DEFAULT_STRENGTH,
        still_below: float = 0.75,
        settle: int = 3,
    ):
        if not strength >= MIN_VIDEO_STRENGTH or not still_strength >= strength:
            raise ValueError(
                f"need {MIN_VIDEO_STRENGTH} <= strength <= still_strength, got {strength}, {still_strength}"
            )
        self.key, self.strength, self.still_strength = key, float(strength), float(still_strength)
        self.still_below, self.settle = float(still_below), int(settle)
        self._previous, self._still = None, self.settle  # a video starts as still
        self.strengths: list[float] = []  # of the marked frames, in order

    def __call__(self, frame: np.ndarray, mark: bool = True) -> np.ndarray:
        frame = _as_image(frame, 1)
        small = min(frame.shape[:2]) < MIN_EMBED_SIDE
        canonical = None if small else _resize(_luma(frame), _N, _N)
        if canonical is not None and self._previous is not None:
            moved = float(cv2.norm(canonical, self._previous, cv2.NORM_L1)) / canonical.size
            self._still = self._still + 1 if moved < self.still_below else 0
        self._previous = canonical
        if not mark or small:
            return frame
        strength = self.still_strength if self._still >= self.settle else self.strength
        self.strengths.append(strength)
        return embed(frame, self.key, strength, _canonical=canonical)


def _evidence(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the band's kept indices, x: each kept coefficient's damped sign), x independent of any key."""
    h, wd = image.shape[:2]
    keep = (_BAND_U < _KEEP * h) & (_BAND_V < _KEEP * wd)
    c = _canonical_dct(image)[_MASK][keep]
    return keep, np.sign(c) * np.minimum(1.0, (_DAMP / np.maximum(np.abs(c), 1e-6)) ** 3)


def _score(keep: np.ndarray, x: np.ndarray, key: int) -> float:
    w = _signs(key)
    norm = float(np.linalg.norm(x))
    return max(float(w[keep] @ x), float((w * _MIRROR)[keep] @ x)) / norm if norm > 0 else 0.0


def verify(image, key: int = DEFAULT_KEY, threshold: float = DEFAULT_THRESHOLD) -> VerifyResult:
    """Detect the watermark in ``image`` (uint8 array with sides >= 32, or an image file path)."""
    score = _score(*_evidence(_as_image(image, MIN_VERIFY_SIDE)), key)
    return VerifyResult(detected=score >= threshold, score=score, threshold=float(threshold))


@dataclass(frozen=True)
class VideoVerifyResult(VerifyResult):
    """:func:`verify_frames`: ``score`` pools every frame; ``frame_scores`` are each frame's own."""

    frames: int = 0
    frame_scores: tuple[float, ...] = ()


def verify_frames(frames, key: int = DEFAULT_KEY, threshold: float = DEFAULT_THRESHOLD) -> VideoVerifyResult:
    """Detect the watermark in a sequence of frames (uint8 arrays of one size) by pooling them.

    The evidence vectors x of the frames are summed before the one correlation, z = w.X / ||X||
    with X = sum_k x_k (the better of the plain and the mirrored pattern, as in :func:`verify`). X
    does not depend on the key, so on unmarked video z is still a weighted sum of fair +-1 coins and
    the threshold keeps its false-positive bound (3e-8 per clip and key), however many frames and
    however alike they are. On marked frames the mark adds up in step while the picture's own signs
    change as the camera moves: a pan's pooled score grows about as the square root of the frame
    count, so a clip verifies where single frames of a weaker mark would not. A static shot gains
    nothing (its frames carry the same evidence), and needs nothing (its mark does not flicker).
    """
    total, keep, shape, scores = None, None, None, []
    for frame in frames:
        frame = _as_image(frame, MIN_VERIFY_SIDE)
        if shape is not None and frame.shape[:2] != shape:
            raise ValueError(f"all frames must have one size: got {frame.shape[:2]} after {shape}")
        shape = frame.shape[:2]
        keep, x = _evidence(frame)
        total = x if total is None else total + x
        scores.append(_score(keep, x, key))
    if total is None:
        raise ValueError("no frames to verify")
    score = _score(keep, total, key)
    return VideoVerifyResult(
        detected=score >= threshold,
        score=score,
        threshold=float(threshold),
        frames=len(scores),
        frame_scores=tuple(scores),
    )


def verify_video(
    path: str | Path,
    key: int = DEFAULT_KEY,
    threshold: float = DEFAULT_THRESHOLD,
    max_frames: int | None = None,
) -> VideoVerifyResult:
    """:func:`verify_frames` on a video file's frames (the first ``max_frames``; default all)."""
    from deepswap.faces.video import iter_frames

    frames = iter_frames(path)
    if max_frames is not None:
        frames = (f for _, f in zip(range(max_frames), frames))
    return verify_frames(frames, key=key, threshold=threshold)


# ------------------------------------------------------------------------------------------ metadata
def provenance_record(metadata: dict | None = None) -> dict:
    """The JSON record written everywhere: defaults, then ``metadata``; ``synthetic`` and ``generator``
    cannot be overridden. Passing a record again keeps its time and version."""
    record = {
        "synthetic": True,
        "generator": "deepswap",
        "version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "watermark": WATERMARK_SCHEME,
    }
    record.update(metadata or {})
    record.update(synthetic=True, generator="deepswap")
    try:
        json.dumps(record)
    except TypeError as e:
        raise TypeError(f"provenance metadata must be JSON-serialisable: {e}") from None
    return record


def _parse(text) -> dict | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        record = json.loads(text)
    except (TypeError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("generator") == "deepswap" else None


def save_image(path: str | Path, image: np.ndarray, metadata: dict | None = None, quality: int = 95) -> Path:
    """Write ``image`` (uint8 RGB/RGBA/grey) as PNG, JPEG or WebP with the provenance record.

    This writes metadata only; watermark first with :func:`embed` or use :func:`mark`.
    """
    path = Path(path)
    fmt = IMAGE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot save {path.name!r}: supported extensions are {', '.join(IMAGE_FORMATS)}")
    image = _as_image(image, 1)
    if fmt == "JPEG" and image.ndim == 3 and image.shape[2] == 4:
        raise ValueError("JPEG has no alpha channel: save RGBA images as .png or .webp")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    text = json.dumps(provenance_record(metadata))
    kwargs: dict = {}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(METADATA_KEY, text)
        info.add_text("Software", f"deepswap {__version__}")
        kwargs["pnginfo"] = info
    else:
        exif = Image.Exif()
        exif[_EXIF_DESCRIPTION], exif[_EXIF_SOFTWARE] = text, f"deepswap {__version__}"
        kwargs.update(exif=exif, quality=quality)
        if fmt == "JPEG":
            kwargs["comment"] = text
    try:
        Image.fromarray(image).save(path, format=fmt, **kwargs)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}") from e
    return path


def sidecar_path(path: str | Path) -> Path:
    """``<file>.provenance.json``: where provenance goes when the file itself cannot hold it."""
    path = Path(path)
    return path.with_name(path.name + ".provenance.json")


def read_metadata(path: str | Path) -> dict | None:
    """The provenance record of an image or video file, or ``None`` when it carries none.

    Images: PNG text chunk, JPEG comment, EXIF ImageDescription. Other files: the container comment
    (needs ``ffprobe`` on PATH), then the ``<file>.provenance.json`` sidecar.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix.lower() in IMAGE_FORMATS:
        with Image.open(path) as im:
            found = [im.info.get(METADATA_KEY), im.info.get("comment"), im.getexif().get(_EXIF_DESCRIPTION)]
        return next((r for r in map(_parse, found) if r is not None), None)
    ffprobe = shutil.which("ffprobe")
    if ffprobe:
        cmd = [ffprobe, "-v", "error", "-show_entries", "format_tags=comment", "-of", "json", str(path)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        try:
            tags = json.loads(out.stdout)["format"]["tags"]
        except (ValueError, KeyError, TypeError):
            tags = {}
        record = _parse(next((v for k, v in tags.items() if k.lower() == "comment"), None))
        if record is not None:
            return record
    side = sidecar_path(path)
    return _parse(side.read_text()) if side.is_file() else None


# --------------------------------------------------------------------------------------------- video
def _ffmpeg() -> str | None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        try:
            import imageio_ffmpeg  # optional, not a deepswap dependency

            exe = imageio_ffmpeg.get_ffmpeg_exe()
        except Exception:  # noqa: BLE001 - not installed or its binary is missing
            exe = None
    return exe


def video_metadata_args(metadata: dict | None = None) -> list[str]:
    """ffmpeg arguments that put the provenance record in the container's ``comment`` tag."""
    return ["-metadata", f"comment={json.dumps(provenance_record(metadata))}"]


def tag_video(path: str | Path, metadata: dict | None = None) -> Path:
    """Write the provenance record into a video container in place (stream copy, no re-encoding).

    Without ffmpeg, writes ``<video>.provenance.json`` next to it and raises ``RuntimeError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    record = provenance_record(metadata)
    exe = _ffmpeg()
    if exe is None:
        sidecar_path(path).write_text(json.dumps(record, indent=2))
        raise RuntimeError(
            f"no ffmpeg found, so {path.name} is not tagged; its provenance was written to "
            f"{sidecar_path(path)} instead. Install ffmpeg (apt-get install ffmpeg, conda install -c "
            "conda-forge ffmpeg, or pip install imageio-ffmpeg) to tag the container itself."
        )
    tmp = path.with_name(f".{path.stem}.tagging{path.suffix}")
    cmd = [exe, "-y", "-v", "error", "-i", str(path), "-map", "0", "-c", "copy"]
    done = subprocess.run([*cmd, *video_metadata_args(record), str(tmp)], capture_output=True, text=True)
    if done.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not tag {path}: {done.stderr.strip()[-500:]}")
    os.replace(tmp, path)
    return path


def mark(
    image: np.ndarray,
    metadata: dict | None = None,
    *,
    path: str | Path | None = None,
    key: int = DEFAULT_KEY,
    strength: float = DEFAULT_STRENGTH,
) -> np.ndarray:
    """Both layers in one call: watermark ``image`` and, with ``path``, save it with the metadata
    record (without ``path`` the metadata is only checked). Returns the watermarked array."""
    record = provenance_record(metadata)
    marked = embed(image, key=key, strength=strength)
    if path is not None:
        save_image(path, marked, record)
    return marked


# ----------------------------------------------------------------------------------------------- CLI
def check(path: str | Path, key: int = DEFAULT_KEY) -> str:
    """One line on a file's provenance: its metadata record and its watermark (videos: pooled)."""
    from deepswap.faces.video import MediaError, is_video

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        record = read_metadata(path)
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    if record is None:
        meta = "no metadata"
    else:
        meta = f"metadata: deepswap {record.get('version', '?')}, {record.get('created', '?')}"
    try:
        if is_video(path):
            found = verify_video(path, key=key)
            where = f"pooled over {found.frames} frames"
        else:
            found, where = verify(path, key=key), "image"
    except (OSError, ValueError, MediaError) as e:
        return f"{path}: {meta}; watermark not checked ({e})"
    verdict = "watermark found" if found.detected else "no watermark"
    return f"{path}: {meta}; {verdict} (score {found.score:.1f}, threshold {found.threshold:g}, {where})"


def main(argv=None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m deepswap.provenance", description="Check images and videos for deepswap's provenance."
    )
    parser.add_argument("files", nargs="+", help="images or videos")
    parser.add_argument(
        "--key", type=int, default=DEFAULT_KEY, help="watermark key (default: the public one)"
    )
    args = parser.parse_args(argv)
    code = 0
    for name in args.files:
        try:
            print(check(name, args.key))
        except (FileNotFoundError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            code = 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
