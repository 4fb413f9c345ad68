"""The evaluation harness: score a swap model on the protocol (``python -m deepswap.evaluate`` is its shell).

From Python: ``deepswap.evaluate("last.ckpt", num_pairs=128)`` (this module is callable) or
``deepswap.evaluate.evaluate(...)``; both return an :class:`EvaluationResult`. The protocol and the
metrics are described in :mod:`deepswap.evaluation.protocol`; the configuration in
``configs/evaluate.yaml``. Outputs go to ``output_dir``: ``evaluation.json``, ``pairs.csv`` and
``swaps.npz`` (uint8 images of every pair: target, source, model, truth).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from deepswap.evaluation import protocol, report
from deepswap.evaluation.protocol import EvaluationError
from deepswap.evaluation.scorers import OracleScorer, RealScorer
from deepswap.inference.loader import load_model
from deepswap.utils.run_checks import check_evaluate
from deepswap.utils.runinfo import git_state, sha256

log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
# Pairs when num_pairs is null: one per test identity of the default synthetic world (200), and no more
# on bigger folders, where 200 pairs already give intervals of a few percent.
DEFAULT_MAX_PAIRS = 200


@dataclass
class EvaluationResult:
    """``rows``: output name -> metric -> mean; ``per_pair``: output -> metric -> ``(N,)``."""

    rows: dict[str, dict[str, float]]
    per_pair: dict[str, dict[str, torch.Tensor]]
    noise_floor: dict[str, float]
    skipped: dict[str, str]
    provenance: dict
    output_dir: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    intervals: dict = field(default_factory=dict)  # output -> metric -> [lo, hi] (bootstrap 95%)
    differences: dict = field(default_factory=dict)  # model -> baseline -> metric -> [mean, lo, hi]
    streaks: float | None = None  # model's band energy / the truth's own change (synthetic only)

    def table(self) -> str:
        return report.format_table(self.rows, intervals=self.intervals)


def _pair_count(cfg: DictConfig, available: int) -> int:
    """``num_pairs``, or with ``num_pairs=null`` one pair per identity of the split, at most
    :data:`DEFAULT_MAX_PAIRS`."""
    return int(cfg.num_pairs) if cfg.num_pairs is not None else min(available, DEFAULT_MAX_PAIRS)


def heldout_pairs(cfg: DictConfig, data: DictConfig) -> tuple[dict, str, object]:
    """The protocol pairs of ``cfg.split``'s identities, the data kind and the synthetic world (or None)."""
    target = str(data.get("_target_", ""))
    if target.endswith("SyntheticDataModule"):
        from deepswap.data.synthetic import SyntheticFaceWorld

        world = SyntheticFaceWorld(**OmegaConf.to_container(data.world, resolve=True))
        n = _pair_count(cfg, len(world.identity_ids(cfg.split)))
        pairs = protocol.synthetic_pairs(world, n, int(data.size), cfg.seed, cfg.split)
        return pairs, "synthetic", world
    dm = instantiate(data)
    if not hasattr(dm, "heldout_folder"):
        raise EvaluationError(
            f"data._target_ {target!r} is not a deepswap data module (synthetic, folder or ffpp)"
        )
    folder = dm.heldout_folder(str(cfg.split))
    return protocol.folder_pairs(folder, _pair_count(cfg, len(folder.by_identity)), cfg.seed), "folder", None


def build_scorer(cfg: DictConfig, kind: str, world=None):
    """The protocol's scorer for a composed ``configs/evaluate.yaml`` and the data ``kind`` of
    :func:`heldout_pairs` (``"synthetic"``: the oracle of ``cfg.oracle``, trained on first use and cached;
    otherwise the real-data models of ``cfg.evaluation``) -> ``(scorer, spec for the provenance)``."""
    if kind == "synthetic":
        oracle = instantiate(cfg.oracle)
        scorer = OracleScorer(oracle, cfg.device, factor_names=world.identity_names)
        return scorer, OmegaConf.to_container(cfg.oracle, resolve=True)
    ev = cfg.evaluation
    scorer = RealScorer(ev.recognizer, ev.recognizer_depth, ev.landmark_model, cfg.device)
    return scorer, {"recognizer": ev.recognizer, "landmark_model": ev.landmark_model}


