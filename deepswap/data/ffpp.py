"""FaceForensics++ real videos as swap training data, split by FF++'s official lists.

Layout: aligned frames under ``root/<video id>/<frame>.png`` (e.g. ``root/071/0000.png``), made from
``original_sequences/youtube/<compression>/videos`` with ``python -m deepswap.prepare``, or the FF++
tree that :mod:`deepswap.detection.data` reads (``root/original_sequences/youtube/<compression>/
frames/<video id>/``); each video is one identity. The official splits
(``dataset/splits/{train,val,test}.json`` of the FaceForensics repository) are lists of pairs
``[["071", "054"], ...]``: 360 / 70 / 70 pairs, i.e. 720 / 140 / 140 videos. Training pairs come from
the train videos, validation pairs from the val videos; the test videos are never read here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from deepswap.data.augment import build_augment
from deepswap.data.datamodule import VAL_SEED_OFFSET, FolderDataModule, _subset
from deepswap.data.folder import DataError, IdentityFolder
from deepswap.data.pairs import FolderPairs

log = logging.getLogger(__name__)
OFFICIAL_VIDEOS = {"train": 720, "val": 140, "test": 140}


def read_split(split: str | Path | Sequence) -> list[tuple[str, str]]:
    """An official FF++ split (a JSON file, or its content: a list of ``[target, source]`` video-id pairs)
    -> the pairs. Shared by training (:class:`FFPPDataModule`) and detection (``deepswap.detect``)."""
    pairs = split
    if isinstance(split, (str, Path)):
        path = Path(split).expanduser()
        if not path.is_file():
            raise DataError(
                f"FF++ split file {path} does not exist: supply the official train.json / val.json / "
                "test.json (FaceForensics repository, dataset/splits/)"
            )
        try:
            pairs = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise DataError(f"FF++ split file {path} is not valid JSON ({e})") from None
    if not isinstance(pairs, list) or not all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, (str, int)) for v in p)
        for p in pairs
    ):
        raise DataError(f'FF++ split {split!r} must be a list of pairs of video ids, e.g. [["071", "054"]]')
    return [(str(a), str(b)) for a, b in pairs]


def read_ffpp_split(path: str | Path) -> list[str]:
    """The sorted video ids of an official FF++ split file."""
    return sorted({v for pair in read_split(path) for v in pair})


class FFPPDataModule(FolderDataModule):
    """Swap pairs from FF++ frames (identity = video id), train/val videos from the official split files.

    Args:
        root: aligned frames, one sub-folder per video id; or an FF++ tree holding
            ``original_sequences/youtube/<compression>/frames/<video id>/``.
        split_file: the official ``train.json``.
        val_split_file: the official ``val.json``; None: ``val.json`` next to ``split_file``.
        compression: the FF++ quality the frames were taken from (``raw``, ``c23``, ``c40``).
        Other arguments as :class:`~deepswap.data.datamodule.FolderDataModule`.
    """

    def __init__(
        self,
        root: str,
        split_file: str,
        val_split_file: str | None = None,
        compression: str = "c23",
        **kwargs,
    ):
        super().__init__(root, **kwargs)
        if split_file in (None, "", "???"):
            raise DataError(
                "data.split_file is not set: point it at FF++'s official train.json "
                "(FaceForensics repository, dataset/splits/train.json)"
            )
        if compression not in ("raw", "c23", "c40"):
            raise DataError(f"data.compression must be raw, c23 or c40 (FF++ quality), got {compression!r}")
        self.split_file = Path(split_file).expanduser()
        self.val_split_file = Path(val_split_file or self.split_file.with_name("val.json")).expanduser()
        self.compression = compression

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        splits = {"train": read_ffpp_split(self.split_file), "val": read_ffpp_split(self.val_split_file)}
        overlap = sorted(set(splits["train"]) & set(splits["val"]))
        if overlap:
            raise DataError(f"{len(overlap)} videos are in both train and val splits, e.g. {overlap[:5]}")
        for name, ids in splits.items():
            if len(ids) != OFFICIAL_VIDEOS[name]:
                log.warning("%s split lists %d videos (official: %d)", name, len(ids), OFFICIAL_VIDEOS[name])
        folder = IdentityFolder(self.frames_root(), self.size, self.max_bad_fraction)
        index = {n: k for k, n in enumerate(folder.identity_names)}
        subsets = {}
        for name, ids in splits.items():
            missing = [v for v in ids if v not in index]
            if missing:
                raise DataError(
                    f"{len(missing)} videos of the {name} split have no frames under "
                    f"{folder.root}, e.g. {missing[:5]}; expected {folder.root}/{missing[0]}/0000.png"
                )
            keep = {index[v] for v in ids}
            subsets[name] = _subset(folder, [i for i, k in enumerate(folder.labels) if k in keep])
        augment = build_augment(self.augment_cfg, self.seed)
        self.train_set = FolderPairs(subsets["train"], self.train_length, self.same_ratio, self.seed, augment)
        self.val_set = FolderPairs(subsets["val"], self.val_pairs, 0.0, self.seed + VAL_SEED_OFFSET, None)

    def frames_root(self) -> Path:
        """``root``, or its ``original_sequences/youtube/<compression>/frames`` when it is an FF++ tree."""
        root = Path(self.root).expanduser()
        tree = root / "original_sequences" / "youtube" / self.compression / "frames"
        return tree if tree.is_dir() else root


__all__ = ["FFPPDataModule", "read_ffpp_split", "read_split"]
