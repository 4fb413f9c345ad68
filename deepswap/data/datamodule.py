"""LightningDataModules yielding swap pairs ``(target, source, same)``; see :mod:`deepswap.data.pairs`.

- :class:`SyntheticDataModule`: the procedural face world (the default; no files needed).
- :class:`FolderDataModule`: aligned face crops, one sub-folder per identity, with held-out val and test
  identities (separate ``val_root`` / ``test_root`` folders, or shares of the identities).
"""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from deepswap.data.augment import build_augment
from deepswap.data.folder import DataError, IdentityFolder
from deepswap.data.pairs import FolderPairs, SyntheticPairs
from deepswap.data.sampling import EpochSampler, ResumableLoader
from deepswap.data.splits import check_disjoint, hold_out

# Validation pairs are drawn with seed + VAL_SEED_OFFSET, so that they are not the training pairs of
# the same index (for folders without a val_root both draw from the same images).
VAL_SEED_OFFSET = 1


def _worker_init(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class _PairDataModule(L.LightningDataModule):
    # The validation metric that selects the best checkpoints, and whether lower or higher is better.
    headline = ("val/id_cos", "max")

    def __init__(
        self,
        size: int,
        batch_size: int,
        num_workers: int,
        same_ratio: float,
        seed: int,
        val_pairs: int,
        val_batch_size: int | None = None,
    ):
        super().__init__()
        self.size, self.batch_size, self.num_workers = int(size), int(batch_size), int(num_workers)
        self.same_ratio, self.seed, self.val_pairs = float(same_ratio), int(seed), int(val_pairs)
        self.val_batch_size = int(val_batch_size or batch_size)
        self.train_set = self.val_set = None

    def _loader_kwargs(self) -> dict:
        return {
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
            "worker_init_fn": _worker_init,
            "pin_memory": torch.cuda.is_available(),
            # the loader's own generator: worker seeds never draw from (and shift) the global RNG
            "generator": torch.Generator().manual_seed(self.seed),
        }

    def train_dataloader(self) -> ResumableLoader:
        """Shuffled per (seed, epoch), split between processes, resumable mid-epoch from a checkpoint."""
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = EpochSampler(len(self.train_set), self.seed, num_replicas=replicas, rank=rank)
        return ResumableLoader(self.train_set, sampler, self.batch_size, **self._loader_kwargs())

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self.val_set, batch_size=self.val_batch_size, shuffle=False, **self._loader_kwargs()
        )

    def identity_views(self, identities: int, views: int, seed: int = 0) -> dict:
        """``{"images" (P*K, 3, H, W) in [-1, 1], "labels" (P*K,)}``: ``views`` images of each of
        ``identities`` training identities (for fitting the identity loss's space)."""
        raise NotImplementedError(f"{type(self).__name__} gives no identity views")

    def sample_pairs(self, n: int) -> dict:
        """The first ``n`` validation pairs as one batch (fixed: used for sample grids)."""
        if self.val_set is None:
            self.setup("validate")
        items = [self.val_set[i] for i in range(min(n, len(self.val_set)))]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}


class SyntheticDataModule(_PairDataModule):
    """Pairs rendered on the fly by :class:`deepswap.data.synthetic.SyntheticFaceWorld`.

    Training pairs use train identities (with ``extra_source_views`` more renders of each source, and
    the truth only with ``train_truth``, the supervised upper bound); validation pairs use the world's
    val identities (the test identities are kept for the closing table and ``deepswap.evaluate``) and
    carry the ground-truth swap (``truth``).
    """

    headline = ("val/gt_l1_face", "min")  # the protocol's headline: L1 to the true swap on the face

    def __init__(
        self,
        world: dict,
        size: int = 64,
        batch_size: int = 16,
        num_workers: int = 0,
        same_ratio: float = 0.2,
        train_length: int = 20000,
        val_pairs: int = 256,
        seed: int = 0,
        val_batch_size: int | None = None,
        extra_source_views: int = 0,
        train_truth: bool = False,
    ):
        super().__init__(size, batch_size, num_workers, same_ratio, seed, val_pairs, val_batch_size)
        self.world_kwargs, self.train_length = dict(world), int(train_length)
        self.extra_source_views, self.train_truth = int(extra_source_views), bool(train_truth)

    @property
    def world(self):
        from deepswap.data.synthetic import SyntheticFaceWorld

        if not hasattr(self, "_world"):
            self._world = SyntheticFaceWorld(**self.world_kwargs)
        return self._world

    def identity_views(self, identities: int, views: int, seed: int = 0) -> dict:
        ids = self.world.identity_ids("train")
        chosen = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed))[:identities]
        out = self.world.views("train", (chosen + ids.start).tolist(), views, self.size, seed=seed)
        labels = torch.arange(len(chosen)).repeat_interleave(views)
        return {"images": out.image * 2.0 - 1.0, "labels": labels}

    def setup(self, stage: str | None = None) -> None:
        self.train_set = SyntheticPairs(
            self.world,
            "train",
            self.size,
            self.train_length,
            self.same_ratio,
            with_truth=self.train_truth,  # only the supervised upper bound (loss=supervised) trains on it
            seed=self.seed,
            extra_source_views=self.extra_source_views,
        )
        self.val_set = SyntheticPairs(
            self.world,
            "val",
            self.size,
            self.val_pairs,
            same_ratio=0.0,
            with_truth=True,
            seed=self.seed + VAL_SEED_OFFSET,
        )


