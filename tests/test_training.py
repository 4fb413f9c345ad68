"""Training end to end on the tiny debug config: run folder, step isolation, resume, NaN, DDP."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import open_dict

from deepswap.evaluation.protocol import METRICS
from deepswap.train import STEPS_PER_BATCH, build_module, train


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def _changed(a: dict, b: dict) -> set[str]:
    return {k for k in a if not torch.equal(a[k], b[k])}


def test_fast_training_run_writes_a_self_describing_run_folder(tiny_run):
    cfg, metrics, objects = tiny_run
    run = Path(cfg.paths.output_dir)
    assert (run / "config.yaml").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert sorted((run / "samples").glob("step_*.png")), "no sample grid written"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"step", "kimg", "metric", "value", "ckpt"} <= set(lines[0])
    assert any(x["metric"] == "val/gt_psnr" for x in lines)
    rows = metrics["heldout"]
    assert set(rows) >= {"model", "output = target", "output = source", "average identity"}
    verdict = json.loads((run / "heldout_eval.json").read_text())["verdict"]
    assert "Against 'output = target', the model is significantly" in verdict
    # The ground truth is its own best match: a sanity check of the table's plumbing.
    assert rows["ground truth (ceiling)"]["gt_l1"] == pytest.approx(0.0, abs=1e-6)
    # The closing table is the evaluation protocol, scored by the evaluation oracle.
    assert set(rows["model"]) == set(METRICS)
    assert objects["trainer"].global_step == 16 * STEPS_PER_BATCH


def test_d_step_changes_only_d_and_g_step_only_g(cfg_factory):
    cfg = cfg_factory()
    module = build_module(cfg)
    snaps = {}
    d_step, g_step = module._d_step, module._g_step

    def wrapped_d(*args):
        snaps["start"] = _params(module)
        out = d_step(*args)
        snaps["after_d"] = _params(module)
        return out

    def wrapped_g(*args):
        out = g_step(*args)
        snaps["after_g"] = _params(module)
        return out

    module._d_step, module._g_step = wrapped_d, wrapped_g
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=STEPS_PER_BATCH,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=instantiate(cfg.data))
    d_changed = _changed(snaps["start"], snaps["after_d"])
    g_changed = _changed(snaps["after_d"], snaps["after_g"])
    assert d_changed and all(k.startswith("discriminator.") for k in d_changed), d_changed
    assert g_changed and all(k.startswith("generator.") for k in g_changed), g_changed
    assert not any(
        k.startswith(("identity_encoder.", "eval_identity_encoder.")) for k in d_changed | g_changed
    )


def test_resume_from_last_ckpt_continues_at_the_right_step_with_the_same_optimiser_state(
    cfg_factory, tiny_run
):
    first = cfg_factory(["total_kimg=0.032"])
    train(first)
    ckpt_path = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    assert saved["global_step"] == 8 * STEPS_PER_BATCH

    seen = {}

    class Probe(L.Callback):
        def on_train_start(self, trainer, module):
            seen["step"] = trainer.global_step
            seen["kimg"] = module.kimg
            seen["opt_g"] = copy.deepcopy(trainer.optimizers[0].state_dict())  # Adam updates state in place

    second = cfg_factory(["total_kimg=0.064", f"ckpt_path={ckpt_path}"])
    with open_dict(second):
        second.paths.output_dir = str(Path(first.paths.output_dir).parent / "resumed")
    _, objects = train(second, extra_callbacks=[Probe()])
    assert seen["step"] == 8 * STEPS_PER_BATCH
    assert seen["kimg"] == pytest.approx(0.032)
    saved_state = saved["optimizer_states"][0]["state"]
    assert saved_state
    for k, v in saved_state.items():
        assert torch.equal(seen["opt_g"]["state"][k]["exp_avg"], v["exp_avg"])
        assert torch.equal(seen["opt_g"]["state"][k]["step"], v["step"])
    assert objects["trainer"].global_step == 16 * STEPS_PER_BATCH
    # Resumed mid-epoch (batch 8 of 16), it ends where the uninterrupted run of the same config ends.
    whole = Path(tiny_run[0].paths.output_dir) / "checkpoints" / "last.ckpt"
    a = torch.load(whole, map_location="cpu", weights_only=True)["state_dict"]
    b = torch.load(Path(second.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)[
        "state_dict"
    ]
    gen = [k for k in a if k.startswith(("generator.", "ema.shadow.")) and a[k].is_floating_point()]
    assert gen and max((a[k] - b[k]).abs().max().item() for k in gen) <= 1e-5


def test_nan_losses_are_skipped_and_stop_the_run_cleanly(cfg_factory):
    cfg = cfg_factory(["model.nan_patience=3", "final_eval.enabled=false"])
    module = build_module(cfg)
    before = _params(module.generator)
    module.generator_losses = lambda *a: (torch.tensor(float("nan"), requires_grad=True), {})
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=100,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=instantiate(cfg.data))
    assert module.nan_skipped == 3 and trainer.should_stop
    assert not _changed(before, _params(module.generator)), "a NaN step touched the generator"


@pytest.mark.slow  # ~50 s on 2 cores: two processes start and train (make test-full)
@pytest.mark.skipif(sys.platform != "linux", reason="gloo DDP test runs on Linux CI")
def test_ddp_on_two_cpu_processes_trains_and_writes_a_checkpoint(tmp_path):
    from tests.conftest import CACHE_DIR

    run = tmp_path / "ddp"
    env = {**os.environ, "WANDB_MODE": "disabled", "DEEPSWAP_CACHE": str(CACHE_DIR)}
    cmd = [
        sys.executable,
        "-m",
        "deepswap.train",
        "debug=fast",
        "trainer=ddp_cpu",
        "total_kimg=0.032",
        f"hydra.run.dir={run}",
        "final_eval.enabled=false",
    ]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    # 32 images over 2 processes of batch 4 -> 4 batches each, 2 optimiser steps per batch.
    assert ckpt["global_step"] == 4 * STEPS_PER_BATCH
    assert ckpt["deepswap"]["kimg"] == pytest.approx(0.032)


def test_bf16_mixed_precision_trains_on_cpu(cfg_factory):
    cfg = cfg_factory(["trainer=cpu_bf16", "total_kimg=0.016", "final_eval.enabled=false"])
    metrics, objects = train(cfg)
    assert objects["trainer"].precision == "bf16-mixed"
    assert objects["trainer"].global_step == 4 * STEPS_PER_BATCH
    assert all(torch.isfinite(p).all() for p in objects["module"].generator.parameters())


def test_identity_jitter_is_differentiable_and_identity_at_zero_strength():
    from deepswap.training.module import random_affine

    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    assert torch.allclose(random_affine(x, 0.0), x, atol=1e-5)
    moved = random_affine(x, 0.1)
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    (grad,) = torch.autograd.grad(moved.sum(), x)
    assert grad.abs().sum() > 0


def test_16_mixed_with_gradient_clipping_clips_the_unscaled_gradients(cfg_factory):
    """16-mixed scales the loss by 2**16; clipping must see the unscaled gradients (Lightning's
    clip_gradients inside opt.step), or every step would shrink by the loss scale."""
    from lightning.pytorch.plugins import MixedPrecision

    # identity=synthetic: the 20-step debug factor encoder's tiny embedding overflows fp16 gradients at
    # the scaler's first scales (2**16 and down), so every generator step would be skipped
    cfg = cfg_factory(
        ["model.grad_clip=0.001", "detector=off", "identity=synthetic"]
    )  # clip below every norm
    module = build_module(cfg)
    norms = []
    clip = module.on_before_optimizer_step

    def recorded(optimizer):
        clip(optimizer)
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))))

    module.on_before_optimizer_step = recorded
    before = _params(module.generator)
    trainer = L.Trainer(
        accelerator="cpu",
        plugins=[MixedPrecision("16-mixed", "cpu")],  # the Trainer flag turns into bf16 on a CPU
        max_steps=4,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=instantiate(cfg.data))
    assert trainer.precision_plugin.scaler.get_scale() > 1.0  # the loss really was scaled
    finite = [n for n in norms if math.isfinite(n)]  # the scaler skips steps whose gradients overflow
    assert len(norms) == 4 and len(finite) >= 2
    assert max(finite) <= 0.001 * 1.01  # clipped, after unscaling...
    assert min(finite) > 0.001 * 0.5  # ...not before it (the norm would then be 0.001 / the loss scale)
    moved = max((before[k] - v).abs().max().item() for k, v in _params(module.generator).items())
    assert moved > 0 and all(torch.isfinite(p).all() for p in module.generator.parameters())


def test_lazy_r1_runs_every_interval_d_steps_with_its_scale(cfg_factory):
    cfg = cfg_factory(["loss.r1.gamma=2.0", "loss.r1.interval=3", "detector=off"])
    module = build_module(cfg)
    calls = []
    r1 = module.r1

    class Recording:
        def due(self, step):
            return r1.due(step)

        def __call__(self, d_forward, reals):
            value = r1(d_forward, reals)
            calls.append((int(module.d_steps), float(value)))
            return value

    module.r1 = Recording()
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=7 * 2,  # 7 batches, D and G
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=instantiate(cfg.data))
    assert [step for step, _ in calls] == [0, 3, 6]  # D steps 0..6
    assert r1.gamma == 2.0 and r1.interval == 3  # weight gamma / 2 * interval = 3 (value: test_losses)
    assert all(v >= 0 for _, v in calls)


def test_the_identity_loss_sends_gradient_to_the_generator_only(cfg_factory):
    cfg = cfg_factory(["detector=off"])
    module = build_module(cfg)
    module.weights = {k: 0.0 for k in module.weights} | {"identity": 1.0}
    batch = instantiate(cfg.data).sample_pairs(4)
    source_id = module.embed(batch["source"].roll(1, 0))
    total, terms = module.generator_losses(batch["target"], source_id, batch["same"])
    assert set(terms) == {"identity"}  # no adversarial or feature-matching weight: D is not run
    total.backward()
    grads = [p.grad for p in module.generator.parameters() if p.grad is not None]
    assert grads and sum(float(g.abs().sum()) for g in grads) > 0, "no identity gradient reaches G"
    assert all(p.grad is None for p in module.identity_encoder.parameters())  # frozen
