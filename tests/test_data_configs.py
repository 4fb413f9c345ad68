"""Real-dataset configs (VGGFace2-HQ, CelebA-HQ, FFHQ, FF++) and their experiments compose with train.yaml
and instantiate their datamodules on tiny folders of synthetic faces laid out like the real ones."""

from __future__ import annotations

import json

import cv2
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from deepswap.data.ffpp import FFPPDataModule
from deepswap.data.folder import DataError
from deepswap.data.synthetic import SyntheticFaceWorld


@pytest.fixture(scope="module")
def world():
    return SyntheticFaceWorld(num_train_identities=12, num_heldout_identities=2)


def write_faces(world, root, folders: list[str], per_folder: int = 3, size: int = 32, name="{:04d}.png"):
    """``root/<folder>/<name>``: each folder one synthetic identity, each image its own attributes."""
    n = 0
    for k, folder in enumerate(folders):
        (root / folder).mkdir(parents=True)
        identity = world.identity_factors(k).expand(per_folder, -1)
        attributes = torch.stack(
            [world.attribute_factors("train", k * per_folder + j) for j in range(per_folder)]
        )
        images = (world.render(identity, attributes, size).image.permute(0, 2, 3, 1) * 255).round().byte()
        for image in images.numpy():
            cv2.imwrite(str(root / folder / name.format(n)), image[..., ::-1])
            n += 1
    return root


def _datamodule(cfg):
    dm = instantiate(cfg.data)
    dm.setup("fit")
    return dm


def _identities(dataset) -> set[str]:
    folder = dataset.folder
    return {folder.identity_names[k] for k in folder.labels}


@pytest.mark.parametrize(
    ("name", "alignment", "folders"),
    [
        ("vggface2_hq", "arcface", [f"n{k:06d}" for k in range(2, 12)]),
        ("celeba_hq", "ffhq", [str(k) for k in range(100, 110)]),
        ("ffhq", "ffhq", [f"{k * 1000:05d}" for k in range(10)]),  # chunk folders, not identities
    ],
)
def test_face_folder_configs_instantiate(name, alignment, folders, world, tmp_path, cfg_factory):
    root = write_faces(world, tmp_path / name, folders)
    cfg = cfg_factory([f"data={name}", f"data.root={root}", "data.val_identity_share=0.2"])
    assert cfg.data._target_ == "deepswap.data.datamodule.FolderDataModule"
    dm = _datamodule(cfg)
    assert dm.alignment == alignment and dm.size == 32  # debug=fast shrinks the real config
    assert _identities(dm.val_set) == set(folders[-2:]) and _identities(dm.train_set) == set(folders[:-3])
    test = dm.heldout_folder("test")  # the one identity before val's: deepswap.evaluate's default split
    assert {test.identity_names[k] for k in test.by_identity} == {folders[-3]}
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].shape == (4, 3, 32, 32) and batch["source"].abs().max() <= 1.0
    if name == "ffhq":  # no identity labels: every pair is a different-person pair
        assert not any(bool(dm.train_set[i]["same"]) for i in range(len(dm.train_set)))


def _ffpp(world, tmp_path, train, val, test=((10, 11),), tree=False):
    """Frames by video id (under the FF++ tree if ``tree``) and the three split files -> (root, splits)."""
    ids = sorted({v for pairs in (train, val, test) for pair in pairs for v in pair})
    root = tmp_path / "ffpp"
    frames = root / "original_sequences" / "youtube" / "c23" / "frames" if tree else root
    write_faces(world, frames, [f"{int(v):03d}" for v in ids], per_folder=2)
    splits = tmp_path / "splits"
    splits.mkdir()
    for name, pairs in (("train", train), ("val", val), ("test", test)):
        (splits / f"{name}.json").write_text(
            json.dumps([[f"{int(a):03d}", f"{int(b):03d}"] for a, b in pairs])
        )
    return root, splits


