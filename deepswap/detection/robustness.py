"""Robustness sweep: frame AUC of a detector under fixed post-processing, applied to reals and fakes alike.

Conditions: clean; JPEG quality 95/85/70/50/30 (cv2, exact); Gaussian blur sigma 0.5/1/2/3 px;
down-then-up resize by 0.75/0.5/0.25 (antialiased bilinear). Each condition processes the whole set,
reals and fakes concatenated, with the same operation and value, so the only difference between the
classes the detector can read is the one that was there before. Plot-free: :func:`robustness_sweep`
(tensors) and :func:`sweep_frames` (a FrameSet, streamed) return numbers; :func:`to_markdown` /
:func:`write_table` format them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from deepswap.detection.metrics import roc_auc
from deepswap.detection.postprocess import gaussian_blur, jpeg, quantize, resize_down_up

JPEG_QUALITIES = (95, 85, 70, 50, 30)
BLUR_SIGMAS = (0.5, 1.0, 2.0, 3.0)
RESIZE_FACTORS = (0.75, 0.5, 0.25)


@dataclass(frozen=True)
class Condition:
    """One post-processing condition: ``op`` in {clean, jpeg, blur, resize} and its value."""

    op: str
    value: float | None = None

    @property
    def name(self) -> str:
        return "clean" if self.op == "clean" else f"{self.op}_{self.value:g}"

    def __call__(self, images: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in [-1, 1] -> processed, same shape."""
        if self.op == "clean":
            return images
        if self.op == "jpeg":
            return jpeg(images, float(self.value))
        if self.op == "blur":
            return gaussian_blur(images, float(self.value))
        if self.op == "resize":
            return resize_down_up(images, float(self.value))
        raise ValueError(f"unknown condition {self.op!r}; expected clean, jpeg, blur or resize")


OPS = ("clean", "jpeg", "blur", "resize")


def parse_condition(name: str) -> Condition:
    """``"clean"``, ``"jpeg_50"``, ``"blur_1"``, ``"resize_0.75"`` (:attr:`Condition.name`) -> Condition."""
    op, _, value = str(name).partition("_")
    if op == "clean" and not value:
        return Condition("clean")
    try:
        number = float(value)
    except ValueError:
        number = None
    if op not in OPS or op == "clean" or number is None or number <= 0:
        raise ValueError(
            f"unknown post-processing condition {name!r}; expected clean, jpeg_<quality 1-100>, "
            "blur_<sigma px> or resize_<factor in (0, 1]>, e.g. [clean, blur_1, resize_0.75, jpeg_50]"
        )
    if (op == "jpeg" and not 1 <= number <= 100) or (op == "resize" and number > 1):
        raise ValueError(
            f"condition {name!r} is out of range: jpeg quality in [1, 100], resize factor in (0, 1]"
        )
    return Condition(op, number)


class Degraded(nn.Module):
    """``net`` scoring frames after ``condition`` and 8-bit rounding (as saved frames are), so a
    detector can be scored under a fixed post-processing of both classes by any scoring loop."""

    def __init__(self, net: nn.Module, condition: Condition) -> None:
        super().__init__()
        self.net, self.condition = net, condition

    def forward(self, images: Tensor) -> Tensor:
        return self.net(quantize(self.condition(images)))


def default_conditions() -> list[Condition]:
    """Clean, then every JPEG quality, blur sigma and resize factor of the sweep."""
    return (
        [Condition("clean")]
        + [Condition("jpeg", q) for q in JPEG_QUALITIES]
        + [Condition("blur", s) for s in BLUR_SIGMAS]
        + [Condition("resize", f) for f in RESIZE_FACTORS]
    )


def _scorer(detector: nn.Module | Callable[[Tensor], Tensor], device: str) -> Callable[[Tensor], Tensor]:
    if isinstance(detector, nn.Module):
        detector.eval()
    return lambda x: detector(quantize(x).to(device)).float().cpu()  # saved images: 8-bit, both classes


Batches = Callable[[], Iterable[tuple[Tensor, Tensor]]]


