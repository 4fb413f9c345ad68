"""Detection metrics on frame scores ``(N,)`` with labels ``(N,)`` (1 = fake, 0 = real), numpy only.

Conventions, used everywhere in this file: a higher score means "more fake"; a sample is called fake
when ``score > threshold`` (so a fake scored exactly at the threshold evades). Inputs may be lists,
numpy arrays or tensors. Empty input or a single class raises ValueError, never returns NaN.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

ArrayLike = Sequence[float] | np.ndarray


def _array(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name} is empty: metrics need at least one real and one fake sample")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; check the detector outputs")
    return a


def _check(labels, scores, name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    y, s = _array(labels, "labels"), _array(scores, name)
    if y.shape != s.shape:
        raise ValueError(f"labels has {y.size} entries but {name} has {s.size}; pass one score per label")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if y.min() == y.max():
        cls = "fake" if y[0] == 1 else "real"
        raise ValueError(f"labels are all {cls}; these metrics need both real (0) and fake (1) samples")
    return y.astype(np.int64), s


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """Ranks 1..N, tied values sharing the mean of the ranks they occupy."""
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts  # 0-based first rank of each distinct value
    return (starts + (counts + 1) / 2.0)[inverse]


def roc_auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve = P(fake score > real score) + 0.5 P(tie) (Mann-Whitney U)."""
    y, s = _check(labels, scores)
    ranks = _average_ranks(s)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_curve(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points ``(fpr, tpr, thresholds)``, thresholds decreasing; starts at (0, 0), ends at (1, 1)."""
    y, s = _check(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    fpr = np.r_[0.0, fp / fp[-1]]
    tpr = np.r_[0.0, tp / tp[-1]]
    return fpr, tpr, np.r_[np.inf, s[last]]


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """AP = sum over distinct thresholds of (recall step) x precision, without interpolation."""
    y, s = _check(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def eer(labels: ArrayLike, scores: ArrayLike) -> float:
    """Equal error rate: where FPR = FNR on the ROC, linearly interpolated between its points."""
    fpr, tpr, _ = roc_curve(labels, scores)
    d = fpr - (1.0 - tpr)  # rises from -1 to +1
    i = int(np.argmax(d >= 0))
    if d[i] == 0 or i == 0:
        return float(fpr[i])
    t = d[i - 1] / (d[i - 1] - d[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def accuracy(labels: ArrayLike, scores: ArrayLike, threshold: float = 0.0) -> float:
    """Share of samples classified correctly with "fake iff score > threshold" (0.0 suits logits)."""
    y, s = _check(labels, scores)
    return float(np.mean((s > threshold).astype(np.int64) == y))


def _real_threshold(real_scores: np.ndarray, fpr: float) -> float:
    if not 0.0 <= fpr < 1.0:
        raise ValueError(f"fpr must be in [0, 1), got {fpr}")
    desc = np.sort(real_scores)[::-1]
    k = int(np.floor(fpr * desc.size + 1e-9))  # at most k reals may score above the threshold
    return float(desc[k])


def threshold_at_fpr(labels: ArrayLike, scores: ArrayLike, fpr: float = 0.01) -> float:
    """Smallest threshold (a real's score) with at most ``fpr`` of the reals scored above it."""
    y, s = _check(labels, scores)
    return _real_threshold(s[y == 0], fpr)


def tpr_at_fpr(labels: ArrayLike, scores: ArrayLike, fpr: float = 0.01) -> float:
    """Share of fakes caught at the threshold from :func:`threshold_at_fpr` (e.g. fpr 0.01, 0.001)."""
    y, s = _check(labels, scores)
    return float(np.mean(s[y == 1] > _real_threshold(s[y == 0], fpr)))


def evasion_rate(real_scores: ArrayLike, fake_scores: ArrayLike, fpr: float = 0.01) -> float:
    """Share of fakes NOT caught (score <= threshold) at the threshold giving ``fpr`` on the reals."""
    r, f = _array(real_scores, "real_scores"), _array(fake_scores, "fake_scores")
    return float(np.mean(f <= _real_threshold(r, fpr)))


def balanced_log_loss(labels: ArrayLike, probs: ArrayLike, eps: float = 1e-15) -> float:
    """Mean of the real-class and fake-class mean log losses; ``probs`` = P(fake) in [0, 1]."""
    y, p = _check(labels, probs, "probs")
    if p.min() < 0 or p.max() > 1:
        raise ValueError("probs must be probabilities in [0, 1]; apply a sigmoid to logits first")
    p = np.clip(p, eps, 1 - eps)
    return float(0.5 * (-np.log(p[y == 1]).mean() - np.log(1 - p[y == 0]).mean()))


def frame_metrics(
    labels: ArrayLike, scores: ArrayLike, val_threshold: float | None = None, logits: bool = True
) -> dict[str, float]:
    """All frame metrics in one dict. ``scores`` are logits (``logits=True``) or P(fake).

    ``acc`` uses the natural threshold (0 for logits, 0.5 for probabilities); ``acc_val`` uses
    ``val_threshold`` when given, which must come from validation data, never from this test set.
    """
    y, s = _check(labels, scores)
    probs = 1.0 / (1.0 + np.exp(-s)) if logits else s
    out = {
        "auc": roc_auc(y, s),
        "ap": average_precision(y, s),
        "eer": eer(y, s),
        "acc": accuracy(y, s, 0.0 if logits else 0.5),
        "tpr@fpr1%": tpr_at_fpr(y, s, 0.01),
        "tpr@fpr0.1%": tpr_at_fpr(y, s, 0.001),
        "balanced_log_loss": balanced_log_loss(y, probs),
        "n_real": float((y == 0).sum()),
        "n_fake": float((y == 1).sum()),
    }
    if val_threshold is not None:
        out["acc_val"] = accuracy(y, s, val_threshold)
    return out


class VideoScore(NamedTuple):
    """One video's aggregated score, keyed by its full (normalised) path."""

    path: str
    score: float
    label: int
    n_frames: int


def aggregate_videos(
    paths: Sequence[str | os.PathLike],
    frame_scores: ArrayLike,
    labels: ArrayLike,
    how: Literal["mean", "max", "topk"] = "mean",
    k: int = 3,
) -> list[VideoScore]:
    """Frame scores ``(N,)`` -> one :class:`VideoScore` per video, sorted by path.

    Frames are grouped by the FULL video path (``os.path.normpath``), never by basename: FF++ methods
    share file names such as ``000_003.mp4`` in different folders. ``topk`` averages the ``k`` highest
    frame scores. All frames of a video must carry the same label.
    """
    s = _array(frame_scores, "frame_scores")
    y = _array(labels, "labels").astype(np.int64)
    if not (len(paths) == s.size == y.size):
        raise ValueError(f"got {len(paths)} paths, {s.size} scores, {y.size} labels: pass one per frame")
    if how not in ("mean", "max", "topk"):
        raise ValueError(f"how must be 'mean', 'max' or 'topk', got {how!r}")
    if how == "topk" and k < 1:
        raise ValueError(f"k must be >= 1 for how='topk', got {k}")
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        groups.setdefault(os.path.normpath(os.fspath(p)), []).append(i)
    out = []
    for path in sorted(groups):
        idx = np.asarray(groups[path])
        if np.unique(y[idx]).size > 1:
            raise ValueError(f"video {path!r} has frames labelled both real and fake; fix the frame list")
        v = s[idx]
        score = v.mean() if how == "mean" else v.max() if how == "max" else np.sort(v)[::-1][:k].mean()
        out.append(VideoScore(path, float(score), int(y[idx][0]), int(idx.size)))
    return out


def bootstrap_detection(
    labels: ArrayLike,
    scores: ArrayLike,
    fpr: float = 0.01,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """Frame AUC and TPR at ``fpr`` with percentile bootstrap intervals.

    Reals and fakes are resampled separately (a stratified bootstrap: every resample keeps both class
    sizes), so the interval reflects the finite test set of each class. Returns ``auc``, ``auc_lo``,
    ``auc_hi``, ``tpr``, ``tpr_lo``, ``tpr_hi``, ``n_real``, ``n_fake``. With few reals, TPR at a low
    FPR rests on the top few real scores: its interval says so.
    """
    y, s = _check(labels, scores)
    real, fake = s[y == 0], s[y == 1]
    rng = np.random.default_rng([int(seed), 4242])
    aucs, tprs = np.empty(resamples), np.empty(resamples)
    lab = np.r_[np.zeros(real.size), np.ones(fake.size)]
    for b in range(resamples):
        r, f = real[rng.integers(0, real.size, real.size)], fake[rng.integers(0, fake.size, fake.size)]
        aucs[b] = roc_auc(lab, np.r_[r, f])
        tprs[b] = float(np.mean(f > _real_threshold(r, fpr)))
    q = [(1 - level) / 2, (1 + level) / 2]
    a_lo, a_hi = np.quantile(aucs, q)
    t_lo, t_hi = np.quantile(tprs, q)
    return {
        "auc": roc_auc(y, s), "auc_lo": float(a_lo), "auc_hi": float(a_hi),
        "tpr": tpr_at_fpr(y, s, fpr), "tpr_lo": float(t_lo), "tpr_hi": float(t_hi),
        "n_real": float(real.size), "n_fake": float(fake.size),
    }  # fmt: skip
