"""Swap-pair datasets: ``(target, source, same-identity flag)`` drawn from an identity-labelled source.

Every item is a dict of tensors: ``target`` and ``source`` ``(3, H, W)`` float in [-1, 1], ``same``
(bool, scalar), ``target_mask`` ``(1, H, W)`` in [0, 1] (where the target's face is: the renderer's face
region on synthetic data, the alignment template's face outline on aligned crops), optionally
``source_views`` ``(V, 3, H, W)`` (more images of the source identity, for a multi-view identity target),
and, where the data knows it (the synthetic world, validation only), ``truth``
``(3, H, W)`` in [-1, 1] (the ground-truth swap: source identity, target attributes) and
``truth_mask`` / ``source_mask`` ``(1, H, W)`` in [0, 1].
Items are keyed: an ``int`` index (validation and evaluation: the same pairs every time), or an
``(epoch, index)`` key from :class:`deepswap.data.sampling.EpochSampler` (training: each item is a pure
function of (seed, epoch, index), so pairs and augmentations change from epoch to epoch, reproducibly).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
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


def template_face_mask(alignment: str, size: int) -> torch.Tensor:
    """``(1, size, size)`` mask of the face on crops aligned to ``alignment``'s template ("arcface" or
    "synthetic"): the outline of :mod:`deepswap.faces.region` from the template's own 5 points (aligned
    crops put every face there, up to the detector's landmark error)."""
    from deepswap.faces.align import template_points
    from deepswap.faces.region import face_outline, region_mask

    template = alignment if alignment in ("arcface", "synthetic") else "arcface"
    frame = max(int(size), 112)  # the template's points need a frame of at least 32 px; resized below
    points = template_points(template, frame)
    mask = torch.from_numpy(region_mask(frame, face_outline(points, template=template), feather=0.05))
    if frame != size:
        mask = F.interpolate(mask[None, None], size=(size, size), mode="area")[0, 0]
    return mask[None]


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
        with_truth: also return the ground-truth swap and masks (validation and evaluation; a training
            target only of the supervised upper bound, ``loss=supervised``).
        extra_source_views: this many more renders of the source identity with their own attributes
            (``source_views``), for an identity target averaged over views.
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
        extra_source_views: int = 0,
    ):
        if not 0.0 <= same_ratio <= 1.0:
            raise ValueError(f"same_ratio must be in [0, 1], got {same_ratio}")
        if extra_source_views < 0:
            raise ValueError(f"extra_source_views must be >= 0, got {extra_source_views}")
        self.extra_source_views = int(extra_source_views)
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
        extra = [
            w.attribute_factors(self.split, int(rng.integers(0, 2**31 - 1)))
            for _ in range(self.extra_source_views)
        ]
        ids = torch.stack(
            [w.identity_factors(target_id)] + [w.identity_factors(source_id)] * (1 + len(extra))
        )
        rendered = w.render(ids, torch.stack([target_attr, source_attr, *extra]), self.size)
        item = {
            "target": _to_signed(rendered.image[0]),
            "source": _to_signed(rendered.image[1]),
            "same": torch.tensor(same),
            "target_id": torch.tensor(target_id),
            "source_id": torch.tensor(source_id),
            "target_mask": rendered.mask[0],
            "target_landmarks": rendered.landmarks[0],
        }
        if extra:
            item["source_views"] = _to_signed(rendered.image[2:])
        if self.with_truth:
            truth = w.swap_truth(ids[1:2], target_attr[None], self.size)
            item.update(
                truth=_to_signed(truth.image[0]),
                truth_mask=truth.mask[0],
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
        alignment: str = "arcface",
        extra_source_views: int = 0,
    ):
        self.folder, self.same_ratio, self.seed = folder, float(same_ratio), int(seed)
        self.extra_source_views = int(extra_source_views)
        self.face_mask = template_face_mask(alignment, folder.size)
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
        source_id = self.folder.labels[s]
        views = self.folder.by_identity[source_id]
        extra = [int(views[int(rng.integers(0, len(views)))]) for _ in range(self.extra_source_views)]
        loaded = []
        for side, i in enumerate([t, s, *extra]):
            if self.transform is None:
                loaded.append(self.folder.load(i))
            else:  # sides: target 0, source 1, extra views 2, 3, ...
                loaded.append(self.transform(self.folder.load_array(i), (self.seed, index, *epoch, side)))
        item = {
            "target": _to_signed(loaded[0]),
            "source": _to_signed(loaded[1]),
            "same": torch.tensor(same),
            "target_id": torch.tensor(target_id),
            "source_id": torch.tensor(source_id),
            "target_mask": self.face_mask,
        }
        if extra:
            item["source_views"] = _to_signed(torch.stack(loaded[2:]))
        return item