@torch.no_grad()
def sweep(
    detector: nn.Module | Callable[[Tensor], Tensor],
    batches: Batches,
    conditions: list[Condition] | None = None,
    device: str = "cpu",
) -> dict[str, dict[str, float]]:
    """``batches()`` yields ``(images (B, 3, H, W) in [-1, 1], labels (B,))`` afresh for every condition
    -> ``{condition: {"op", "value", "auc", "mean_real", "mean_fake"}}`` in sweep order. Every image of
    every batch, real or fake, gets the condition's operation, then 8-bit rounding (as training saw)."""
    run = _scorer(detector, device)
    table = {}
    for cond in conditions or default_conditions():
        scores, labels = [], []
        for images, y in batches():
            scores.append(run(cond(images)))
            labels.append(torch.as_tensor(y).flatten().float())
        s, y = torch.cat(scores).double().numpy(), torch.cat(labels).numpy()
        table[cond.name] = {
            "op": cond.op,
            "value": cond.value,
            "auc": roc_auc(y, s),
            "mean_real": float(s[y == 0].mean()),
            "mean_fake": float(s[y == 1].mean()),
        }
    return table


def robustness_sweep(
    detector: nn.Module | Callable[[Tensor], Tensor],
    reals: Tensor,
    fakes: Tensor,
    conditions: list[Condition] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
) -> dict[str, dict[str, float]]:
    """:func:`sweep` on reals ``(R, 3, H, W)`` and fakes ``(F, 3, H, W)`` in [-1, 1] (batches may mix
    both classes)."""
    if reals.dim() != 4 or fakes.dim() != 4 or reals.shape[1:] != fakes.shape[1:]:
        raise ValueError(
            f"reals {tuple(reals.shape)} and fakes {tuple(fakes.shape)} must be (N, 3, H, W) alike"
        )
    images = torch.cat([reals, fakes])
    labels = torch.cat([torch.zeros(len(reals)), torch.ones(len(fakes))])

    def batches():
        return (
            (images[i : i + batch_size], labels[i : i + batch_size])
            for i in range(0, len(images), batch_size)
        )

    return sweep(detector, batches, conditions, device)


def sweep_frames(
    detector: nn.Module | Callable[[Tensor], Tensor],
    frames,
    conditions: list[Condition] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    workers: int = 0,
) -> dict[str, dict[str, float]]:
    """:func:`sweep` on a :class:`~deepswap.detection.data.FrameSet` (e.g. an FF++ test split), streamed;
    unreadable frames are left out (the split's loader counts them)."""
    from torch.utils.data import DataLoader

    def batches():
        for b in DataLoader(frames, batch_size, shuffle=False, num_workers=workers):
            if b["ok"].any():
                yield b["image"][b["ok"]], b["label"][b["ok"]]

    return sweep(detector, batches, conditions, device)


def to_markdown(table: dict[str, dict[str, float]], title: str = "frame AUC") -> str:
    """A markdown table: one row per condition, its AUC and the change from the clean AUC."""
    clean = table.get("clean", {}).get("auc")
    lines = [f"| condition | {title} | vs clean |", "|---|---|---|"]
    for name, row in table.items():
        delta = "" if clean is None or name == "clean" else f"{row['auc'] - clean:+.4f}"
        lines.append(f"| {name} | {row['auc']:.4f} | {delta} |")
    return "\n".join(lines)


def write_table(table: dict[str, dict[str, float]], out_dir: str | Path, stem: str = "robustness") -> dict:
    """Write ``<stem>.csv``, ``<stem>.json`` and ``<stem>.md`` to ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"{stem}.{k}" for k in ("csv", "json", "md")}
    with open(paths["csv"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["condition", "op", "value", "auc", "mean_real", "mean_fake"])
        for name, r in table.items():
            w.writerow(
                [
                    name,
                    r["op"],
                    "" if r["value"] is None else r["value"],
                    r["auc"],
                    r["mean_real"],
                    r["mean_fake"],
                ]
            )
    paths["json"].write_text(json.dumps(table, indent=2) + "\n")
    paths["md"].write_text(to_markdown(table) + "\n")
    return {k: str(v) for k, v in paths.items()}
