"""The provenance watermark on video: what each strength costs in flicker and what verification finds.

The clips are ``bench_real_pipeline.py``'s (720p pans over fixture photos, ``make fixtures``). Each
frame is marked by ``provenance.VideoMarker`` at a given moving-frame strength, written with the
benchmark's codec (MJPG) and read back; nothing else is changed, so ``warp+`` is the watermark's own
motion-compensated flicker inside the faces (grey levels; the pipeline's swap adds its own on top).

Scores (threshold 6; unmarked frames score ~N(0, 1)): single frames (``verify``), the weakest
8- and 25-frame window and the whole clip pooled (``verify_frames``), first as written, then after
JPEG quality 75 and a resize to half of every frame (the image watermark's robustness bar).

    python experiments/benchmarks/bench_video_watermark.py [--strengths 0.5 0.75 1 1.5 2.5]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_real_pipeline as bench  # noqa: E402

from deepswap import provenance  # noqa: E402
from deepswap.faces.video import VideoWriter, iter_frames  # noqa: E402


def attacked(frame: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=75)
    with Image.open(buf) as im:
        return np.asarray(im.resize((frame.shape[1] // 2, frame.shape[0] // 2), Image.BICUBIC))


def weakest_window(frames: list[np.ndarray], n: int) -> float:
    """The lowest pooled score over the clip's windows of ``n`` frames (the whole clip if shorter)."""
    n = min(n, len(frames))
    return min(provenance.verify_frames(frames[i : i + n]).score for i in range(len(frames) - n + 1))


def scores(frames: list[np.ndarray]) -> str:
    pooled = provenance.verify_frames(frames)
    single = np.array(pooled.frame_scores)
    windows = "".join(f"{weakest_window(frames, n):>8.1f}" for n in (8, 25))
    return f"{single.min():>8.1f}{np.median(single):>8.1f}{windows}{pooled.score:>8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strengths", type=float, nargs="+", default=[0.5, 0.75, 1.0, 1.5, 2.5])
    parser.add_argument("--frames", type=int, default=48)
    args = parser.parse_args()
    root = bench.fixtures()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pack, clips = bench.detector_pack_and_clips(root, tmp, args.frames)
        cols = "".join(f"{c:>8}" for c in ("min", "median", "8 min", "25 min", "clip"))
        print(f"{'':<20}{'as written':^40}{'JPEG 75 + half':^40}")
        print(f"{'clip, strength':<20}{cols}{cols}{'warp+':>8}")
        for name, (clip, affines) in clips.items():
            frames = list(iter_frames(clip))
            print(f"{name + ', unmarked':<20}{scores(frames)}{scores([attacked(f) for f in frames])}")
            for strength in args.strengths:
                marker = provenance.VideoMarker(
                    strength=strength, still_strength=max(strength, provenance.DEFAULT_STRENGTH)
                )
                out = tmp / "marked.avi"
                with VideoWriter(out, 25, (bench.W, bench.H)) as writer:
                    for frame in frames:
                        writer.write(marker(frame))
                back = list(iter_frames(out))
                warp = bench.flicker(clip, out, pack, affines)["warp_added"].mean()
                print(
                    f"{f'{name}, {strength:g}':<20}{scores(back)}{scores([attacked(f) for f in back])}"
                    f"{warp:>+8.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
