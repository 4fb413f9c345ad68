"""Exporters of a :class:`~deepswap.inference.model.SwapModel`: safetensors (rebuilt from its config by
:func:`deepswap.inference.loader.load_exported`) and ONNX in insightface's ``inswapper_128`` interface.

ONNX graphs: inputs ``target`` (1, 3, S, S) float32 RGB in [0, 1] (insightface's aligned crop) and
``source`` (1, 512) float32, output (1, 3, S, S) RGB in [0, 1], and a (512, 512) ``emap`` as the graph's
last initializer. insightface feeds ``source = normalize(normalize(arcface_embedding) @ emap)``;
deepswap's ``emap`` is the identity matrix, right when the model's identity encoder is the ArcFace
recogniser insightface runs; for any other encoder set ``source_face.embedding`` to
``SwapModel.embed(source_crop)`` (float32).
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import deepswap
from deepswap.inference.format import EXPORT_FORMAT, META_FILE, PREFIXES, WEIGHTS_FILE
from deepswap.inference.model import SwapModel
from deepswap.utils.runinfo import sha256

log = logging.getLogger(__name__)
EMAP_NAME = "emap"
MIN_OPSET = 18  # torch's exporter writes opset 18 natively; ONNX Runtime reads it from 1.14 on


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


__all__ = [
    "export_safetensors",
    "export_generator_onnx",
    "export_inswapper_onnx",
    "InswapperGraph",
    "EMAP_NAME",
    "MIN_OPSET",
]
