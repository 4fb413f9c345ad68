"""One loader for everything a swap model is stored in: a training checkpoint or an export folder.

``load_model(path)`` decides which one ``path`` is (a folder, or a file inside an export folder: an
export; any other file: a training checkpoint) and returns a :class:`~deepswap.inference.model.SwapModel`.
Every command and library function that takes a model path goes through it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from deepswap.errors import CheckpointError, MissingFileError
from deepswap.inference.format import EXPORT_FORMAT, META_FILE, PREFIXES, WEIGHTS_FILE, sub_state
from deepswap.inference.model import SwapModel, identity_arch

TRAINING_CHECKPOINT = "training checkpoint (EMA generator)"
EXPORT = "export"


def is_export(path: str | Path) -> bool:
    """Whether ``path`` is an export folder (or a file inside one) rather than a training checkpoint."""
    path = Path(path)
    return path.is_dir() or (path.parent / META_FILE).is_file() and path.name in (WEIGHTS_FILE, META_FILE)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[SwapModel, str]:
    """``path`` (training checkpoint or export folder) -> ``(model, kind)``, kind
    :data:`TRAINING_CHECKPOINT` or :data:`EXPORT`. Missing or unreadable: a clear error."""
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise MissingFileError(f"{path} does not exist: give a training checkpoint or an export folder")
    if is_export(path):
        return load_exported(path, device), EXPORT
    return SwapModel.from_checkpoint(path, device), TRAINING_CHECKPOINT


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> SwapModel:
    """The model of a training checkpoint or an export folder (``deepswap.load_checkpoint``)."""
    return load_model(path, device)[0]


def read_export_meta(folder: Path) -> dict:
    how = f"make one with `python -m deepswap.export CHECKPOINT --format safetensors --out {folder}`"
    missing = [name for name in (META_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder} is not a deepswap export: {' and '.join(missing)} missing; {how}")
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{folder / META_FILE} is not valid JSON ({e}); {how}") from None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("config"), dict)
        or not isinstance(meta.get("format"), int)
    ):
        raise CheckpointError(f"{folder / META_FILE} lacks 'format' or 'config'; {how}")
    if meta["format"] > EXPORT_FORMAT:
        raise CheckpointError(
            f"{folder} has export format {meta['format']}, newer than this deepswap understands "
            f"({EXPORT_FORMAT}); upgrade deepswap"
        )
    return meta


def load_exported(path: str | Path, device: str | torch.device = "cpu") -> SwapModel:
    """Rebuild a :class:`SwapModel` from a :func:`export_safetensors` folder (or a file inside it).

    Raises CheckpointError when the folder is not an export, is from a newer deepswap, or its weights do
    not fit the networks its config describes.
    """
    from safetensors.torch import load_file

    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"export {folder} does not exist")
    folder = folder if folder.is_dir() else folder.parent
    meta = read_export_meta(folder)
    try:
        tensors = load_file(folder / WEIGHTS_FILE, device="cpu")
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types for damaged files
        raise CheckpointError(f"{folder / WEIGHTS_FILE} is not a readable safetensors file ({e})") from None
    generator = instantiate(OmegaConf.create(meta["config"]["generator"]))
    encoder = identity_arch(meta)
    for prefix, net in zip(PREFIXES, (generator, encoder)):
        try:
            net.load_state_dict(sub_state(tensors, prefix))
        except RuntimeError as e:
            raise CheckpointError(
                f"{folder / WEIGHTS_FILE}: the {prefix[:-1]} weights do not fit the network in "
                f"{META_FILE} ({str(e).splitlines()[0][:200]}); re-export from the training checkpoint"
            ) from None
    return SwapModel(
        generator.eval().to(device),
        encoder.eval().to(device),
        meta["config"],
        meta.get("identity_encoder"),
        str((folder / WEIGHTS_FILE).resolve()),
    )


__all__ = [
    "load_model",
    "load_checkpoint",
    "load_exported",
    "read_export_meta",
    "is_export",
    "EXPORT",
    "TRAINING_CHECKPOINT",
]
