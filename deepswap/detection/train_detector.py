"""Standalone detector training on fixed real/fake sets; model selection and threshold on validation only.

:func:`fit` runs ``steps`` optimiser steps (one per batch) of class-balanced BCE, scores the validation
set every ``eval_every`` steps (and at the last one), appends each result to ``metrics.jsonl`` and keeps
``last.pt`` and ``best.pt`` (the best validation ``select`` metric; ties keep the earlier step).
:func:`run` is the whole protocol: fit, reload ``best.pt``, fix the decision threshold on the validation
scores, and only then build and score the test split, so no test number can steer a choice.

Detector files (``best.pt``, ``last.pt``) are ``torch.save({"format", "state_dict", "config", "step",
...})``: ``config`` is the network's Hydra ``_target_`` config, so :func:`load_detector` rebuilds it with
``hydra.utils.instantiate`` and loads with ``weights_only=True``.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler

from deepswap.detection.data import FrameSet, family_of
from deepswap.detection.metrics import aggregate_videos, frame_metrics, roc_auc, roc_curve, threshold_at_fpr
from deepswap.detection.networks import check_tta, unwrap_tta, with_tta
from deepswap.detection.postprocess import PostProcess, quantize

DETECTOR_FORMAT = 1
THRESHOLD_RULES = ("fpr", "eer", "logit0")


def save_detector(path: str | Path, net: nn.Module, config: dict, step: int, **extra) -> Path:
    """Write a detector file: weights, the network's ``_target_`` config, the step, and ``extra`` (a
    flip-averaged network is saved as its inner network; ``tta="flip"`` in ``extra`` restores the wrapper)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = unwrap_tta(net)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save(
        {"format": DETECTOR_FORMAT, "state_dict": state, "config": config, "step": step, **extra}, path
    )
    return path


def load_detector(
    path: str | Path, device: str = "cpu", config: dict | None = None
) -> tuple[nn.Module, dict]:
    """A detector file (or a co-training snapshot) -> ``(network in eval mode, metadata)``. A file saved
    with ``tta="flip"`` comes back flip-averaged (:class:`~deepswap.detection.networks.FlipAverage`).

    The file holds ``{"state_dict", "config", "step", ...}``, or a bare state_dict when ``config`` (the
    network's ``_target_`` config) is given separately.
    """
    from deepswap.errors import CheckpointError
    from deepswap.utils.safeload import load_weights

    path = Path(path).expanduser()
    blob = load_weights(path, "detector file")
    if isinstance(blob, dict) and isinstance(blob.get("deepswap"), dict):
        raise CheckpointError(
            f"{path} is a swap-model checkpoint (python -m deepswap.train), not a detector: give a "
            "detector file, e.g. RUN/checkpoints/best.pt of python -m deepswap.detect train"
        )
    meta = dict(blob) if isinstance(blob, dict) and "state_dict" in blob else {"state_dict": blob}
    config = config if config is not None else meta.get("config")
    if not config or "_target_" not in config:
        raise CheckpointError(
            f"{path} is not a deepswap detector file (no network config with _target_); give "
            "RUN/checkpoints/best.pt of python -m deepswap.detect train (or pass config= for a state_dict)"
        )
    net = instantiate(OmegaConf.create(config))
    net.load_state_dict(meta.pop("state_dict"))
    net = with_tta(net, meta.get("tta"))  # the test-time augmentation it was validated with
    return net.eval().to(device), {**meta, "config": config, "path": str(path.resolve())}


@dataclass
class Scores:
    """Scores of a :class:`FrameSet`'s readable frames: logits, labels, video keys, frame indices."""

    scores: np.ndarray
    labels: np.ndarray
    videos: list[str]
    index: np.ndarray
    n_unreadable: int

    def metrics(self, threshold: float | None = None) -> dict[str, float]:
        """Frame metrics (plus ``acc_val`` at ``threshold``) and, when a video has several frames,
        ``video_auc`` of the mean frame logit per video (grouped by full path)."""
        out = frame_metrics(self.labels, self.scores, threshold)
        videos = aggregate_videos(self.videos, self.scores, self.labels, "mean")
        if len(videos) < len(self.videos):
            vs = np.asarray([v.score for v in videos])
            vy = np.asarray([v.label for v in videos])
            out["video_auc"] = roc_auc(vy, vs) if 0 < vy.sum() < len(vy) else float("nan")
            out["n_videos"] = float(len(videos))
            if threshold is not None:
                out["video_acc_val"] = float(np.mean((vs > threshold) == vy))
        out["n_unreadable"] = float(self.n_unreadable)
        return out