class FolderDataModule(_PairDataModule):
    """Pairs from aligned crops under ``root/<identity>/*``; val and test on held-out identities.

    Args:
        root: training identities (and the held-out ones that have no folder of their own).
        val_root / test_root: folders of held-out identities; None: the last ``val_identity_share`` of
            the (sorted) identities of ``root`` are val, the ``test_identity_share`` before them test.
            No identity name may be in two splits.
        augment: list of albumentations transform configs (see :mod:`deepswap.data.augment`).
    """

    def __init__(
        self,
        root: str,
        size: int = 256,
        batch_size: int = 16,
        num_workers: int = 4,
        same_ratio: float = 0.2,
        train_length: int | None = None,
        val_pairs: int = 256,
        seed: int = 0,
        val_root: str | None = None,
        val_identity_share: float = 0.05,
        max_bad_fraction: float = 0.01,
        augment: list | None = None,
        alignment: str = "arcface",
        val_batch_size: int | None = None,
        test_root: str | None = None,
        test_identity_share: float = 0.05,
        extra_source_views: int = 0,
    ):
        super().__init__(size, batch_size, num_workers, same_ratio, seed, val_pairs, val_batch_size)
        if root in (None, "", "???"):
            raise DataError(
                "data.root is not set: point it at a folder of aligned face crops with one "
                "sub-folder per identity, e.g. data.root=/data/vggface2_hq"
            )
        self.root, self.roots = root, {"val": val_root, "test": test_root}
        self.shares = {"val": float(val_identity_share), "test": float(test_identity_share)}
        self.train_length, self.max_bad_fraction = train_length, float(max_bad_fraction)
        self.augment_cfg, self.alignment = augment or [], alignment
        self.extra_source_views = int(extra_source_views)
        self.folders: dict = {}

    def _folder(self, root: str) -> IdentityFolder:
        return IdentityFolder(root, self.size, self.max_bad_fraction)

    def split_folders(self) -> dict[str, IdentityFolder]:
        """``{"train", "val", "test"}`` -> the split's images (test only when it has identities)."""
        if not self.folders:
            folder = self._folder(self.root)
            shares = {k: (0.0 if self.roots[k] else v) for k, v in self.shares.items()}
            folders = hold_out(folder, shares)
            folders.update({k: self._folder(r) for k, r in self.roots.items() if r})
            check_disjoint(folders)
            self.folders = folders
        return self.folders

    def heldout_folder(self, split: str = "test") -> IdentityFolder:
        """The images of the ``"val"`` or ``"test"`` identities (``deepswap.evaluate`` uses these)."""
        folders = self.split_folders()
        if split not in ("val", "test"):
            raise DataError(f"split must be 'val' or 'test', got {split!r}")
        if split not in folders:
            raise DataError(
                f"{self.root} has no {split} identities: set data.{split}_root or data.{split}_identity_share"
            )
        return folders[split]

    def identity_views(self, identities: int, views: int, seed: int = 0) -> dict:
        folder = self.split_folders()["train"]
        rng = torch.Generator().manual_seed(seed)
        rich = [k for k, v in sorted(folder.by_identity.items()) if len(v) >= 2]
        if len(rich) < 2:
            raise DataError(f"{self.root}: fewer than 2 training identities have 2 images or more")
        order = torch.randperm(len(rich), generator=rng)[:identities].tolist()
        images, labels = [], []
        for label, k in enumerate(rich[i] for i in order):
            index = folder.by_identity[k]
            for j in torch.randperm(len(index), generator=rng)[:views].tolist():
                images.append(folder.load(index[j]) * 2.0 - 1.0)
                labels.append(label)
        return {"images": torch.stack(images), "labels": torch.tensor(labels)}

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        folders = self.split_folders()
        augment = build_augment(self.augment_cfg, self.seed)
        self.train_set = FolderPairs(
            folders["train"],
            self.train_length,
            self.same_ratio,
            self.seed,
            augment,
            self.alignment,
            self.extra_source_views,
        )
        self.val_set = FolderPairs(
            folders["val"], self.val_pairs, 0.0, self.seed + VAL_SEED_OFFSET, None, self.alignment
        )


__all__ = ["SyntheticDataModule", "FolderDataModule"]
