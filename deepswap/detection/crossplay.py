"""Cross-play: every detector snapshot against every generator snapshot of a co-training run.

- :func:`crossplay_matrix`: frame AUC ``(D, G)`` of detector d on reals vs generator g's swaps of the
  same pairs. Read along a row: which generators a detector still catches; down a column: which
  detectors a generator fools.
- :func:`evasion_rates`: ``(G, D)`` share of generator g's swaps scored at or below the threshold that
  gives ``fpr`` (1 %) false positives on the reals, for each detector of a frozen panel.
- :func:`load_snapshots`: ``det_XXXXXXXX.pt`` / ``gen_XXXXXXXX.pt`` of a ``snapshots/`` folder;
  :func:`as_swapper` turns a generator snapshot into ``(target, source) -> swap`` with an identity encoder.

Images are ``(N, 3, H, W)`` float in [-1, 1]; ``pairs`` is ``{"target": ..., "source": ...}`` (e.g.
:func:`deepswap.evaluation.protocol.synthetic_pairs`). Plot-free: numbers, CSV and JSON.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.detection.metrics import bootstrap_detection, evasion_rate, roc_auc
from deepswap.detection.postprocess import quantize

Swapper = Callable[[Tensor, Tensor], Tensor]
SNAPSHOT_RE = re.compile(r"^(det|gen)_(\d+)\.pt$")


@dataclass
class Matrix:
    """``values[i, j]`` for row ``rows[i]`` and column ``cols[j]``; ``lo``/``hi``: its 95% bootstrap
    interval (reals and fakes resampled separately), when asked for."""

    values: np.ndarray
    rows: list[str]
    cols: list[str]
    what: str
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def to_dict(self) -> dict:
        out = {"what": self.what, "rows": self.rows, "cols": self.cols, "values": self.values.tolist()}
        if self.lo is not None and self.hi is not None:
            out |= {"lo": self.lo.tolist(), "hi": self.hi.tolist()}
        return out

    def write(self, out_dir: str | Path, stem: str) -> dict[str, str]:
        """``<stem>.csv`` (first column the row names) and ``<stem>.json`` in ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / f"{stem}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([self.what, *self.cols])
            for name, row in zip(self.rows, self.values):
                w.writerow([name, *(f"{v:.6f}" for v in row)])
            if self.lo is not None and self.hi is not None:  # the intervals below, one block each
                for edge, m in (("lo", self.lo), ("hi", self.hi)):
                    for name, row in zip(self.rows, m):
                        w.writerow([f"{name} ({edge} 95%)", *(f"{v:.6f}" for v in row)])
        (out / f"{stem}.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return {"csv": str(out / f"{stem}.csv"), "json": str(out / f"{stem}.json")}


@torch.no_grad()
def _score(det: nn.Module | Callable, images: Tensor, batch_size: int, device: str) -> np.ndarray:
    if isinstance(det, nn.Module):
        det.eval().to(device)
    parts = [  # 8-bit rounding on both classes, as the detector saw in training (CoTraining.prepare)
        det(quantize(images[i : i + batch_size]).to(device)).float().cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(parts).double().numpy()


@torch.no_grad()
def make_fakes(generator: Swapper, pairs: dict[str, Tensor], batch_size: int = 64) -> Tensor:
    """``generator(target, source)`` over all pairs in batches -> ``(N, 3, H, W)`` in [-1, 1], on CPU."""
    t, s = pairs["target"], pairs["source"]
    out = [
        generator(t[i : i + batch_size], s[i : i + batch_size]).float().cpu()
        for i in range(0, len(t), batch_size)
    ]
    return torch.cat(out).clamp(-1, 1)


def _all_fakes(
    generators: dict[str, Swapper | Tensor], pairs: dict[str, Tensor], batch_size: int
) -> dict[str, Tensor]:
    """Each generator's swaps of ``pairs``; a value that is already a tensor of swaps is used as is."""
    if not generators:
        raise ValueError("no generators given")
    return {
        name: g if isinstance(g, Tensor) else make_fakes(g, pairs, batch_size)
        for name, g in generators.items()
    }


def crossplay_matrix(
    detectors: dict[str, nn.Module],
    generators: dict[str, Swapper | Tensor],
    reals: Tensor,
    pairs: dict[str, Tensor],
    batch_size: int = 64,
    device: str = "cpu",
    resamples: int = 0,
) -> Matrix:
    """Frame AUC ``(D, G)``: detector ``d`` on ``reals`` (label 0) vs generator ``g``'s swaps of ``pairs``
    (label 1). Each generator runs once (or give its swaps as a tensor); each detector scores the reals
    once. ``resamples > 0``: also a stratified bootstrap 95% interval per cell (``lo``, ``hi``)."""
    if not detectors:
        raise ValueError("no detectors given")
    fakes = _all_fakes(generators, pairs, batch_size)
    auc = np.zeros((len(detectors), len(fakes)))
    lo, hi = np.zeros_like(auc), np.zeros_like(auc)
    for i, det in enumerate(detectors.values()):
        real_s = _score(det, reals, batch_size, device)
        for j, fake in enumerate(fakes.values()):
            fake_s = _score(det, fake, batch_size, device)
            y, s = np.r_[np.zeros(len(real_s)), np.ones(len(fake_s))], np.r_[real_s, fake_s]
            auc[i, j] = roc_auc(y, s)
            if resamples:
                b = bootstrap_detection(y, s, resamples=resamples, seed=i * 1000 + j)
                lo[i, j], hi[i, j] = b["auc_lo"], b["auc_hi"]
    if resamples:
        return Matrix(auc, list(detectors), list(fakes), "auc", lo, hi)
    return Matrix(auc, list(detectors), list(fakes), "auc")


def evasion_rates(
    generators: dict[str, Swapper | Tensor],
    panel_detectors: dict[str, nn.Module],
    reals: Tensor,
    pairs: dict[str, Tensor],
    fpr: float = 0.01,
    batch_size: int = 64,
    device: str = "cpu",
    resamples: int = 0,
) -> Matrix:
    """Evasion ``(G, D)``: share of generator ``g``'s swaps scored ``<=`` the threshold that lets at most
    ``fpr`` of the reals through, for each (frozen) detector ``d`` of the panel; 1 = all evade.
    ``resamples > 0``: also a bootstrap 95% interval per cell (reals and swaps resampled separately,
    so the threshold's own uncertainty is in it)."""
    if not panel_detectors:
        raise ValueError("no panel detectors given")
    fakes = _all_fakes(generators, pairs, batch_size)
    rates = np.zeros((len(fakes), len(panel_detectors)))
    lo, hi = np.zeros_like(rates), np.zeros_like(rates)
    for j, det in enumerate(panel_detectors.values()):
        real_s = _score(det, reals, batch_size, device)
        for i, fake in enumerate(fakes.values()):
            fake_s = _score(det, fake, batch_size, device)
            rates[i, j] = evasion_rate(real_s, fake_s, fpr)
            if resamples:  # evasion = 1 - TPR at the same threshold
                y, s = np.r_[np.zeros(len(real_s)), np.ones(len(fake_s))], np.r_[real_s, fake_s]
                b = bootstrap_detection(y, s, fpr=fpr, resamples=resamples, seed=i * 1000 + j)
                lo[i, j], hi[i, j] = 1.0 - b["tpr_hi"], 1.0 - b["tpr_lo"]
    what = f"evasion@fpr{fpr:g}"
    if resamples:
        return Matrix(rates, list(fakes), list(panel_detectors), what, lo, hi)
    return Matrix(rates, list(fakes), list(panel_detectors), what)


# ---------------------------------------------------------------- snapshots


def load_snapshot(path: str | Path, config: dict | None = None) -> tuple[nn.Module, int]:
    """One snapshot file -> ``(network in eval mode, step)``. THE place to adapt to the file format.

    Format: ``torch.save({"state_dict", "config": <network _target_ config>, "step"})``; a bare state_dict
    also works when ``config`` is given (or found in the folder's ``config.json`` under ``detector.net``
    / ``generator``).
    """
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    path = Path(path)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    wrapped = isinstance(blob, dict) and "state_dict" in blob
    state = blob["state_dict"] if wrapped else blob
    config = (blob.get("config") if wrapped else None) or config or _folder_config(path)
    if not config or "_target_" not in config:
        raise ValueError(f"{path}: no network config with _target_ in the file, argument or config.json")
    net = instantiate(OmegaConf.create(config))
    net.load_state_dict(state)
    step = int(blob.get("step", -1)) if wrapped else -1
    match = SNAPSHOT_RE.match(path.name)
    return net.eval(), step if step >= 0 or not match else int(match.group(2))


def _folder_config(path: Path) -> dict | None:
    """``config.json`` next to a snapshot: the detector's ``net`` or the generator config."""
    spec_file = path.parent / "config.json"
    if not spec_file.is_file():
        return None
    spec = json.loads(spec_file.read_text())
    return (spec.get("detector") or {}).get("net") if path.name.startswith("det_") else spec.get("generator")


def load_snapshots(folder: str | Path) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
    """``folder/det_*.pt`` and ``gen_*.pt`` -> ``(detectors, generators)``, each ``{"<kind>_<step>": net}``
    in step order. Wrap generators with :func:`as_swapper` before cross-play."""
    folder = Path(folder).expanduser()
    files = sorted(
        (m.group(1), int(m.group(2)), p) for p in folder.glob("*.pt") if (m := SNAPSHOT_RE.match(p.name))
    )
    if not files:
        raise FileNotFoundError(f"{folder} holds no det_XXXXXXXX.pt / gen_XXXXXXXX.pt snapshots")
    out: dict[str, dict[str, nn.Module]] = {"det": {}, "gen": {}}
    for kind, _, path in files:
        net, step = load_snapshot(path)
        out[kind][f"{kind}_{step:08d}"] = net
    return out["det"], out["gen"]


def as_swapper(
    generator: nn.Module, identity: nn.Module | Callable[[Tensor], Tensor], device: str = "cpu"
) -> Swapper:
    """A generator snapshot + the run's identity embedding -> ``(target, source) -> swap`` in [-1, 1].

    ``identity``: the run's :class:`~deepswap.inference.model.SwapModel` (or its ``embed``), which sees
    the crops as the training did (resampled onto the 112 px ArcFace template for ArcFace-aligned
    crops); a bare encoder module is used on the crops as they are (right for synthetic runs only).
    e.g. ``as_swapper(gen, SwapModel.from_checkpoint(run_ckpt))``."""
    generator.eval().to(device)
    embed = getattr(identity, "embed", None)
    if embed is None:
        encoder = identity.eval().to(device)

        def embed(images: Tensor) -> Tensor:
            return F.normalize(encoder(images).float(), dim=1)

    @torch.no_grad()
    def swap(target: Tensor, source: Tensor) -> Tensor:
        ident = F.normalize(embed(source.to(device)).float(), dim=1)
        return generator(target.to(device), ident).image.float().clamp(-1, 1)

    return swap