def evaluate_cfg(cfg: DictConfig) -> EvaluationResult:
    """The harness on a composed ``configs/evaluate.yaml``."""
    t0 = time.time()
    ckpt_path = Path(str(cfg.checkpoint)).expanduser()
    model, source_kind = load_model(ckpt_path, cfg.device)
    with open_dict(cfg):  # the checkpoint's data config, unless replaced (data=...) or amended (+data.x=...)
        ckpt_data = OmegaConf.create(model.config["data"])
        if cfg.get("data") is None:
            cfg.data = ckpt_data
        elif "_target_" not in cfg.data:
            cfg.data = OmegaConf.merge(ckpt_data, cfg.data)
    pairs, kind, world = heldout_pairs(cfg, cfg.data)
    scorer, scorer_spec = build_scorer(cfg, kind, world)
    paste_px = protocol.paste_px_for(model.config, bool(cfg.get("paste", True)))
    res = protocol.run_protocol(
        model.swap, pairs, scorer, cfg.batch_size, cfg.bootstrap_resamples, paste_px=paste_px
    )
    outputs, per_pair, rows, noise = res["outputs"], res["per_pair"], res["rows"], res["noise_floor"]
    swaps = outputs["model"]
    skipped = dict(scorer.missing)
    if cfg.evaluation.inception:
        from deepswap.evaluation.fid import fid_kid, load_inception

        features = load_inception(cfg.evaluation.inception)
        for name, images in outputs.items():
            rows[name].update(fid_kid(pairs["target"], images, features, cfg.batch_size))
    else:
        skipped["fid"] = (
            "Inception weights: evaluation.inception=<inception-2015-12-05.pt or inception_v3 .pth>"
        )
    for metric, what in skipped.items():
        log.warning("skipped %s: supply %s", metric, what)
        print(f"skipped {metric}: supply {what}", flush=True)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    provenance = {
        "checkpoint": {"path": str(ckpt_path.resolve()), "sha256": sha256(ckpt_path), "kind": source_kind},
        "generator": model.config.get("generator"),
        "data": data,
        "data_kind": kind,
        "alignment": "synthetic renderer frame (no alignment)"
        if kind == "synthetic"
        else data.get("alignment"),
        "crop_size": int(cfg.data.size),
        "resize_filter": "none: rendered at crop size"
        if kind == "synthetic"
        else "cv2.INTER_AREA to crop size",
        "scorer": {"kind": scorer.name, "spec": scorer_spec, "input_resize": "bilinear, antialias"},
        "seeds": {"pairs": int(cfg.seed), "world": data.get("world", {}).get("seed")},
        "split": str(cfg.split),
        "bootstrap": {"resamples": int(cfg.bootstrap_resamples), "level": 0.95, "over": "pairs"},
        "num_pairs": len(swaps),
        "paste_px": paste_px,
        "model_rows": protocol.paste_words(paste_px),
        "deepswap_version": _version(),
        **git_state(),
        "torch": torch.__version__,
        "device": str(cfg.device),
        "command": " ".join(sys.argv),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - t0, 1),
    }
    result = EvaluationResult(
        rows,
        per_pair,
        noise,
        skipped,
        provenance,
        intervals=res["intervals"],
        differences=res["differences"],
        streaks=res.get("streaks"),
    )
    if cfg.output_dir:
        _write(result, Path(str(cfg.output_dir)), pairs, outputs, cfg.save_images)
    return result


def _version() -> str:
    from deepswap import __version__

    return __version__


