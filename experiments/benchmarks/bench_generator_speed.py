"""The default generator's CPU inference speed against SimSwap's, in one run (issue 10, section 4).

Prints, for deepswap's default generator at 256 px and SimSwap's at 224 px (``configs/generator``):
GFLOPs per image (``FlopCounterMode``, a multiply-add = 2), img/s in eval mode under
``torch.inference_mode`` (fp32, the process's torch threads) in both memory formats (channels-last
is what ``SwapModel`` runs), the GFLOP/s this means, and that as a fraction of the machine's measured
matmul peak (the best 3072 x 3072 fp32 ``torch.mm``, same threads, before and after the models).
Then the img/s ratios against the FLOP ratio, and deepswap's time by operator (``torch.profiler``,
self CPU time, channels-last) so that the memory-bound parts are visible.

    python experiments/benchmarks/bench_generator_speed.py [--batch 1] [--reps 20] [--threads 2]

``--compile`` adds ``torch.compile`` rows for both (what ``SwapModel.compile()`` does), compared with
each other. ``--no-malloc-tuning`` keeps glibc's malloc thresholds (``deepswap.utils.cpu``, which
``SwapModel`` applies on a CPU, stops activations being page-faulted in anew on every forward).
With ``--batch`` above 1 a "cl, 1 by 1" row runs the batch one image at a time (channels-last), as
``SwapModel.generate`` does for 256 px crops on a CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generators import _inputs, _rate, build, count  # noqa: E402

MODELS = [("deepswap", 256), ("simswap", 224)]


def matmul_peak(n: int = 3072, seconds: float = 2.0) -> float:
    """Measured fp32 GFLOP/s of an n x n matmul (best of the runs; this VM's speed varies by 20-30%
    from minute to minute, so the peak is measured before and after the models and the higher kept)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best, start = 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def interleaved_ratio(fast, slow, batch: int, rounds: int = 12, seconds: float = 1.5) -> tuple[float, ...]:
    """img/s of ``fast`` over ``slow`` timed back to back, ``rounds`` times (about ``seconds`` each):
    both see the same state of the machine, whose speed drifts by 20-30% from minute to minute here.
    -> (median ratio, its 95% bootstrap interval over rounds)."""
    import numpy as np

    def timed(fn) -> float:
        n, start = 0, time.perf_counter()
        while n == 0 or time.perf_counter() - start < seconds / 2:
            fn()
            n += 1
        return n * batch / (time.perf_counter() - start)

    fast(), slow()
    ratios = np.array([timed(fast) / timed(slow) for _ in range(rounds)])
    boot = np.median(ratios[np.random.default_rng(0).integers(0, rounds, (2000, rounds))], axis=1)
    return float(np.median(ratios)), float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))


def by_operator(model, x, z, top: int = 12) -> str:
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        model(x, z)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                model(x, z)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top, max_name_column_width=40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--compile", action="store_true", help="add torch.compile rows, as SwapModel.compile()"
    )
    parser.add_argument(
        "--no-malloc-tuning",
        action="store_true",
        help="keep glibc's default malloc thresholds (SwapModel sets them on a CPU: deepswap.utils.cpu)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from deepswap.utils.cpu import keep_freed_memory

    tuned = False if args.no_malloc_tuning else keep_freed_memory()  # process-wide: both models
    peak = matmul_peak()
    # rows: (name, size, params, GFLOPs, format, img/s)
    rows, rates, models, compile_s, steps = [], {}, {}, {}, {}
    for name, size in MODELS:
        params, gflops = count(name, [], size)
        formats = [("contiguous", torch.contiguous_format), ("channels-last", torch.channels_last)]
        for fmt, memory_format in formats:
            model = build(name, []).eval().to(memory_format=memory_format)
            x, z = _inputs(args.batch, size, model.id_dim)
            x = x.contiguous(memory_format=memory_format)

            def step(model=model, x=x, z=z):
                with torch.inference_mode():
                    model(x, z)

            rates[name, fmt] = _rate(step, args.batch, args.reps, 5.0)
            models[name, fmt] = (model, x, z)
            steps[name, fmt] = step
            rows.append((name, size, params, gflops, fmt, rates[name, fmt]))
        if args.compile:
            model, x, z = models[name, "channels-last"]
            compiled = torch.compile(model)
            start = time.perf_counter()
            with torch.inference_mode():
                compiled(x, z)
            compile_s[name] = time.perf_counter() - start

            def compiled_step(compiled=compiled, x=x, z=z):
                with torch.inference_mode():
                    compiled(x, z)

            rates[name, "compiled"] = _rate(compiled_step, args.batch, args.reps, 5.0)
            steps[name, "compiled"] = compiled_step
            rows.append((name, size, params, gflops, "compiled", rates[name, "compiled"]))
        if name == "deepswap" and args.batch > 1:  # what SwapModel.generate does at 256 px on a CPU

            def one_by_one(model=model, x=x, z=z):
                with torch.inference_mode():
                    for i in range(x.shape[0]):
                        model(x[i : i + 1], z[i : i + 1])

            rates[name, "cl, 1 by 1"] = _rate(one_by_one, args.batch, args.reps, 5.0)
            rows.append((name, size, params, gflops, "cl, 1 by 1", rates[name, "cl, 1 by 1"]))
    peak = max(peak, matmul_peak())
    threads = torch.get_num_threads()
    malloc = "malloc thresholds of deepswap.utils.cpu" if tuned else "glibc's default malloc thresholds"
    print(
        f"torch {torch.__version__}, {threads} threads, batch {args.batch}; matmul peak {peak:.1f} GFLOP/s; "
        + malloc
    )
    print(
        f"{'generator':<12}{'size':>6}{'params M':>10}{'GFLOPs':>9}{'format':>15}{'img/s':>9}"
        f"{'GFLOP/s':>9}{'of peak':>9}"
    )
    for name, size, params, gflops, fmt, rate in rows:
        print(
            f"{name:<12}{size:>6}{params:>10.2f}{gflops:>9.2f}{fmt:>15}{rate:>9.2f}"
            f"{rate * gflops:>9.1f}{rate * gflops / peak:>9.0%}"
        )
    flop_ratio = rows[-1][3] / rows[0][3]  # simswap over deepswap GFLOPs
    print(f"\ndeepswap@256 / simswap@224 img/s (FLOP ratio x{flop_ratio:.2f}; bar x9):")
    for fmt in ("contiguous", "channels-last", "cl, 1 by 1", "compiled"):
        if ("deepswap", fmt) in rates:
            simswap = rates["simswap", "channels-last" if fmt == "cl, 1 by 1" else fmt]
            print(f"  {fmt:<14} x{rates['deepswap', fmt] / simswap:.2f}")
    print("interleaved (deepswap and SimSwap timed back to back, 12 rounds; median [95% interval]):")
    for fmt in ("channels-last", "compiled"):
        if ("deepswap", fmt) in steps:
            m, lo, hi = interleaved_ratio(steps["deepswap", fmt], steps["simswap", fmt], args.batch)
            print(f"  {fmt:<14} x{m:.2f} [{lo:.2f}, {hi:.2f}]")
    if compile_s:
        spent = ", ".join(f"{k} {v:.0f}" for k, v in compile_s.items())
        print(f"first compiled call (compilation), s: {spent}")
    if not args.no_profile:
        print("\ndeepswap@256 by operator (self CPU time, 3 forwards, channels-last):")
        print(by_operator(*models["deepswap", "channels-last"]))


if __name__ == "__main__":
    main()
