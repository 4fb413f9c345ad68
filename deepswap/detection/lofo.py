"""Leave-one-family-out (LOFO): what a detector does on a kind of fake it never saw.

Fake FAMILIES are named lists of sources (swap checkpoints of one generator family, from several seeds
and budgets; ``sbi``; the generator-free paste swaps; ...). For each family ``h``, a detector is trained
on the reals and every OTHER family (plus the recipe's pseudo-fakes), selected and thresholded on the
validation split of those same families, and scored on the test split's reals against family ``h``
alone. Pseudo-fakes of the recipe (``sbi``, ``autoencoder``) join the train split only. The table has
one column per held-out family: frame AUC and TPR at 1% FPR, each with a
stratified bootstrap 95% interval (:func:`~deepswap.detection.metrics.bootstrap_detection`).

The splits are built once with every family (train: the world's train identities; val and test: the
two halves of its held-out identities, so no identity is shared) and each fold takes a subset, so every
fold sees the same reals and the same fakes. A recipe pseudo-fake is dropped from the fold whose held-out
family contains the same kind (holding out ``sbi`` means training without self-blends).

A linear probe on a frozen generic network (any torchvision classifier, random or user-supplied
weights) gives a baseline row: logistic regression on its pooled features, per fold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn
from torch.utils.data import DataLoader

from deepswap.detection.data import FrameSet, family_of, resolve_fakes, synthetic_split
from deepswap.detection.metrics import bootstrap_detection
from deepswap.detection.train_detector import run

PSEUDO_PREFIX = "pseudo:"


def subset(frames: FrameSet, families: set[str]) -> FrameSet:
    """The reals of ``frames`` and the fakes of ``families`` (a view: the images are shared)."""
    kept = [f for f in frames.frames if f.label == 0 or family_of(f) in families]
    return FrameSet(
        kept, frames.size, frames.memory, frames.masks, frames.seed, frames.fresh_sbi,
        sbi_options=frames.sbi_options,
    )  # fmt: skip


def fold_families(families: dict[str, list[str]], pseudo: list[str], held: str) -> set[str]:
    """Training families of the fold that holds ``held`` out: the others, plus each pseudo-fake whose
    kind is not a member of ``held``."""
    kept = {k for k in families if k != held}
    return kept | {PSEUDO_PREFIX + p for p in pseudo if p not in families[held]}


def build_splits(
    world, families: dict[str, list[str]], pseudo: list[str], size: int, pairs: dict[str, int],
    seed: int = 0, device: str = "cpu", log: Callable[[str], None] = print,
    names: tuple[str, ...] = ("train", "val", "test"), sbi_options: dict | None = None,
) -> dict[str, FrameSet]:  # fmt: skip
    """The three splits with every family; pseudo-fakes in the train split only (the checkpoint is
    selected on the real fake families). Swap models load once."""
    specs = sorted({m for members in families.values() for m in members} | set(pseudo))
    resolved = resolve_fakes(specs, device)
    entries = {name: [resolved[m] for m in members] for name, members in families.items()}
    out = {}
    for split in names:
        t0 = time.time()
        extra = {PSEUDO_PREFIX + p: [resolved[p]] for p in pseudo} if split == "train" else {}
        out[split] = synthetic_split(
            world,
            split,
            int(pairs[split]),
            size,
            {**entries, **extra},
            seed,
            fresh_sbi=split == "train",
            sbi_options=sbi_options,
        )
        log(f"lofo: {split} split, {len(out[split])} frames ({time.time() - t0:.0f}s)")
    return out


def read_scores(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``test_frames.csv`` of :func:`~deepswap.detection.train_detector.run` -> (labels, scores, videos)."""
    import csv

    with open(path) as f:
        rows = list(csv.DictReader(f))
    labels = np.asarray([int(r["label"]) for r in rows])
    return labels, np.asarray([float(r["score"]) for r in rows]), [r["video"] for r in rows]


