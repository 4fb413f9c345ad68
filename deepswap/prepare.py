"""Aligned face datasets from folders of photos or videos: detect, align, crop, record.

    python -m deepswap.prepare --input raw/ --output faces/ --model-pack ~/models/buffalo_l --workers 4
    python -m deepswap.prepare --input ffpp/ --output ffpp_faces/ --layout ffpp --compression c23 \\
        --frames-per-video 32 --model-pack ~/models/buffalo_l
    python -m deepswap.prepare --input scenes/ --output faces/ --synthetic --template synthetic --size 64
    python -m deepswap.train data=folder data.root=faces/ data.size=256 data.alignment=arcface

Input layouts and crop names: :mod:`deepswap.data.extract`. Each image, or ``--frames-per-video``
evenly spaced frames of each video, is searched for faces; faces under ``--min-score`` or with a box
shorter than ``--min-face`` px are rejected; the largest remaining face (``--keep largest``) or every
one (``--keep all``) is aligned to ``--template`` at ``--size`` px and written as a PNG. Every crop has
a row in ``output/metadata.jsonl`` (source, frame, box, landmarks, score, identity, size, template,
alignment matrix); every file, frame or face that gave no crop has a row in ``output/failures.csv``
with its reason (``deepswap.data.extract.REASONS``); nothing is dropped silently.
``output/prepare.json`` records the settings.

Resumable: finished files are recorded in ``output/.done.jsonl`` (:mod:`deepswap.data.ledger`); run
the same command again after an interruption and only the missing files are processed, giving the
same output as one uninterrupted run. ``--workers N`` processes files in N processes, each building
its own face analyser (onnxruntime sessions are not shared). Faces come from an insightface model
pack folder you supply (``--model-pack``; nothing is downloaded) or, for synthetic scenes written by
``deepswap.faces.scenes``, from their ``<file>.faces.json`` (``--synthetic``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

from deepswap import __version__
from deepswap.data.extract import CropSettings, FileResult, Source, extract_file, scan_sources
from deepswap.data.ledger import FAILURES, LEDGER, METADATA, Ledger
from deepswap.errors import DeepswapError, NothingProducedError, report, take_debug_flag
from deepswap.faces.analyser import FaceAnalyser
from deepswap.faces.synthetic_analyser import SyntheticSceneAnalyser
from deepswap.faces.video import MediaError
from deepswap.utils.outputs import output_folder

SETTINGS_FILE = "prepare.json"
MIN_CROP = 32  # the smallest crop deepswap trains on (data.size)


class PrepareError(DeepswapError, ValueError):
    """The preparation cannot run as asked (options, folders); the message says how to fix it."""


@dataclass
class PrepareReport:
    """``files``: input files found; ``skipped``: finished by earlier runs; ``processed``: by this run;
    ``remaining``: left for a later run. ``totals``: the whole output folder, ``{"files", "frames",
    "faces", "crops", "failures": Counter(reason)}``."""

    output: Path
    files: int
    skipped: int
    processed: int
    remaining: int
    totals: dict
    seconds: float
    train_command: str = ""

    @property
    def failures(self) -> Counter:
        return self.totals["failures"]

    @property
    def files_per_second(self) -> float:
        return self.processed / max(self.seconds, 1e-9)

    def summary(self) -> str:
        t = self.totals
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.failures.items())) or "none"
        lines = [
            f"prepared {self.output}: {self.processed} files in {self.seconds:.1f} s "
            f"({self.files_per_second:.2f} files/s); {self.skipped} done before, {self.remaining} left",
            f"output: {t['files']} files, {t['frames']} images/frames, {t['faces']} faces found, "
            f"{t['crops']} crops ({METADATA})",
            f"failures ({FAILURES}): {reasons}",
        ]
        if self.remaining:
            lines.append("run the same command again to process the files left")
        return "\n".join(lines + ([f"train on it: {self.train_command}"] if self.train_command else []))


@dataclass(frozen=True)
class AnalyserSpec:
    """What each worker builds: an insightface pack (``model_pack``) or, if None, a synthetic-scene
    analyser per file (from its ``.faces.json``). Picklable, so workers build their own sessions."""

    model_pack: str | None = None
    device: str = "cpu"
    det_thresh: float = 0.5
    threads: int | None = None  # onnxruntime threads per session (None: all cores)

    def build(self):
        if self.model_pack is None:
            return None
        return FaceAnalyser(
            self.model_pack, device=self.device, det_thresh=self.det_thresh, threads=self.threads
        )

    def name(self) -> str:
        return "synthetic" if self.model_pack is None else f"insightface:{Path(self.model_pack).name}"


_WORKER: dict = {}


def _init_worker(spec: AnalyserSpec, settings: CropSettings, out: str, single_thread: bool) -> None:
    if single_thread:
        import cv2

        cv2.setNumThreads(1)
    _WORKER.update(analyser=spec.build(), settings=settings, out=out)


def _work(src: Source) -> FileResult:
    analyser = _WORKER["analyser"]
    if analyser is None:  # synthetic: this file's faces, from its .faces.json
        try:
            analyser = SyntheticSceneAnalyser.from_files([src.path])
        except MediaError:  # extract_file records why the file cannot be read
            analyser = SyntheticSceneAnalyser()
    return extract_file(src, _WORKER["settings"], analyser, _WORKER["out"])


def _check_folders(input: Path, output: Path) -> None:
    if output == input or output.is_relative_to(input) or input.is_relative_to(output):
        raise PrepareError(f"--output {output} and --input {input} must not contain one another")
    if output.exists() and not output.is_dir():
        raise PrepareError(f"--output {output} is a file, not a folder")


def _check_options(size: int, workers: int, min_score: float) -> None:
    if not isinstance(size, int) or size < MIN_CROP:
        raise PrepareError(f"--size {size}: crops must be at least {MIN_CROP} px (e.g. --size 256)")
    if workers < 1:
        raise PrepareError(f"--workers {workers}: must be >= 1")
    if not 0 <= min_score <= 1:
        raise PrepareError(f"--min-score {min_score}: must be between 0 and 1")


def _check_settings(output: Path, record: dict) -> None:
    """Write ``prepare.json``, or check that a resumed run uses the settings of the first."""
    path = output / SETTINGS_FILE
    if path.is_file():
        before = json.loads(path.read_text())
        flat = lambda r: {"layout": r.get("layout"), "analyser": r.get("analyser"), **r.get("settings", {})}
        was, now = flat(before), flat(record)
        changed = [f"{k} {was.get(k)!r} -> {now[k]!r}" for k in now if was.get(k) != now[k]]
        if changed:
            raise PrepareError(
                f"{output} was prepared with other settings ({'; '.join(changed)}): resume with the "
                f"settings in {path}, or prepare into a new --output folder"
            )
        return
    output.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


def _train_command(layout: str, output: Path, settings: CropSettings) -> str:
    data = (
        f"data=folder data.root={output}"
        if layout == "identity"
        else f"data=ffpp data.root={output} data.split_file=/path/to/ffpp/splits/train.json"
    )
    identity = (
        "identity=arcface identity.path=<backbone.pth> eval_identity=null"  # not the synthetic encoders
    )
    return (
        f"python -m deepswap.train {data} data.size={settings.size} data.alignment={settings.template} "
        + identity
    )


def prepare(
    input: str | Path,
    output: str | Path,
    *,
    layout: str = "identity",
    size: int = 256,
    template: str = "arcface",
    keep: str = "largest",
    frames_per_video: int = 10,
    min_score: float = 0.5,
    min_face: int = 32,
    workers: int = 1,
    model_pack: str | Path | None = None,
    synthetic: bool = False,
    device: str = "cpu",
    compression: str | None = None,
    max_files: int | None = None,
    progress: bool = True,
) -> PrepareReport:
    """Make an aligned face dataset of ``input`` in ``output`` (module docstring) -> a report.

    Exactly one of ``model_pack`` (insightface pack folder) and ``synthetic=True``. ``max_files``:
    process at most this many new files, then stop (a trial run; the next run continues).
    ``workers`` > 1: that many spawned processes (call from under ``if __name__ == "__main__":`` in a
    script). Raises PrepareError, DataError or ModelPackError on bad
    options or folders, before any file is processed.
    """
    t0 = time.perf_counter()
    if (model_pack is None) == (not synthetic):
        raise PrepareError(
            "give a face detector: model_pack=DIR (--model-pack, an insightface pack folder such as "
            "buffalo_l; nothing is downloaded) or synthetic=True (--synthetic, for synthetic scenes)"
        )
    _check_options(size, workers, min_score)
    try:
        settings = CropSettings(size, template, keep, frames_per_video, min_score, min_face)
    except ValueError as e:
        raise PrepareError(str(e)) from None
    src_root, out = Path(input).expanduser().resolve(), Path(output).expanduser().resolve()
    _check_folders(src_root, out)
    output_folder(out, "--output")
    sources = scan_sources(src_root, layout, compression)
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None  # workers share the cores
    spec = AnalyserSpec(None if synthetic else str(model_pack), device, min(0.5, min_score), threads)
    analyser = spec.build()  # in this process first: a bad pack stops here with FaceAnalyser's message
    analyser = analyser if workers == 1 else None  # workers build their own
    record = {"layout": layout, "analyser": spec.name(), "settings": asdict(settings)}
    _check_settings(
        out, {**record, "input": str(src_root), "compression": compression, "deepswap": __version__}
    )

    ledger = Ledger(out)
    finished = ledger.done()
    todo = [s for s in sources if s.rel not in finished]
    run = todo if max_files is None else todo[: max(int(max_files), 0)]
    with ledger:
        try:
            processed = _process(run, workers, spec, analyser, settings, out, ledger, progress)
        finally:
            totals = ledger.compile()
    if not totals["crops"]:  # nothing made: record no settings, so a rerun with others is not refused
        for name in (SETTINGS_FILE, LEDGER):
            (out / name).unlink(missing_ok=True)
    return PrepareReport(
        out,
        len(sources),
        len(sources) - len(todo),
        processed,
        len(todo) - processed,
        totals,
        time.perf_counter() - t0,
        _train_command(layout, out, settings),
    )


def _process(run, workers, spec, analyser, settings, out: Path, ledger: Ledger, progress: bool) -> int:
    """Extract ``run`` (in this process, or in ``workers`` processes) and record every file in
    ``ledger`` as it finishes -> how many files were recorded (also after an interruption)."""
    if progress:
        from tqdm.auto import tqdm
    else:  # tqdm.auto warns in notebooks without ipywidgets, even for a disabled bar
        from tqdm import tqdm
    counts, processed = Counter(), 0

    def record(result: FileResult) -> None:
        nonlocal processed
        ledger.append(result)
        processed += 1
        counts.update(crops=len(result.crops), failures=len(result.failures))
        bar.set_postfix(counts, refresh=False)
        bar.update()

    with tqdm(total=len(run), unit="file", desc="prepare", disable=not progress) as bar:
        try:
            if workers == 1:
                _WORKER.update(analyser=analyser, settings=settings, out=str(out))
                for src in run:
                    record(_work(src))
            else:
                _run_pool(run, workers, (spec, settings, str(out), True), record)
        except BaseException:
            bar.write(f"stopped after {processed} files (recorded): run the same command again to resume")
            raise
        finally:
            _WORKER.clear()
    return processed


def _run_pool(sources: list[Source], workers: int, initargs: tuple, on_result) -> None:
    """Files through ``workers`` spawned processes, at most 4 per worker in flight; results are
    handed to ``on_result`` in this process as they finish."""
    context = multiprocessing.get_context("spawn")  # no forked onnxruntime / OpenMP state
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=initargs)
    queue = iter(sources)
    pending = {pool.submit(_work, s) for s in islice(queue, 4 * workers)}
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                on_result(future.result())
                pending |= {pool.submit(_work, s) for s in islice(queue, 1)}
    except BrokenProcessPool:
        raise PrepareError(
            "a worker process died (files finished before are recorded). Workers are spawned: a script "
            "that calls prepare(workers > 1) must do so under `if __name__ == '__main__':`; otherwise "
            "the machine may be out of memory (use fewer workers)"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deepswap.prepare", description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, help="folder of images or videos")
    p.add_argument("--output", required=True, help="folder for the aligned crops (created; resumable)")
    p.add_argument("--layout", default="identity", choices=["identity", "ffpp"],
                   help="identity: input/<identity>/<file>; ffpp: the FaceForensics++ tree")  # fmt: skip
    p.add_argument("--size", type=int, default=256, help="crop side in pixels")
    p.add_argument("--template", default="arcface", choices=["arcface", "synthetic"],
                   help="alignment (deepswap.faces.align); synthetic for synthetic-world models")  # fmt: skip
    p.add_argument("--keep", default="largest", choices=["largest", "all"], help="faces per image or frame")
    p.add_argument("--frames-per-video", type=int, default=10, help="evenly spaced frames; 0: all")
    p.add_argument("--min-score", type=float, default=0.5, help="reject detections scored lower")
    p.add_argument("--min-face", type=int, default=32, help="reject face boxes shorter than this (px)")
    p.add_argument("--workers", type=int, default=1, help="processes, each with its own face analyser")
    finder = p.add_mutually_exclusive_group(required=True)
    finder.add_argument("--model-pack", help="insightface model pack folder (e.g. buffalo_l)")
    finder.add_argument("--synthetic", action="store_true", help="faces from synthetic scenes' .faces.json")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--compression", choices=["raw", "c23", "c40"], help="ffpp layout: only this quality")
    p.add_argument("--max-files", type=int, help="stop after this many new files (rerun to continue)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(take_debug_flag(sys.argv[1:] if argv is None else argv))
    options = {k: v for k, v in vars(args).items() if k not in ("input", "output", "quiet")}
    with report("deepswap.prepare", extra=(ValueError,)):
        try:
            result = prepare(args.input, args.output, progress=not args.quiet, **options)
        except KeyboardInterrupt:
            parser.exit(
                130, "interrupted: the files finished so far are recorded; rerun the command to resume\n"
            )
        if not result.totals["crops"]:
            reasons = ", ".join(f"{n} {r}" for r, n in sorted(result.failures.items())) or "no input files"
            raise NothingProducedError(
                f"no face crops made from {result.files} files ({reasons}); the reasons are in "
                f"{result.output / FAILURES}, and no settings were recorded"
            )
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
