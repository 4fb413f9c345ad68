"""Checks of a composed config before any work: sizes, budgets, dimensions, choices and combinations.

``check_train``, ``check_evaluate`` and ``check_detect`` raise a :class:`deepswap.errors.DeepswapError`
whose message names the options and the fix. The commands call them on the composed config before
Hydra starts a run (so nothing is written), and ``train(cfg)`` / ``evaluate`` / ``detect.train`` call
them again for the Python API. They read only the keys they check (Hydra's ``${hydra:...}`` values
are not resolved) and import torch only to look for a GPU or read a checkpoint.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from deepswap.errors import CheckpointError, MissingFileError, UsageError

MISSING = object()
MIN_SIZE = 32
SYNTHETIC_ENCODER = "synthetic_identity_encoder"
SYNTHETIC_ONLY_KEYS = (
    "steps",
    "batch_size",
    "encoder",
    "world",
    "lr",
    "augment",
    "objective",
    "pool",
    "views",
)
DETECT_SELECT = ("auc", "ap", "acc", "video_auc")
THRESHOLD_RULES = ("fpr", "eer", "logit0")


def value(cfg: DictConfig, key: str, default=None):
    """``cfg``'s value at ``key`` (resolved); :data:`MISSING` for ``???``; ``default`` if absent."""
    try:
        found = OmegaConf.select(cfg, key, default=default, throw_on_missing=True)
    except MissingMandatoryValue:
        return MISSING
    return OmegaConf.to_container(found, resolve=True) if OmegaConf.is_config(found) else found


def choice(cfg: DictConfig, group: str, fallback: str = "") -> str:
    """The option picked for ``group`` (``cfg.hydra.runtime.choices`` when composed with it)."""
    picked = OmegaConf.select(cfg, f"hydra.runtime.choices.{group}", default=None)
    if picked is None:
        try:
            from hydra.core.hydra_config import HydraConfig

            picked = HydraConfig.get().runtime.choices.get(group) if HydraConfig.initialized() else None
        except (ValueError, AttributeError):
            picked = None
    return f"{group.split('@')[-1]}={picked}" if picked else fallback or group


def number(cfg: DictConfig, key: str, minimum: float, *, integer: bool = False, above: bool = False):
    """``cfg.<key>`` as a number >= ``minimum`` (> with ``above``); UsageError naming the key."""
    v = value(cfg, key)
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok_type:
        raise UsageError(f"{key}={v!r} must be {kind}")
    if v < minimum or (above and v == minimum):
        raise UsageError(f"{key}={v} must be {'>' if above else '>='} {minimum}")
    return v


def flag(cfg: DictConfig, key: str, default: bool = True) -> bool:
    """``cfg.<key>`` as true / false (absent: ``default``); UsageError naming the key otherwise."""
    v = value(cfg, key, default)
    if not isinstance(v, bool):
        raise UsageError(f"{key}={v!r} must be true or false")
    return v


def one_of(cfg: DictConfig, key: str, options: tuple[str, ...]) -> str:
    v = value(cfg, key)
    if v not in options:
        raise UsageError(f"{key}={v!r} is not an option: valid: {', '.join(options)}")
    return v


def existing(path, key: str, what: str, folder: bool = False) -> Path:
    """``path`` as an existing file (or ``folder``); MissingFileError naming ``key``."""
    p = Path(str(path)).expanduser()
    if not p.exists():
        raise MissingFileError(f"{key}={path} does not exist; give the path of {what}")
    if folder and not p.is_dir():
        raise MissingFileError(f"{key}={path} is a file; give a folder: {what}")
    if not folder and p.is_dir():
        raise MissingFileError(f"{key}={path} is a folder; give the file: {what}")
    return p


def torch_file(path: Path, key: str, what: str) -> None:
    """Cheap check that ``path`` is a PyTorch weights file (zip archive or pickle), before any work."""
    with open(path, "rb") as f:
        head = f.read(2)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                z.namelist()
            return
        except (zipfile.BadZipFile, OSError):
            pass
    elif head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return  # a legacy torch.save pickle (PROTO opcode, protocol 2-5)
    raise CheckpointError(f"{key}={path} is not a PyTorch weights file (corrupt or another format): {what}")


def gpu_needed(accelerator, key: str, fix: str) -> None:
    if str(accelerator) not in ("gpu", "cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise UsageError(
            f"{key} needs a CUDA GPU, and torch sees none (torch.cuda.is_available() is False): {fix}"
        )


def size_for_generator(cfg: DictConfig, size) -> None:
    """``data.size`` against the generator's down-sampling: a multiple of 2**n_down (twice that for AAD)."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise UsageError(f"data.size={size!r} must be an integer number of pixels")
    n_down = value(cfg, "generator.n_down")
    multiple = 2 ** int(n_down) if isinstance(n_down, int) and n_down > 0 else 1
    aad = str(value(cfg, "generator._target_", "")).endswith("AADGenerator")
    smallest = max(MIN_SIZE, 2 * multiple if aad else multiple)
    gen = choice(cfg, "generator", "this generator")
    if size < smallest or size % multiple:
        near = max(smallest, round(size / multiple) * multiple)
        raise UsageError(
            f"data.size={size} cannot be used with {gen} (generator.n_down={n_down}): it must be a "
            f"multiple of {multiple} and at least {smallest}; e.g. data.size={near}"
        )
