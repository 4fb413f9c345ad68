"""Cost of every generator config: params, forward GFLOPs, CPU inference / training throughput, memory.

Usage (from the repository root)::

    python experiments/benchmarks/bench_generators.py --quick          # 128 px, 1 rep: ~2-3 min on 2 cores
    python experiments/benchmarks/bench_generators.py                  # 128 and 256 px: ~5-8 min
    python experiments/benchmarks/bench_generators.py --flops-only     # counts only (meta tensors, seconds)
    python experiments/benchmarks/bench_generators.py --only deepswap --override deepswap.n_down=4

Every config in ``configs/generator/*.yaml`` is built with ``hydra.utils.instantiate``. FLOPs come from
``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add = 2 FLOPs; convs and matmuls only) on
meta tensors at batch 1. Timings are fp32 on CPU with the default torch thread count: inference under
``torch.inference_mode`` in eval mode (batch 1 and 8), training step = train-mode forward + backward
of ``mean(image**2)`` at batch 4 (no optimiser). Each (config, size) runs in a fresh spawned process so
that "peak RSS" = growth of the process's peak resident set size (``resource.getrusage`` ru_maxrss)
during the training steps, over the RSS after building the model: activations + gradients.
The anchor table counts params/GFLOPs at the sizes ANCHORS.md quotes. AEI-Nets (n_down=7) need
H >= 2**(n_down + 1) = 256: at 128 px their n_down is lowered to 6 (one attribute level fewer; marked
``[n_down=6]`` in the tables).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "configs" / "generator"
ANCHOR_SIZES = {"simswap": 224, "faceshifter": 256, "ghost": 256, "deepswap": 256}


def build(name: str, overrides: list[str], device: str = "cpu") -> torch.nn.Module:
    """Instantiate configs/generator/<name>.yaml merged with ``key=value`` overrides."""
    cfg = OmegaConf.merge(OmegaConf.load(CONFIG_DIR / f"{name}.yaml"), OmegaConf.from_dotlist(overrides))
    with torch.device(device):
        return instantiate(cfg)


def count(name: str, overrides: list[str], size: int) -> tuple[float, float]:
    """(params in M, forward GFLOPs per image at size x size), on meta tensors (no compute)."""
    model = build(name, overrides, device="meta")
    id_dim = model.id_dim
    with torch.device("meta"):
        x, z = torch.empty(1, 3, size, size), torch.empty(1, id_dim)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, z)
    return sum(p.numel() for p in model.parameters()) / 1e6, counter.get_total_flops() / 1e9


def fit_to_size(name: str, overrides: list[str], size: int) -> list[str]:
    """Overrides with ``n_down`` lowered until size x size is accepted (AEI-Nets need 2**(n_down+1))."""
    ov = list(overrides)
    while True:
        try:
            count(name, ov, size)
            return ov
        except ValueError:
            cfg = OmegaConf.merge(OmegaConf.load(CONFIG_DIR / f"{name}.yaml"), OmegaConf.from_dotlist(ov))
            if cfg.get("n_down", 0) <= 1:
                raise
            ov = [o for o in ov if not o.startswith("n_down=")] + [f"n_down={cfg.n_down - 1}"]


def _inputs(batch: int, size: int, id_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(batch, 3, size, size) * 2 - 1, F.normalize(torch.randn(batch, id_dim), dim=1)


def _rate(fn, batch: int, reps: int, min_time: float) -> float:
    """Images per second of ``fn`` after one warm-up call: >= reps calls and >= min_time seconds."""
    fn()
    n, start = 0, time.perf_counter()
    while n < reps or (time.perf_counter() - start < min_time and n < 20):
        fn()
        n += 1
    return n * batch / (time.perf_counter() - start)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(name: str, overrides: list[str], size: int, reps: int, min_time: float) -> dict:
    """Timings and memory of one config at one size (run in a fresh process)."""
    torch.manual_seed(0)
    model = build(name, overrides)
    rss_built = _peak_rss_mb()
    x4, z4 = _inputs(4, size, model.id_dim)

    def train_step() -> None:
        model.zero_grad(set_to_none=True)
        model(x4, z4).image.square().mean().backward()

    model.train()
    train = _rate(train_step, 4, reps, min_time)
    peak = _peak_rss_mb() - rss_built
    model.zero_grad(set_to_none=True)
    model.eval()
    result = {"train_img_s": train, "train_peak_rss_mb": peak}
    for batch in (1, 8):
        x, z = _inputs(batch, size, model.id_dim)
        with torch.inference_mode():
            result[f"infer_b{batch}_img_s"] = _rate(lambda x=x, z=z: model(x, z), batch, reps, min_time)
    return result


def _overrides_for(name: str, overrides: list[str]) -> list[str]:
    """``name.key=value`` entries of ``overrides`` that target config ``name``, as ``key=value``."""
    return [o.split(".", 1)[1] for o in overrides if o.split(".", 1)[0] == name]


def run(names: list[str], sizes: list[int], overrides: list[str], reps: int, min_time: float) -> list[dict]:
    ctx = mp.get_context("spawn")
    rows = []
    for name in names:
        ov = _overrides_for(name, overrides)
        row = {"config": name, "overrides": ov}
        for size in sizes:
            ov_size = fit_to_size(name, ov, size)
            row[f"params_m_{size}"], row[f"gflops_{size}"] = count(name, ov_size, size)
            row[f"adjusted_{size}"] = ov_size[len(ov) :]
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                stats = pool.submit(measure, name, ov_size, size, reps, min_time).result()
            row.update({f"{k}_{size}": v for k, v in stats.items()})
            print(f"  {name} @ {size}px: {stats}", flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict], sizes: list[int]) -> str:
    """Markdown table of the measured rows."""
    head = ["config"] + [f"params (M)@{s}" for s in sizes] + [f"GFLOPs@{s}" for s in sizes]
    for s in sizes:
        head += [
            f"infer b1 img/s@{s}",
            f"infer b8 img/s@{s}",
            f"train b4 img/s@{s}",
            f"train peak RSS MB@{s}",
        ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["config"] + (f" ({', '.join(r['overrides'])})" if r["overrides"] else "")]
        cells += [f"{r[f'params_m_{s}']:.2f}" + "".join(f" [{a}]" for a in r[f"adjusted_{s}"]) for s in sizes]
        cells += [f"{r[f'gflops_{s}']:.2f}" for s in sizes]
        for s in sizes:
            cells += [f"{r[f'infer_b1_img_s_{s}']:.2f}", f"{r[f'infer_b8_img_s_{s}']:.2f}"]
            cells += [f"{r[f'train_img_s_{s}']:.2f}", f"{r[f'train_peak_rss_mb_{s}']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def anchors(names: list[str], overrides: list[str]) -> str:
    """Params / GFLOPs at the sizes ANCHORS.md quotes (SimSwap 224, AEI-Nets 256)."""
    lines = ["| config | size | params (M) | GFLOPs |", "|---|---|---|---|"]
    for name in names:
        size = ANCHOR_SIZES.get(name, 256)
        params, gflops = count(name, _overrides_for(name, overrides), size)
        lines.append(f"| {name} | {size} | {params:.2f} | {gflops:.2f} |")
    if "faceshifter" in names:
        params, gflops = count("faceshifter", ["id_dim=256"], 256)
        lines.append(
            f"| faceshifter (id_dim=256, as the Lightning port) | 256 | {params:.2f} | {gflops:.2f} |"
        )
    return "\n".join(lines)


def flops_table(names: list[str], sizes: list[int], overrides: list[str]) -> str:
    """GFLOPs per image of every config at every size; [n_down=k] marks an n_down lowered to fit."""
    lines = ["| config | " + " | ".join(f"GFLOPs@{s}" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for name in names:
        cells = []
        for size in sizes:
            ov = _overrides_for(name, overrides)
            try:
                ov_size = fit_to_size(name, ov, size)
                note = "".join(f" [{a}]" for a in ov_size[len(ov) :])
                cells.append(f"{count(name, ov_size, size)[1]:.2f}{note}")
            except ValueError:
                cells.append("n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 px only, 1 timed rep")
    parser.add_argument("--flops-only", action="store_true", help="only params/GFLOPs (no timing)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="default: 128 256 (quick: 128)")
    parser.add_argument("--only", nargs="+", default=None, help="config names (default: all)")
    parser.add_argument("--override", nargs="*", default=[], help="NAME.KEY=VALUE, e.g. deepswap.n_down=4")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parser.parse_args()
    names = args.only or sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    sizes = args.sizes or ([128] if args.quick else [128, 256])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32 CPU")
    print("\nAnchor sizes (FlopCounterMode, multiply-add = 2):\n" + anchors(names, args.override))
    if args.flops_only:
        print("\n" + flops_table(names, sizes, args.override))
        return
    reps, min_time = (1, 0.0) if args.quick else (2, 1.0)
    load_start = os.getloadavg()[0]
    if load_start > 0.5:
        print(f"WARNING: 1-min load average {load_start:.2f} before timing: other processes will skew img/s")
    rows = run(names, sizes, args.override, reps, min_time)
    print("\n" + table(rows, sizes))
    print(f"\n1-min load average: {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
