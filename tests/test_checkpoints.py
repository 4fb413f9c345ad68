"""What a run keeps, counted in images: last.ckpt, the best K by the headline, one every N kimg; the EMA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from deepswap.train import kimg_to_batches, train
from deepswap.training.ema import EMA, RAMPUP, ema_beta


def test_a_run_keeps_last_the_best_k_by_the_headline_and_one_checkpoint_every_n_kimg(cfg_factory):
    cfg = cfg_factory(
        [
            "total_kimg=0.128",  # 4 validations, every 0.032 kimg
            "callbacks.checkpoint.save_top_k=1",
            "callbacks.checkpoint.every_kimg=0.064",
            "detector.replay.in_checkpoint=false",
            "final_eval.enabled=false",
        ]
    )
    train(cfg)
    run = Path(cfg.paths.output_dir)
    names = sorted(p.name for p in (run / "checkpoints").glob("*.ckpt"))
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    headline = {x["kimg"]: x["value"] for x in lines if x["metric"] == "val/gt_l1_face"}
    assert sorted(headline) == [0.032, 0.064, 0.096, 0.128]
    best = min(headline, key=headline.get)  # lower is better
    assert names == sorted(
        ["last.ckpt", "kimg00000.064.ckpt", "kimg00000.128.ckpt", f"best_kimg{best:09.3f}.ckpt"]
    )
    # every validation metric names the file of its weights, never last.ckpt
    val = [x for x in lines if x["metric"].startswith("val/")]
    assert val and all(x["ckpt"] != "checkpoints/last.ckpt" for x in val)
    at_best = {x["ckpt"] for x in val if x["kimg"] == best}
    assert at_best <= {f"checkpoints/best_kimg{best:09.3f}.ckpt", f"checkpoints/kimg{best:09.3f}.ckpt"}
    kept = torch.load(run / "checkpoints" / "kimg00000.064.ckpt", map_location="cpu", weights_only=True)
    assert kept["deepswap"]["kimg"] == pytest.approx(0.064)
    assert kept["detector_cotraining"]["replay"] is None  # replay.in_checkpoint=false


def test_a_run_validated_only_at_its_end_keeps_one_last_checkpoint(cfg_factory):
    """The last batch writes last.ckpt and the closing validation saves "last" again: it must overwrite
    that file, not add a versioned last-v1.ckpt of 200 MB beside it (the arms-race runs validate once)."""
    cfg = cfg_factory(["total_kimg=0.032", "val_every_kimg=0.032", "final_eval.enabled=false"])
    train(cfg)
    names = sorted(p.name for p in (Path(cfg.paths.output_dir) / "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" in names and not [n for n in names if n.startswith("last-")], names
    last = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=True)  # fmt: skip
    assert last["deepswap"]["kimg"] == pytest.approx(0.032)


def test_kimg_converts_to_batches_per_process():
    assert kimg_to_batches(2, 16) == 125
    assert kimg_to_batches(2, 16, world_size=4) == 32  # 31.25 rounded up
    assert kimg_to_batches(0.0001, 16) == 1


def test_ema_half_life_is_in_images_whatever_the_batch_size():
    # after half_life_kimg thousand images the old weights count half: in one batch or in many
    assert ema_beta(2000, half_life_kimg=2.0) == pytest.approx(0.5)
    assert ema_beta(1000, 2.0) ** 2 == pytest.approx(0.5)
    assert ema_beta(16, 2.0) ** 125 == pytest.approx(0.5)
    # the ramp-up: early on, the half-life is RAMPUP x the images seen
    assert ema_beta(16, 2.0, images_seen=320) == pytest.approx(0.5 ** (16 / (RAMPUP * 320)))
    assert ema_beta(16, 2.0, images_seen=10**7) == pytest.approx(ema_beta(16, 2.0))


def test_ema_update_moves_the_shadow_by_one_minus_beta_and_copies_buffers():
    model = nn.BatchNorm1d(3)
    ema = EMA(model, half_life_kimg=0.001)  # one image of half-life
    with torch.no_grad():
        model.weight.fill_(3.0)  # the shadow still holds 1.0
        model.running_mean.fill_(7.0)
    ema.update(model, batch_images=2)  # two half-lives: beta = 0.25
    assert torch.allclose(ema.shadow.weight, torch.full((3,), 0.25 * 1.0 + 0.75 * 3.0))
    assert torch.equal(ema.shadow.running_mean, model.running_mean)
    assert not ema.shadow.weight.requires_grad
    with pytest.raises(ValueError, match="half-life"):
        EMA(model, half_life_kimg=0.0)
    # average_buffers (the co-trained detector's): running statistics move with the weights; counters copy
    averaged = EMA(nn.BatchNorm1d(3), half_life_kimg=0.001, average_buffers=True)
    averaged.update(model, batch_images=2)
    assert torch.allclose(averaged.shadow.running_mean, torch.full((3,), 0.75 * 7.0))
    assert torch.equal(averaged.shadow.num_batches_tracked, model.num_batches_tracked)


def test_a_module_built_by_hand_writes_checkpoints_that_load(cfg_factory, tmp_path):
    """A notebook builds FaceSwapModule itself (not through deepswap.train): the run config and the
    encoder's build spec are constructor arguments, so its checkpoints load for inference."""
    import lightning as L
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    import deepswap
    from deepswap.training.module import FaceSwapModule

    cfg = cfg_factory(["detector=off"])
    encoder = instantiate(cfg.identity)
    spec = encoder.__dict__.pop("build_spec")  # a hand-built encoder carries no spec of its own
    networks = {
        "generator": instantiate(cfg.generator),
        "discriminator": instantiate(cfg.discriminator),
        "identity_encoder": encoder,
        "adversarial_loss": instantiate(cfg.loss.adversarial),
        "loss_weights": OmegaConf.to_container(cfg.loss.weights),
        "optimizer_g": instantiate(cfg.optimizer.generator),
        "optimizer_d": instantiate(cfg.optimizer.discriminator),
        "face_region": OmegaConf.to_container(cfg.model.face_region),  # the recipe's outside loss needs it
    }
    run_config = OmegaConf.to_container(cfg, resolve=True)
    module = FaceSwapModule(**networks, run_config=run_config, identity_spec=spec)
    trainer = L.Trainer(
        accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False, limit_val_batches=0
    )
    trainer.fit(module, datamodule=instantiate(cfg.data))
    trainer.save_checkpoint(tmp_path / "notebook.ckpt")
    model = deepswap.load_checkpoint(tmp_path / "notebook.ckpt")
    targets = torch.rand(2, 3, cfg.data.size, cfg.data.size) * 2 - 1
    expected = module.swap(targets, targets.flip(0))
    assert torch.allclose(model.swap(targets, targets.flip(0)), expected, atol=1e-5)
    with pytest.raises(ValueError, match="run_config lacks"):
        FaceSwapModule(**networks, run_config={"seed": 0})
