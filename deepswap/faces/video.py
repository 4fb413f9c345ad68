"""Image and video files as (H, W, 3) uint8 RGB arrays, through OpenCV (no ffmpeg binary needed).

Writing: ``.mp4`` uses the ``mp4v`` codec (MPEG-4 Part 2) and ``.avi`` ``MJPG``: the two this OpenCV
build (5.0, pip wheel with its own FFmpeg libraries) writes everywhere; H.264 (``avc1``) needs an
encoder the wheel lacks. OpenCV neither reads nor writes audio.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from deepswap.errors import DeepswapError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
WRITE_CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


class MediaError(DeepswapError, ValueError):
    """An input cannot be read, a format is not supported or an output cannot be written."""


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | Path) -> np.ndarray:
    """Image file -> (H, W, 3) uint8 RGB (EXIF orientation applied, alpha dropped, grey expanded)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"cannot read {path}: no such file")
    data = np.fromfile(path, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaError(f"cannot read {path}: not an image OpenCV can decode")
    return np.ascontiguousarray(image[..., ::-1])


def load_rgb(item) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array (checked, returned as is) or an image path (read)."""
    if isinstance(item, np.ndarray):
        if item.dtype != np.uint8 or item.ndim != 3 or item.shape[2] != 3:
            raise MediaError(f"expected an (H, W, 3) uint8 RGB image, got {item.dtype} {item.shape}")
        return item
    return read_image(item)


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 RGB image without provenance (for unmodified pass-through outputs)."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise MediaError(f"cannot encode {path.name}: unsupported image format")
    try:
        buf.tofile(path)
    except OSError as e:
        raise MediaError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def video_info(path: str | Path) -> dict:
    """{"fps", "frames" (container's estimate; may be 0), "width", "height"}; raises MediaError."""
    cap = _open(path)
    try:
        return {
            "fps": float(cap.get(cv2.CAP_PROP_FPS)) or 25.0,
            "frames": max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        }
    finally:
        cap.release()


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decode a video -> (H, W, 3) uint8 RGB frames; MediaError if it has none."""
    cap = _open(path)
    try:
        count = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            count += 1
            yield np.ascontiguousarray(frame[..., ::-1])
        if count == 0:
            raise MediaError(f"cannot read {path}: no decodable video frame")
    finally:
        cap.release()


_DONE = object()


def prefetch(items: Iterable, depth: int = 8) -> Iterator:
    """Iterate ``items`` in a background thread, at most ``depth`` ahead -> the same items, in order.

    For :func:`iter_frames`: OpenCV releases the GIL while it decodes, so decoding overlaps the
    caller's work. An exception raised by ``items`` is raised here, at the item where it happened.
    Closing the iterator early (``break``, garbage collection) stops the thread."""
    buffer: queue.Queue = queue.Queue(max(int(depth), 1))
    stop = threading.Event()

    def put(entry) -> bool:  # False once the consumer has stopped
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    break
            else:
                put((_DONE, None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            put((_DONE, e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name="deepswap-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _open(path: str | Path) -> cv2.VideoCapture:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"cannot read {path}: no such file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise MediaError(f"cannot read {path}: not a video OpenCV can decode")
    return cap


class VideoWriter:
    """``write(rgb_frame)`` to ``path`` (.mp4: mp4v, .avi: MJPG) at ``fps``; a context manager.

    ``background=True`` encodes in a worker thread (OpenCV releases the GIL while it encodes), up to
    ``depth`` frames behind: ``write`` returns once the frame is queued, and ``close`` waits for the
    rest. An encoder error is raised by the next ``write`` or by ``close``. Either way the frames are
    written in order, and ``frames`` counts those handed to ``write``; a frame must not be changed
    after it is handed over."""

    def __init__(
        self, path: str | Path, fps: float, size: tuple[int, int], background: bool = False, depth: int = 8
    ):
        self.path = Path(path)
        codec = WRITE_CODECS.get(self.path.suffix.lower())
        if codec is None:
            raise MediaError(
                f"cannot write {self.path.name}: video output must be one of {', '.join(WRITE_CODECS)}"
            )
        check_writable(self.path)
        self.size = (int(size[0]), int(size[1]))  # (width, height)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*codec), float(fps), self.size)
        if not self._writer.isOpened():
            raise MediaError(f"cannot write {self.path}: OpenCV could not open a {codec} writer")
        self.frames = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(max(int(depth), 1))
            self._thread = threading.Thread(target=self._encode, name="deepswap-encode", daemon=True)
            self._thread.start()

    def _encode(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is None:
                try:
                    self._writer.write(np.ascontiguousarray(frame[..., ::-1]))
                except BaseException as e:  # noqa: BLE001 - raised by the next write() or close()
                    self._error = e

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise MediaError(f"cannot write {self.path}: the video encoder failed ({error})") from error

    def write(self, frame: np.ndarray) -> None:
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(
                f"frame is {frame.shape[1]}x{frame.shape[0]}, the video {self.size[0]}x{self.size[1]}"
            )
        self._raise()
        if self._queue is not None:
            self._queue.put(frame)
        else:
            self._writer.write(np.ascontiguousarray(frame[..., ::-1]))
        self.frames += 1

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._writer.release()
        self._raise()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # already failing: do not hide that error behind an encoder one
            self.close()
        except MediaError:
            pass


def check_writable(path: str | Path) -> Path:
    """Raise MediaError unless ``path``'s folder exists and is writable (and ``path`` is not a folder)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise MediaError(f"cannot write {path}: it is a folder")
    if not parent.is_dir():
        raise MediaError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise MediaError(f"cannot write {path}: permission denied")
    return path


def copy_audio(source: str | Path, video: str | Path) -> str:
    """Copy ``source``'s audio track (if any) into ``video`` in place with ffmpeg -> what happened.

    OpenCV writes video only; without ``ffmpeg`` on PATH the audio is lost (the message says so).
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return "dropped: no ffmpeg on PATH (OpenCV writes video only); install ffmpeg to keep audio"
    video = Path(video)
    tmp = video.with_name(f".{video.stem}.audio{video.suffix}")
    cmd = [ffmpeg, "-y", "-v", "error", "-i", str(video), "-i", str(source), "-map", "0:v:0", "-map", "1:a?"]
    for codec in ("copy", "aac"):  # stream copy unless the container refuses the codec
        done = subprocess.run(
            [*cmd, "-c:v", "copy", "-c:a", codec, "-shortest", str(tmp)], capture_output=True
        )
        if done.returncode == 0 and tmp.is_file():
            os.replace(tmp, video)
            return f"copied from the input, if it had any (ffmpeg, audio codec {codec})"
        tmp.unlink(missing_ok=True)
    return "dropped: ffmpeg could not copy the input's audio"
