"""Which checkpoints a run keeps: ``last.ckpt``, the best K by a validation metric, one every N kimg.

Names count images, as the rest of a run does: ``best_kimg00002.000.ckpt`` (one of the best K so far),
``kimg00004.000.ckpt`` (kept for good, every ``every_kimg``), ``last.ckpt`` (resume from it).
:meth:`RunCheckpoints.file_for` tells ``metrics.jsonl`` which of these files holds the weights that a
validation's metrics were computed on.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from lightning.pytorch.callbacks import ModelCheckpoint

# The selection metric when none is configured and the data module names none: identity cosine to the
# source is the one validation metric every data module has.
FALLBACK_HEADLINE = ("val/id_cos", "max")
BEST_NAME = "best_kimg{kimg:09.3f}"


def kimg_name(kimg: float) -> str:
    return f"kimg{kimg:09.3f}.ckpt"


class RunCheckpoints(ModelCheckpoint):
    """``last.ckpt`` + the best ``save_top_k`` by ``monitor`` + a checkpoint every ``every_kimg``.

    Args:
        dirpath: the run's ``checkpoints`` folder.
        monitor / mode: the selection metric; None: the data module's ``headline`` (the protocol's
            headline, ``val/gt_l1_face``, lower is better, on the synthetic world), else
            :data:`FALLBACK_HEADLINE`.
        save_top_k: how many best checkpoints to keep.
        every_kimg: a checkpoint kept for good each time training passes a multiple of it (0: none).
        keep_replay: store the co-trained detector's replay buffer in the checkpoints (needed to resume
            exactly; about ``capacity`` images).
    """

    def __init__(
        self,
        dirpath: str,
        monitor: str | None = None,
        mode: str | None = None,
        save_top_k: int = 3,
        every_kimg: float = 0.0,
        keep_replay: bool = True,
    ):
        super().__init__(
            dirpath=dirpath,
            filename=BEST_NAME,
            monitor=monitor or FALLBACK_HEADLINE[0],
            mode=mode or "max",
            save_top_k=int(save_top_k),
            save_last=True,
            auto_insert_metric_name=False,
        )
        self.configured = (monitor, mode)
        self.every_kimg, self.keep_replay = float(every_kimg), bool(keep_replay)
        self.kimg_saved = 0  # multiples of every_kimg passed

    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        monitor, mode = self.configured
        if monitor is None:
            monitor, default_mode = getattr(trainer.datamodule, "headline", FALLBACK_HEADLINE)
            mode = mode or default_mode
        self.monitor, self.mode = monitor, mode or "max"
        if self.best_model_score is None:  # a fresh run: start from the worst value for this mode
            self.kth_value = torch.tensor(math.inf if self.mode == "min" else -math.inf)

    def kimg_due(self, kimg: float) -> bool:
        return self.every_kimg > 0 and int(kimg / self.every_kimg + 1e-9) > self.kimg_saved

    def file_for(self, trainer, kimg: float) -> str | None:
        """The checkpoint this validation's weights go to (relative to the run folder): the kept kimg
        checkpoint, else the best-K one if the metric makes the top K, else None (only last.ckpt)."""
        if self.kimg_due(kimg):
            return f"checkpoints/{kimg_name(kimg)}"
        current = trainer.callback_metrics.get(self.monitor)
        if current is None or self.save_top_k == 0 or not self.check_monitor_top_k(trainer, current):
            return None
        name = Path(self.format_checkpoint_name({**trainer.callback_metrics, "kimg": torch.tensor(kimg)}))
        return f"checkpoints/{name.name}"

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        """The last batch of the budget writes ``last.ckpt`` here, while the epoch is still open: a
        checkpoint saved after ``fit`` returns marks the epoch complete, and a run resumed from it
        (with a larger budget) would skip the rest of the epoch's data."""
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if trainer.max_steps > 0 and trainer.global_step >= trainer.max_steps:
            last = Path(self.dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
            trainer.save_checkpoint(last)
            # the closing validation's save_last then overwrites this file instead of writing last-v1.ckpt
            # beside it (a run whose only validation is its last: val_every_kimg = total_kimg)
            self.last_model_path = str(last)

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if trainer.sanity_checking or not self.kimg_due(pl_module.kimg):
            return
        self.kimg_saved = int(pl_module.kimg / self.every_kimg + 1e-9)
        trainer.save_checkpoint(Path(self.dirpath) / kimg_name(pl_module.kimg))

    def state_dict(self) -> dict:
        return {**super().state_dict(), "kimg_saved": self.kimg_saved}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.kimg_saved = int(state_dict.get("kimg_saved", 0))


__all__ = ["RunCheckpoints", "FALLBACK_HEADLINE", "kimg_name"]
