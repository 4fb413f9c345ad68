"""The main job's trained checkpoint paints no streaks (issue 10 §2).

Slow: it trains the main job (``python -m deepswap.train`` on its defaults, about 10 minutes on 2 CPU
cores when the identity encoders are cached) unless ``DEEPSWAP_MAIN_JOB_RUN`` names the run folder of
one already trained. ``make test-full`` runs it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepswap.evaluation.report import STREAK_LIMIT


@pytest.fixture(scope="module")
def main_job_run(tmp_path_factory) -> Path:
    given = os.environ.get("DEEPSWAP_MAIN_JOB_RUN")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("main_job")
    cmd = [sys.executable, "-m", "deepswap.train", "logger=csv", f"paths.output_dir={out}"]
    subprocess.run(cmd, check=True, timeout=3600)
    return out


@pytest.mark.slow
def test_main_job_swaps_have_no_more_bands_than_the_true_swap(main_job_run):
    """Row- and column-constant energy of (swap - truth), high-passed, against that of the truth's
    own change (truth - target), on the closing table's test pairs."""
    table = json.loads((main_job_run / "heldout_eval.json").read_text())
    assert table["streaks"] is not None
    assert table["streaks"] <= STREAK_LIMIT, f"streak energy {table['streaks']:.2f}x the truth's own change"
