"""Deepfake detectors from the command line and from Python.

    python -m deepswap.detect train train.steps=500                       # SBI on the synthetic world
    python -m deepswap.detect train "data.fakes=[sbi,RUN/checkpoints/last.ckpt]" data.size=64
    python -m deepswap.detect train detect_data=ffpp detect_net=xception device=cuda data.root=/data/ffpp \\
        data.splits.train=splits/train.json data.splits.val=splits/val.json data.splits.test=splits/test.json
    python -m deepswap.detect eval checkpoint=RUN/checkpoints/best.pt detect_data=ffpp data.root=...
    python -m deepswap.detect robustness checkpoint=RUN/checkpoints/best.pt      # JPEG / blur / resize sweep
    python -m deepswap.detect lofo detect_recipe=generalise \\
        "+lofo.families.simswap=[RUN/checkpoints/last.ckpt]"
    python -m deepswap.detect ensemble "ensemble.members=[A/best.pt,RUN/checkpoints/last.ckpt]"  # ensemble.pt
    python -m deepswap.detect predict RUN/checkpoints/best.pt clip.mp4 crops/ face.png --out preds/
    python -m deepswap.detect export RUN/checkpoints/best.pt --out detector.onnx

``train``, ``eval``, ``robustness``, ``lofo`` (leave-one-family-out) and ``ensemble`` (several detectors
as one file) are Hydra commands on ``configs/detect.yaml``; ``predict`` and ``export`` take plain arguments
(``--help``). From Python: :func:`train`, :func:`evaluate`, :func:`robustness`, :func:`lofo_cfg`,
:func:`ensemble`, :func:`predict`, :func:`export` and :func:`load_detector`. Protocol
(``deepswap.detection.train_detector``): best.pt is chosen on val, the threshold is fixed on val, the
test split is built and scored once, at the end.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from deepswap.detection.data import FrameSet, ffpp_split, resolve_fakes, synthetic_split
from deepswap.detection.inference import Prediction, export_onnx
from deepswap.detection.inference import predict as predict_files
from deepswap.detection.networks import FlipAverage, check_tta, with_tta
from deepswap.detection.train_detector import (
    Scores,
    check_ema,
    fix_threshold,
    load_detector,
    run,
    score,
    write_scores_csv,
)
from deepswap.errors import NothingProducedError, fail, report, take_debug_flag
from deepswap.utils.outputs import output_file, output_folder
from deepswap.utils.run_checks import check_detect

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
COMMANDS = ("train", "eval", "robustness", "lofo", "ensemble", "predict", "export")


def _fake_specs(data: dict, split: str) -> list[str]:
    return list(data["test_fakes"] if split == "test" and data.get("test_fakes") else data["fakes"])


def split_factory(
    data: dict, device: str = "cpu", pseudo_fakes: list[str] | None = None, sbi_options: dict | None = None
):
    """``split(name) -> FrameSet`` for a ``configs/detect_data`` config (swap models loaded once);
    ``pseudo_fakes`` (the recipe's, synthetic data only) join the train split; ``sbi_options``: the
    recipe's self-blend options."""
    cache: dict = {}
    pseudo = list(pseudo_fakes or [])

    def split(name: str) -> FrameSet:
        fresh = name == "train"
        if data["kind"] == "ffpp":
            return ffpp_split(
                data["root"], data["splits"][name], int(data["size"]), int(data["frames_per_video"]),
                _fake_specs(data, name), data["compression"], data["methods"], data["prefer"],
                int(data["seed"]), fresh,
            )  # fmt: skip
        if data["kind"] == "synthetic":
            from deepswap.data.synthetic import SyntheticFaceWorld

            wanted = _fake_specs(data, name) + (pseudo if name == "train" else [])
            cache.update(resolve_fakes([s for s in wanted if s not in cache], device))
            world = SyntheticFaceWorld(**data["world"])
            fakes = {s: cache[s] for s in wanted}
            n = int(data["pairs"][name])
            return synthetic_split(
                world, name, n, int(data["size"]), fakes, int(data["seed"]), fresh, sbi_options=sbi_options
            )
        raise ValueError(f"data.kind must be 'synthetic' or 'ffpp', got {data['kind']!r}")

    return split


def _provenance(cfg: DictConfig, t0: float) -> dict:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=CONFIG_DIR.parent, capture_output=True, text=True
        )
        git = sha.stdout.strip() or None
    except OSError:
        git = None
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return {
        "data": data,
        "net": OmegaConf.to_container(cfg.net, resolve=True),
        "resize_filter": "cv2.INTER_AREA" if data["kind"] == "ffpp" else "none: rendered at size",
        "postprocess": _postprocess(cfg),
        "recipe": OmegaConf.to_container(cfg.recipe, resolve=True),
        "seed": int(cfg.seed),
        "git_sha": git,
        "torch": torch.__version__,
        "command": " ".join(sys.argv),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - t0, 1),
    }


