"""Swap-pair datasets: ``(target, source, same-identity flag)`` drawn from an identity-labelled source.

Every item is a dict of tensors: ``target`` and ``source`` ``(3, H, W)`` float in [-1, 1], ``same``
(bool, scalar), and, where the data knows it (the synthetic world, validation only), ``truth``
``(3, H, W)`` in [-1, 1] (the ground-truth swap: source identity, target attributes) and
``truth_mask`` / ``target_mask`` / ``source_mask`` ``(1, H, W)`` in [0, 1].
Items are keyed: an ``int`` index (validation and evaluation: the same pairs every time), or an
``(epoch, index)`` key from :class:`deepswap.data.sampling.EpochSampler` (training: each item is a pure
function of (seed, epoch, index), so pairs and augmentations change from epoch to epoch, reproducibly).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from deepswap.data.folder import IdentityFolder

# The last part of an augmentation key: target and source of one pair get different augmentations.
TARGET_SIDE, SOURCE_SIDE = 0, 1
# Keys FolderPairs' fixed order of targets apart from its per-item draws (which start with the seed too).
TARGET_ORDER_STREAM = 0x7A6


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([abs(int(k)) for k in key])


def split_key(key: int | tuple[int, int]) -> tuple[int, tuple[int, ...]]:
    """A dataset key -> ``(index, epoch part)``: ``()`` for a plain index, ``(epoch,)`` for a training key.

    The epoch part goes at the end of every random key, so a plain index draws what it always drew."""
    if isinstance(key, (tuple, list)):
        epoch, index = key
        return int(index), (int(epoch),)
    return int(key), ()


def _to_signed(image01: torch.Tensor) -> torch.Tensor:
    return image01 * 2.0 - 1.0


class SyntheticPairs(Dataset):
    """Pairs from the synthetic face world (``deepswap.data.synthetic``).

    Args:
        world: a ``SyntheticFaceWorld``.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"heldout"`` (val + test: never seen in training).
        size: image side in pixels.
        length: pairs per epoch.
        same_ratio: probability that source and target share the identity.
        with_truth: also return the ground-truth swap and masks (validation and evaluation only: the
            ground truth is never a training target).
        seed: pairs are a function of (seed, index).
    """

    def __init__(
        self,
        world,
        split: str,
        size: int,
        length: int,
        same_ratio: float = 0.2,
        with_truth: bool = False,
        seed: int = 0,
    ):
        if not 0.0 <= same_ratio <= 1.0:
            raise ValueError(f"same_ratio must be in [0, 1], got {same_ratio}")
        self.world, self.split, self.size, self.length = world, split, int(size), int(length)
        self.same_ratio, self.with_truth, self.seed = float(same_ratio), bool(with_truth), int(seed)
        from deepswap.data.synthetic.factors import split_code

        self._split_code = split_code(split)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        w = self.world
        index, epoch = split_key(key)
        rng = _rng(self.seed, self._split_code, index, *epoch)
        t_index = int(rng.integers(0, 2**31 - 1))
        target_id = w.identity_of(self.split, t_index)
        same = bool(rng.random() < self.same_ratio)
        if same:
            source_id = target_id
        else:
            ids = w.identity_ids(self.split)
            source_id = target_id
            while source_id == target_id:
                source_id = int(ids[int(rng.integers(0, len(ids)))])
        s_index = int(rng.integers(0, 2**31 - 1))
        target_attr = w.attribute_factors(self.split, t_index)
        source_attr = w.attribute_factors(self.split, s_index)
        ids = torch.stack([w.identity_factors(target_id), w.identity_factors(source_id)])
        rendered = w.render(ids, torch.stack([target_attr, source_attr]), self.size)
        item = {
            "target": _to_signed(rendered.image[0]),
            "source": _to_signed(rendered.image[1]),
            "same": torch.tensor(same),
            "target_id": torch.tensor(target_id),
            "source_id": torch.tensor(source_id),
        }
        if self.with_truth:
            truth = w.swap_truth(ids[1:], target_attr[None], self.size)
            item.update(
                truth=_to_signed(truth.image[0]),
                truth_mask=truth.mask[0],
                target_mask=rendered.mask[0],
                source_mask=rendered.mask[1],
            )
        return item


class FolderPairs(Dataset):
    """Pairs from an :class:`IdentityFolder` of aligned face crops (one sub-folder per identity).

    Targets: index ``i`` is image ``order[i mod len(folder)]`` of a fixed seeded shuffle ``order``. With
    ``length`` equal to the number of images (the default), an epoch of a shuffled
    :class:`~deepswap.data.sampling.EpochSampler` uses every image once as a target (but for the last
    partial batch, which is dropped); with a longer ``length``, every image ``length // len(folder)``
    times or once more. Sources are drawn per (seed, epoch, index); augmentations per
    (seed, epoch, index, side).
    """

    def __init__(
        self,
        folder: IdentityFolder,
        length: int | None = None,
        same_ratio: float = 0.2,
        seed: int = 0,
        transform=None,
    ):
        self.folder, self.same_ratio, self.seed = folder, float(same_ratio), int(seed)
        self.length = int(length) if length else len(folder)
        self.transform = transform
        # Index i's target: a fixed shuffle of the images, so the first pairs span many identities.
        self.targets = _rng(self.seed, TARGET_ORDER_STREAM).permutation(len(folder))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = split_key(key)
        rng = _rng(self.seed, index, *epoch)
        t = int(self.targets[index % len(self.folder)])
        target_id = self.folder.labels[t]
        same = bool(rng.random() < self.same_ratio) and len(self.folder.by_identity[target_id]) > 1
        if same:
            choices = [i for i in self.folder.by_identity[target_id] if i != t]
        else:
            other = [k for k in self.folder.by_identity if k != target_id] or [target_id]
            choices = self.folder.by_identity[other[int(rng.integers(0, len(other)))]]
        s = int(choices[int(rng.integers(0, len(choices)))])
        if self.transform is None:
            target, source = self.folder.load(t), self.folder.load(s)
        else:
            target = self.transform(self.folder.load_array(t), (self.seed, index, *epoch, TARGET_SIDE))
            source = self.transform(self.folder.load_array(s), (self.seed, index, *epoch, SOURCE_SIDE))
        return {
            "target": _to_signed(target),
            "source": _to_signed(source),
            "same": torch.tensor(same),
            "target_id": torch.tensor(target_id),
            "source_id": torch.tensor(self.folder.labels[s]),
        }
