"""deepswap's video pipeline against the plain insightface one, on 720p clips of real photos, real SCRFD.

Clips (made here from the ``make fixtures`` photos): "one face", a slow zoom and pan over obama.jpg;
"crowd", a pan over the Solvay 1927 photo (up to ~15 faces in view). Model: deepswap's default
DeepSwap-Lite at 128 px, random or from ``--checkpoint`` (the cost does not depend on the weights),
exported with ``python -m deepswap.export --format inswapper`` for the insightface side.

- insightface: SCRFD on every frame at its default 640 x 640, then ``INSwapper.get(frame, face,
  source, paste_back=True)`` per face (what roop and FaceFusion build on). The ``no spin`` row gives
  it deepswap's onnxruntime setting (threads that do not busy-wait between runs, which otherwise
  take the cores from the next model): the ratios are against the plain row.
- deepswap: ``FaceSwapper.swap_video`` with SCRFD at ``--det-size`` on every ``--detect-every``-th
  frame, optical flow in between (``deepswap.faces.keyframes``), landmark smoothing, face-region
  paste, colour correction and the provenance watermark. Ablation rows show what each setting buys.

The fixtures' SCRFD graph has a fixed 640 x 640 input, which insightface alone keeps whatever
``det_size`` says; deepswap's ``FaceAnalyser`` runs a resizable copy of it
(``deepswap.faces.scrfd_graph``), so the det320 rows detect at 320 x 320. Detection cost falls with
the area; small faces go first (compare the ``faces`` column of the crowd rows).

``swap_video`` decodes and encodes in background threads (OpenCV releases the GIL): its decode and
encode columns are the main thread's waits, and the total includes the writer's final drain.

Flicker, inside the faces (outlines of SCRFD at 640 on the original frames), two figures:

- ``flicker``, the issue's: mean absolute frame-to-frame change of the output over the original's.
  On a moving camera it counts motion too: a blurrier output scores lower, and output = original
  scores 1.0, so it cannot say which pipeline flickers.
- ``warp+``: the motion-compensated change (the "warping error" of video temporal-consistency work,
  Lai et al., ECCV 2018): frame k-1 warped onto frame k by the clip's known camera motion, mean
  absolute difference in grey levels, minus the same on the original clip (its resampling and codec
  floor). 0: no flicker added. Its paired difference, deepswap minus insightface over frames, is
  printed with a 95% bootstrap interval.

``no wm`` rows replace the provenance watermark by a copy (benchmark only): the watermark is
content-adaptive (it pushes the DCT coefficients that need it least), so under camera motion it
changes from frame to frame; these rows show how much of deepswap's warp+ it is.

``--checkpoint``: a trained deepswap checkpoint whose EMA generator runs at 128 px in both pipelines
(fully convolutional, so a 64 px main-job generator works); the source is then a held-out synthetic
face embedded by the checkpoint's own encoder. Random weights give the same timings but say nothing
about flicker.

    python experiments/benchmarks/bench_real_pipeline.py --frames 48 --threads 2 \
        [--checkpoint logs/train/runs/<run>/checkpoints/last.ckpt]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from deepswap.faces.analyser import FaceAnalyser  # noqa: E402
from deepswap.faces.region import face_outline  # noqa: E402
from deepswap.faces.video import VideoWriter, iter_frames, read_image  # noqa: E402
from deepswap.inference.model import SwapModel  # noqa: E402
from deepswap.inference.swapper import FaceSwapper  # noqa: E402
from deepswap.models.identity.conv import ConvIdentityEncoder  # noqa: E402

W, H = 1280, 720
STAGES = ("decode", "detect", "align", "swap", "paste", "watermark", "encode")


def fixtures() -> Path:
    root = Path(os.environ.get("DEEPSWAP_FIXTURES", "~/.cache/deepswap/fixtures")).expanduser()
    if not (root / "manifest.json").is_file():
        sys.exit(f"no fixtures in {root}: run `make fixtures` first")
    return root


def make_clip(
    image: np.ndarray, path: Path, frames: int, zoom: tuple[float, float], pan: float
) -> tuple[Path, list[np.ndarray]]:
    """A 1280x720 clip of windows moving over ``image`` (scale ``zoom[0]`` -> ``zoom[1]``, ``pan`` of
    the free width left to right) -> (its path, each frame's 2x3 affine from photo to frame)."""
    h, w = image.shape[:2]
    affines = []
    with VideoWriter(path, 25, (W, H)) as writer:
        for t in np.linspace(0, 1, frames):
            scale = zoom[0] + (zoom[1] - zoom[0]) * t
            cw, ch = min(w, W / scale), min(h, H / scale)
            x0 = (w - cw) * (0.5 + pan * (t - 0.5)) if pan else (w - cw) / 2
            y0 = (h - ch) / 2
            m = np.array([[W / cw, 0, -x0 * W / cw], [0, H / ch, -y0 * H / ch]])
            affines.append(m)
            writer.write(cv2.warpAffine(image, m, (W, H), flags=cv2.INTER_LINEAR))
    return path, affines


def detector_pack_and_clips(root: Path, tmp: Path, frames: int) -> tuple[Path, dict]:
    """A detector-only pack (the fixtures' SCRFD as ``det_10g.onnx``) and the two clips in ``tmp``
    -> (pack folder, {name: (clip path, per-frame affines)})."""
    photos = root / "face_recognition/tests/test_images"
    pack = tmp / "pack"
    pack.mkdir()
    shutil.copy(root / "scrfd/models/scrfd.onnx", pack / "det_10g.onnx")
    solvay = read_image(root / "scrfd/images/solvay_conference_1927.jpg")
    clips = {
        "one face": make_clip(read_image(photos / "obama.jpg"), tmp / "one.avi", frames, (0.6, 0.75), 0.3),
        "crowd": make_clip(solvay, tmp / "crowd.avi", frames, (0.9, 0.9), 0.5),
    }
    return pack, clips


def build_model(path: Path, trained: Path | None = None) -> tuple[SwapModel, torch.Tensor | None]:
    """The benchmark's 128 px model, written to ``path`` -> (model, source embedding or None).

    ``trained``: a deepswap checkpoint whose EMA generator (fully convolutional, so any training size)
    replaces the random one; the source embedding is then its own encoder's embedding of a held-out
    synthetic face, the kind of vector the generator was trained on."""
    torch.manual_seed(0)
    enc = ConvIdentityEncoder(512, input_size=112).eval()
    if trained is None:
        gen_cfg = {"_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator"}
        gen, source = instantiate(OmegaConf.create(gen_cfg)).eval(), None
    else:
        from deepswap.data.synthetic.world import SyntheticFaceWorld

        native = SwapModel.from_checkpoint(trained)
        gen_cfg, gen = dict(native.config["generator"]), native.generator
        face = SyntheticFaceWorld().sample("test", 0, native.image_size)["image"]
        source = native.embed(face[None] * 2 - 1)  # renders are in [0, 1], models take [-1, 1]
    cfg = {"generator": gen_cfg, "data": {"size": 128, "alignment": "arcface"}}
    state = {"ema.shadow." + k: v for k, v in gen.state_dict().items()}
    state |= {"identity_encoder." + k: v for k, v in enc.state_dict().items()}
    spec = {"_target_": "deepswap.models.identity.conv.ConvIdentityEncoder", "input_size": 112}
    torch.save(
        {"state_dict": state, "deepswap": {"format": 1, "config": cfg, "identity_encoder": spec}}, path
    )
    return SwapModel.from_checkpoint(path), source


def run_deepswap(model, pack, threads, clip, out, source, det_size, every, watermark=True) -> dict:
    """``watermark=False``: an ablation for the flicker figures only (``provenance.embed`` replaced by
    a copy inside this call); deepswap itself has no switch to turn the watermark off."""
    from unittest import mock

    import deepswap.inference.swapper as swapper_module

    analyser = FaceAnalyser(pack, det_size=(det_size, det_size), threads=threads)
    swapper = FaceSwapper(model, analyser, batch_size=4, detect_every=every)
    source_id = swapper.source_embedding(source)
    start = time.perf_counter()
    with mock.patch.object(
        swapper_module.provenance,
        "embed",
        swapper_module.provenance.embed if watermark else lambda image, *a, **k: np.copy(image),
    ):
        report = swapper.swap_video(source_id, clip, out, progress=False)
    wall = time.perf_counter() - start
    return {"wall": wall, "frames": report.frames, "faces": report.faces_swapped, **report.timings}


def run_insightface(onnx_path, pack, threads, clip, out, source_embedding, spin: bool = True) -> dict:
    """``spin=False``: onnxruntime's threads do not busy-wait between runs (deepswap's setting; the
    tools built on insightface keep the default)."""
    import onnxruntime
    from insightface.app.common import Face
    from insightface.model_zoo import get_model

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = threads
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    det = get_model(str(pack / "det_10g.onnx"), providers=providers, sess_options=opts)
    det.prepare(-1, input_size=(640, 640), det_thresh=0.5)
    swapper = get_model(str(onnx_path), providers=providers, sess_options=opts)
    source = Face(embedding=source_embedding)
    t = dict.fromkeys(("decode", "detect", "swap", "encode"), 0.0)
    cap, frames, faces = cv2.VideoCapture(str(clip)), 0, 0
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 25, (W, H))
    start = t0 = time.perf_counter()
    while True:
        ok, frame = cap.read()
        t1 = time.perf_counter()
        t["decode"] += t1 - t0
        if not ok:
            break
        boxes, kpss = det.detect(frame, max_num=0)
        t2 = time.perf_counter()
        t["detect"] += t2 - t1
        for box, kps in zip(boxes, kpss):
            frame = swapper.get(frame, Face(bbox=box[:4], kps=kps, det_score=box[4]), source, paste_back=True)
        t3 = time.perf_counter()
        t["swap"] += t3 - t2
        writer.write(frame)
        t0 = time.perf_counter()
        t["encode"] += t0 - t3
        frames, faces = frames + 1, faces + len(boxes)
    wall = time.perf_counter() - start
    cap.release()
    writer.release()
    return {"wall": wall, "frames": frames, "faces": faces, **t}


