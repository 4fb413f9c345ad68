"""FaceForensics++ real videos as swap training data, split by FF++'s official lists.

Layout: aligned frames under ``root/<video id>/<frame>.png`` (e.g. ``root/071/0000.png``), made from
``original_sequences/youtube/<compression>/videos`` with ``python -m deepswap.prepare``, or the FF++
tree that :mod:`deepswap.detection.data` reads (``root/original_sequences/youtube/<compression>/
frames/<video id>/``); each video is one identity. The official splits
(``dataset/splits/{train,val,test}.json`` of the FaceForensics repository) are lists of pairs
``[["071", "054"], ...]``: 360 / 70 / 70 pairs, i.e. 720 / 140 / 140 videos. Training pairs come from
the train videos, validation pairs from the val videos; the test videos are read only for the closing
evaluation (:meth:`FolderDataModule.heldout_folder`, ``deepswap.evaluate``), never in training.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from deepswap.data.datamodule import FolderDataModule
from deepswap.data.folder import DataError, IdentityFolder
from deepswap.data.splits import check_disjoint, identities_subset

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
        test_split_file: the official ``test.json``; None: ``test.json`` next to ``split_file`` (read
            only when the test videos are asked for).
        compression: the FF++ quality the frames were taken from (``raw``, ``c23``, ``c40``).
        Other arguments as :class:`~deepswap.data.datamodule.FolderDataModule`.
    """

    def __init__(
        self,
        root: str,
        split_file: str,
        val_split_file: str | None = None,
        compression: str = "c23",
        test_split_file: str | None = None,
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
        self.test_split_file = Path(test_split_file or self.split_file.with_name("test.json")).expanduser()
        self.compression = compression

    def split_folders(self, with_test: bool = False) -> dict:
        """The official splits' frames; the test videos only ``with_test`` (the closing evaluation)."""
        if self.folders and ("test" in self.folders or not with_test):
            return self.folders
        files = {"train": self.split_file, "val": self.val_split_file}
        if with_test:
            files["test"] = self.test_split_file
        splits = {name: read_ffpp_split(path) for name, path in files.items()}
        for name, ids in splits.items():
            if len(ids) != OFFICIAL_VIDEOS[name]:
                log.warning("%s split lists %d videos (official: %d)", name, len(ids), OFFICIAL_VIDEOS[name])
        folder = IdentityFolder(self.frames_root(), self.size, self.max_bad_fraction)
        index = {n: k for k, n in enumerate(folder.identity_names)}
        self.folders = {}
        for name, ids in splits.items():
            missing = [v for v in ids if v not in index]
            if missing:
                raise DataError(
                    f"{len(missing)} videos of the {name} split have no frames under "
                    f"{folder.root}, e.g. {missing[:5]}; expected {folder.root}/{missing[0]}/0000.png"
                )
            self.folders[name] = identities_subset(folder, {index[v] for v in ids})
        check_disjoint(self.folders)
        return self.folders

    def heldout_folder(self, split: str = "test"):
        """The frames of the official ``"val"`` or ``"test"`` videos."""
        if split not in ("val", "test"):
            raise DataError(f"split must be 'val' or 'test', got {split!r}")
        return self.split_folders(with_test=split == "test")[split]

    def frames_root(self) -> Path:
        """``root``, or its ``original_sequences/youtube/<compression>/frames`` when it is an FF++ tree."""
        root = Path(self.root).expanduser()
        tree = root / "original_sequences" / "youtube" / self.compression / "frames"
        return tree if tree.is_dir() else root


__all__ = ["FFPPDataModule", "read_ffpp_split", "read_split"]