@pytest.mark.parametrize("tree", [False, True], ids=["frames_by_video", "ffpp_tree"])
def test_ffpp_config_uses_the_official_split_files(tree, world, tmp_path, cfg_factory):
    root, splits = _ffpp(world, tmp_path, train=[(0, 1), (2, 3), (4, 5)], val=[(6, 7)], tree=tree)
    cfg = cfg_factory(["data=ffpp", f"data.root={root}", f"data.split_file={splits / 'train.json'}"])
    dm = _datamodule(cfg)
    assert isinstance(dm, FFPPDataModule) and dm.compression == "c23"
    assert _identities(dm.train_set) == {f"{k:03d}" for k in range(6)}
    assert _identities(dm.val_set) == {"006", "007"}  # val.json next to train.json
    assert "test" not in dm.split_folders()  # training never reads the test videos...
    test = dm.heldout_folder("test")  # ...the closing evaluation does (test.json next to train.json)
    assert {test.identity_names[k] for k in test.by_identity} == {"010", "011"}
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].shape == (4, 3, 32, 32)
    OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True)  # provenance fully resolved


def test_ffpp_split_problems_are_named(world, tmp_path):
    root, splits = _ffpp(world, tmp_path, train=[(0, 1)], val=[(1, 2)])
    kw = {"root": str(root), "size": 32, "num_workers": 0}
    with pytest.raises(DataError, match="both train and val"):
        FFPPDataModule(split_file=str(splits / "train.json"), **kw).setup()
    (splits / "val.json").write_text(json.dumps([["002", "099"]]))
    with pytest.raises(DataError, match=r"1 videos of the val split have no frames .*099"):
        FFPPDataModule(split_file=str(splits / "train.json"), **kw).setup()
    (splits / "bad.json").write_text(json.dumps({"train": ["000"]}))
    with pytest.raises(DataError, match="list of pairs of video ids"):
        FFPPDataModule(split_file=str(splits / "bad.json"), **kw).setup()
    with pytest.raises(DataError, match="split_file is not set"):
        FFPPDataModule(split_file="???", **kw)


@pytest.mark.parametrize("name", ["vggface2_256_gpu", "vggface2_256_ddp"])
def test_vggface2_experiments_need_only_data_root(name, world, tmp_path, cfg_factory, monkeypatch):
    monkeypatch.delenv("DEEPSWAP_DATA", raising=False)
    monkeypatch.delenv("SLURM_NNODES", raising=False)
    root = write_faces(world, tmp_path / "vgg", [f"n{k:06d}" for k in range(4)], per_folder=2)
    cfg = cfg_factory([f"experiment={name}", f"data.root={root}"], debug=None)
    data = OmegaConf.to_container(cfg.data, resolve=True, throw_on_missing=True)
    assert (data["size"], data["alignment"], cfg.identity._target_.split(".")[-1]) == (
        256,
        "arcface",
        "load_arcface_backbone",
    )
    assert cfg.trainer.accelerator == "gpu" and cfg.eval_identity is None
    if name.endswith("ddp"):
        assert cfg.trainer.strategy == "ddp_find_unused_parameters_true" and cfg.trainer.num_nodes == 1
        monkeypatch.setenv("SLURM_NNODES", "3")
        assert cfg.trainer.num_nodes == 3
    else:
        assert cfg.trainer.devices == 1
    with_cpu_sizes = cfg_factory(
        [f"experiment={name}", f"data.root={root}", "data.num_workers=0"], debug=None
    )
    item = _datamodule(with_cpu_sizes).train_set[0]
    assert item["target"].shape == (3, 256, 256)


def test_evaluate_draws_ffpp_pairs_from_the_official_test_videos_on_its_defaults(
    world, tmp_path, cfg_factory
):
    from deepswap.evaluation.harness import heldout_pairs

    root, splits = _ffpp(world, tmp_path, train=[(0, 1)], val=[(2, 3)], test=[(4, 5), (6, 7)])
    cfg = cfg_factory(["data=ffpp", f"data.root={root}", f"data.split_file={splits / 'train.json'}"])
    with open_dict(cfg):
        cfg.num_pairs, cfg.split = None, "test"  # configs/evaluate.yaml's defaults
    pairs, kind, _ = heldout_pairs(cfg, cfg.data)
    test_ids = set(pairs["target_id"].tolist()) | set(pairs["source_id"].tolist())
    dm = instantiate(cfg.data)
    names = dm.heldout_folder("test").identity_names
    assert kind == "folder" and len(pairs["target"]) == 4  # one pair per test video
    assert {names[k] for k in test_ids} == {"004", "005", "006", "007"}
