"""Where the main job's training step spends its time (issue 10: optimiser steps per CPU minute).

Builds the main job's module and datamodule from the Hydra config (plus overrides), then times each part
of ``FaceSwapModule.training_step`` by wrapping the module's methods, outside Lightning, for ``--steps``
steps after ``--warmup``. Prints a table: milliseconds per step and share of the step.

    python experiments/2026-12-07_step_cost/step_cost.py [--steps 20] [overrides ...]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from deepswap.evaluation.harness import CONFIG_DIR
from deepswap.train import _data_overrides, build_module


class Clock:
    def __init__(self):
        self.total = defaultdict(float)
        self.on = False

    def wrap(self, obj, name: str, label: str | None = None):
        fn = getattr(obj, name)
        label = label or name

        def timed(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            if self.on:
                self.total[label] += time.perf_counter() - t
            return out

        setattr(obj, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--bf16", action="store_true", help="the step under CPU bf16 autocast")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    with initialize_config_dir(str(CONFIG_DIR), version_base=None):
        cfg = compose("train", overrides=["logger=csv", "paths.output_dir=/tmp/step_cost", *args.overrides])
    torch.manual_seed(0)
    dm = instantiate(cfg.data, **_data_overrides(cfg))
    dm.setup("fit")
    module = build_module(cfg)
    opts = module.configure_optimizers()
    opts = opts if isinstance(opts, (list, tuple)) else [opts]
    opts = [o["optimizer"] if isinstance(o, dict) else o for o in opts]

    class _Trainer:  # what training_step reads from Lightning
        world_size = 1
        is_global_zero = True
        default_root_dir = "/tmp/step_cost"

    module.optimizers = lambda: opts
    module.toggled_optimizer = lambda opt: _null()
    module._optimise = lambda opt, loss: (opt.zero_grad(set_to_none=True), loss.backward(), opt.step())
    module.log_dict = lambda *a, **k: None
    module.log = lambda *a, **k: None
    module._trainer = _Trainer()
    module.on_fit_start()
    module.train()

    clock = Clock()
    for name in ("_d_step", "_g_step", "_det_step", "_pseudo_fakes", "source_identity", "perceptual"):
        if hasattr(module, name):
            clock.wrap(module, name)
    clock.wrap(module.generator, "forward", "generator forward (all calls)")
    clock.wrap(module.discriminator, "forward", "discriminator forward (all calls)")
    clock.wrap(module.identity_encoder, "forward", "identity encoder forward (all calls)")
    clock.wrap(module.ema, "update", "ema update")

    loader = iter(dm.train_dataloader())
    fetch = 0.0
    step_total = 0.0
    for i in range(args.warmup + args.steps):
        clock.on = i >= args.warmup
        t = time.perf_counter()
        batch = next(loader)
        t1 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            module.training_step(batch, i)
        t2 = time.perf_counter()
        if clock.on:
            fetch += t1 - t
            step_total += t2 - t1
    n = args.steps
    bs = cfg.data.batch_size
    print(f"threads {torch.get_num_threads()}, batch {bs}, {n} steps, bf16 autocast {args.bf16}")
    print("| part | ms / step | share of step |\n|---|---:|---:|")
    print(f"| batch fetch (render, loader) | {1e3 * fetch / n:.0f} | |")
    print(f"| training_step | {1e3 * step_total / n:.0f} | 100% |")
    for k, v in sorted(clock.total.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {1e3 * v / n:.0f} | {100 * v / step_total:.0f}% |")
    print(f"img/s (step + fetch): {bs * n / (fetch + step_total):.1f}")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


if __name__ == "__main__":
    main()
