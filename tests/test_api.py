"""The public inference API: checkpoints load safely, swaps match the training module's EMA output."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

import deepswap
from deepswap.errors import CheckpointError


def test_load_checkpoint_reproduces_the_ema_generator(tiny_run):
    cfg, _, objects = tiny_run
    model = deepswap.load_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    pairs = objects["datamodule"].sample_pairs(3)
    module = objects["module"].to("cpu").eval()
    expected = module.swap(pairs["target"], pairs["source"])
    assert torch.allclose(model.swap(pairs["target"], pairs["source"]), expected, atol=1e-5)
    one_source = model.swap(pairs["target"], pairs["source"][:1])
    assert one_source.shape == pairs["target"].shape


class _Evil:
    def __reduce__(self):
        return (print, ("this pickle runs code",))


def test_checkpoints_that_want_to_run_code_or_are_not_deepswap_are_refused(tmp_path):
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"state_dict": {}, "x": _Evil()}))
    with pytest.raises(CheckpointError, match="besides tensors|pickle"):
        deepswap.load_checkpoint(evil)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, other)
    with pytest.raises(CheckpointError, match="not a deepswap training checkpoint"):
        deepswap.load_checkpoint(other)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        deepswap.load_checkpoint(tmp_path / "missing.ckpt")


def test_checkpoint_from_a_newer_format_is_refused(tiny_run, tmp_path):
    ckpt = torch.load(Path(tiny_run[0].paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    ckpt["deepswap"]["format"] = 999
    torch.save(ckpt, tmp_path / "future.ckpt")
    with pytest.raises(CheckpointError, match="newer than this deepswap"):
        deepswap.load_checkpoint(tmp_path / "future.ckpt")


def test_missing_arcface_checkpoint_names_the_path_and_how_to_get_one(cfg_factory, tmp_path):
    from hydra.utils import instantiate

    cfg = cfg_factory(["identity=arcface", f"identity.path={tmp_path}/backbone.pth"], debug=None)
    with pytest.raises(Exception, match=r"(?s)backbone\.pth.*arcface_torch"):
        instantiate(cfg.identity)