def _write(result: EvaluationResult, out: Path, pairs: dict, outputs: dict, save_images: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result.output_dir = out
    files = {"json": str(out / "evaluation.json"), "csv": str(out / "pairs.csv")}
    report.write_pairs_csv(out / "pairs.csv", result.per_pair, pairs)
    if save_images:

        def u8(x):
            return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()

        arrays = {"target": u8(pairs["target"]), "source": u8(pairs["source"]), "model": u8(outputs["model"])}
        if "truth" in pairs:
            arrays["truth"] = u8(pairs["truth"])
        np.savez_compressed(out / "swaps.npz", **arrays)
        files["images"] = str(out / "swaps.npz")
    result.files = files
    report.write_json(
        out / "evaluation.json",
        {
            "rows": result.rows,
            "intervals": result.intervals,
            "differences": result.differences,
            "verdict": report.beats_in_words(result.differences),
            "noise_floor": result.noise_floor,
            "streaks": result.streaks,
            "skipped": result.skipped,
            "provenance": result.provenance,
            "files": files,
        },
    )


def compose_config(checkpoint: str | Path, overrides: list[str] | None = None, **kwargs) -> DictConfig:
    """``configs/evaluate.yaml`` with ``checkpoint`` and overrides (``key=value`` strings, or kwargs)."""
    from hydra import compose, initialize_config_dir

    extra = [f"{k}={'null' if v is None else v}" for k, v in kwargs.items()]
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("evaluate", overrides=[f"checkpoint={checkpoint}", *(overrides or []), *extra])
    with open_dict(cfg):
        if cfg.output_dir is None:
            cfg.output_dir = str(Path("logs/evaluate/runs") / time.strftime("%Y-%m-%d_%H-%M-%S"))
    return cfg


def closing_pairs(num_pairs: int = 200, overrides: list[str] | None = None) -> dict:
    """The closing table's held-out pairs for the main job's data (``configs/train.yaml``'s ``data`` with
    ``overrides``; synthetic: world v2's test identities, pair seed 0), as :func:`heldout_pairs` gives
    them: for scripts and notebooks that score checkpoints on the same pairs as ``deepswap.train``."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        data = compose("train", overrides=list(overrides or [])).data
    cfg = compose_config("unused", num_pairs=num_pairs)
    with open_dict(cfg):
        cfg.data = data
    return heldout_pairs(cfg, cfg.data)[0]


def checkpoint_swaps(checkpoint: str | Path, pairs: dict, batch_size: int = 64) -> torch.Tensor:
    """A training checkpoint's swaps of ``pairs``, pasted as the closing table pastes them."""
    model, _ = load_model(str(checkpoint), "cpu")
    return protocol.run_model(model.swap, pairs, batch_size, protocol.paste_px_for(model.config, True))


def synthetic_oracle(data: dict, overrides: list[str] | None = None) -> torch.nn.Module:
    """The protocol's oracle for a synthetic data config (``{"world": {...}, "size": N}``), trained on
    first use and cached; ``overrides`` amend ``configs/oracle`` (e.g. ``["oracle.steps=100"]``)."""
    cfg = compose_config("unused", overrides)
    with open_dict(cfg):
        cfg.data = OmegaConf.create(data)
    return instantiate(cfg.oracle)


def evaluate(checkpoint: str | Path, overrides: list[str] | None = None, **kwargs) -> EvaluationResult:
    """Score ``checkpoint`` (a training checkpoint or an export folder) on the protocol; prints the table.

    ``kwargs`` are config values, e.g. ``num_pairs=128, seed=1, output_dir="out"``;
    ``overrides`` are Hydra strings, e.g. ``["data=folder", "data.root=/faces"]``.
    """
    cfg = compose_config(checkpoint, overrides, **kwargs)
    check_evaluate(cfg)
    result = evaluate_cfg(cfg)
    print_result(result)
    return result


def print_result(result: EvaluationResult) -> None:
    """The table, noise floor, differences and written files of ``result``, on stdout."""
    p = result.provenance
    title = (
        f"{p['num_pairs']} held-out pairs ({p['data_kind']}, {p['crop_size']} px), "
        f"scored by {p['scorer']['kind']}; {p.get('model_rows', 'model rows: raw output')}"
    )
    print("\n" + report.format_table(result.rows, title, result.intervals), flush=True)
    print(report.format_noise_floor(result.noise_floor), flush=True)
    if result.streaks is not None:
        print(report.format_streaks(result.streaks), flush=True)
    if result.differences:
        print(report.format_differences(result.differences), flush=True)
        print(report.beats_in_words(result.differences), flush=True)
    if result.output_dir:
        print(f"written: {', '.join(result.files.values())}\n", flush=True)