def flicker(original: Path, swapped: Path, pack: Path, affines: list[np.ndarray]) -> dict:
    """-> ``ratio`` (the issue's figure), per frame ``warp`` (motion-compensated change of the output),
    ``warp_original`` (the same on the original) and ``warp_added`` (their difference): see the module
    docstring."""
    det = FaceAnalyser(pack)
    before, after = list(iter_frames(original)), list(iter_frames(swapped))
    faces, changes, warp = [], [], []
    for k in range(1, len(before)):
        if k % 4 == 1:  # the faces move slowly: outlines from every 4th frame
            faces = det.detect(before[k])
        inside = np.zeros((H, W), np.uint8)
        for face in faces:
            cv2.fillPoly(inside, [np.round(face_outline(face.kps)).astype(np.int32)], 1)
        sel = inside > 0
        if not sel.any():
            continue
        d_out = np.abs(after[k].astype(int) - after[k - 1])[sel].mean()
        changes.append((d_out, np.abs(before[k].astype(int) - before[k - 1])[sel].mean()))
        step = np.vstack([affines[k], [0, 0, 1]]) @ np.linalg.inv(np.vstack([affines[k - 1], [0, 0, 1]]))
        errs = []
        for frames in (before, after):
            moved = cv2.warpAffine(frames[k - 1], step[:2], (W, H), flags=cv2.INTER_LINEAR)
            errs.append(np.abs(frames[k].astype(np.float32) - moved)[sel].mean())
        warp.append(errs)
    changes, warp = np.array(changes), np.array(warp)
    return {
        "ratio": float(changes[:, 0].mean() / max(changes[:, 1].mean(), 1e-6)),
        "warp_original": warp[:, 0],
        "warp": warp[:, 1],
        "warp_added": warp[:, 1] - warp[:, 0],
    }


