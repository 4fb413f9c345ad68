"""Callbacks that make a run folder self-describing: sample grids and an append-only metrics.jsonl."""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image


def swap_grid(source, target, swap, truth=None) -> torch.Tensor:
    """``(N, 3, H, W)`` tensors in [-1, 1] -> one image, a row per pair: source | target | swap (| truth)."""
    columns = [source, target, swap] + ([truth] if truth is not None else [])
    rows = torch.stack(columns, dim=1).flatten(0, 1).float().cpu()
    return make_grid((rows.clamp(-1, 1) + 1) / 2, nrow=len(columns), padding=2, pad_value=1.0)


class SampleGrid(L.Callback):
    """After each validation, swap fixed held-out pairs with the EMA generator and save
    ``<run>/samples/step_XXXXXXXX.png`` (also sent to W&B/TensorBoard when they are active)."""

    def __init__(self, num_pairs: int = 8, dirname: str = "samples"):
        self.num_pairs, self.dirname = int(num_pairs), dirname
        self._pairs = None

    @rank_zero_only
    def on_validation_end(self, trainer: L.Trainer, module) -> None:
        if trainer.sanity_checking or self.num_pairs <= 0:
            return
        if self._pairs is None:
            self._pairs = trainer.datamodule.sample_pairs(self.num_pairs)
        pairs = {k: v.to(module.device) for k, v in self._pairs.items()}
        swap = module.swap(pairs["target"], pairs["source"])
        grid = swap_grid(pairs["source"], pairs["target"], swap, pairs.get("truth"))
        path = Path(trainer.default_root_dir) / self.dirname / f"step_{trainer.global_step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(key="samples", images=[grid], step=trainer.global_step)
            elif hasattr(getattr(logger, "experiment", None), "add_image"):
                logger.experiment.add_image("samples", grid, trainer.global_step)


def checkpoint_file(trainer: L.Trainer, module) -> str | None:
    """The checkpoint file (relative to the run folder) that will hold the weights of this validation,
    as the run's :class:`~deepswap.training.checkpoints.RunCheckpoints` decides; None if only
    ``last.ckpt`` will (it moves on, so a metric never names it)."""
    from deepswap.training.checkpoints import RunCheckpoints

    for cb in trainer.checkpoint_callbacks:
        if isinstance(cb, RunCheckpoints):
            return cb.file_for(trainer, module.kimg)
    return None


class MetricsJsonl(L.Callback):
    """Append ``{"step", "kimg", "metric", "value", "ckpt"}`` lines to ``<run>/metrics.jsonl``:
    training losses every ``every_n_batches`` batches and every validation metric, whose ``ckpt`` names
    the checkpoint file of the weights it was computed on (or null)."""

    def __init__(self, every_n_batches: int = 50, filename: str = "metrics.jsonl"):
        self.every_n_batches, self.filename = int(every_n_batches), filename

    def _write(self, trainer: L.Trainer, module, prefix: tuple[str, ...]) -> None:
        ckpt = checkpoint_file(trainer, module) if prefix == ("val/",) else None
        lines = []
        for name, value in trainer.callback_metrics.items():
            if not name.startswith(prefix):
                continue
            value = float(value)
            lines.append(
                json.dumps(
                    {
                        "step": trainer.global_step,
                        "kimg": round(module.kimg, 3),
                        "metric": name,
                        "value": value if math.isfinite(value) else str(value),
                        "ckpt": ckpt,
                    }
                )
            )
        if lines:
            with open(Path(trainer.default_root_dir) / self.filename, "a") as f:
                f.write("\n".join(lines) + "\n")

    @rank_zero_only
    def on_train_start(self, trainer, module) -> None:
        """A resumed run trains again the steps after its checkpoint: their lines from the crashed
        process go, and the new ones take their place (as in the run that never stopped)."""
        path = Path(trainer.default_root_dir) / self.filename
        if trainer.ckpt_path is None or not path.is_file():
            return
        lines = path.read_text().splitlines()
        kept = [x for x in lines if x.strip() and json.loads(x).get("step", 0) <= trainer.global_step]
        path.write_text("".join(x + "\n" for x in kept))

    @rank_zero_only
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self.every_n_batches > 0 and (batch_idx + 1) % self.every_n_batches == 0:
            self._write(trainer, module, ("train/",))

    @rank_zero_only
    def on_validation_end(self, trainer, module) -> None:
        if not trainer.sanity_checking:
            self._write(trainer, module, ("val/",))
