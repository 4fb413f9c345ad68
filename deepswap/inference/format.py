"""The on-disk formats deepswap writes for inference, in one place: training checkpoints and exports.

A training checkpoint (Lightning's ``.ckpt``) holds a ``"deepswap"`` entry: ``format``
(:data:`CHECKPOINT_FORMAT`), ``kimg``, the run's resolved ``config`` and the identity encoder's build
spec; the EMA generator's weights are under ``ema.shadow.`` and the encoder's under
``identity_encoder.`` in its ``state_dict``. An export folder holds :data:`WEIGHTS_FILE` (safetensors;
:data:`PREFIXES`) and :data:`META_FILE`.
"""

from __future__ import annotations

CHECKPOINT_FORMAT = 1  # bump when a checkpoint's layout changes incompatibly
EXPORT_FORMAT = 1  # bump when the layout of a safetensors export changes incompatibly
WEIGHTS_FILE = "model.safetensors"
META_FILE = "deepswap.json"
PREFIXES = ("generator.", "identity_encoder.")  # in an export's weights file
EMA_PREFIX = "ema.shadow."  # the EMA generator in a training checkpoint's state_dict
ENCODER_PREFIX = "identity_encoder."


def sub_state(state: dict, prefix: str) -> dict:
    """The entries of ``state`` under ``prefix``, with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


__all__ = [
    "CHECKPOINT_FORMAT",
    "EXPORT_FORMAT",
    "WEIGHTS_FILE",
    "META_FILE",
    "PREFIXES",
    "EMA_PREFIX",
    "ENCODER_PREFIX",
    "sub_state",
]