def controls(clip: Path, tmp: Path) -> dict[str, Path]:
    """Outputs of no pipeline, for reading the flicker columns: the original itself (1.00 and 0 by
    construction) and the original blurred (no flicker added, yet the issue's ratio falls below 1)."""
    blurred = tmp / "blurred.avi"
    with VideoWriter(blurred, 25, (W, H)) as writer:
        for frame in iter_frames(clip):
            writer.write(cv2.GaussianBlur(frame, (0, 0), 2.0))
    return {"output = original": clip, "blurred (sigma 2)": blurred}


def interval(values: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95% bootstrap interval over frames."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n, len(values)))].mean(1)
    return float(values.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def watermark_scores(video: Path, window: int = 8) -> str:
    """The provenance watermark as found in the written video: single frames, then pooled."""
    from deepswap import provenance

    frames = list(iter_frames(video))
    window = min(window, len(frames))
    pooled = provenance.verify_frames(frames)
    windows = [
        provenance.verify_frames(frames[i : i + window]).score for i in range(len(frames) - window + 1)
    ]
    singles = np.array(pooled.frame_scores)
    return (
        f"wm score: frames min {singles.min():.1f} median {np.median(singles):.1f}, "
        f"{window}-frame windows min {min(windows):.1f}, whole clip {pooled.score:.1f} (threshold 6)"
    )


def row(name: str, r: dict, flick: dict) -> str:
    n = r["frames"]
    stages = "".join(f"{1000 * r.get(s, 0.0) / n:>8.1f}" for s in STAGES)
    fl = f"{flick['ratio']:>8.2f}{flick['warp_added'].mean():>+8.2f}"
    return f"{name:<34}{stages}{1000 * r['wall'] / n:>8.1f}{n / r['wall']:>7.1f}{r['faces'] / n:>6.1f}{fl}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--det-size", type=int, default=320)
    parser.add_argument("--detect-every", type=int, default=4)
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="a trained deepswap checkpoint: its EMA generator runs at 128 px in both pipelines "
        "(default: random weights, which give the same timings but say nothing about flicker)",
    )
    args = parser.parse_args()
    if args.checkpoint is not None and not args.checkpoint.is_file():
        sys.exit(f"--checkpoint {args.checkpoint}: no such file")
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    root = fixtures()
    photos = root / "face_recognition/tests/test_images"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pack, clips = detector_pack_and_clips(root, tmp, args.frames)
        model, trained_source = build_model(tmp / "model.ckpt", args.checkpoint)
        from deepswap.export import main as export

        onnx_path = export(
            [str(tmp / "model.ckpt"), "--format", "inswapper", "--out", str(tmp / "swap_128.onnx")]
        )
        source = read_image(photos / "biden.jpg")
        if trained_source is None:
            source_emb = FaceSwapper(model, FaceAnalyser(pack)).source_embedding(source)[0].numpy()
        else:
            source_emb = trained_source[0].numpy()
        print(
            f"{os.cpu_count()} CPUs visible, {args.threads} threads; clips {W}x{H}, {args.frames} frames"
            f" each; generator: {args.checkpoint or 'random weights'}"
        )
        print(
            f"{'pipeline':<34}"
            + "".join(f"{s[:7]:>8}" for s in STAGES)
            + f"{'total':>8}{'fps':>7}{'faces':>6}{'flicker':>8}{'warp+':>8}"
        )
        print(f"{'':<34}{'(ms/frame)':>8}")
        paired = []
        for clip_name, (clip, affines) in clips.items():
            out = tmp / "ins.avi"
            ref = run_insightface(onnx_path, pack, args.threads, clip, out, source_emb)
            ref_flicker = flicker(clip, out, pack, affines)
            print(row(f"{clip_name}: insightface det640 every", ref, ref_flicker))
            quiet = run_insightface(
                onnx_path, pack, args.threads, clip, tmp / "ins2.avi", source_emb, spin=False
            )
            print(
                row(
                    f"{clip_name}: insightface, no spin",
                    quiet,
                    flicker(clip, tmp / "ins2.avi", pack, affines),
                )
            )
            for control, path in controls(clip, tmp).items():
                c = flicker(clip, path, pack, affines)
                name = f"{clip_name}: control, {control}"
                print(f"{name:<34}{'':>77}{c['ratio']:>8.2f}{c['warp_added'].mean():>+8.2f}")
            main = (args.det_size, args.detect_every, True)
            variants = [main, (*main[:2], False)]
            if clip_name == "one face":
                variants = [
                    (640, 1, True),
                    (args.det_size, 1, True),
                    (640, args.detect_every, True),
                    *variants,
                ]
            elif args.det_size != 640:  # small faces are the first a reduced detector loses
                variants = [(640, args.detect_every, True), *variants]
            for det_size, every, mark in variants:
                out = tmp / f"ds_{det_size}_{every}_{mark}.avi"
                source_id = torch.from_numpy(source_emb)[None]
                r = run_deepswap(model, pack, args.threads, clip, out, source_id, det_size, every, mark)
                name = f"{clip_name}: deepswap det{det_size} 1/{every}" + ("" if mark else " no wm")
                ours = flicker(clip, out, pack, affines)
                print(
                    row(name, r, ours) + f"  x{(r['frames'] / r['wall']) / (ref['frames'] / ref['wall']):.2f}"
                )
                if mark:
                    print(f"{'':<34}{watermark_scores(out)}")
                if len(ours["warp"]) == len(ref_flicker["warp"]):
                    paired.append((name, ours["warp"] - ref_flicker["warp"], ref_flicker))
        print(
            "\nwarp+: motion-compensated frame-to-frame change inside the faces beyond the original's "
            "(grey levels; 0 = no flicker added)."
        )
        print("Paired over frames, deepswap minus insightface (95% bootstrap interval; < 0: less flicker):")
        for name, diff, ref_flicker in paired:
            m, lo, hi = interval(diff)
            base = interval(ref_flicker["warp_added"])
            print(
                f"  {name:<32} {m:+6.2f} [{lo:+6.2f}, {hi:+6.2f}]   (insightface warp+ "
                f"{base[0]:.2f} [{base[1]:.2f}, {base[2]:.2f}])"
            )


if __name__ == "__main__":
    main()
