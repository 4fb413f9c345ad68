"""Run a cache-filling function in a fresh Python process whose OpenMP threads busy-wait.

The training process sets ``OMP_WAIT_POLICY=PASSIVE`` so that its data-loader workers are not starved.
Small networks trained before the GAN starts (the identity encoders, the detector's warm start) run
1.4-1.7x faster with busy-waiting threads, so on a cache miss they train in a child process that writes
the cache file, and the parent then loads it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from contextlib import contextmanager

import torch

log = logging.getLogger(__name__)


def start_in_fresh_process(
    target: str, kwargs: dict, what: str, threads: int | None = None, grow_to: int | None = None
) -> subprocess.Popen:
    """Start ``target`` (``"package.module:function"``) with ``kwargs`` (JSON values) in a child process
    with ``OMP_WAIT_POLICY=ACTIVE`` and ``threads`` torch threads (default: this process's count), and
    return without waiting. Its log lines go to this process's stderr. ``grow_to``: the child takes that
    many threads when :func:`grow` signals it (the work it shared the machine with is done); without it, a
    signal leaves the child as it is."""
    module, function = target.split(":")
    code = (
        "import signal\n"
        "def _grow(*_):\n"
        "    import logging, torch\n"
        f"    {f'torch.set_num_threads({int(grow_to)})' if grow_to else 'pass'}\n"
        "    logging.getLogger(__name__).info('now on %d thread(s)', torch.get_num_threads())\n"
        "if hasattr(signal, 'SIGUSR1'):\n"
        "    signal.signal(signal.SIGUSR1, _grow)\n"
        "import json, logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr,\n"
        "    format='[%(asctime)s][%(name)s][%(levelname)s] - %(message)s')\n"
        f"from {module} import {function}\n"
        f"{function}(**json.loads(sys.stdin.read()))\n"
    )
    threads = int(threads or torch.get_num_threads())
    env = {**os.environ, "OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": str(threads)}
    log.info("training %s in a fresh process (OMP_WAIT_POLICY=ACTIVE, %d thread(s))", what, threads)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, text=True, env=env)
    child.stdin.write(json.dumps(kwargs))
    child.stdin.close()
    return child


def grow(child: subprocess.Popen) -> None:
    """Tell a child started with ``grow_to`` that it may take that many threads now (POSIX; elsewhere it
    keeps its threads)."""
    if child.poll() is None and hasattr(signal, "SIGUSR1"):
        child.send_signal(signal.SIGUSR1)


def finished_ok(child: subprocess.Popen, what: str) -> bool:
    """Wait for ``child``; False (with a warning naming ``what``) when it failed."""
    code = child.wait()
    if code != 0:
        log.warning("%s: the training process failed (exit %d); training in this process", what, code)
    return code == 0


def run_in_fresh_process(target: str, kwargs: dict, what: str) -> bool:
    """Call ``target`` (``"package.module:function"``) with ``kwargs`` (JSON values) in a child process with
    ``OMP_WAIT_POLICY=ACTIVE`` and this process's torch thread count, and wait for it; its log lines go
    to this process's stderr. False (with a warning naming ``what``) when the child fails: the caller then
    does the work."""
    return finished_ok(start_in_fresh_process(target, kwargs, what), what)


@contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` torch threads (``None``: unchanged), then restore the count."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
