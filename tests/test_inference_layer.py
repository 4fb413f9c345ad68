"""The inference layer stands alone: no Lightning, no training code, no command module behind it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import deepswap
from deepswap.inference.exporters import export_safetensors
from deepswap.inference.loader import EXPORT, TRAINING_CHECKPOINT, load_model

PACKAGE = Path(deepswap.__file__).parent
COMMANDS = {"train", "evaluate", "detect", "swap", "prepare", "export"}  # python -m deepswap.<verb>

PROBE = """
import json, sys, tempfile
import deepswap
from deepswap.faces import SyntheticSceneAnalyser
from deepswap.inference import FaceSwapper, load_model
from deepswap.inference.exporters import export_safetensors

model = deepswap.load_checkpoint(sys.argv[1])
folder = export_safetensors(model, tempfile.mkdtemp())
again, kind = load_model(folder)
FaceSwapper(again, SyntheticSceneAnalyser())
import deepswap.inference.exporters, deepswap.inference.swapper  # noqa: E401
heavy = ("lightning", "pytorch_lightning", "lightning_fabric")
print(json.dumps(sorted(
    k for k in sys.modules
    if k.split(".")[0] in heavy or k.startswith("deepswap.training") or k in {COMMANDS}
)))
"""


def test_loading_swapping_and_exporting_import_neither_lightning_nor_training_nor_commands(tiny_run):
    ckpt = Path(tiny_run[0].paths.output_dir) / "checkpoints" / "last.ckpt"
    commands = {f"deepswap.{c}" for c in COMMANDS}
    probe = PROBE.replace("{COMMANDS}", repr(commands))
    out = subprocess.run(
        [sys.executable, "-c", probe, str(ckpt)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_one_loader_reads_checkpoints_export_folders_and_files_inside_them(tiny_run, tmp_path):
    ckpt = Path(tiny_run[0].paths.output_dir) / "checkpoints" / "last.ckpt"
    model, kind = load_model(ckpt)
    assert kind == TRAINING_CHECKPOINT
    folder = export_safetensors(model, tmp_path / "export")
    x = torch.rand(2, 3, model.image_size, model.image_size) * 2 - 1
    for path in (folder, folder / "model.safetensors", folder / "deepswap.json"):
        again, kind = load_model(path)
        assert kind == EXPORT and torch.allclose(
            again.swap(x, x.flip(0)), model.swap(x, x.flip(0)), atol=1e-6
        )
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nothing")


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import statement in ``path``, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


def test_library_modules_import_no_command_module_and_no_private_names():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        is_command = len(rel.parts) == 1 and rel.stem in COMMANDS
        for module, names in _imports(path):
            if not module.startswith("deepswap"):
                continue
            if not is_command and module.split(".")[:2] in [["deepswap", c] for c in COMMANDS]:
                offences.append(f"{rel} imports the command {module}")
            offences += [
                f"{rel} imports {module}.{n}" for n in names if n.startswith("_") and n != "__version__"
            ]
    assert not offences, offences


def _module_graph() -> dict[str, set[str]]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in mods.items():
        deps = set()
        for module, names in _imports(path):
            deps |= {m for m in (module, *(f"{module}.{n}" for n in names)) if m in mods}
        graph[name] = deps - {name}
    return graph


def test_no_two_modules_import_each_other():
    """Cycles such as api <-> export or faces.analyser <-> faces.scenes (a package and its own
    submodules aside: a package's __init__ re-exports them)."""
    graph = _module_graph()
    assert "deepswap.faces.scenes" in graph and "deepswap.inference.loader" in graph
    cycles = sorted(
        f"{a} <-> {b}"
        for a in graph
        for b in graph[a]
        if a < b and a in graph[b] and not (b.startswith(a + ".") or a.startswith(b + "."))
    )
    assert not cycles, cycles