@torch.no_grad()
def score(
    net: nn.Module,
    frames: FrameSet,
    batch_size: int = 64,
    device: str = "cpu",
    workers: int = 0,
    tta: str | None = None,
) -> Scores:
    """Logits of every readable frame of ``frames`` (network in eval mode); unreadable ones are counted.
    ``tta="flip"``: the mean logit of each frame and its left-right mirror image."""
    net = with_tta(net, tta).eval()
    out, idx = [], []
    for batch in DataLoader(frames, batch_size, shuffle=False, num_workers=workers):
        ok = batch["ok"]
        if ok.any():
            out.append(net(batch["image"][ok].to(device)).float().cpu())
            idx.append(batch["index"][ok])
    index = torch.cat(idx).numpy() if idx else np.zeros(0, np.int64)
    return Scores(
        torch.cat(out).double().numpy() if out else np.zeros(0),
        frames.labels[index],
        [frames.frames[i].video for i in index],
        index,
        len(frames) - len(index),
    )


def fix_threshold(labels, scores, rule: str = "fpr", fpr: float = 0.01) -> float:
    """The decision threshold ("fake iff logit > t") from VALIDATION scores: ``fpr`` = at most ``fpr`` of
    the reals above it; ``eer`` = the ROC point where FPR and FNR are closest; ``logit0`` = 0 (p = 0.5)."""
    if rule == "fpr":
        return threshold_at_fpr(labels, scores, fpr)
    if rule == "eer":
        f, t, th = roc_curve(labels, scores)
        i = int(np.argmin(np.abs(f - (1 - t))[1:])) + 1  # skip the (inf) start point
        return float(np.nextafter(th[i], -np.inf))  # the ROC point counts scores >= th; we use ">"
    if rule == "logit0":
        return 0.0
    raise ValueError(f"threshold rule must be one of {THRESHOLD_RULES}, got {rule!r}")


def balanced_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the classes present of each class's mean BCE (FF++ has 4 fakes per real)."""
    bce = F.binary_cross_entropy_with_logits(logits.float(), labels, reduction="none")
    return torch.stack([bce[labels == c].mean() for c in (0.0, 1.0) if (labels == c).any()]).mean()


def check_pseudo_share(share: float | None) -> float | None:
    """``recipe.pseudo_share`` -> None or a float in (0, 1), or a clear error."""
    if share is None:
        return None
    if not 0.0 < float(share) < 1.0:
        raise ValueError(f"recipe.pseudo_share is a share of the fakes in (0, 1) or null, got {share}")
    return float(share)


def pseudo_share_weights(frames: FrameSet, pseudo: set[str] | frozenset[str], share: float) -> torch.Tensor:
    """Per-frame sampling weights ``(len(frames),)`` that keep the reals at half of the draws and give the
    fakes of the families ``pseudo`` (the recipe's pseudo-fakes) ``share`` of the other half, each frame
    equally likely within its group. Without the weights every fake family weighs the same, so the
    pseudo-fakes' share falls as generator families join (1/2 of the fakes with two families, 1/6 with
    six). A group with no frame gives its share to the other fakes."""
    share = check_pseudo_share(share)
    labels = torch.tensor([f.label for f in frames.frames])
    is_pseudo = torch.tensor([f.label == 1 and family_of(f) in pseudo for f in frames.frames])
    other = (labels == 1) & ~is_pseudo
    if not bool(is_pseudo.any()) or not bool(other.any()):
        share = 1.0 if bool(is_pseudo.any()) else 0.0
    w = torch.zeros(len(frames), dtype=torch.float64)
    groups = ((labels == 0, 0.5), (is_pseudo, 0.5 * share), (other, 0.5 * (1.0 - share)))
    for sel, mass in groups:
        if bool(sel.any()):
            w[sel] = mass / int(sel.sum())
    return w


def _batches(frames: FrameSet, batch_size: int, seed: int, workers: int, weights: torch.Tensor | None = None):
    """Endless shuffled batches; ``frames.epoch`` advances every pass (fresh self-blends). With
    ``weights`` (:func:`pseudo_share_weights`), frames are drawn with replacement in those proportions."""
    g = torch.Generator().manual_seed(seed)
    while True:
        if weights is None:
            sampler = RandomSampler(frames, generator=g)
        else:
            sampler = WeightedRandomSampler(weights, len(frames), replacement=True, generator=g)
        loader = DataLoader(
            frames,
            batch_size,
            sampler=sampler,
            num_workers=workers,
            drop_last=True,
        )
        yield from loader
        frames.epoch += 1


