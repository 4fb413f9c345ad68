"""Pair datasets, identity folders (bad input included), seeded augmentation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from deepswap.data.augment import build_augment
from deepswap.data.datamodule import FolderDataModule, SyntheticDataModule
from deepswap.data.folder import DataError, IdentityFolder
from deepswap.data.pairs import SyntheticPairs
from deepswap.data.synthetic import SyntheticFaceWorld


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(num_train_identities=50, num_heldout_identities=10)


def test_synthetic_pairs_are_deterministic_and_respect_the_same_flag(world):
    pairs = SyntheticPairs(world, "train", 32, 40, same_ratio=0.5, seed=3)
    a, b = pairs[7], SyntheticPairs(world, "train", 32, 40, same_ratio=0.5, seed=3)[7]
    assert all(torch.equal(a[k], b[k]) for k in a)
    items = [pairs[i] for i in range(40)]
    same = [bool(x["same"]) for x in items]
    assert 5 < sum(same) < 35
    for x in items:
        assert (x["target_id"] == x["source_id"]) == x["same"]
        assert x["target"].min() >= -1 and x["target"].max() <= 1
    assert "truth" not in items[0], "training pairs must not carry the ground truth"


def test_heldout_pairs_carry_the_ground_truth_and_use_heldout_identities(world):
    pairs = SyntheticPairs(world, "heldout", 32, 8, same_ratio=0.0, with_truth=True)
    heldout = set(world.identity_ids("heldout"))
    for i in range(8):
        x = pairs[i]
        assert int(x["target_id"]) in heldout and int(x["source_id"]) in heldout
        assert x["truth"].shape == x["target"].shape and x["truth_mask"].shape == (1, 32, 32)
        assert not x["same"]


def test_ground_truth_of_a_same_identity_pair_is_the_target(world):
    pairs = SyntheticPairs(world, "heldout", 32, 16, same_ratio=1.0, with_truth=True)
    x = pairs[0]
    assert torch.equal(x["truth"], x["target"])


def _write_folder(root, n_ids=3, n_imgs=3, size=24):
    rng = np.random.default_rng(0)
    for k in range(n_ids):
        (root / f"id_{k}").mkdir(parents=True)
        for j in range(n_imgs):
            cv2.imwrite(
                str(root / f"id_{k}" / f"{j}.png"), rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            )


def test_identity_folder_indexes_identities_and_resizes(tmp_path):
    _write_folder(tmp_path)
    folder = IdentityFolder(tmp_path, size=16)
    assert len(folder) == 9 and len(folder.by_identity) == 3
    assert folder.load(0).shape == (3, 16, 16)


def test_unreadable_images_are_skipped_counted_and_too_many_stop(tmp_path, caplog):
    _write_folder(tmp_path, n_ids=2, n_imgs=10)
    (tmp_path / "id_0" / "broken.jpg").write_bytes(b"not a jpeg")
    folder = IdentityFolder(tmp_path, size=16, max_bad_fraction=0.1)
    assert folder.num_unreadable == 1 and len(folder) == 20
    assert "broken.jpg" in caplog.text
    for j in range(5):
        (tmp_path / "id_1" / f"bad{j}.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"(?s)6 of 26 images .* cannot be decoded.*max_bad_fraction"):
        IdentityFolder(tmp_path, size=16, max_bad_fraction=0.1)


def test_missing_or_empty_data_root_names_the_path_and_the_layout(tmp_path):
    with pytest.raises(DataError, match=r"(?s)does not exist.*one sub-folder per identity"):
        IdentityFolder(tmp_path / "nope", size=16)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no images"):
        IdentityFolder(tmp_path / "empty", size=16)
    with pytest.raises(DataError, match="data.root is not set"):
        FolderDataModule(root="???")


def test_folder_datamodule_holds_out_identities(tmp_path):
    _write_folder(tmp_path, n_ids=6, n_imgs=2)
    dm = FolderDataModule(
        root=str(tmp_path),
        size=16,
        batch_size=2,
        num_workers=0,
        val_identity_share=0.34,
        val_pairs=4,
        augment=[{"_target_": "albumentations.HorizontalFlip", "p": 0.5}],
    )
    dm.setup("fit")
    train_ids = {dm.train_set.folder.labels[i] for i in range(len(dm.train_set.folder))}
    val_ids = {dm.val_set.folder.labels[i] for i in range(len(dm.val_set.folder))}
    assert train_ids.isdisjoint(val_ids) and len(val_ids) == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].shape == (2, 3, 16, 16) and batch["same"].dtype == torch.bool


def test_augmentation_is_seeded_and_strict():
    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    spec = [{"_target_": "albumentations.ColorJitter", "brightness": 0.5, "p": 1.0}]
    a, b = build_augment(spec, seed=1), build_augment(spec, seed=1)
    assert torch.equal(a(image, 5), b(image, 5)) and torch.equal(a(image, 5), a(image, 5))
    assert not torch.equal(a(image, 5), a(image, 6))
    with pytest.raises(Exception, match="quality_lower|unexpected|Argument"):
        build_augment([{"_target_": "albumentations.ImageCompression", "quality_lower": 30}])


def test_synthetic_datamodule_sample_pairs_are_fixed():
    dm = SyntheticDataModule(
        world={"num_train_identities": 20, "num_heldout_identities": 8}, size=32, val_pairs=8
    )
    a, b = dm.sample_pairs(4), dm.sample_pairs(4)
    assert torch.equal(a["target"], b["target"]) and a["truth"].shape == (4, 3, 32, 32)


def test_training_pairs_change_from_epoch_to_epoch_and_stay_deterministic(world):
    pairs = SyntheticPairs(world, "train", 32, length=8, seed=0)
    first, again, later = pairs[(0, 3)], pairs[(0, 3)], pairs[(1, 3)]
    assert torch.equal(first["target"], again["target"]) and torch.equal(first["source"], again["source"])
    assert not torch.equal(first["target"], later["target"])
    # a plain index (validation, evaluation) draws the same pair whatever the epoch
    assert torch.equal(pairs[3]["target"], SyntheticPairs(world, "train", 32, length=8, seed=0)[3]["target"])


def test_an_epoch_of_a_folder_uses_every_image_once_as_a_target_with_new_sources_and_augmentations(tmp_path):
    from deepswap.data.pairs import FolderPairs
    from deepswap.data.sampling import EpochSampler

    _write_folder(tmp_path, n_ids=4, n_imgs=5)
    folder = IdentityFolder(tmp_path, size=16)
    jitter = build_augment([{"_target_": "albumentations.ColorJitter", "brightness": 0.5, "p": 1.0}], seed=0)
    pairs = FolderPairs(folder, same_ratio=0.0, seed=0, transform=jitter)
    sampler = EpochSampler(len(pairs), seed=0)
    epochs = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        keys = list(sampler)
        assert sorted(i for _, i in keys) == list(range(len(folder)))  # a permutation of the images
        epochs.append({i: pairs[(e, i)] for e, i in keys})
    targets = [int(pairs.targets[i]) for i in range(len(folder))]
    assert sorted(targets) == list(range(len(folder)))  # every image is one index's target
    fresh = [i for _, i in EpochSampler(len(pairs), seed=0)]
    sampler.set_epoch(0)
    assert fresh == [i for _, i in sampler]  # the order is a function of (seed, epoch)
    sampler.set_epoch(1)
    assert fresh != [i for _, i in sampler]
    a, b = epochs
    assert any(not torch.equal(a[i]["target"], b[i]["target"]) for i in a)  # new augmentations
    assert any(int(a[i]["source_id"]) != int(b[i]["source_id"]) for i in a)  # new sources


def test_a_val_root_with_training_identities_is_refused_and_splits_are_disjoint(tmp_path):
    _write_folder(tmp_path / "train", n_ids=5, n_imgs=2)
    _write_folder(tmp_path / "val", n_ids=2, n_imgs=2)  # id_0, id_1: the same names as training's
    kw = {"size": 16, "batch_size": 2, "num_workers": 0, "val_pairs": 2}
    with pytest.raises(DataError, match="in both train and val splits"):
        FolderDataModule(root=str(tmp_path / "train"), val_root=str(tmp_path / "val"), **kw).setup("fit")
    for k in range(2):
        (tmp_path / "val" / f"id_{k}").rename(tmp_path / "val" / f"held_{k}")
    dm = FolderDataModule(root=str(tmp_path / "train"), val_root=str(tmp_path / "val"), **kw)
    dm.setup("fit")
    names = {s: {f.identity_names[k] for k in f.by_identity} for s, f in dm.split_folders().items()}
    assert names["val"] == {"held_0", "held_1"}
    assert names["test"] == {"id_4"}  # the last share of root, as no test_root is given
    assert names["train"] == {"id_0", "id_1", "id_2", "id_3"}
