"""The global random states (Python, NumPy, torch CPU and CUDA) as a checkpoint entry, and back.

Lightning checkpoints do not hold them. The training step draws from torch's global generator (the
identity loss's affine jitter, the detector's post-processing), so a resumed run restores them to
continue the uninterrupted run's stream exactly.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def capture() -> dict:
    """The current global random states (CUDA's only where CUDA is initialised)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    # plain types and tensors only: deepswap loads checkpoints with weights_only=True
    numpy = {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos)}
    numpy.update(has_gauss=int(has_gauss), gauss=float(gauss))
    state = {"python": random.getstate(), "numpy": numpy, "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict) -> None:
    """Set the global random states from :func:`capture`'s dict."""
    random.setstate(_python_state(state["python"]))
    n = state["numpy"]
    keys = np.asarray(n["keys"], dtype=np.int64).astype(np.uint32)
    np.random.set_state((n["name"], keys, n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.as_tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def _python_state(state) -> tuple:
    # a checkpoint loaded with weights_only=True may return the nested tuple as lists
    version, internal, gauss = state
    return int(version), tuple(int(x) for x in internal), gauss