def member_rows(labels, scores, videos, members: list[str], fpr, resamples, seed) -> dict[str, dict]:
    """Per member of a family: its fakes (pairs ``k, k + K, ...``, from the video keys) against all the
    reals, so one undetectable checkpoint shows as itself instead of as a lower family mean."""
    pair = np.asarray([int(v.rsplit("/", 1)[-1]) for v in videos])
    out = {}
    for k, member in enumerate(members):
        sel = (labels == 0) | (pair % len(members) == k)
        out[member] = bootstrap_detection(labels[sel], scores[sel], fpr, resamples, seed)
    return out


# ---------------------------------------------------------------- linear probe


class FrozenFeatures(nn.Module):
    """A torchvision classifier without its last layer, frozen, in eval mode: ``(B, 3, H, W)`` in
    [-1, 1] -> pooled features ``(B, C)``. ``weights``: a state_dict file the user supplies (e.g.
    torchvision's ImageNet resnet50 ``.pth``); None = random weights (seeded)."""

    def __init__(self, arch: str = "resnet18", weights: str | None = None, seed: int = 0) -> None:
        import torchvision

        super().__init__()
        if not hasattr(torchvision.models, arch):
            raise ValueError(f"torchvision.models has no {arch!r} (e.g. resnet18, resnet50, efficientnet_b0)")
        torch.manual_seed(seed)
        net = getattr(torchvision.models, arch)(weights=None)
        if weights:
            from deepswap.utils.safeload import load_weights

            net.load_state_dict(load_weights(weights, f"torchvision {arch} state_dict"))
        for name in ("fc", "classifier", "heads"):
            if hasattr(net, name):
                setattr(net, name, nn.Identity())
        self.net = net.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return self.net(((x + 1) / 2 - self.mean) / self.std).flatten(1)


@torch.no_grad()
def features(net: nn.Module, frames: FrameSet, batch_size: int = 128) -> tuple[Tensor, np.ndarray]:
    """Features ``(N, C)`` of every frame (unreadable ones are zeros) and their labels."""
    out = [net(b["image"]) for b in DataLoader(frames, batch_size, shuffle=False)]
    return torch.cat(out), frames.labels


