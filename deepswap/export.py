"""Export a trained swap model: safetensors (rebuilt from its config, no LightningModule) or ONNX (inswapper).

    python -m deepswap.export RUN/checkpoints/last.ckpt --format safetensors --out exports/run1
    python -m deepswap.export RUN/checkpoints/last.ckpt --format inswapper --out exports/run1_128.onnx
    python -m deepswap.export exports/run1 --format onnx --size 256 --out exports/run1_256.onnx

The first argument is a training checkpoint or a safetensors export folder. Every export holds the EMA
generator; the safetensors export also holds the identity encoder and the run's resolved config.

ONNX graphs follow insightface's ``inswapper_128`` interface: inputs ``target`` (1, 3, S, S) float32 RGB
in [0, 1] (insightface's aligned crop) and ``source`` (1, 512) float32, output (1, 3, S, S) RGB in
[0, 1], and a (512, 512) ``emap`` as the graph's last initializer. insightface feeds
``source = normalize(normalize(arcface_embedding) @ emap)``; deepswap's ``emap`` is the identity
matrix, which is right when the model's identity encoder is the ArcFace recogniser insightface runs.
For any other encoder (the synthetic CNNs, a retrained IResNet) set ``source_face.embedding`` to
``SwapModel.embed(source_crop)`` of deepswap's own encoder (float32); ``emap`` stays the identity.
The graph sees insightface's crop (ArcFace 5-point template; at 128 px the 112 px template shifted
8 px right): a model trained on another alignment runs but swaps worse.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

import deepswap
from deepswap.api import CheckpointError, SwapModel, _identity_arch
from deepswap.errors import report, take_debug_flag
from deepswap.utils.outputs import output_file, output_folder
from deepswap.utils.runinfo import sha256

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the layout of a safetensors export changes incompatibly
WEIGHTS_FILE = "model.safetensors"
META_FILE = "deepswap.json"
PREFIXES = ("generator.", "identity_encoder.")
EMAP_NAME = "emap"
MIN_OPSET = 18  # torch's exporter writes opset 18 natively; ONNX Runtime reads it from 1.14 on


def load_for_export(checkpoint: str | Path, device: str | torch.device = "cpu") -> SwapModel:
    """:meth:`SwapModel.from_checkpoint`; it carries what an export records: ``identity_spec`` (how to
    rebuild the identity encoder, or None for ArcFace IResNets) and ``source`` (the checkpoint's path)."""
    return SwapModel.from_checkpoint(Path(checkpoint), device)


def export_safetensors(model: SwapModel, out_dir: str | Path) -> Path:
    """Write ``out_dir/model.safetensors`` (EMA generator under ``generator.``, identity encoder under
    ``identity_encoder.``) and ``out_dir/deepswap.json`` (format, config, encoder spec, provenance).

    Returns ``out_dir``; :func:`load_exported` reads it back without the LightningModule.
    """
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for prefix, net in zip(PREFIXES, (model.generator, model.identity_encoder)):
        # clone: safetensors refuses tensors that share memory (tied weights)
        tensors |= {prefix + k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    save_file(tensors, out_dir / WEIGHTS_FILE, metadata={"deepswap_export_format": str(EXPORT_FORMAT)})
    source = getattr(model, "source", None)
    meta = {
        "format": EXPORT_FORMAT,
        "deepswap_version": deepswap.__version__,
        "source": {"path": source, "sha256": sha256(Path(source))} if source else None,
        "identity_encoder": getattr(model, "identity_spec", None),
        "config": model.config,
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out_dir


def _read_meta(folder: Path) -> dict:
    how = f"make one with `python -m deepswap.export CHECKPOINT --format safetensors --out {folder}`"
    missing = [name for name in (META_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder} is not a deepswap export: {' and '.join(missing)} missing; {how}")
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{folder / META_FILE} is not valid JSON ({e}); {how}") from None
    if (
        not isinstance(meta, dict)
        or not isinstance(meta.get("config"), dict)
        or not isinstance(meta.get("format"), int)
    ):
        raise CheckpointError(f"{folder / META_FILE} lacks 'format' or 'config'; {how}")
    if meta["format"] > EXPORT_FORMAT:
        raise CheckpointError(
            f"{folder} has export format {meta['format']}, newer than this deepswap understands "
            f"({EXPORT_FORMAT}); upgrade deepswap"
        )
    return meta


def load_exported(path: str | Path, device: str | torch.device = "cpu") -> SwapModel:
    """Rebuild a :class:`SwapModel` from a :func:`export_safetensors` folder (or a file inside it).

    Raises CheckpointError when the folder is not an export, is from a newer deepswap, or its weights do
    not fit the networks its config describes.
    """
    from safetensors.torch import load_file

    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"export {folder} does not exist")
    folder = folder if folder.is_dir() else folder.parent
    meta = _read_meta(folder)
    try:
        tensors = load_file(folder / WEIGHTS_FILE, device="cpu")
    except Exception as e:  # noqa: BLE001 - safetensors raises its own error types for damaged files
        raise CheckpointError(f"{folder / WEIGHTS_FILE} is not a readable safetensors file ({e})") from None
    generator = instantiate(OmegaConf.create(meta["config"]["generator"]))
    encoder = _identity_arch(meta)
    for prefix, net in zip(PREFIXES, (generator, encoder)):
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(
                f"{folder / WEIGHTS_FILE}: the {prefix[:-1]} weights do not fit the network in "
                f"{META_FILE} ({str(e).splitlines()[0][:200]}); re-export from the training checkpoint"
            ) from None
    return SwapModel(
        generator.eval().to(device),
        encoder.eval().to(device),
        meta["config"],
        meta.get("identity_encoder"),
        str((folder / WEIGHTS_FILE).resolve()),
    )


class InswapperGraph(nn.Module):
    """target (1, 3, S, S) RGB in [0, 1] + source (1, D) -> (1, 3, S, S) RGB in [0, 1].

    Maps the target to [-1, 1], runs the generator with the L2-normalised ``source`` as the identity
    vector and maps its image (already blended where the generator predicts a mask) back to [0, 1].
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, target: Tensor, source: Tensor) -> Tensor:
        image = self.generator(target * 2.0 - 1.0, F.normalize(source, dim=1)).image
        return (image.clamp(-1.0, 1.0) + 1.0) / 2.0


def export_generator_onnx(model: SwapModel, out_path: str | Path, size: int, opset: int = MIN_OPSET) -> Path:
    """Write the EMA generator as ONNX at ``size`` px, in inswapper's interface (module docstring).

    ``size`` must suit the generator (divisible by 2**n_down; AAD also needs >= 2**(n_down + 1)).
    insightface's ``model_zoo.get_model(path)`` routes by input shape: 128 px gives ``INSwapper``; other
    square sizes >= 112 divisible by 16 (e.g. 256) come back as ``ArcFaceONNX`` (wrong wrapper), any
    other size as None. Load those with ``insightface.model_zoo.inswapper.INSwapper(model_file=path)``:
    its ``get`` works when insightface can align to the size (a multiple of 112 or 128).
    Needs ``onnxscript`` (torch's ONNX exporter). Returns ``out_path``.
    """
    try:
        import onnx
        import onnxscript  # noqa: F401 - torch.onnx.export(dynamo=True) needs it
    except ImportError as e:
        raise ImportError(
            f"ONNX export needs onnx and onnxscript ({e}); `pip install onnx onnxscript`"
        ) from None
    if opset < MIN_OPSET:
        raise ValueError(
            f"opset must be >= {MIN_OPSET} (torch's exporter cannot write older ones), got {opset}"
        )
    generator = copy.deepcopy(model.generator).float().cpu().eval()
    dim = generator.id_dim
    generator.check_image(torch.zeros(1, 3, size, size))  # a clear error for sizes the generator refuses
    if size != model.image_size:
        log.warning(
            "exporting at %d px a generator trained at %d px: it runs, swaps may be worse",
            size,
            model.image_size,
        )
    example = (torch.rand(1, 3, size, size), F.normalize(torch.randn(1, dim), dim=1))
    program = torch.onnx.export(
        InswapperGraph(generator).eval(),
        example,
        dynamo=True,
        verbose=False,
        external_data=False,
        input_names=["target", "source"],
        output_names=["output"],
        opset_version=opset,
    )
    proto = program.model_proto
    proto.graph.initializer.append(onnx.numpy_helper.from_array(np.eye(dim, dtype=np.float32), EMAP_NAME))
    source = getattr(model, "source", None)
    props = {
        "deepswap_version": deepswap.__version__,
        "source": str(source),
        "emap": "identity: source = normalize(embedding) of the model's identity encoder",
    }
    onnx.helper.set_model_props(proto, props)
    onnx.checker.check_model(proto)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, out_path)
    return out_path


def export_inswapper_onnx(
    model: SwapModel, out_path: str | Path, size: int = 128, opset: int = MIN_OPSET
) -> Path:
    """:func:`export_generator_onnx` for insightface: ``size`` a multiple of 112 or 128 (the sizes its
    ``norm_crop2`` aligns to) and a 512-d identity. Only 128 is picked up by ``get_model``; see
    :func:`export_generator_onnx` for loading other sizes. Returns ``out_path``."""
    if size % 112 and size % 128:
        raise ValueError(
            f"insightface aligns crops only at multiples of 112 or 128 px, got size={size}; "
            "use 128 (or 256), or export_generator_onnx for a plain graph"
        )
    if model.generator.id_dim != 512:
        raise ValueError(
            f"inswapper's source is (1, 512); this generator has id_dim={model.generator.id_dim}"
        )
    return export_generator_onnx(model, out_path, size, opset)


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
        model = load_exported(args.model) if Path(args.model).is_dir() else load_for_export(args.model)
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
