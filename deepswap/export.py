"""Export a trained swap model: safetensors (rebuilt from its config, no LightningModule) or ONNX (inswapper).

    python -m deepswap.export RUN/checkpoints/last.ckpt --format safetensors --out exports/run1
    python -m deepswap.export RUN/checkpoints/last.ckpt --format inswapper --out exports/run1_128.onnx
    python -m deepswap.export exports/run1 --format onnx --size 256 --out exports/run1_256.onnx

The first argument is a training checkpoint or a safetensors export folder. Every export holds the EMA
generator; the safetensors export also holds the identity encoder and the run's resolved config.

The exporters live in :mod:`deepswap.inference.exporters`, whose docstring describes the ONNX
interface (insightface's ``inswapper_128``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from deepswap.errors import report, take_debug_flag
from deepswap.inference.exporters import (
    MIN_OPSET,
    export_generator_onnx,
    export_inswapper_onnx,
    export_safetensors,
)
from deepswap.inference.loader import load_model
from deepswap.utils.outputs import output_file, output_folder


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m deepswap.export", description=__doc__.splitlines()[0])
    parser.add_argument("model", help="training checkpoint (.ckpt) or safetensors export folder")
    parser.add_argument("--format", required=True, choices=["safetensors", "onnx", "inswapper"])
    parser.add_argument("--out", required=True, help="folder (safetensors) or .onnx file")
    parser.add_argument(
        "--size", type=int, help="ONNX input size; default 128 (inswapper), else training size"
    )
    parser.add_argument("--opset", type=int, default=MIN_OPSET)
    args = parser.parse_args(take_debug_flag(sys.argv[1:] if argv is None else argv))
    with report("deepswap.export", extra=(ImportError, ValueError)):
        if args.format == "safetensors":
            output_folder(args.out, "--out")
        else:
            output_file(args.out, "--out", (".onnx",))
        model, _ = load_model(args.model)
        if args.format == "safetensors":
            out = export_safetensors(model, args.out)
        elif args.format == "inswapper":
            out = export_inswapper_onnx(model, args.out, args.size or 128, args.opset)
        else:
            out = export_generator_onnx(model, args.out, args.size or model.image_size, args.opset)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    main()
