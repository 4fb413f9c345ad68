"""A crash loses nothing: a real training process killed with SIGKILL after its second checkpoint and
resumed in its own folder (``ckpt_path=last``) ends where a run that never stopped ends."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import CACHE_DIR

# 24 batches of 4 in epochs of 20: checkpoints after batches 8, 16 and 24 (3 optimiser steps each), so
# the kill comes mid-epoch and the resumed part crosses an epoch boundary.
RUN = ["debug=fast", "total_kimg=0.096", "data.train_length=80", "final_eval.enabled=false"]
SECOND_CHECKPOINT_STEP = 16 * 3


def _command(run: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "deepswap.train", *RUN, f"hydra.run.dir={run}", *extra]


def _env() -> dict:
    return {**os.environ, "WANDB_MODE": "offline", "DEEPSWAP_CACHE": str(CACHE_DIR), "OMP_NUM_THREADS": "1"}


def _kill_after_second_checkpoint(proc: subprocess.Popen, run: Path) -> None:
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if last.is_file():
            try:  # wait until the second validation's last.ckpt is complete
                step = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
                if step >= SECOND_CHECKPOINT_STEP:
                    break
            except Exception:
                pass
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]


def _jsonl(run: Path) -> dict[tuple, float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return {(x["step"], x["metric"]): x["value"] for x in lines}


def _csv_steps(run: Path) -> list[int]:
    with open(run / "csv" / "metrics.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


@pytest.mark.slow  # three real training processes (~1 min); the default suite resumes in-process
def test_a_run_killed_after_its_second_checkpoint_resumes_in_its_folder_as_if_never_stopped(tmp_path):
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    loggers = "logger=many"  # W&B offline, CSV and TensorBoard
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "env": _env(), "cwd": tmp_path}
    reference = subprocess.Popen(_command(whole, loggers), **quiet)
    victim = subprocess.Popen(_command(crashed, loggers), **quiet)
    _kill_after_second_checkpoint(victim, crashed)
    _, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err.decode()[-3000:]

    before = _jsonl(crashed)
    resume = _command(crashed, loggers, "ckpt_path=last")
    resumed = subprocess.run(resume, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    a, b = _weights(whole), _weights(crashed)
    for prefix in ("generator.", "ema.shadow.", "discriminator.", "detector."):
        keys = [k for k in a if k.startswith(prefix) and a[k].is_floating_point()]
        assert keys
        worst = max((a[k] - b[k]).abs().max().item() for k in keys)
        assert worst <= 1e-5, f"{prefix} differs by {worst} from the uninterrupted run"

    # Metrics written before the crash are kept; the lines of re-trained steps are not doubled.
    after = _jsonl(crashed)
    assert {k for k in before if k[0] <= SECOND_CHECKPOINT_STEP} <= set(after)
    assert set(after) == set(_jsonl(whole))
    assert _csv_steps(crashed) == _csv_steps(whole)
    assert len(list((crashed / "tensorboard").glob("events.out.tfevents.*"))) == 2
    runs = {p.name.rsplit("-", 1)[-1] for p in (crashed / "wandb").glob("offline-run-*")}
    assert len(runs) == 1, f"the resumed process started another W&B run: {runs}"


class _Index(torch.utils.data.Dataset):
    """Item = the index part of an ``(epoch, index)`` key."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        return key[1]


@pytest.mark.parametrize("train_length", [64, 82])
def test_the_loader_state_in_a_checkpoint_is_the_place_in_the_epoch(train_length):
    """What Lightning stores for the training loader: the epoch and the batches of it consumed; a loader
    given that state hands out exactly the rest of the epoch."""
    from deepswap.data.sampling import EpochSampler, ResumableLoader

    sampler = EpochSampler(train_length, seed=3)
    loader = ResumableLoader(_Index(train_length), sampler, batch_size=4)
    it = iter(loader)
    seen = [next(it) for _ in range(7)]
    state = loader.state_dict()
    assert state == {"epoch": 0, "batches": 7}
    rest = list(it)
    again = ResumableLoader(_Index(train_length), EpochSampler(train_length, seed=3), batch_size=4)
    again.load_state_dict(state)
    assert [b.tolist() for b in again] == [b.tolist() for b in rest]
    assert len(seen) + len(rest) == train_length // 4
