"""Swap a face into pictures or a video from the command line; outputs carry provenance.

    python -m deepswap.swap --checkpoint last.ckpt --source me.jpg --target group.jpg --out out.png \\
        --model-pack ~/models/buffalo_l
    python -m deepswap.swap --checkpoint last.ckpt --source a1.jpg a2.jpg --target clip.mp4 \\
        --out swapped.mp4 --reference b.jpg --model-pack ~/models/buffalo_l
    python -m deepswap.swap --checkpoint synth.ckpt --source face.png --target scene.png --out out.png \\
        --synthetic

``--target`` is an image, a folder of images (``--out`` is then a folder) or a video (.mp4, .avi, ...;
``--out`` .mp4 or .avi). Faces: all of them, ``--face-index N`` (left to right, from 0) or those
that look like ``--reference``. ``--model-pack`` is an insightface pack folder (nothing is
downloaded); ``--synthetic`` reads the faces of synthetic scenes from their ``<file>.faces.json``
(``deepswap.faces.scenes``), the default for models trained on the synthetic world.
Bad input stops with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from deepswap import provenance
from deepswap.errors import NothingProducedError, report, take_debug_flag
from deepswap.faces.analyser import FaceAnalyser
from deepswap.faces.synthetic_analyser import SyntheticSceneAnalyser
from deepswap.faces.video import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    WRITE_CODECS,
    MediaError,
    check_writable,
    is_image,
    is_video,
    read_image,
    video_info,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deepswap.swap", description=__doc__.splitlines()[0])
    p.add_argument(
        "--checkpoint", required=True, help="training checkpoint (.ckpt) or safetensors export folder"
    )
    p.add_argument("--source", required=True, nargs="+", help="image(s) of the person to put in")
    p.add_argument("--target", required=True, help="image, folder of images, or video")
    p.add_argument("--out", required=True, help="output image, folder or video (.mp4/.avi)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--face-index", type=int, help="swap only this face (left to right, from 0)")
    which.add_argument("--reference", help="swap only faces that look like the face in this image")
    finder = p.add_mutually_exclusive_group()
    finder.add_argument("--model-pack", help="insightface model pack folder (e.g. buffalo_l)")
    finder.add_argument("--synthetic", action="store_true", help="faces from synthetic scenes' .faces.json")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument(
        "--detect-every",
        type=int,
        default=1,
        help="videos: run the face detector on every n-th frame and follow the faces by optical flow "
        "in between (4: about 2x faster on a CPU; 1: detect on every frame)",
    )
    p.add_argument(
        "--det-size",
        type=int,
        default=640,
        help="face detector input side in pixels, a multiple of 32 (320: about 2.5x faster detection "
        "on a CPU, loses faces under ~20 px in a 720p frame)",
    )
    p.add_argument(
        "--video-watermark-strength",
        type=float,
        default=provenance.DEFAULT_VIDEO_STRENGTH,
        help="RMS grey levels of the provenance watermark in swapped video frames (images: "
        f"{provenance.DEFAULT_STRENGTH}); stronger survives more on single frames but flickers under "
        f"camera motion; at least {provenance.MIN_VIDEO_STRENGTH}",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the generator (SwapModel.compile): faster on long videos, but the first "
        "frames wait 20-40 s for the compilation on a CPU",
    )
    p.add_argument("--threshold", type=float, default=0.5, help="cosine for --reference matching")
    p.add_argument("--no-color-correction", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _targets(target: Path) -> tuple[str, list[Path]]:
    if target.is_dir():
        images = sorted(p for p in target.iterdir() if p.is_file() and is_image(p))
        if not images:
            raise MediaError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {target}")
        return "folder", images
    if not target.exists():
        raise MediaError(f"cannot read {target}: no such file or folder")
    if is_video(target):
        video_info(target)
        return "video", [target]
    if is_image(target):
        read_image(target)
        return "image", [target]
    raise MediaError(
        f"unsupported target format {target.suffix or '(none)'!r}: images {', '.join(IMAGE_SUFFIXES)} "
        f"or videos {', '.join(VIDEO_SUFFIXES)}"
    )


def _check_out(kind: str, out: Path) -> None:
    if kind == "folder":
        if out.exists() and not out.is_dir():
            raise MediaError(f"cannot write {out}: the target is a folder, so --out must be a folder")
        check_writable(out / "probe.png") if out.is_dir() else check_writable(out)
        return
    allowed = WRITE_CODECS if kind == "video" else provenance.IMAGE_FORMATS
    if out.suffix.lower() not in allowed:
        raise MediaError(f"cannot write {out.name}: {kind} output must be one of {', '.join(allowed)}")
    check_writable(out)


def _analyser(args, paths: list[Path], checkpoint_template: str):
    from deepswap.inference.swapper import SwapError

    if args.model_pack:  # faces and 5 points; a recogniser only where an option needs one
        needs = {"recognition": "--reference matching"} if args.reference else {}
        size = (args.det_size, args.det_size)
        analyser = FaceAnalyser(args.model_pack, required=needs, device=args.device, det_size=size)
        if checkpoint_template == "synthetic":
            warn(
                "this model was trained on the synthetic face world only, never on real faces: expect "
                "poor swaps on photos (train on real crops: python -m deepswap.prepare, then data=folder)"
            )
        return analyser
    if args.synthetic or checkpoint_template == "synthetic":
        return SyntheticSceneAnalyser.from_files(paths)
    raise SwapError("this checkpoint was trained on aligned photos: give --model-pack DIR (e.g. buffalo_l)")


def run(args) -> str:
    """Do the swap -> a summary line. Raises the errors main() turns into messages.

    Inputs and the output path are checked before torch is imported: bad input fails in a second."""
    if args.batch_size < 1:
        raise MediaError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.detect_every < 1:
        raise MediaError(f"--detect-every must be >= 1 (1: every frame), got {args.detect_every}")
    if args.det_size < 32 or args.det_size % 32:
        raise MediaError(f"--det-size must be a multiple of 32 (320, 480, 640), got {args.det_size}")
    if not args.video_watermark_strength >= provenance.MIN_VIDEO_STRENGTH:
        raise MediaError(
            f"--video-watermark-strength must be >= {provenance.MIN_VIDEO_STRENGTH}, got "
            f"{args.video_watermark_strength}: the watermark cannot be turned off"
        )
    sources = [Path(s) for s in args.source]
    for s in sources:
        read_image(s)
    reference = Path(args.reference) if args.reference else None
    if reference is not None:
        read_image(reference)
    kind, targets = _targets(Path(args.target))
    out = Path(args.out)
    _check_out(kind, out)
    import torch

    from deepswap.inference.model import SwapModel
    from deepswap.inference.swapper import FaceSwapper, NoFaceError, SwapError, template_for

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SwapError("--device cuda, but torch sees no CUDA device")

    ckpt = Path(args.checkpoint)
    model = (
        SwapModel.from_export(ckpt, args.device)
        if ckpt.is_dir()
        else SwapModel.from_checkpoint(ckpt, args.device)
    )
    if args.compile:
        model.compile()
    analyser = _analyser(
        args, [*sources, *targets, *([reference] if reference else [])], template_for(model.config)
    )
    swapper = FaceSwapper(
        model,
        analyser,
        batch_size=args.batch_size,
        threshold=args.threshold,
        detect_every=args.detect_every,
        color_correction=not args.no_color_correction,
        video_watermark_strength=args.video_watermark_strength,
    )
    try:  # once, and before any output is written
        source_id = swapper.source_embedding(sources)
        ref = swapper.reference_embedding(reference) if reference is not None else None
    except NoFaceError as e:
        synthetic = isinstance(analyser, SyntheticSceneAnalyser)
        hint = " (--synthetic reads faces from <image>.faces.json)" if synthetic else ""
        raise NoFaceError(f"{e}{hint}") from None
    if kind == "video":
        rep = swapper.swap_video(
            source_id, targets[0], out, face_index=args.face_index, reference=ref, progress=not args.quiet
        )
        if not rep.faces_swapped:
            _remove([out, out.with_name(out.name + ".provenance.json")])
            found = rep.frames - rep.frames_without_face
            raise NothingProducedError(
                f"no face swapped in {args.target}: {found} of {rep.frames} frames have a face, and "
                f"{_selection(args) or 'none could be swapped'}; nothing written"
            )
        return (
            f"wrote {out}: {rep.frames} frames, {rep.faces_swapped} faces swapped in {rep.frames_swapped}; "
            f"{rep.frames_without_face} frames without a face passed through unchanged; audio {rep.audio}; "
            f"provenance: {rep.provenance}"
        )
    made_folder = kind == "folder" and not out.exists()
    if kind == "folder":
        out.mkdir(exist_ok=True)
    swapped = without = unselected = most = 0
    written = []
    for target in targets:
        dest = out if kind == "image" else out / target.name
        if dest.suffix.lower() not in provenance.IMAGE_FORMATS:
            dest = dest.with_suffix(".png")
        res = swapper.swap(source_id, target, face_index=args.face_index, reference=ref, out=dest)
        written.append(dest)
        swapped += len(res.swapped)
        without += not res.faces
        unselected += bool(res.faces) and not res.swapped
        most = max(most, len(res.faces))
    if not swapped:
        _remove(written + ([out] if made_folder else []))
        raise NothingProducedError(
            f"no face swapped in {args.target}: {_no_swap_reason(args, most)}; nothing written"
        )
    if unselected:
        warn(f"{_selection(args)} in {unselected} of {len(targets)} image(s); they passed through unchanged")
    return (
        f"wrote {out}: {swapped} faces swapped in {len(targets)} image(s); {without} without a face and "
        f"{unselected} without a selected face passed through unchanged"
    )


def _selection(args) -> str:
    if args.face_index is not None:
        return f"--face-index {args.face_index} matched no face"
    return f"no face looked like --reference {args.reference}" if args.reference else ""


def _no_swap_reason(args, most_faces: int) -> str:
    if not most_faces:
        return "no face found in any target"
    if args.face_index is not None:
        return f"{_selection(args)} (the targets have at most {most_faces} faces: 0..{most_faces - 1})"
    return f"{_selection(args)} (lower --threshold {args.threshold}?)"


def _remove(paths: list[Path]) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def warn(message: str) -> None:
    print(f"deepswap.swap: warning: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(take_debug_flag(sys.argv[1:] if argv is None else argv))
    with report("deepswap.swap"):
        print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
