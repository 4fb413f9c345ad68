"""A CSV logger that a resumed run can write into: what was logged before a crash stays.

Lightning's :class:`~lightning.pytorch.loggers.CSVLogger` deletes an existing ``metrics.csv`` when it
starts, so a run resumed in its own folder (``ckpt_path=last``) lost every metric of its first part.
:class:`ResumableCSVLogger` keeps the file. The steps between the checkpoint and the crash are trained
again after a resume, so the rows the crashed process wrote for them are replaced by the new ones: the
file ends as the uninterrupted run's would.
"""

from __future__ import annotations

import csv
from pathlib import Path

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class _KeepingWriter(ExperimentWriter):
    """An experiment writer that reads an existing ``metrics.csv`` instead of deleting it."""

    def __init__(self, log_dir: str) -> None:
        self._earlier: list[dict] | None = None
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:  # Lightning's deletes the file; this one keeps it
        if not self._fs.isfile(self.metrics_file_path):
            return
        with self._fs.open(self.metrics_file_path, "r", newline="") as f:
            reader = csv.DictReader(f)
            self._earlier = list(reader)
            self.metrics_keys = sorted(reader.fieldnames or [])

    def save(self) -> None:
        if self._earlier is not None and self.metrics:
            first = min(int(m["step"]) for m in self.metrics)
            kept = [row for row in self._earlier if row.get("step") and int(row["step"]) < first]
            self._record_new_keys()
            with self._fs.open(self.metrics_file_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(kept)
            self._earlier = None
        super().save()


class ResumableCSVLogger(CSVLogger):
    """:class:`~lightning.pytorch.loggers.CSVLogger` (same arguments) that keeps an earlier
    ``metrics.csv`` in its folder and appends to it; rows of steps logged again are replaced."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(log_dir=self.log_dir)
        return self._experiment


def resume_kwargs(logger_cfg, run_dir: str | Path) -> dict:
    """Extra arguments for a logger of a run resumed in ``run_dir``: a W&B logger continues the W&B run
    of the crashed process (same id, ``resume="allow"``); other loggers need none."""
    target = str(logger_cfg.get("_target_", "")) if hasattr(logger_cfg, "get") else ""
    if not target.endswith("WandbLogger") or logger_cfg.get("id"):
        return {}
    latest = Path(run_dir) / "wandb" / "latest-run"  # wandb's link to <offline-run|run>-<time>-<id>
    if not latest.exists():
        return {}
    return {"id": latest.resolve().name.rsplit("-", 1)[-1], "resume": "allow"}


__all__ = ["ResumableCSVLogger", "resume_kwargs"]
