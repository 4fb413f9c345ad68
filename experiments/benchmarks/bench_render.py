"""Throughput of the synthetic face renderer on this machine (CPU).

Prints, for each image size, the images per second of batched ``world.render`` and of one-by-one
``world.sample`` calls (what a map-style Dataset does). Runs in well under a minute.

    python experiments/benchmarks/bench_render.py                 # torch's default thread count
    python experiments/benchmarks/bench_render.py --threads 1     # e.g. as inside a DataLoader worker

``--compare DIR`` measures another checkout of deepswap (e.g. ``git worktree add --detach /tmp/wt_v1
73fd85f``) against this one: each version runs in its own worker process (so two versions of the package
never share a process), and the two are timed alternately, A, B, A, B, for ``--rounds`` rounds per case;
the table gives the median batched ``world.render`` rate of each and the ratio, so that load from other
jobs weighs on both about equally.

    python experiments/benchmarks/bench_render.py --compare /tmp/wt_v1            # v1 vs this checkout
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

# OpenMP's default busy-waiting makes 2-thread torch 10-100x slower whenever another process is busy on a
# 2-core machine (measured here); passive waiting costs nothing when the machine is idle. Must precede torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

CASES = ((64, 256), (128, 64), (256, 16))
THIS_ROOT = Path(__file__).resolve().parents[2]  # the checkout this script belongs to
SLOWER_BAR = 1.5  # issue 9: world v2 renders within 1.5x of v1's batched speed


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


def _inputs(world, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.stack([world.identity_factors(world.identity_of("train", i)) for i in range(batch)])
    attrs = torch.stack([world.attribute_factors("train", i) for i in range(batch)])
    return ids, attrs


def _render_case(world, size: int, batch: int, seconds: float) -> tuple[float, ...]:
    ids, attrs = _inputs(world, batch)
    batched = _rate(lambda: world.render(ids, attrs, size), batch, seconds)
    counter = iter(range(10**9))
    single = _rate(lambda: world.sample("train", next(counter), size), 1, seconds)
    return batched + single


def _header() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"# {cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, load average before {os.getloadavg()[0]:.2f}"
    )


# ---------------------------------------------------------------- --compare: one worker per checkout


def _worker(root: str) -> None:
    """Serve timing requests for the deepswap checkout at ``root``: one JSON line in, one JSON line out.

    Imports deepswap from ``root`` (ahead of any installed copy) and refuses to run if it came from
    elsewhere. Request ``{"size", "batch", "seconds"}`` -> ``{"wall": img/s, "cpu": img/CPU-s}``.
    """
    sys.path.insert(0, root)
    import deepswap
    from deepswap.data.synthetic import SyntheticFaceWorld

    origin = Path(deepswap.__file__).resolve()
    if Path(root).resolve() not in origin.parents:
        raise SystemExit(f"worker for {root} imported deepswap from {origin}")
    world = SyntheticFaceWorld(seed=0)
    inputs = {}
    print(json.dumps({"ready": str(origin.parent)}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        size, batch = int(req["size"]), int(req["batch"])
        if (size, batch) not in inputs:
            inputs[size, batch] = _inputs(world, batch)
            world.render(*inputs[size, batch], size)  # warm-up: caches, allocator
        ids, attrs = inputs[size, batch]
        call = functools.partial(world.render, ids, attrs, size)
        wall, cpu = _rate(call, batch, float(req["seconds"]))
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


class _Worker:
    """A ``--worker`` subprocess timing one checkout."""

    def __init__(self, root: Path, threads: int | None):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(root)]
        if threads:
            cmd += ["--threads", str(threads)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.origin = self._read()["ready"]

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker exited with code {self.proc.wait()}")
        return json.loads(line)

    def measure(self, size: int, batch: int, seconds: float) -> dict:
        self.proc.stdin.write(json.dumps({"size": size, "batch": batch, "seconds": seconds}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def compare(other: Path, threads: int | None, seconds: float, rounds: int) -> None:
    """Median batched render rate of checkout ``other`` and of this one, measured alternately."""
    print(_header())
    workers = {"other": _Worker(other, threads), "this": _Worker(THIS_ROOT, threads)}
    try:
        print(f"# other: {workers['other'].origin}\n# this:  {workers['this'].origin}")
        print(
            f"# batched world.render, median of {rounds} alternating rounds of {seconds:g} s each "
            "(img/s wall clock; img/CPU-s in brackets); ratio = other / this img/s (> 1: this is slower)"
        )
        print(f"| size | batch | other img/s | this img/s | ratio (this slower by) | within {SLOWER_BAR}x |")
        print("|---:|---:|---:|---:|---:|:---:|")
        for size, batch in CASES:
            rates = {"other": [], "this": []}
            for r in range(rounds):
                order = ("other", "this") if r % 2 == 0 else ("this", "other")
                for name in order:
                    rates[name].append(workers[name].measure(size, batch, seconds))
            med = {
                name: (
                    statistics.median(m["wall"] for m in ms),
                    statistics.median(m["cpu"] for m in ms),
                )
                for name, ms in rates.items()
            }
            ratio = med["other"][0] / med["this"][0]
            ok = "yes" if ratio <= SLOWER_BAR else "no"
            cells = [f"{med[n][0]:.0f} ({med[n][1]:.0f})" for n in ("other", "this")]
            print(f"| {size} | {batch} | {cells[0]} | {cells[1]} | {ratio:.2f}x | {ok} |", flush=True)
    finally:
        for w in workers.values():
            w.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seconds", type=float, default=1.5, help="time spent on each measurement")
    parser.add_argument("--compare", type=Path, default=None, metavar="DIR", help="another deepswap checkout")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per case with --compare")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: see _worker
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        _worker(args.worker)
        return
    if args.compare:
        if not (args.compare / "deepswap" / "data" / "synthetic").is_dir():
            parser.error(f"--compare {args.compare}: no deepswap/data/synthetic there")
        compare(args.compare, args.threads, args.seconds, args.rounds)
        return
    from deepswap.data.synthetic import SyntheticFaceWorld

    world = SyntheticFaceWorld(seed=0)
    print(_header())
    print("# img/s: wall clock; img/CPU-s: per CPU second of this process (less sensitive to other load)")
    print("| size | batch | render img/s | render img/CPU-s | sample() img/s | sample() img/CPU-s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, batch in CASES:
        rates = _render_case(world, size, batch, args.seconds)
        print(f"| {size} | {batch} | " + " | ".join(f"{r:.0f}" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
