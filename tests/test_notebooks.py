"""Notebooks run top to bottom against a tiny checkpoint made by the fast debug config."""

from __future__ import annotations

from pathlib import Path

import nbformat
from conftest import NOTEBOOKS, execute_notebook


def test_quickstart_notebook_executes(tiny_run, monkeypatch):
    cfg = tiny_run[0]
    monkeypatch.setenv("DEEPSWAP_CKPT", str(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"))
    outputs = execute_notebook("01_quickstart.ipynb")
    assert any(o.get("output_type") == "display_data" for o in outputs), "the grid was not shown"
    assert not any(o.get("output_type") == "error" for o in outputs)


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
            f"{path.name} has outputs"
        )
