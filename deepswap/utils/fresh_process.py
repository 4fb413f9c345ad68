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
import subprocess
import sys

import torch

log = logging.getLogger(__name__)


def run_in_fresh_process(target: str, kwargs: dict, what: str) -> bool:
    """Call ``target`` (``"package.module:function"``) with ``kwargs`` (JSON values) in a child process with
    ``OMP_WAIT_POLICY=ACTIVE`` and this process's torch thread count; its log lines go to this process's
    stderr. False (with a warning naming ``what``) when the child fails: the caller then does the work."""
    module, function = target.split(":")
    code = (
        "import json, logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr,\n"
        "    format='[%(asctime)s][%(name)s][%(levelname)s] - %(message)s')\n"
        f"from {module} import {function}\n"
        f"{function}(**json.loads(sys.stdin.read()))\n"
    )
    env = {**os.environ, "OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": str(torch.get_num_threads())}
    log.info("training %s in a fresh process (OMP_WAIT_POLICY=ACTIVE)", what)
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(kwargs), text=True, env=env)
    if done.returncode != 0:
        log.warning(
            "%s: the training process failed (exit %d); training in this process", what, done.returncode
        )
    return done.returncode == 0