def fit_logistic(x: Tensor, y: np.ndarray, l2: float = 1e-3, steps: int = 100) -> Callable[[Tensor], Tensor]:
    """Class-balanced L2-regularised logistic regression (LBFGS) on standardised features -> scorer."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    z, t = (x - mean) / std, torch.as_tensor(y, dtype=torch.float32)
    weight = torch.where(t == 1, 0.5 / t.mean(), 0.5 / (1 - t.mean()))
    w = torch.zeros(z.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        bce = torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, t, weight=weight)
        loss = bce + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w, b = w.detach(), b.detach()
    return lambda f: ((f - mean) / std) @ w + b


# ---------------------------------------------------------------- the protocol


def lofo(
    world,
    families: dict[str, list[str]],
    net_config: dict,
    out_dir: str | Path,
    size: int = 64,
    pairs: dict[str, int] | None = None,
    pseudo: list[str] | None = None,
    fit_kwargs: dict | None = None,
    probe: dict | None = None,
    score: dict[str, str] | None = None,
    folds: bool = True,
    extra: dict | None = None,
    fpr: float = 0.01,
    resamples: int = 1000,
    seed: int = 0,
    device: str = "cpu",
    log: Callable[[str], None] = print,
    sbi_options: dict | None = None,
    holdout: list[str] | None = None,
    conditions: list[str] | None = None,
) -> dict:
    """Run every fold (``holdout``: only the folds holding these families out); returns (and writes
    ``lofo.json``, ``lofo.md``) ``{"detector": {family: row},
    "probe": {family: row} | None, "families", "pseudo", "seconds"}``, a row being
    :func:`bootstrap_detection`'s dict plus ``seconds`` (the fold's training) and ``train_families``.
    ``probe``: :class:`FrozenFeatures` kwargs (``arch``, ``weights``), or None for no probe row.
    ``score``: ``{row name: detector file or training checkpoint}``, detectors trained elsewhere (the
    main job's co-trained one) scored as they are on every family's test fakes: rows ``scored``;
    ``conditions`` adds rows of them scored on post-processed test frames (:func:`score_rows`).
    ``folds=False``: only those rows (no training; only the test split is built). ``extra`` joins the
    written JSON (the recipe, provenance)."""
    if len(families) < 2:
        raise ValueError(f"leave-one-family-out needs at least 2 families, got {list(families)}")
    unknown = sorted(set(holdout or []) - set(families))
    if unknown:
        raise ValueError(f"lofo.holdout names {unknown}, which are not families; families: {list(families)}")
    from deepswap.detection.robustness import parse_condition

    for name in conditions or []:  # a bad condition name fails before the splits are built
        parse_condition(name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs = pairs or {"train": 2048, "val": 256, "test": 1000}
    pseudo, fit_kwargs, t_all = list(pseudo or []), dict(fit_kwargs or {}), time.time()
    names = ("train", "val", "test") if folds else ("test",)
    splits = build_splits(world, families, pseudo, size, pairs, seed, device, log, names, sbi_options)
    result: dict = {"families": families, "pseudo": pseudo, "pairs": pairs, "detector": {}, "probe": None}
    result["scored"] = score_rows(score or {}, splits["test"], families, fpr, resamples, seed, device, log,
                                  out, fit_kwargs.get("tta"), conditions)  # fmt: skip
    held_out = [f for f in families if holdout is None or f in holdout] if folds else []
    for held in held_out:
        keep = fold_families(families, pseudo, held)
        fold = out / f"holdout_{held}"
        views = {"train": subset(splits["train"], keep), "val": subset(splits["val"], keep),
                 "test": subset(splits["test"], {held})}  # fmt: skip
        torch.manual_seed(seed)
        t0 = time.time()
        pseudo_families = sorted(k for k in keep if k.startswith(PSEUDO_PREFIX))
        run(instantiate(OmegaConf.create(net_config)), net_config, views.__getitem__, fold, "fpr", fpr,
            seed=seed, device=device, log=lambda m: None, pseudo_families=pseudo_families,
            **fit_kwargs)  # fmt: skip
        y, s, videos = read_scores(fold / "test_frames.csv")
        row = bootstrap_detection(y, s, fpr, resamples, seed)
        row.update(seconds=round(time.time() - t0, 1), train_families=sorted(keep))
        if len(families[held]) > 1:
            row["members"] = member_rows(y, s, videos, families[held], fpr, resamples, seed)
        result["detector"][held] = row
        log(f"lofo: held out {held}: AUC {row['auc']:.3f} [{row['auc_lo']:.3f}, {row['auc_hi']:.3f}] "
            f"TPR@{fpr:g} {row['tpr']:.3f} ({row['seconds']:.0f}s)")  # fmt: skip
    if probe is not None and folds:
        result["probe"] = linear_probe_rows(
            splits, families, pseudo, probe, fpr, resamples, seed, log, held_out
        )
    result["seconds"] = round(time.time() - t_all, 1)
    result.update(extra or {})
    (out / "lofo.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    (out / "lofo.md").write_text(to_markdown(result) + "\n")
    return result


def load_any_detector(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict]:
    """``(network, metadata)`` of a detector file (``detect train``'s best.pt, a co-training snapshot with
    its folder's config), as :func:`~deepswap.detection.train_detector.load_detector` gives it, or of a
    training checkpoint (``.ckpt``: its co-trained detector; metadata: the path, no step, the network's
    config, the run's image size)."""
    from deepswap.detection.arms_race import final_detector_and_config
    from deepswap.detection.train_detector import load_detector

    if str(path).endswith(".ckpt"):
        net, meta = final_detector_and_config(path, device)
        return net, {"path": str(Path(path).expanduser().resolve()), "step": None, **meta}
    return load_detector(path, device)


def score_rows(
    detectors: dict[str, str], test: FrameSet, families, fpr, resamples, seed, device, log, out_dir=None,
    tta: str | None = None, conditions: list[str] | None = None,
):  # fmt: skip
    """``{name: {family: bootstrap row}}`` of detectors trained elsewhere, on each family's test fakes;
    with ``out_dir``, each one's per-frame scores in ``scored_<name>.csv`` (for paired comparisons; with
    ``tta``, the single-pass scores too, in ``scored_<name>_single_pass.csv``). ``conditions``
    (:func:`~deepswap.detection.robustness.parse_condition` names, e.g. ``blur_1``): each detector is also
    scored with every test frame, real or fake, post-processed so, as rows ``<name>@<condition>``."""
    from deepswap.detection.networks import FlipAverage, unwrap_tta, with_tta
    from deepswap.detection.robustness import Degraded, parse_condition
    from deepswap.detection.train_detector import score, write_scores_csv

    out = {}
    fam = np.asarray([family_of(f) for f in test.frames])
    parsed = [parse_condition(c) for c in conditions or []]  # bad names fail before any scoring
    loaded = {name: load_any_detector(path, device)[0] for name, path in detectors.items()}
    # the flip average inside the post-processing: one flip pair per frame
    degraded = {f"{n}@{c.name}": Degraded(with_tta(net, tta), c) for c in parsed for n, net in loaded.items()}
    for name, net in {**loaded, **degraded}.items():
        s = score(net, test, 128, device, tta=None if name in degraded else tta)
        if out_dir is not None:
            write_scores_csv(Path(out_dir) / f"scored_{name}.csv", s, test)
            # flip-averaged by the file or by tta (the single pass of a post-processed row is not written)
            if (tta is not None or isinstance(net, FlipAverage)) and name not in degraded:
                single = score(unwrap_tta(net), test, 128, device)
                write_scores_csv(Path(out_dir) / f"scored_{name}_single_pass.csv", single, test)
        f_of = fam[s.index]
        out[name] = {}
        for held in families:
            sel = (s.labels == 0) | (f_of == held)
            out[name][held] = bootstrap_detection(s.labels[sel], s.scores[sel], fpr, resamples, seed)
        log(f"lofo: {name} scored: " + ", ".join(f"{k} {v['auc']:.3f}" for k, v in out[name].items()))
    return out


def linear_probe_rows(
    splits, families, pseudo, probe: dict, fpr, resamples, seed, log, held_out=None
) -> dict:
    """The linear-probe baseline: features of every frame once, one logistic regression per fold
    (``held_out``: the families whose folds to run; None: all)."""
    net = FrozenFeatures(**probe, seed=seed)
    train_frames = FrameSet(splits["train"].frames, splits["train"].size, splits["train"].memory,
                            splits["train"].masks, seed, fresh_sbi=False)  # fmt: skip
    x_train, y_train = features(net, train_frames)
    x_test, y_test = features(net, splits["test"])
    fam_train = np.asarray([family_of(f) for f in train_frames.frames])
    fam_test = np.asarray([family_of(f) for f in splits["test"].frames])
    rows = {}
    for held in families if held_out is None else held_out:
        keep = fold_families(families, pseudo, held)
        sel = (y_train == 0) | np.isin(fam_train, sorted(keep))
        scorer = fit_logistic(x_train[torch.as_tensor(sel)], y_train[sel])
        test_sel = (y_test == 0) | (fam_test == held)
        s = scorer(x_test[torch.as_tensor(test_sel)]).double().numpy()
        rows[held] = bootstrap_detection(y_test[test_sel], s, fpr, resamples, seed)
        log(f"lofo probe: held out {held}: AUC {rows[held]['auc']:.3f}")
    return rows


def to_markdown(result: dict, fpr_label: str = "TPR@1%FPR") -> str:
    """The LOFO table: one column per held-out family, rows = detector (and probe) AUC and TPR."""
    fams = list(result["families"])
    lines = ["| held-out family | " + " | ".join(fams) + " |", "| --- |" + " ---: |" * len(fams)]

    def cell(r: dict | None, k: str) -> str:
        return "not run" if r is None else f"{r[k]:.3f} [{r[k + '_lo']:.3f}, {r[k + '_hi']:.3f}]"

    tables = [("LOFO detector", result.get("detector")), ("linear probe", result.get("probe"))]
    tables += [(f"{k} (as trained)", v) for k, v in (result.get("scored") or {}).items()]
    for name, rows in tables:
        if not rows:
            continue
        lines.append(f"| {name} AUC | " + " | ".join(cell(rows.get(f), "auc") for f in fams) + " |")
        lines.append(f"| {name} {fpr_label} | " + " | ".join(cell(rows.get(f), "tpr") for f in fams) + " |")
    return "\n".join(lines)
