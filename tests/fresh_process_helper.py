"""A child-process target for tests/test_fresh_process.py (importable through PYTHONPATH=tests)."""

from __future__ import annotations

import time
from pathlib import Path


def report_threads(path: str, seconds: float = 60.0) -> None:
    """Write this process's torch thread count to ``path``, wait until it changes (or ``seconds`` pass),
    then append the new count."""
    import torch

    start = torch.get_num_threads()
    Path(path).write_text(f"{start}\n")
    end = time.time() + seconds
    while torch.get_num_threads() == start and time.time() < end:
        time.sleep(0.02)
    with open(path, "a") as f:
        f.write(f"{torch.get_num_threads()}\n")