def check_ema(ema) -> float | None:
    """``train.ema`` / ``recipe.ema``: None (off) or a decay in (0, 1), else a clear error."""
    if ema is None:
        return None
    if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0.0 < float(ema) < 1.0:
        raise ValueError(
            f"the detector's weight-average decay (ema) must be null or in (0, 1), e.g. 0.999; got {ema!r}"
        )
    return float(ema)


def check_hflip(p) -> float:
    """``train.hflip`` / ``recipe.hflip``: a probability in [0, 1], else a clear error."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"the detector's flip probability (hflip) must be in [0, 1], e.g. 0.5; got {p!r}")
    return float(p)


def random_hflip(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Each image of ``x`` flipped left-right with probability ``p``, whatever its class (the standard
    augmentation of SBI's and DeepfakeBench's detectors). ``p=0`` draws nothing, so runs without it keep
    their random stream."""
    if p <= 0.0 or not len(x):
        return x
    flip = torch.rand(len(x), generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


class WeightAverage:
    """An exponential moving average of a network's weights (Polyak averaging; the dense weight averaging
    that SWAD, Cha et al. 2021, found to generalise better to unseen domains than the final or best
    iterate). Floating-point entries of the state_dict (BatchNorm running statistics included) are
    averaged with ``min(decay, (1 + n) / (10 + n))`` at the n-th update (the warm-up of TensorFlow's
    ExponentialMovingAverage with ``num_updates``: without it a decay of 0.999 still holds 22% of the
    random initialisation after 1500 steps, and the average of such distant weights is no detector);
    integer buffers are copied. ``model`` is an eval-ready copy."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        self.decay, self.updates = decay, 0
        self.model = copy.deepcopy(net).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        live, self.updates = net.state_dict(), self.updates + 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, avg in self.model.state_dict().items():
            if avg.dtype.is_floating_point:
                avg.lerp_(live[name].detach(), 1.0 - decay)
            else:
                avg.copy_(live[name])


def fit(
    net: nn.Module,
    train: FrameSet,
    val: FrameSet,
    out_dir: str | Path,
    net_config: dict,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 2e-4,
    weight_decay: float = 0.0,
    eval_every: int = 200,
    select: str = "auc",
    postprocess: dict | None = None,
    seed: int = 0,
    device: str = "cpu",
    workers: int = 0,
    meta: dict | None = None,
    log: Callable[[str], None] = print,
    pseudo_share: float | None = None,
    pseudo_families: tuple[str, ...] | list[str] = (),
    ema: float | None = None,
    hflip: float = 0.0,
    tta: str | None = None,
) -> dict:
    """Train ``net`` on ``train``; select on ``val``. Returns ``{best_step, best, history}``; ``history``
    is a list of ``{step, <val metrics>}``. ``postprocess``: :class:`PostProcess` kwargs, drawn per image
    independently of its class (so JPEG, blur and resizing never mark one class). ``meta`` is stored
    in every checkpoint (e.g. ``{"size": 64, "data": {...}}``). ``pseudo_share``: the share of the
    training fakes drawn from the families ``pseudo_families`` (:func:`pseudo_share_weights`); None:
    every frame equally likely. ``ema``: a decay in (0, 1): validate, select and save an exponential
    moving average of the weights instead of the live ones (:class:`WeightAverage`); None: off.
    ``hflip``: the probability of a left-right flip per training image, both classes
    (:func:`random_hflip`). ``tta``: how validation scores frames (:func:`score`)."""
    out_dir = Path(out_dir)
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    if len(train) < batch_size:
        raise ValueError(f"the train set has {len(train)} frames, fewer than batch_size={batch_size}")
    net.to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    average = WeightAverage(net, check_ema(ema)) if ema is not None else None
    hflip, tta = check_hflip(hflip), check_tta(tta)
    post = PostProcess(**postprocess) if postprocess else None
    g = torch.Generator().manual_seed(seed + 1)
    weights = (
        None if pseudo_share is None else pseudo_share_weights(train, set(pseudo_families), pseudo_share)
    )
    batches, t0 = _batches(train, batch_size, seed, workers, weights), time.time()
    best, best_step, history, loss = -math.inf, -1, [], torch.tensor(float("nan"))
    for step in range(1, steps + 1):
        batch = next(batches)
        ok = batch["ok"]
        x, y = batch["image"][ok], batch["label"][ok]
        if post is not None and len(x):
            x = quantize(post.apply(x, post.sample_params(len(x), g)))  # saved images are 8-bit
        x = random_hflip(x, hflip, g)
        if len(x):
            loss = balanced_bce(net(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if average is not None:
                average.update(net)
        if step % eval_every and step != steps:
            continue
        kept = average.model if average is not None else net
        metrics = score(kept, val, 2 * batch_size, device, workers, tta).metrics()
        net.train()
        value = metrics.get(select, float("nan"))
        ckpt = save_detector(
            out_dir / "checkpoints" / "last.pt", kept, net_config, step, val=metrics, **(meta or {})
        )
        improved = value > best
        if improved:
            best, best_step = value, step
            shutil.copyfile(ckpt, out_dir / "checkpoints" / "best.pt")
        history.append({"step": step, **metrics})
        with open(out_dir / "metrics.jsonl", "a") as f:
            for name in ("auc", "video_auc", "eer"):
                if name in metrics:
                    row = {"step": step, "images": step * batch_size, "metric": f"val/{name}"}
                    kept = "checkpoints/best.pt" if improved else None  # until a better step replaces it
                    f.write(json.dumps({**row, "value": metrics[name], "ckpt": kept}) + "\n")
        log(f"step {step}/{steps} loss {loss.item():.4f} val {select} {value:.4f} ({time.time() - t0:.0f}s)")
    if best_step < 0:
        raise RuntimeError(f"validation {select} was never finite; check the val split and the network")
    return {"best_step": best_step, "best": best, "history": history}


def run(
    net: nn.Module,
    net_config: dict,
    split: Callable[[str], FrameSet],
    out_dir: str | Path,
    threshold_rule: str = "fpr",
    fpr: float = 0.01,
    **fit_kwargs,
) -> dict:
    """The protocol: ``split("train")`` and ``split("val")`` -> :func:`fit` -> reload ``best.pt`` ->
    threshold from the validation scores -> ``split("test")`` scored ONCE, with ``acc_val`` at that
    threshold. Returns ``{"selection", "threshold", "val", "test"}``."""
    out_dir = Path(out_dir)
    train, val = split("train"), split("val")
    selection = fit(net, train, val, out_dir, net_config, **fit_kwargs)
    device, bs = fit_kwargs.get("device", "cpu"), 2 * fit_kwargs.get("batch_size", 32)
    tta = fit_kwargs.get("tta")
    best_path = out_dir / "checkpoints" / "best.pt"
    net, meta = load_detector(best_path, device)
    val_scores = score(net, val, bs, device, tta=tta)
    t = fix_threshold(val_scores.labels, val_scores.scores, threshold_rule, fpr)
    threshold = {"value": t, "rule": threshold_rule, "fpr": fpr if threshold_rule == "fpr" else None,
                 "fixed_on": "val"}  # fmt: skip
    extra = {k: v for k, v in meta.items() if k not in ("format", "config", "step", "path")}
    save_detector(best_path, net, net_config, meta["step"], **{**extra, "threshold": threshold, "tta": tta})
    test_set = split("test")  # built only now: nothing above can depend on it
    test_scores = score(net, test_set, bs, device, tta=tta)
    if tta is not None:  # the same detector's single-pass scores, a paired control for the augmentation
        write_scores_csv(out_dir / "test_frames_single_pass.csv", score(net, test_set, bs, device), test_set)
    result = {
        "selection": {k: v for k, v in selection.items() if k != "history"},
        "threshold": threshold,
        "tta": tta,
        "val": val_scores.metrics(t),
        "test": test_scores.metrics(t),
        "test_problems": test_set.problems,
    }
    write_scores_csv(out_dir / "test_frames.csv", test_scores, test_set)
    (out_dir / "results.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    return result


def write_scores_csv(path: str | Path, s: Scores, frames: FrameSet) -> Path:
    """One row per scored frame: video (full path), path, frame, label, logit."""
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video", "path", "frame", "label", "score"])
        for i, label, value in zip(s.index, s.labels, s.scores):
            fr = frames.frames[i]
            w.writerow([fr.video, fr.path, fr.frame, int(label), f"{value:.6f}"])
    return Path(path)
