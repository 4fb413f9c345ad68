"""Train a face-swap GAN: ``python -m deepswap.train [group=option ...] [key=value ...]``.

``train(cfg)`` is the pure core (tests call it); ``main`` is the Hydra shell around it.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from deepswap.errors import removed_on_error, report
from deepswap.utils.run_checks import check_train, detector_mode, resume_path

if TYPE_CHECKING:
    from torch import nn

    from deepswap.training.module import FaceSwapModule

log = logging.getLogger("deepswap.train")
# Optimiser steps per batch of the default config: discriminator, generator, detector.
STEPS_PER_BATCH = 3
__all__ = ["train", "build_module", "final_table", "detector_mode", "steps_per_batch", "main"]


def steps_per_batch(cfg: DictConfig) -> int:
    """Optimiser steps (``global_step``) per batch: G; D unless no loss needs it (the module runs D only
    for a non-zero adversarial or feature-matching weight: ``loss=supervised``); the detector's unless
    it is off. ``max_steps`` counts these, so a wrong count would train the wrong number of images."""
    from deepswap.training.module import needs_discriminator

    uses_d = needs_discriminator(cfg.loss.get("weights") or {})
    return 1 + int(uses_d) + int(detector_mode(cfg) != "off")


def kimg_to_batches(kimg: float, batch_size: int, world_size: int = 1) -> int:
    """Batches of ``batch_size`` per process, on ``world_size`` processes, that hold ``kimg`` thousand
    images (rounded up: at least one)."""
    return max(1, math.ceil(float(kimg) * 1000 / (int(batch_size) * int(world_size))))


def _detector_kwargs(cfg: DictConfig) -> dict:
    det, mode = cfg.get("detector"), detector_mode(cfg)
    spectral = OmegaConf.to_container(det.spectral) if det and det.get("spectral") else None
    if mode == "off":
        return {"spectral": spectral}
    settings = {k: det[k] for k in ("evasion_weight", "snapshot_every_kimg", "val_fpr")}
    settings.update(
        mode=mode,
        replay=OmegaConf.to_container(det.replay),
        postprocess=OmegaConf.to_container(det.postprocess) if det.postprocess else None,
        seed=cfg.seed,
        pseudo=OmegaConf.to_container(det.pseudo) if det.get("pseudo") else None,
        sbi=OmegaConf.to_container(det.sbi) if det.get("sbi") else None,
        ema_half_life_kimg=det.get("ema_half_life_kimg"),
        hflip=det.get("hflip", 0.0),
    )
    return {
        "detector": _detector_net(cfg),
        "optimizer_det": instantiate(det.optimizer),
        "detector_settings": settings,
        "spectral": spectral,
    }


def _detector_net(cfg: DictConfig) -> nn.Module:
    """The co-trained detector, warm-started on generator-free pseudo-fakes when
    ``detector.pretrain.steps > 0`` (:mod:`deepswap.detection.pretrain`, cached). Pre-training draws
    its pseudo-fakes from the synthetic world: on data without one (folders, FF++) it is skipped with a
    warning and the detector starts cold."""
    det = cfg.detector
    net = instantiate(det.net)
    pre = det.get("pretrain")
    if pre is not None and int(pre.get("steps", 0)) > 0 and cfg.data.get("world") is None:
        log.warning(
            "detector.pretrain.steps=%s skipped: pre-training makes its pseudo-fakes from the synthetic "
            "world's renders and face masks, and data=%s has none; the co-trained detector starts cold "
            "(set detector.pretrain.steps=0 to silence this)",
            pre.get("steps"),
            cfg.data.get("_target_", "?").rsplit(".", 1)[-1],
        )
    elif pre is not None and int(pre.get("steps", 0)) > 0:
        from deepswap.detection.pretrain import pretrain_detector, warm_start_args

        state = pretrain_detector(*warm_start_args(cfg))
        net.load_state_dict(state)
    return net


IDENTITY_TARGET = "deepswap.training.identity.synthetic_identity_encoder"


def _untrained_encoders(cfg: DictConfig) -> int:
    """How many of the run's synthetic identity encoders will train in a fresh process (cache misses)."""
    from deepswap.training.identity import identity_cache_path

    missing = 0
    for node in (cfg.get("eval_identity"), cfg.get("identity")):
        if node is None or node.get("_target_") != IDENTITY_TARGET or not node.get("fresh_process"):
            continue
        plain = OmegaConf.to_container(node, resolve=True)
        kwargs = {k: v for k, v in plain.items() if not k.startswith("_")}
        missing += not identity_cache_path(**kwargs).is_file()
    return missing


