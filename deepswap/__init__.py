"""deepswap: research on GAN face swapping and on detecting face swaps.

Public API: :func:`load_checkpoint` / :class:`SwapModel` (``deepswap.inference``),
:func:`deepswap.train.train` (training from a config), :func:`evaluate` (the swap protocol;
``python -m deepswap.evaluate``), :class:`FaceSwapper` (real images and videos;
``python -m deepswap.swap``). Networks live in ``deepswap.models``, losses in ``deepswap.losses``, the
training step in ``deepswap.training.module``, data in ``deepswap.data``, detection in
``deepswap.detection``, configs in ``configs/``.
"""

import os

# OpenMP threads that busy-wait make two torch threads crawl (~100x slower element-wise ops) when the
# other core is busy, as on 2-core CI machines with data-loader workers. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import deepswap` stays cheap
    if name in ("load_checkpoint", "SwapModel", "CheckpointError", "FaceSwapper"):
        from deepswap import inference

        return getattr(inference, name)
    if name == "evaluate":  # the module is callable: deepswap.evaluate(ckpt, num_pairs=...)
        import importlib

        return importlib.import_module("deepswap.evaluate")
    raise AttributeError(f"module 'deepswap' has no attribute {name!r}")


__all__ = ["__version__", "load_checkpoint", "SwapModel", "CheckpointError", "evaluate", "FaceSwapper"]
