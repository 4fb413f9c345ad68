"""Load weights files safely (``weights_only=True``), with one clear message for every way it can fail."""

from __future__ import annotations

from pathlib import Path

from deepswap.errors import CheckpointError, MissingFileError


def load_weights(path: str | Path, what: str = "checkpoint"):
    """``torch.load(path, weights_only=True)`` on the CPU.

    A missing file raises :class:`MissingFileError`; a corrupt file, one of another format, or a pickle
    holding Python objects besides tensors (which could run code) raises :class:`CheckpointError`
    naming ``path`` and ``what`` it should be. The unsafe ``weights_only=False`` is never an option.
    """
    import pickle

    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        what_it_is = "a folder" if path.is_dir() else "missing"
        raise MissingFileError(f"{what} {path} does not exist ({what_it_is}, not a file)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" in str(e) or "trust the source" in str(e):
            reason = (
                "it holds Python objects besides tensors, and deepswap loads weights only "
                "(such a pickle could run code), so it is refused"
            )
        elif _first_byte(path) == b"\x80":
            reason = (
                "it is a plain Python pickle, not weights written by torch.save, and deepswap does not "
                "unpickle it (a pickle can run code)"
            )
        else:
            reason = "the file is corrupt or not a PyTorch file"
    except (RuntimeError, KeyError, EOFError, ValueError, OSError, AttributeError) as e:
        first = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        reason = f"the file is corrupt, truncated or not a PyTorch file ({type(e).__name__}: {first})"
    raise CheckpointError(f"{path} is not a loadable {what}: {reason}")


def _first_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(1)
