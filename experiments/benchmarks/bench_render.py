"""Throughput of the synthetic face renderer on this machine (CPU).

Prints, for each image size, the images per second of batched ``world.render`` and of one-by-one
``world.sample`` calls (what a map-style Dataset does). Runs in well under a minute.

    python experiments/benchmarks/bench_render.py                 # torch's default thread count
    python experiments/benchmarks/bench_render.py --threads 1     # e.g. as inside a DataLoader worker
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# OpenMP's default busy-waiting makes 2-thread torch 10-100x slower whenever another process is busy on a
# 2-core machine (measured here); passive waiting costs nothing when the machine is idle. Must precede torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402

CASES = ((64, 256), (128, 64), (256, 16))


def _rate(fn, images_per_call: int, seconds: float) -> tuple[float, float]:
    """Images per wall-clock second and per CPU second of this process, over about ``seconds``.

    One untimed warm-up call, unless that call alone took longer than ``seconds`` (then it is measured).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    fn()
    calls = 1
    if time.perf_counter() - start < seconds:
        calls, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while calls == 0 or time.perf_counter() - start < seconds:
            fn()
            calls += 1
    elapsed, cpu = time.perf_counter() - start, max(time.process_time() - cpu_start, 1e-9)
    return calls * images_per_call / elapsed, calls * images_per_call / cpu


def _render_case(world: SyntheticFaceWorld, size: int, batch: int, seconds: float) -> tuple[float, ...]:
    ids = torch.stack([world.identity_factors(world.identity_of("train", i)) for i in range(batch)])
    attrs = torch.stack([world.attribute_factors("train", i) for i in range(batch)])
    batched = _rate(lambda: world.render(ids, attrs, size), batch, seconds)
    counter = iter(range(10**9))
    single = _rate(lambda: world.sample("train", next(counter), size), 1, seconds)
    return batched + single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seconds", type=float, default=1.5, help="time spent on each measurement")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    world = SyntheticFaceWorld(seed=0)
    cpu = platform.processor() or platform.machine()
    print(
        f"# {cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, load average before {os.getloadavg()[0]:.2f}"
    )
    print("# img/s: wall clock; img/CPU-s: per CPU second of this process (less sensitive to other load)")
    print("| size | batch | render img/s | render img/CPU-s | sample() img/s | sample() img/CPU-s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, batch in CASES:
        rates = _render_case(world, size, batch, args.seconds)
        print(f"| {size} | {batch} | " + " | ".join(f"{r:.0f}" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
