"""Cache-filling work in child processes: thread counts, and growing a child once the machine is free."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from deepswap.utils.fresh_process import finished_ok, grow, start_in_fresh_process, torch_threads

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(sys.platform == "win32", reason="grow() signals with SIGUSR1 (POSIX)")
def test_a_child_starts_on_its_threads_and_takes_more_when_told(tmp_path, monkeypatch):
    """The warm start shares the machine with the identity encoders on one thread, then takes both cores
    when they are done (deepswap.train._warm_start_beside_encoders)."""
    monkeypatch.setenv("PYTHONPATH", f"{HERE}:{Path.cwd()}")
    out = tmp_path / "threads.txt"
    child = start_in_fresh_process(
        "fresh_process_helper:report_threads", {"path": str(out)}, "a test child", threads=1, grow_to=2
    )
    deadline = time.time() + 60
    while not out.is_file() and time.time() < deadline:  # the child is up, its handler installed
        time.sleep(0.05)
    grow(child)
    assert finished_ok(child, "a test child")
    assert out.read_text().split() == ["1", "2"]
    not_told = start_in_fresh_process(
        "fresh_process_helper:report_threads", {"path": str(out), "seconds": 0.5}, "a test child", threads=1
    )
    assert finished_ok(not_told, "a test child") and out.read_text().split() == ["1", "1"]
    grow(not_told)  # a finished child: nothing to signal, no error
    started_without = start_in_fresh_process(
        "fresh_process_helper:report_threads", {"path": str(out), "seconds": 2.0}, "a test child", threads=1
    )
    deadline = time.time() + 60
    while out.read_text().split() != ["1"] and time.time() < deadline:
        time.sleep(0.05)
    grow(started_without)  # no grow_to: the signal changes nothing and does not kill it
    assert finished_ok(started_without, "a test child") and out.read_text().split() == ["1", "1"]


def test_torch_threads_restores_the_count():
    import torch

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("the count comes back on an error too")
    assert torch.get_num_threads() == before
