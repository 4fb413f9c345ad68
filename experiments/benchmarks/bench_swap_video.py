"""Frames per second of the whole video swap pipeline (``FaceSwapper.swap_video``), stage by stage.

A 720p synthetic video with one moving face (``deepswap.faces.scenes.make_video``), faces from
``SyntheticSceneAnalyser`` (no detector network: "find face" is a lookup, a real SCRFD costs more),
deepswap's default generator (``DeepSwapLiteGenerator()``, random weights: the cost does not depend on
them) at 128 px on CPU. Stages: decode, find face (+ landmark smoothing), align, swap (generator),
paste back (colour correction + blend), watermark (provenance), encode (mp4v).

    python experiments/benchmarks/bench_swap_video.py                  # 60 frames, 128 px
    python experiments/benchmarks/bench_swap_video.py --frames 120 --size 256 --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_render.py; must precede torch

import torch  # noqa: E402

from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402
from deepswap.faces import SyntheticSceneAnalyser, scenes  # noqa: E402
from deepswap.inference.model import SwapModel  # noqa: E402
from deepswap.inference.swapper import FaceSwapper  # noqa: E402
from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator  # noqa: E402
from deepswap.models.identity.conv import ConvIdentityEncoder  # noqa: E402

STAGES = ("decode", "detect", "align", "swap", "paste", "watermark", "encode")
LABELS = {"detect": "find face"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", type=int, default=128, help="generator crop size")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    world = SyntheticFaceWorld(1000, 200, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        clip, out = Path(tmp) / "clip.mp4", Path(tmp) / "swapped.mp4"
        start = time.perf_counter()
        scenes.make_video(world, clip, num_frames=args.frames, identities=[1005], size=(720, 1280))
        source = scenes.render_face(world, 1010, world.attribute_factors("heldout", 3), 256)
        made = time.perf_counter() - start
        analyser = SyntheticSceneAnalyser.from_files([clip])
        analyser.add_scene(source)
        config = {"data": {"_target_": "deepswap.data.datamodule.SyntheticDataModule", "size": args.size}}
        model = SwapModel(DeepSwapLiteGenerator().eval(), ConvIdentityEncoder().eval(), config)
        swapper = FaceSwapper(model, analyser, template="synthetic", batch_size=args.batch_size)
        swapper.swap(source.image, source.image)  # warm-up
        start = time.perf_counter()
        report = swapper.swap_video(source.image, clip, out, progress=False)
        wall = time.perf_counter() - start
    n = report.frames
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; video of {n} frames 1280x720 made in {made:.1f} s"
    )
    print(f"generator DeepSwapLite (defaults) at {args.size} px, batch {args.batch_size}")
    print(f"provenance: {report.provenance}")
    print(f"{'stage':<12}{'ms/frame':>10}{'share':>8}")
    total = sum(report.timings.get(s, 0.0) for s in STAGES)
    for stage in STAGES:
        sec = report.timings.get(stage, 0.0)
        print(f"{LABELS.get(stage, stage):<12}{1000 * sec / n:>10.1f}{sec / max(total, 1e-9):>8.0%}")
    other = wall - total
    print(f"{'other':<12}{1000 * other / n:>10.1f}{other / wall:>8.0%}")
    rate = f"{n / wall:.1f} frames/s ({report.faces_swapped} faces swapped)"
    print(f"{'total':<12}{1000 * wall / n:>10.1f}    -> {rate}")


if __name__ == "__main__":
    main()
