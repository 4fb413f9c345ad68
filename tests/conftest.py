"""Shared fixtures: composed configs (as the CLI would) pointed at temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")
os.environ.setdefault("WANDB_MODE", "disabled")
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs 2 workers on 2 cores: one thread each,
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # also in the CLI processes and notebook kernels


def make_cfg(tmp_path: Path, overrides: list[str] | None = None, debug: str | None = "fast"):
    """Compose ``train.yaml`` with overrides, with run output and caches under ``tmp_path``."""
    GlobalHydra.instance().clear()
    extra = [f"debug={debug}"] if debug else []
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=extra + list(overrides or []), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
        cfg.paths.log_dir = str(tmp_path / "logs")
        cfg.paths.cache_dir = str(CACHE_DIR)
        del cfg.hydra
    GlobalHydra.instance().clear()
    return cfg


# Identity encoders trained by the fast debug config are shared by all tests of a session.
CACHE_DIR = Path(os.environ.get("DEEPSWAP_TEST_CACHE", "/tmp/deepswap-test-cache"))


# The protocol's world and a small oracle for the tests (32 px input), cached for the session and across
# sessions in CACHE_DIR; the evaluation, identity and arms-race tests share it.
WORLD = {"num_train_identities": 1000, "num_heldout_identities": 400, "seed": 0, "skin_tone_side": "target"}
ORACLE = [
    "oracle.steps=300",
    "oracle.encoder.width=16",
    "oracle.encoder.input_size=32",
    f"paths.cache_dir={CACHE_DIR}",
]


@pytest.fixture(scope="session")
def oracle():
    from deepswap.evaluate import synthetic_oracle

    return synthetic_oracle({"world": WORLD, "size": 32}, ORACLE)


@pytest.fixture
def cfg_factory(tmp_path):
    return lambda overrides=None, debug="fast": make_cfg(tmp_path, overrides, debug)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One fast training run shared by the tests that only read its outputs: (cfg, metrics, objects)."""
    from deepswap.train import train

    cfg = make_cfg(tmp_path_factory.mktemp("tiny_run"))
    metrics, objects = train(cfg)
    return cfg, metrics, objects


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute_notebook(name: str) -> list[dict]:
    """Run ``notebooks/<name>`` top to bottom (in its folder, with this process's environment) and return
    every code cell's outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    """The real-face fixture cache (SCRFD model, photos, ground truth) that ``make fixtures`` fills.

    Missing or incomplete: the test fails (no skip), saying how to get it."""
    import importlib.util

    script = Path(__file__).parent / "fixtures" / "fetch.py"
    spec = importlib.util.spec_from_file_location("fixture_fetch", script)
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    root = fetch.cache_dir()
    if not fetch.is_complete(root):
        pytest.fail(
            f"real-face fixtures missing or incomplete in {root}: run `make fixtures` "
            "(or python tests/fixtures/fetch.py; set DEEPSWAP_FIXTURES to use another folder)",
            pytrace=False,
        )
    return root
