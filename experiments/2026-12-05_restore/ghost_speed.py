"""GHOST 3M (experiment=ghost_swap's generator) at 256 px against the default generator and SimSwap.

CPU inference, channels-last, ``torch.inference_mode``, batch 1, 2 threads; three rounds back to back,
each model timed for 3 s per round. Prints params, GFLOPs and img/s, and each ratio to SimSwap::

    python experiments/2026-12-05_restore/ghost_speed.py
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_generators import _inputs, build, count  # noqa: E402

GHOST_3M = ["n_down=5", "base_channels=16", "max_channels=96"]
MODELS = {
    "ghost": ("ghost", GHOST_3M, 256),
    "deepswap": ("deepswap", [], 256),
    "simswap": ("simswap", [], 224),
}


def rate(model: torch.nn.Module, size: int, seconds: float = 3.0) -> float:
    x, z = _inputs(1, size, model.id_dim)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        model(x, z)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model(x, z)
            n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(2)
    for key, (name, overrides, size) in MODELS.items():
        params, gflops = count(name, overrides, size)
        print(f"{key} at {size} px: {params:.2f}M params, {gflops:.2f} GFLOPs")
    built = {
        key: (build(name, overrides).eval().to(memory_format=torch.channels_last), size)
        for key, (name, overrides, size) in MODELS.items()
    }
    for _ in range(3):
        rates = {key: rate(model, size) for key, (model, size) in built.items()}
        ratios = ", ".join(f"{k}/simswap x{rates[k] / rates['simswap']:.2f}" for k in ("ghost", "deepswap"))
        print({k: round(v, 2) for k, v in rates.items()}, ratios)


if __name__ == "__main__":
    main()