def _warm_start_beside_encoders(cfg: DictConfig):
    """``(child, encoder threads)`` when the detector's warm start and an identity encoder both train on
    this run (cache misses, each in a fresh process): the warm start starts now on half of the torch
    threads, the encoders get the other half, and when they are done the warm start takes every thread
    (:func:`~deepswap.utils.fresh_process.grow`). On the 2-core machine this took ``make train`` from an
    empty cache from 913 s to 842 s (experiments/2026-12-07_flip §3; without the growing step, the two
    side by side on a thread each saved nothing). ``None`` otherwise (one process of several, the warm
    start off or cached, every encoder cached, one thread): each then trains in turn on every thread."""
    import os

    import torch

    det = cfg.get("detector")
    pre = det.get("pretrain") if det is not None and detector_mode(cfg) != "off" else None
    threads = torch.get_num_threads()
    ranks = (os.environ.get(k, "0") for k in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))
    if (
        pre is None
        or int(pre.get("steps", 0)) <= 0
        or not pre.get("fresh_process")
        or cfg.data.get("world") is None
        or threads < 2
        or any(r != "0" for r in ranks)
        or not _untrained_encoders(cfg)
    ):
        return None
    from deepswap.detection.pretrain import start_warm_start, warm_start_args

    child = start_warm_start(*warm_start_args(cfg), threads=threads // 2, grow_to=threads)
    if child is None:
        return None
    log.info("the detector's warm start trains beside the identity encoders (%d + %d threads)",
             threads // 2, threads - threads // 2)  # fmt: skip
    return child, threads - threads // 2


def _data_overrides(cfg: DictConfig) -> dict:
    """The supervised upper bound (a ``truth`` loss weight) trains on the synthetic ground truth."""
    weights = cfg.loss.weights
    supervised = bool(weights.get("truth", 0) or weights.get("truth_perceptual", 0))
    if supervised and str(cfg.data.get("_target_", "")).endswith("SyntheticDataModule"):
        return {"train_truth": True}
    return {}


def build_module(cfg: DictConfig) -> FaceSwapModule:
    """Networks, losses and optimisers from the config (the identity encoders may train first)."""
    from deepswap.training.module import FaceSwapModule
    from deepswap.utils.fresh_process import finished_ok, grow, torch_threads

    warm = _warm_start_beside_encoders(cfg)  # on a fresh machine: both train at once, a core each
    try:
        with torch_threads(warm[1] if warm else None):
            eval_identity = instantiate(cfg.eval_identity) if cfg.get("eval_identity") else None
            identity_encoder = instantiate(cfg.identity)
    except BaseException:
        if warm:
            warm[0].kill()
        raise
    if warm:
        grow(warm[0])  # the encoders are done: the warm start takes every thread
        finished_ok(warm[0], "the detector's warm start")  # on failure, _detector_net trains it again
    module = FaceSwapModule(
        generator=instantiate(cfg.generator),
        discriminator=instantiate(cfg.discriminator),
        identity_encoder=identity_encoder,
        eval_identity_encoder=eval_identity,
        adversarial_loss=instantiate(cfg.loss.adversarial),
        loss_weights=OmegaConf.to_container(cfg.loss.weights),
        r1=OmegaConf.to_container(cfg.loss.r1),
        reconstruction=cfg.loss.reconstruction,
        feature_matching_last_n=cfg.loss.feature_matching_last_n,
        optimizer_g=instantiate(cfg.optimizer.generator),
        optimizer_d=instantiate(cfg.optimizer.discriminator),
        **_detector_kwargs(cfg),
        **cfg.model,
        run_config=OmegaConf.to_container(cfg, resolve=True),
    )
    return module


def _loggers(cfg: DictConfig, out: Path, resuming: bool) -> list:
    from deepswap.training.loggers import resume_kwargs

    configs = [c for c in (cfg.get("logger") or {}).values() if c is not None]
    return [instantiate(c, **(resume_kwargs(c, out) if resuming else {})) for c in configs]


def train(cfg: DictConfig, extra_callbacks: list | None = None) -> tuple[dict, dict]:
    """Train, save checkpoints/samples/metrics in ``cfg.paths.output_dir``, and score held-out pairs.

    Returns ``(metrics, objects)``: the trainer's final metrics (plus the held-out table under
    ``"heldout"``) and the built ``cfg``, ``module``, ``datamodule`` and ``trainer``.
    ``extra_callbacks`` are added to the configured ones (for notebooks and tests). A config that
    cannot work raises a :class:`deepswap.errors.DeepswapError` before anything is written.
    """
    check_train(cfg)
    from deepswap.training.checkpoints import RunCheckpoints

    ckpt_path = resume_path(cfg)
    ckpt_path = str(ckpt_path) if ckpt_path else None
    import lightning as L  # after the checks: a bad config stops in a second

    L.seed_everything(cfg.seed, workers=True)
    out = Path(cfg.paths.output_dir)
    with removed_on_error(out):
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

        datamodule = instantiate(cfg.data, **_data_overrides(cfg))
        module = build_module(cfg)
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
        callbacks += list(extra_callbacks or [])
        loggers = _loggers(cfg, out, resuming=ckpt_path is not None)
        trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
        batches = kimg_to_batches(cfg.total_kimg, cfg.data.batch_size, trainer.world_size)
        trainer.fit_loop.epoch_loop.max_steps = batches * steps_per_batch(cfg)
        # validation every val_every_kimg; Lightning counts it in training batches of one process
        val_batches = kimg_to_batches(cfg.val_every_kimg, cfg.data.batch_size, trainer.world_size)
        trainer.val_check_interval = val_batches
        log.info(
            "training for %s kimg = %d batches of %d per process (%d processes), detector %s; run folder %s",
            cfg.total_kimg,
            batches,
            cfg.data.batch_size,
            trainer.world_size,
            detector_mode(cfg),
            out,
        )

        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
        if not any(isinstance(c, RunCheckpoints) for c in trainer.checkpoint_callbacks):
            trainer.save_checkpoint(out / "checkpoints" / "last.ckpt")  # RunCheckpoints wrote it in-epoch
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if (
            cfg.get("final_eval", {}).get("enabled")
            and trainer.is_global_zero
            and hasattr(datamodule, "world")
        ):
            metrics["heldout"] = final_table(cfg, module, datamodule, out)
        return metrics, {"cfg": cfg, "module": module, "datamodule": datamodule, "trainer": trainer}


def final_table(cfg: DictConfig, module: FaceSwapModule, datamodule, out: Path) -> dict:
    """The closing table: the evaluation protocol (:mod:`deepswap.evaluation.protocol`) on pairs of the
    world's *test* identities (validation used the val identities), scored by ``eval_identity`` (the
    evaluation oracle by default), printed with 95% intervals, the paired differences to the trivial
    baselines and a sentence saying which rows the model beats; saved to ``heldout_eval.json``. With the
    default configs it equals ``python -m deepswap.evaluate`` on the run's last checkpoint with the same
    ``num_pairs`` and ``seed``."""
    from deepswap.evaluation import protocol, report
    from deepswap.evaluation.scorers import scorer_for

    module = module.to("cpu").eval()
    fe, world = cfg.final_eval, datamodule.world
    n = min(int(fe.num_pairs), len(world.identity_ids("test")))
    pairs = protocol.synthetic_pairs(world, n, datamodule.size, int(fe.get("seed", 0)), "test")
    encoder, what = module.eval_identity_encoder, "the evaluation oracle (training never used it)"
    if encoder is None:
        encoder, what = module.identity_encoder, "the training identity encoder (no eval_identity configured)"
    scorer = scorer_for(encoder, what, factor_names=world.identity_names)
    paste_px = protocol.paste_px_for(module.run_config, bool(fe.get("paste", True)))
    res = protocol.run_protocol(module.swap, pairs, scorer, fe.batch_size, paste_px=paste_px)
    title = f"Test identities, {n} pairs; scored by {scorer.name}; {protocol.paste_words(paste_px)}"
    print("\n" + report.format_table(res["rows"], title, res["intervals"]), flush=True)
    print(report.format_noise_floor(res["noise_floor"]))
    if res.get("streaks") is not None:
        print(report.format_streaks(res["streaks"]))
    verdict = report.beats_in_words(res["differences"])
    print(report.format_differences(res["differences"]) + "\n" + verdict + "\n", flush=True)
    payload = {
        "rows": res["rows"],
        "intervals": res["intervals"],
        "differences": res["differences"],
        "verdict": verdict,
        "noise_floor": res["noise_floor"],
        "streaks": res.get("streaks"),
        "num_pairs": n,
        "paste_px": paste_px,
        "split": "test",
        "scorer": scorer.name,
        "kimg": module.kimg,
    }
    (out / "heldout_eval.json").write_text(json.dumps(payload, indent=2))
    with open(out / "metrics.jsonl", "a") as f:
        for name, row in res["rows"].items():
            for k, v in row.items():
                line = {
                    "step": module.global_step,
                    "kimg": round(module.kimg, 3),
                    "metric": f"test/{name}/{k}",
                }
                f.write(json.dumps({**line, "value": v, "ckpt": "checkpoints/last.ckpt"}) + "\n")
    return res["rows"]


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def _hydra_main(cfg: DictConfig) -> None:
    from deepswap.utils.hydra_cli import run_folder

    with report("deepswap.train", cleanup=run_folder()):
        train(cfg)


def main() -> None:
    """Entry point: check the command line first (typos list the valid choices; bad values and
    combinations stop in one line, before any run folder exists), then run Hydra."""
    from deepswap.utils.hydra_cli import precheck, set_argv

    set_argv(precheck("deepswap.train", "train", check_train, sys.argv[1:]))
    import torch

    torch.set_float32_matmul_precision("high")
    _hydra_main()


if __name__ == "__main__":
    main()
