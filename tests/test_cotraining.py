"""A deepfake detector co-trained inside the swap module: the third optimiser, its batch, resume, configs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import open_dict

from deepswap.train import _detector_kwargs, build_module, detector_mode, steps_per_batch, train
from deepswap.utils.config_check import group_options


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}


def _fit(module, cfg, batches: int) -> L.Trainer:
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=batches * steps_per_batch(cfg),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        limit_val_batches=0,
    )
    trainer.fit(module, datamodule=instantiate(cfg.data))
    return trainer


def _images(n: int = 4, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size) * 2 - 1


def test_every_detector_option_composes_and_instantiates(cfg_factory):
    options = group_options("detector")
    assert {"off", "small", "xception", "efficientnet", "frequency"} <= set(options)
    for option in options:
        cfg = cfg_factory([f"detector={option}"])
        kwargs = _detector_kwargs(cfg)
        if option == "off":
            assert detector_mode(cfg) == "off" and "detector" not in kwargs and steps_per_batch(cfg) == 2
            continue
        net = kwargs["detector"].eval()
        with torch.no_grad():
            assert net(_images(2)).shape == (2,), option
        assert kwargs["optimizer_det"](net.parameters()) is not None
        assert steps_per_batch(cfg) == 3
    # loss=supervised runs no discriminator: G (and the detector) only, or the run trains twice its kimg
    assert steps_per_batch(cfg_factory(["loss=supervised", "detector=off"])) == 1
    assert steps_per_batch(cfg_factory(["loss=supervised", "detector=small"])) == 2
    cfg = cfg_factory(["detector=small", "detector.mode=adversarial"])
    assert detector_mode(cfg) == "adversarial"
    with pytest.raises(ValueError, match="detector.mode"):
        detector_mode(cfg_factory(["detector=small", "detector.mode=sparring"]))


def test_detector_step_changes_only_the_detector_and_post_processes_both_classes_alike(cfg_factory):
    cfg = cfg_factory(
        ["detector=small_post", "detector.postprocess.p_jpeg=1", "detector.postprocess.p_blur=0.5"]
    )
    module = build_module(cfg)
    calls, snaps, applied = [], [], []
    det_step, batch, apply = module._det_step, module.cotrain.batch, module.cotrain.postprocess.apply

    def wrapped_step(*args):
        snaps.append(_params(module))
        out = det_step(*args)
        snaps.append(_params(module))
        return out

    def wrapped_batch(reals, swaps, pseudo=None):
        applied.clear()
        assert pseudo is not None and len(pseudo) == 3  # 0.5 x 4 self-blends + 0.25 x 4 self-swaps
        sbi, target = pseudo[:2], reals[:2]  # SBI is the target outside its blend mask, not inside
        assert (sbi - target).abs().amax((1, 2, 3)).min() > 0 and ((sbi - target).abs() < 1e-6).any()
        images, labels = batch(reals, swaps, pseudo)
        calls.append((int((labels == 0).sum()), int((labels == 1).sum())))
        reals_params, fakes_params = applied  # one apply per class, with the same draw
        m = min(len(reals_params), len(fakes_params))
        for field in dataclasses.fields(reals_params):
            name = field.name
            assert torch.equal(getattr(reals_params, name)[:m], getattr(fakes_params, name)[:m]), name
        assert reals_params.jpeg.all()
        return images, labels

    def recording_apply(images, params, differentiable=False):
        assert not differentiable
        applied.append(params)
        return apply(images, params, differentiable)

    module._det_step, module.cotrain.batch = wrapped_step, wrapped_batch
    module.cotrain.postprocess.apply = recording_apply
    _fit(module, cfg, batches=2)
    changed = {k for k in snaps[0] if not torch.equal(snaps[0][k], snaps[1][k])}
    assert changed and all(k.startswith("detector.") for k in changed), changed
    # Batch 4: 8 reals (targets + sources); fakes: 4 swaps + 3 pseudo, then + 4 replayed (share 0.5).
    assert calls == [(8, 7), (8, 11)]
    assert len(module.cotrain.replay) == 8 and module.cotrain.replay.seen == 8  # pseudo-fakes never replayed


def test_observer_sends_no_gradient_to_the_generator_and_adversarial_does(cfg_factory):
    target, source, same = _images(), _images(), torch.zeros(4, dtype=torch.bool)
    observer = build_module(cfg_factory(["detector=small", "detector.spectral.weight=0.5"]))
    source_id = observer.embed(source)
    _, terms = observer.generator_losses(target, source_id, same)
    assert "evasion" not in terms and "spectral" in terms
    observer.zero_grad(set_to_none=True)
    swaps = observer.generator(target, source_id).image
    images, labels = observer.cotrain.batch(torch.cat([target, source]), swaps)
    observer.cotrain.loss(observer.detector(images), labels)[0].backward()
    assert all(p.grad is None for p in observer.generator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in observer.detector.parameters())

    adversarial = build_module(cfg_factory(["detector=small", "detector.mode=adversarial"]))
    _, terms = adversarial.generator_losses(target, source_id, same)
    assert "evasion" in terms and "spectral" not in terms
    adversarial.zero_grad(set_to_none=True)
    stats = _params(adversarial.detector)
    swaps = adversarial.generator(target, source_id).image
    adversarial.cotrain.evasion(adversarial.detector, swaps).backward()
    grads = [p.grad.abs().sum() for p in adversarial.generator.parameters() if p.grad is not None]
    assert grads and sum(grads) > 0, "the evasion term sends no gradient to the generator"
    assert all(torch.equal(v, _params(adversarial.detector)[k]) for k, v in stats.items()), "BN stats moved"


def test_snapshots_every_k_steps_validation_and_resume_restore_the_replay_buffer(cfg_factory):
    common = ["detector=small", "final_eval.enabled=false", "detector.snapshot_every_kimg=0.008"]
    first = cfg_factory([*common, "total_kimg=0.032"])
    metrics, objects = train(first)
    assert 0.0 <= metrics["val/det/auc"] <= 1.0 and 0.0 <= metrics["val/det/evasion"] <= 1.0
    assert "train/det/loss" in metrics and "train/det/acc" in metrics
    snaps = Path(first.paths.output_dir) / "snapshots"
    index = [json.loads(x) for x in (snaps / "index.jsonl").read_text().splitlines()]
    assert [x["step"] for x in index] == [6, 12, 18, 24]  # 8 batches x 3 optimiser steps
    spec = json.loads((snaps / "config.json").read_text())
    detector, generator = instantiate(spec["detector"]["net"]), instantiate(first.generator)
    detector.load_state_dict(torch.load(snaps / "det_00000024.pt", weights_only=True))
    generator.load_state_dict(torch.load(snaps / "gen_00000024.pt", weights_only=True))
    ema = objects["module"].ema.shadow.state_dict()
    assert all(torch.equal(v, ema[k]) for k, v in generator.state_dict().items())

    ckpt_path = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(ckpt_path, map_location="cpu", weights_only=True)["detector_cotraining"]["replay"]
    assert saved["size"] == 32 and saved["seen"] == 32
    seen = {}

    class Probe(L.Callback):
        def on_train_start(self, trainer, module):
            replay = module.cotrain.replay
            seen.update(step=trainer.global_step, seen=replay.seen, items=replay.storage[: replay.size])
            seen["opt_det"] = len(trainer.optimizers[2].state_dict()["state"])

    second = cfg_factory([*common, "total_kimg=0.048", f"ckpt_path={ckpt_path}"])
    with open_dict(second):
        second.paths.output_dir = str(Path(first.paths.output_dir).parent / "resumed")
    train(second, extra_callbacks=[Probe()])
    assert seen["step"] == 24 and seen["seen"] == 32 and torch.equal(seen["items"], saved["items"])
    assert seen["opt_det"] > 0, "the detector's optimiser state was not restored"
    resumed = (Path(second.paths.output_dir) / "snapshots" / "index.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in resumed] == [30, 36]


@pytest.mark.slow  # about 40 s on 2 cores: `make test-full`
def test_detector_off_trains_as_before_and_a_detector_can_join_on_resume(cfg_factory):
    cfg = cfg_factory(["detector=off", "total_kimg=0.016", "final_eval.enabled=false"])
    metrics, objects = train(cfg)
    module = objects["module"]
    assert module.detector is None and module.cotrain is None and len(objects["trainer"].optimizers) == 2
    assert objects["trainer"].global_step == 4 * 2
    assert not any("det" in k for k in metrics) and "train/g/total" in metrics
    assert not (Path(cfg.paths.output_dir) / "snapshots").exists()

    ckpt_path = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    joined = cfg_factory(
        ["detector=small", "total_kimg=0.024", "final_eval.enabled=false", f"ckpt_path={ckpt_path}"]
    )
    with open_dict(joined):
        joined.paths.output_dir = str(Path(cfg.paths.output_dir).parent / "joined")
    metrics, objects = train(joined)
    assert "train/det/loss" in metrics and len(objects["module"].cotrain.replay) > 0


def test_detector_pretrain_settings_are_checked_before_any_work(cfg_factory):
    from deepswap.detection.pretrain import check_pretrain
    from deepswap.errors import UsageError

    assert check_pretrain(None)["steps"] == 0  # off unless asked for
    with pytest.raises(ValueError, match="unknown detector.pretrain key"):
        check_pretrain({"stepz": 10})
    with pytest.raises(ValueError, match="kinds must be a non-empty list"):
        check_pretrain({"kinds": ["paste_poisson"]})  # a held-out family, not a pseudo-fake
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        check_pretrain({"batch_size": 0})
    with pytest.raises(ValueError, match="weight-average decay"):
        check_pretrain({"ema": 1.0})
    assert check_pretrain({"ema": 0.999})["ema"] == 0.999
    with pytest.raises(ValueError, match="hflip"):
        check_pretrain({"hflip": -0.1})
    with pytest.raises(ValueError, match="fresh_process must be true or false"):
        check_pretrain({"fresh_process": "yes"})
    assert check_pretrain({"hflip": 0.5})["hflip"] == 0.5
    with pytest.raises(UsageError, match="unknown detector.pretrain key"):
        detector_mode(cfg_factory(["detector=small", "+detector.pretrain.stepz=1"]))


def test_detector_pretrain_postprocess_is_checked_keyed_and_reaches_the_training_loop(
    cfg_factory, tmp_path, monkeypatch
):
    """detector=resnet_post: the warm start sees blurred, resized, recompressed and noisy frames of both
    classes. Bad settings are refused up front, the cache key changes only when post-processing is on
    (so earlier warm starts stay cached), and the settings reach the detector's training loop."""
    import deepswap.detection.train_detector as td
    from deepswap.detection.pretrain import check_pretrain, pretrain_detector, warm_start_path

    post = {"p_blur": 1.0, "sigma": [0.2, 1.5], "p_resize": 0.3, "scale": [0.5, 0.95]}
    assert check_pretrain({"postprocess": post})["postprocess"] == post
    with pytest.raises(ValueError, match="pretrain.postprocess must be PostProcess settings"):
        check_pretrain({"postprocess": {"p_blurr": 0.3}})
    with pytest.raises(ValueError, match="pretrain.postprocess must be PostProcess settings"):
        check_pretrain({"postprocess": {"p_blur": 1.5}})
    net = {"_target_": "deepswap.detection.SmallDetector", "width": 4}
    world = {"num_train_identities": 8, "num_heldout_identities": 8, "seed": 0}
    plain = {"steps": 4, "pairs": 16, "kinds": ["sbi"]}
    key = lambda s: warm_start_path(net, world, 64, s, tmp_path)  # noqa: E731
    assert key(plain) == key({**plain, "postprocess": None})
    assert key(plain) != key({**plain, "postprocess": post})
    seen = {}

    def fake_fit(*args, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(td, "fit", fake_fit)
    with pytest.raises(RuntimeError, match="stop here"):
        pretrain_detector(net, world, 64, {**plain, "postprocess": post}, tmp_path)
    assert seen["postprocess"] == post
    cfg = cfg_factory(["detector=resnet_post"], debug=None)
    assert cfg.detector.pretrain.postprocess.p_blur == cfg.detector.postprocess.p_blur == 0.3
    assert cfg.detector.postprocess.sigma[1] >= 1.0 and cfg.detector.pretrain.steps == 3000
    # the whole frame is resampled on both classes, as self-blends resample their copy (mild_blur)
    assert cfg.detector.pretrain.postprocess.p_shift == cfg.detector.postprocess.p_shift == 0.5


def test_detector_pretrain_is_the_default_and_is_skipped_with_a_warning_on_real_data(
    cfg_factory, tmp_path, caplog
):
    """The main job co-trains the warm-started ResNet (issue 11 §2). On data without the synthetic
    world (real photos) there is nothing to make pseudo-fakes from: the run goes on with a cold
    detector and says so, instead of refusing the default configuration."""
    default = cfg_factory([], debug=None)  # the main job's configuration
    assert default.detector.net._target_.endswith("ResNetDetector")
    assert default.detector.pretrain.steps == 3000
    det = default.detector
    assert (det.hflip, det.pretrain.hflip, det.tta, det.ema_half_life_kimg) == (0.5, 0.5, "flip", 4)
    cfg = cfg_factory(["detector=small", "detector.net.width=4", "detector.pretrain.steps=10"])
    assert cfg_factory([]).detector.pretrain.steps == 0  # debug=fast keeps the tests cold
    with open_dict(cfg):
        cfg.data.world = None  # real data: no face masks to self-blend on
        cfg.paths.cache_dir = str(tmp_path)
    assert detector_mode(cfg) == "observer"
    with caplog.at_level("WARNING", logger="deepswap.train"):
        net = _detector_kwargs(cfg)["detector"]
    assert net is not None and not (tmp_path / "detector").exists()
    assert "detector.pretrain.steps=10 skipped" in caplog.text and "starts cold" in caplog.text


def test_pretrained_detector_starts_cotraining_from_cached_pseudo_fake_weights(cfg_factory, tmp_path, caplog):
    over = ["detector=small", "detector.net.width=4", "detector.pretrain.steps=12",
            "detector.pretrain.pairs=64", "detector.pretrain.batch_size=16", "detector.pretrain.eval_every=6",
            "detector.pretrain.kinds=[sbi]"]  # fmt: skip
    cfg = cfg_factory(over)
    with open_dict(cfg):
        cfg.paths.cache_dir = str(tmp_path)
    warm = _detector_kwargs(cfg)["detector"].state_dict()
    cached = list((tmp_path / "detector").glob("*.pt"))
    assert len(cached) == 1
    blob = torch.load(cached[0], weights_only=True)
    assert 0.0 <= blob["val_auc"] <= 1.0 and blob["step"] in (6, 12)
    for k, v in blob["state_dict"].items():
        torch.testing.assert_close(warm[k], v)
    torch.manual_seed(0)
    cold = instantiate(cfg.detector.net).state_dict()
    assert not torch.equal(cold["head.weight"], warm["head.weight"])  # the warm start changed the weights
    again = _detector_kwargs(cfg)["detector"].state_dict()  # from the cache: the same weights
    assert all(torch.equal(again[k], warm[k]) for k in warm)
    with open_dict(cfg):
        cfg.detector.pretrain.steps = 0
    off = _detector_kwargs(cfg)["detector"].state_dict()
    assert not torch.equal(off["head.weight"], warm["head.weight"])
    # trained in a fresh process: the same cache key (fresh_process is not part of it), the same weights
    with open_dict(cfg):
        cfg.detector.pretrain.steps = 12
        cfg.detector.pretrain.fresh_process = True
        cfg.paths.cache_dir = str(tmp_path / "child")
    with caplog.at_level("INFO"):
        child = _detector_kwargs(cfg)["detector"].state_dict()
    assert "in a fresh process" in caplog.text and "failed" not in caplog.text, caplog.text
    assert [p.name for p in (tmp_path / "child" / "detector").glob("*.pt")] == [cached[0].name]
    assert all(torch.equal(child[k], warm[k]) for k in warm)


def test_warm_start_trains_beside_the_identity_encoders_on_a_fresh_machine(cfg_factory, tmp_path, caplog):
    """On a cache miss of both, the detector's warm start and the identity encoders train at the same
    time in child processes, a thread each (make train from an empty cache, experiments/2026-12-07_flip
    §3): both cache files are written by the children and the module starts from them. With the caches
    filled, nothing starts beside anything."""
    over = ["detector=small", "detector.net.width=4", "detector.pretrain.steps=12",
            "detector.pretrain.pairs=64", "detector.pretrain.batch_size=16", "detector.pretrain.eval_every=6",
            "detector.pretrain.kinds=[sbi]", "detector.pretrain.fresh_process=true",
            "identity.fresh_process=true", "eval_identity.fresh_process=true"]  # fmt: skip
    cfg = cfg_factory(over)
    with open_dict(cfg):
        cfg.paths.cache_dir = str(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with caplog.at_level("INFO"):
            module = build_module(cfg)
        assert torch.get_num_threads() == 2, "the encoders' thread count is given back"
    finally:
        torch.set_num_threads(before)
    log = caplog.text
    assert "trains beside the identity encoders (1 + 1 threads)" in log, log
    assert log.count("in a fresh process (OMP_WAIT_POLICY=ACTIVE, 1 thread(s))") == 3, log
    assert "failed" not in log and "pre-training 12 steps" not in log, "the parent trained nothing itself"
    assert len(list((tmp_path / "identity").glob("*.pt"))) == 2
    cached = list((tmp_path / "detector").glob("*.pt"))
    assert len(cached) == 1
    blob = torch.load(cached[0], weights_only=True)["state_dict"]
    assert all(torch.equal(module.detector.state_dict()[k], v) for k, v in blob.items())
    caplog.clear()
    with caplog.at_level("INFO"):
        build_module(cfg)
    assert "trains beside" not in caplog.text and "fresh process" not in caplog.text, caplog.text


def test_detector_weight_average_is_what_snapshots_and_checkpoints_hand_out(cfg_factory):
    from deepswap.detection.arms_race import final_detector
    from deepswap.detection.networks import FlipAverage

    common = ["detector=small", "final_eval.enabled=false", "detector.snapshot_every_kimg=0.016"]
    cfg = cfg_factory([*common, "total_kimg=0.016", "detector.ema_half_life_kimg=0.01", "detector.tta=flip"])
    _, objects = train(cfg)
    module = objects["module"]
    live, average = _params(module.detector), _params(module.detector_ema.shadow)
    assert any(not torch.equal(live[k], average[k]) for k in live), "the average must lag the live detector"
    run = Path(cfg.paths.output_dir)
    handed_out = final_detector(run / "checkpoints" / "last.ckpt")
    assert isinstance(handed_out, FlipAverage), "detector.tta=flip: checkpoints hand out the flip average"
    loaded = _params(handed_out.net)
    assert all(torch.equal(loaded[k], average[k]) for k in average)
    snap = torch.load(run / "snapshots" / "det_00000012.pt", weights_only=True)
    assert all(torch.equal(snap[k], average[k]) for k in average)
    with pytest.raises(ValueError, match="ema_half_life_kimg"):
        build_module(cfg_factory(["detector=small", "detector.ema_half_life_kimg=0"]))
    # a run without the average resumes from this checkpoint, and this run resumes from one without
    plain = cfg_factory([*common, "total_kimg=0.024", f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"])
    with open_dict(plain):
        plain.paths.output_dir = str(run.parent / "plain")
    assert train(plain)[1]["module"].detector_ema is None
    assert not isinstance(final_detector(run.parent / "plain" / "checkpoints" / "last.ckpt"), FlipAverage)
    again = cfg_factory(
        [*common, "total_kimg=0.032", "detector.ema_half_life_kimg=0.01",
         f"ckpt_path={run.parent / 'plain' / 'checkpoints' / 'last.ckpt'}"]
    )  # fmt: skip
    with open_dict(again):
        again.paths.output_dir = str(run.parent / "again")
    assert train(again)[1]["module"].detector_ema is not None


def test_detector_batch_flips_images_of_both_classes_when_asked():
    from deepswap.detection.postprocess import quantize
    from deepswap.training.detector_step import CoTraining

    reals, swaps = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(3, 3, 8, 8) * 2 - 1
    plain, labels = CoTraining(replay={"share": 0.0}).batch(reals, swaps)
    flipped, same_labels = CoTraining(replay={"share": 0.0}, hflip=1.0).batch(reals, swaps)
    assert torch.equal(plain, quantize(torch.cat([reals, swaps])))
    assert torch.equal(flipped, plain.flip(-1)) and torch.equal(labels, same_labels)
    with pytest.raises(ValueError, match="hflip"):
        CoTraining(hflip=2.0)
