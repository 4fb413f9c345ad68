"""Aligned face crops in an identity folder: ``root/<identity>/<image>.{jpg,png,...}``.

This is how VGGFace2-HQ, CelebA-HQ-by-identity and the output of ``deepswap.prepare`` arrive.
Unreadable images are skipped, counted and reported; too many of them stop the run.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch

from deepswap.errors import DeepswapError

log = logging.getLogger(__name__)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class DataError(DeepswapError, RuntimeError):
    """A data problem the user can fix; the message says what and how."""


def read_rgb(path: str | Path, size: int | None = None) -> np.ndarray | None:
    """Read an image as ``(H, W, 3)`` uint8 RGB, resized to ``size`` (INTER_AREA); None if unreadable."""
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None and data.size else None
    if image is None:
        return None
    if size is not None and image.shape[:2] != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class IdentityFolder:
    """Index of an identity folder. ``labels[i]`` is image i's identity index; ``by_identity[k]`` its images.

    Args:
        root: folder holding one sub-folder per identity.
        size: crops are resized to ``size x size`` (INTER_AREA) when they differ.
        max_bad_fraction: stop if more than this share of the images cannot be decoded.
        verify: decode every image once at start-up (threads) to find unreadable ones.
        min_images_per_identity: identities with fewer images are left out (reported).
    """

    def __init__(
        self,
        root: str | Path,
        size: int,
        max_bad_fraction: float = 0.01,
        verify: bool = True,
        min_images_per_identity: int = 1,
        num_threads: int = 8,
    ):
        self.root, self.size = Path(root).expanduser(), int(size)
        files = self._scan(min_images_per_identity)
        if verify:
            files = self._verify(files, max_bad_fraction, num_threads)
        self.paths = [p for p, _ in files]
        names = sorted({n for _, n in files})
        index = {n: k for k, n in enumerate(names)}
        self.identity_names = names
        self.labels = [index[n] for _, n in files]
        self.by_identity: dict[int, list[int]] = {}
        for i, k in enumerate(self.labels):
            self.by_identity.setdefault(k, []).append(i)

    def _scan(self, min_images: int) -> list[tuple[Path, str]]:
        expected = f"one sub-folder per identity holding aligned face crops ({', '.join(IMAGE_EXTENSIONS)})"
        if not self.root.is_dir():
            raise DataError(
                f"data root {self.root} does not exist. Expected a folder with {expected}; "
                "set data.root=/path/to/faces (or run `python -m deepswap.prepare`)."
            )
        files, skipped = [], 0
        for sub in sorted(p for p in self.root.iterdir() if p.is_dir()):
            images = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
            if len(images) < min_images:
                skipped += 1
                continue
            files += [(p, sub.name) for p in images]
        if not files:
            raise DataError(
                f"data root {self.root} holds no images. Expected {expected}, "
                f"e.g. {self.root}/person_0001/0001.jpg."
            )
        if skipped:
            log.warning(
                "%d identities under %s have fewer than %d images and are left out",
                skipped,
                self.root,
                min_images,
            )
        return files

    def _verify(self, files, max_bad_fraction: float, num_threads: int):
        with ThreadPoolExecutor(num_threads) as pool:
            ok = list(pool.map(lambda f: read_rgb(f[0], 8) is not None, files))
        bad = [f[0] for f, good in zip(files, ok) if not good]
        if bad:
            share = len(bad) / len(files)
            shown = "\n  ".join(str(p) for p in bad[:10])
            msg = (
                f"{len(bad)} of {len(files)} images under {self.root} cannot be decoded "
                f"({share:.2%}); skipped. First ones:\n  {shown}"
            )
            if share > max_bad_fraction:
                raise DataError(
                    msg + f"\nThat is more than data.max_bad_fraction={max_bad_fraction}: "
                    "fix or remove the files, or raise the limit."
                )
            log.warning(msg)
        self.num_unreadable = len(bad)
        return [f for f, good in zip(files, ok) if good]

    def __len__(self) -> int:
        return len(self.paths)

    def load_array(self, i: int) -> np.ndarray:
        """Image i as ``(size, size, 3)`` uint8 RGB."""
        image = read_rgb(self.paths[i], self.size)
        if image is None:
            raise DataError(f"cannot decode {self.paths[i]} (it was readable at start-up: was it changed?)")
        return image

    def load(self, i: int) -> torch.Tensor:
        """Image i as ``(3, size, size)`` float in [0, 1]."""
        return torch.from_numpy(self.load_array(i)).permute(2, 0, 1).float() / 255.0