def train_cfg(cfg: DictConfig) -> dict:
    """Train on a composed ``configs/detect.yaml``; returns (and writes) ``results.json``'s content."""
    t0, out = time.time(), Path(str(cfg.output_dir))
    torch.manual_seed(int(cfg.seed))
    net_config = OmegaConf.to_container(cfg.net, resolve=True)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    t = cfg.train
    post = _postprocess(cfg)
    if cfg.recipe.pseudo_fakes and data["kind"] != "synthetic":
        raise ValueError("recipe pseudo_fakes need the synthetic world's masks; use detect_data=synthetic "
                         "or data.fakes=[manipulated,sbi] for FF++")  # fmt: skip
    result = run(
        instantiate(cfg.net), net_config,
        split_factory(data, cfg.device, list(cfg.recipe.pseudo_fakes), _sbi_options(cfg)), out,
        threshold_rule=cfg.threshold.rule, fpr=float(cfg.threshold.fpr),
        steps=int(t.steps), batch_size=int(t.batch_size), lr=float(t.lr), weight_decay=float(t.weight_decay),
        eval_every=int(t.eval_every), select=t.select, seed=int(cfg.seed), device=cfg.device,
        workers=int(t.workers), meta={"size": int(data["size"]), "data": data},
        postprocess=post, pseudo_share=_pseudo_share(cfg), pseudo_families=list(cfg.recipe.pseudo_fakes),
        ema=_ema(cfg), hflip=_hflip(cfg), tta=_tta(cfg),
    )  # fmt: skip
    result["provenance"] = _provenance(cfg, t0)
    (out / "results.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    return result


def _postprocess(cfg: DictConfig) -> dict | None:
    """The training post-processing: the recipe's when it has one, else ``train.postprocess``."""
    post = cfg.recipe.postprocess if cfg.recipe.postprocess else cfg.train.postprocess
    return OmegaConf.to_container(post, resolve=True) if post else None


def _pseudo_share(cfg: DictConfig) -> float | None:
    """``recipe.pseudo_share``, checked here so that a bad value fails before any data is built."""
    from deepswap.detection.train_detector import check_pseudo_share

    return check_pseudo_share(cfg.recipe.get("pseudo_share"))


def _ema(cfg: DictConfig) -> float | None:
    """The weight average's decay: ``recipe.ema``, else ``train.ema`` (checked before any data is built)."""
    ema = cfg.recipe.get("ema")
    return check_ema(ema if ema is not None else cfg.train.get("ema"))


def _hflip(cfg: DictConfig) -> float:
    """The training flip probability: ``recipe.hflip``, else ``train.hflip`` (checked before any data)."""
    from deepswap.detection.train_detector import check_hflip

    p = cfg.recipe.get("hflip")
    return check_hflip(p if p is not None else cfg.train.get("hflip", 0.0))


def _tta(cfg: DictConfig) -> str | None:
    """Test-time augmentation: ``recipe.tta``, else ``tta`` (checked before any data is built)."""
    tta = cfg.recipe.get("tta")
    return check_tta(tta if tta is not None else cfg.get("tta"))


def _sbi_options(cfg: DictConfig) -> dict | None:
    """The recipe's self-blend options (``recipe.sbi``), if any."""
    sbi = cfg.recipe.get("sbi")
    return OmegaConf.to_container(sbi, resolve=True) if sbi else None


def lofo_cfg(cfg: DictConfig) -> dict:
    """Leave-one-family-out on the synthetic world: one detector per held-out family of
    ``lofo.families``, trained with ``cfg.recipe``; writes lofo.{json,md} and one folder per fold."""
    from deepswap.data.synthetic import SyntheticFaceWorld
    from deepswap.detection.lofo import lofo, to_markdown

    t0, out = time.time(), Path(str(cfg.output_dir))
    data, t = OmegaConf.to_container(cfg.data, resolve=True), cfg.train
    if data["kind"] != "synthetic":
        raise ValueError("lofo runs on the synthetic world (detect_data=synthetic): it needs its pairs")
    families = {str(k): [str(m) for m in v] for k, v in cfg.lofo.families.items()}
    probe = OmegaConf.to_container(cfg.lofo.probe, resolve=True) if cfg.lofo.probe else None
    fit_kwargs = dict(
        steps=int(t.steps), batch_size=int(t.batch_size), lr=float(t.lr), weight_decay=float(t.weight_decay),
        eval_every=int(t.eval_every), select=t.select, workers=int(t.workers), postprocess=_postprocess(cfg),
        pseudo_share=_pseudo_share(cfg), ema=_ema(cfg), hflip=_hflip(cfg), tta=_tta(cfg),
    )  # fmt: skip
    holdout = [str(h) for h in cfg.lofo.holdout] if cfg.lofo.get("holdout") else None
    result = lofo(
        SyntheticFaceWorld(**data["world"]), families, OmegaConf.to_container(cfg.net, resolve=True), out,
        int(data["size"]), dict(cfg.lofo.pairs), list(cfg.recipe.pseudo_fakes), fit_kwargs, probe,
        {str(k): str(v) for k, v in (cfg.lofo.score or {}).items()}, bool(cfg.lofo.folds),
        {"recipe": OmegaConf.to_container(cfg.recipe, resolve=True), "provenance": _provenance(cfg, t0)},
        float(cfg.threshold.fpr), int(cfg.lofo.resamples), int(cfg.seed), cfg.device,
        sbi_options=_sbi_options(cfg), holdout=holdout,
        conditions=[str(c) for c in cfg.lofo.get("conditions") or []],
    )  # fmt: skip
    print(to_markdown(result))
    return result


def eval_cfg(cfg: DictConfig) -> dict:
    """Score ``cfg.checkpoint`` on the test split of ``cfg.data``, at the checkpoint's val threshold
    (``threshold.source=checkpoint``) or one refit on this data's val split (``threshold.source=val``)."""
    t0, out = time.time(), Path(str(cfg.output_dir))
    if not cfg.checkpoint:
        raise ValueError("eval needs checkpoint=<detector file, e.g. RUN/checkpoints/best.pt>")
    net, meta = load_detector(cfg.checkpoint, cfg.device)
    split = split_factory(OmegaConf.to_container(cfg.data, resolve=True), cfg.device)
    bs = 2 * int(cfg.train.batch_size)
    # the file's own test-time augmentation is part of the loaded network; tta=flip adds it to any file
    net = with_tta(net, check_tta(cfg.get("tta")))
    tta = "flip" if isinstance(net, FlipAverage) else None
    if cfg.threshold.source == "checkpoint":
        if not meta.get("threshold"):
            raise ValueError(f"{cfg.checkpoint} has no saved threshold; use threshold.source=val")
        threshold = meta["threshold"]
    elif cfg.threshold.source == "val":
        v = score(net, split("val"), bs, cfg.device)
        rule, fpr = cfg.threshold.rule, float(cfg.threshold.fpr)
        threshold = {
            "value": fix_threshold(v.labels, v.scores, rule, fpr),
            "rule": rule,
            "fpr": fpr,
            "fixed_on": "val",
        }
    else:
        raise ValueError(f"threshold.source must be 'checkpoint' or 'val', got {cfg.threshold.source!r}")
    test = split("test")
    s: Scores = score(net, test, bs, cfg.device)
    out.mkdir(parents=True, exist_ok=True)
    write_scores_csv(out / "test_frames.csv", s, test)
    result = {
        "checkpoint": {"path": meta["path"], "step": meta.get("step")},
        "threshold": threshold,
        "tta": tta,
        "test": s.metrics(float(threshold["value"])),
        "test_problems": test.problems,
        "provenance": _provenance(cfg, t0),
    }
    (out / "evaluation.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    return result


def robustness_cfg(cfg: DictConfig) -> dict:
    """Frame AUC of ``cfg.checkpoint`` on the test split of ``cfg.data`` under every post-processing
    condition (JPEG, blur, resize; reals and fakes alike); writes robustness.{csv,json,md}.
    ``cfg.checkpoint``: a detector file, or a training checkpoint (``.ckpt``: its co-trained detector)."""
    from deepswap.detection.lofo import load_any_detector
    from deepswap.detection.robustness import sweep_frames, to_markdown, write_table

    t0, out = time.time(), Path(str(cfg.output_dir))
    if not cfg.checkpoint:
        raise ValueError(
            "robustness needs checkpoint=<detector file, e.g. RUN/checkpoints/best.pt, or a training "
            "checkpoint RUN/checkpoints/last.ckpt for its co-trained detector>"
        )
    net, meta = load_any_detector(cfg.checkpoint, cfg.device)
    test = split_factory(OmegaConf.to_container(cfg.data, resolve=True), cfg.device)("test")
    table = sweep_frames(net, test, batch_size=2 * int(cfg.train.batch_size), device=cfg.device)
    files = write_table(table, out)
    result = {"checkpoint": {"path": meta["path"], "step": meta.get("step")}, "robustness": table}
    result["provenance"] = _provenance(cfg, t0)
    (out / "robustness_run.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(to_markdown(table))
    return {**result, "files": files}


def ensemble_cfg(cfg: DictConfig) -> dict:
    """``ensemble.members`` (detector files, training checkpoints, ``warmstart:<detector option>``) as one
    detector file, ``output_dir/ensemble.pt`` (:class:`~deepswap.detection.networks.StandardisedEnsemble`):
    each member's logit standardised by its mean and sd on the clean reals of ``cfg.data``'s val split, then
    combined (``ensemble.combine``); the threshold fixed on the whole val split (``threshold.rule``). Every
    other command takes the file as it takes any detector (``eval``, ``robustness``, ``lofo.score``,
    ``predict``, ``export``). Writes ``ensemble.json``: the members, each one's val AUC, the ensemble's."""
    from deepswap.detection.lofo import load_any_detector
    from deepswap.detection.metrics import roc_auc
    from deepswap.detection.networks import StandardisedEnsemble
    from deepswap.detection.pretrain import WARM_START_MEMBER, warm_start_member
    from deepswap.detection.train_detector import save_detector

    t0, out = time.time(), Path(str(cfg.output_dir))
    paths = [str(m) for m in cfg.ensemble.members or []]
    loaded = [
        warm_start_member(p, cfg.device, cfg.paths.cache_dir)
        if p.startswith(WARM_START_MEMBER)
        else load_any_detector(p, cfg.device)
        for p in paths
    ]
    data = OmegaConf.to_container(cfg.data, resolve=True)
    sizes = {int(m["size"]) for _, m in loaded if m.get("size")}
    if sizes - {int(data["size"])}:
        raise ValueError(
            f"the members were trained at input size {sorted(sizes)} but data.size={data['size']}: "
            "ensemble members must share the data's size (set data.size)"
        )
    configs = []
    for net, meta in loaded:
        inner = meta["config"]
        configs.append(
            {"_target_": f"{FlipAverage.__module__}.FlipAverage", "net": inner}
            if isinstance(net, FlipAverage)
            else inner
        )
    ens = StandardisedEnsemble([net for net, _ in loaded], combine=str(cfg.ensemble.combine)).to(cfg.device)
    val = split_factory(data, cfg.device)("val")
    bs = 2 * int(cfg.train.batch_size)
    per_member = [score(net, val, bs, cfg.device) for net, _ in loaded]
    if any(not np.array_equal(s.index, per_member[0].index) for s in per_member):
        raise RuntimeError("ensemble members scored different val frames")  # same split: cannot happen
    reals = per_member[0].labels == 0
    logits = torch.as_tensor(np.stack([s.scores for s in per_member], axis=1), dtype=torch.float32)
    ens.set_calibration(logits[torch.as_tensor(reals)])
    labels, scores = per_member[0].labels, ens.combine_logits(logits.to(ens.loc.device)).cpu().numpy()
    rule, fpr = cfg.threshold.rule, float(cfg.threshold.fpr)
    threshold = {"value": fix_threshold(labels, scores, rule, fpr), "rule": rule, "fpr": fpr}
    threshold["fixed_on"] = "val"
    config = {"_target_": f"{StandardisedEnsemble.__module__}.StandardisedEnsemble", "members": configs,
              "combine": str(cfg.ensemble.combine)}  # fmt: skip
    path = save_detector(
        out / "ensemble.pt", ens, config, step=None, size=int(data["size"]), threshold=threshold,
        members=[m["path"] for _, m in loaded], data=data,
    )  # fmt: skip
    result = {
        "ensemble": str(path),
        "members": [
            {
                "path": m["path"],
                "step": m.get("step"),
                "val_auc": roc_auc(s.labels, s.scores),
                "loc": float(ens.loc[i]),
                "scale": float(ens.scale[i]),
                "flip_tta": isinstance(n, FlipAverage),
            }
            for i, ((n, m), s) in enumerate(zip(loaded, per_member))
        ],  # fmt: skip
        "combine": str(cfg.ensemble.combine),
        "calibration_reals": int(reals.sum()),
        "val_auc": roc_auc(labels, scores),
        "threshold": threshold,
        # the detect config's own network, recipe and post-processing play no part here
        "provenance": {
            k: v for k, v in _provenance(cfg, t0).items() if k not in ("net", "recipe", "postprocess")
        },
    }
    (out / "ensemble.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    return result


def ensemble(members: list[str | Path], overrides: list[str] | None = None, **kwargs) -> dict:
    """Several detector files (or training checkpoints) as one calibrated ``ensemble.pt``."""
    listed = "[" + ",".join(str(m) for m in members) + "]"
    cfg = compose_config("ensemble", [f"ensemble.members={listed}", *(overrides or [])], **kwargs)
    return ensemble_cfg(_checked(cfg))


def compose_config(command: str = "train", overrides: list[str] | None = None, **kwargs) -> DictConfig:
    """``configs/detect.yaml`` with overrides (Hydra strings or kwargs); output under logs/detect/runs."""
    from hydra import compose, initialize_config_dir

    extra = [f"{k}={'null' if v is None else v}" for k, v in kwargs.items()]
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("detect", overrides=[f"command={command}", *(overrides or []), *extra])
    with open_dict(cfg):
        if cfg.output_dir is None:
            cfg.output_dir = str(
                Path(cfg.paths.log_dir) / "detect" / "runs" / time.strftime("%Y-%m-%d_%H-%M-%S")
            )
    return cfg


def _checked(cfg: DictConfig) -> DictConfig:
    check_detect(cfg)
    return cfg


def train(overrides: list[str] | None = None, **kwargs) -> dict:
    """Train a detector, e.g. ``train(["detect_data=ffpp", "data.root=/ffpp"], output_dir="out")``."""
    return train_cfg(_checked(compose_config("train", overrides, **kwargs)))


def evaluate(checkpoint: str | Path, overrides: list[str] | None = None, **kwargs) -> dict:
    """Score a detector file on the test split of the configured data."""
    return eval_cfg(_checked(compose_config("eval", overrides, checkpoint=checkpoint, **kwargs)))


def robustness(checkpoint: str | Path, overrides: list[str] | None = None, **kwargs) -> dict:
    """The JPEG / blur / resize sweep of a detector file (or of a training checkpoint's co-trained detector)
    on the test split of the configured data."""
    return robustness_cfg(_checked(compose_config("robustness", overrides, checkpoint=checkpoint, **kwargs)))


def predict(detector, inputs, out_dir=None, size: int | None = None, **kwargs) -> Prediction:
    """Score images, videos and folders; ``detector`` is a detector file or a network (then ``size``
    is required). See :func:`deepswap.detection.inference.predict` for the CSV columns and kwargs."""
    net, meta = (
        load_detector(detector, kwargs.get("device", "cpu"))
        if isinstance(detector, (str, Path))
        else (detector, {})
    )
    size = size or meta.get("size")
    if not size:
        raise ValueError("pass size=<detector input size>: the network carries none")
    return predict_files(net, list(inputs), out_dir, int(size), **kwargs)


def export(detector: str | Path, out: str | Path, size: int | None = None, opset: int = 18) -> float:
    """A detector file -> ONNX at ``out``; returns the ONNX-vs-PyTorch max abs difference (< 1e-3)."""
    net, meta = load_detector(detector)
    size = size or meta.get("size")
    if not size:
        raise ValueError(f"{detector} records no input size; pass size=")
    return export_onnx(net, out, int(size), opset)


@hydra.main(version_base="1.3", config_path="../configs", config_name="detect")
def _hydra_main(cfg: DictConfig) -> None:
    from deepswap.utils.hydra_cli import run_folder

    with open_dict(cfg):
        if cfg.output_dir is None:
            cfg.output_dir = run_folder()
    run_command = {"train": train_cfg, "eval": eval_cfg, "robustness": robustness_cfg, "lofo": lofo_cfg,
                   "ensemble": ensemble_cfg}  # fmt: skip
    run_command = run_command[cfg.command]
    with report(f"deepswap.detect {cfg.command}", cleanup=run_folder(), extra=(ValueError,)):
        result = run_command(cfg)
    if "test" in result:
        print(json.dumps({k: result[k] for k in ("threshold", "test")}, indent=2, default=float))
    print(f"written to {cfg.output_dir}")


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m deepswap.detect {command}")
    parser.add_argument("detector", help="detector file (checkpoints/best.pt)")
    parser.add_argument("--out", required=True, help="predict: output folder; export: .onnx file")
    parser.add_argument("--size", type=int, help="input size (default: the one saved with the detector)")
    parser.add_argument("--device", default="cpu")
    if command == "predict":
        parser.add_argument("inputs", nargs="+", help="images, videos or folders of them")
        parser.add_argument("--stride", type=int, default=1, help="score every n-th video frame")
        parser.add_argument("--max-frames", type=int, help="at most this many frames per video")
        parser.add_argument("--topk", type=int, default=3, help="k of the top-k video score")
        parser.add_argument("--group", choices=["file", "folder"], default="file", help="videos.csv rows")
        parser.add_argument("--face-models", help="insightface model pack: detect and align faces first")
    else:
        parser.add_argument("--opset", type=int, default=18)
    return parser


def _predict_cli(a) -> str:
    output_folder(a.out, "--out")
    finder = None
    if a.face_models:
        from deepswap.faces.analyser import FaceAnalyser

        finder = FaceAnalyser(a.face_models, modules=("detection",), device=a.device)
    kw = dict(device=a.device, stride=a.stride, max_frames=a.max_frames, topk=a.topk, group=a.group)
    result = predict(a.detector, a.inputs, a.out, a.size, face_finder=finder, **kw)
    statuses = Counter(r["status"] for r in result.frames)
    if not statuses.get("ok"):
        why = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no inputs"
        raise NothingProducedError(
            f"nothing could be scored ({why}); each input has a status row in {result.files.get('frames')}"
        )
    return f"written: {', '.join(result.files.values())}"


def _cli(command: str, argv: list[str]) -> None:
    a = _parser(command).parse_args(take_debug_flag(argv))
    with report(f"deepswap.detect {command}", extra=(ValueError, ImportError)):
        if command == "export":
            output_file(a.out, "--out", (".onnx",))
            print(f"wrote {a.out} (max |ONNX - PyTorch| = {export(a.detector, a.out, a.size, a.opset):.2e})")
            return
        print(_predict_cli(a))


def main() -> None:
    """``python -m deepswap.detect <train|eval|robustness|lofo|ensemble|predict|export> ...``."""
    from deepswap.utils.hydra_cli import precheck, set_argv

    args = sys.argv[1:]
    flags = [a for a in args[:1] if a in ("-m", "--multirun")]  # `detect -m train ...` as `detect train -m`
    command = args[len(flags)] if len(args) > len(flags) else None
    if command in ("-h", "--help"):
        return print(__doc__)
    if command not in COMMANDS:
        close = difflib.get_close_matches(command or "", COMMANDS, n=1)
        what = f"unknown command {command!r}" if command else "no command given"
        hint = f"; did you mean {close[0]!r}?" if close else ""
        fail(
            "deepswap.detect",
            f"{what}{hint}. Commands: {', '.join(COMMANDS)} (see python -m deepswap.detect -h)",
        )
    rest = flags + args[len(flags) + 1 :]
    if command in ("predict", "export"):
        return _cli(command, rest)
    rest = precheck(f"deepswap.detect {command}", "detect", check_detect, rest, (f"command={command}",))
    set_argv([*rest, f"command={command}"])
    _hydra_main()


if __name__ == "__main__":
    main()
