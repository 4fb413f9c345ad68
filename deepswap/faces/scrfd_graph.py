"""Make a fixed-size SCRFD graph resizable, so it can detect at a reduced input size.

Some SCRFD exports (the 2.5G model in the ``scrfd`` package, many community exports) declare a fixed
640 x 640 input. insightface then ignores ``det_size`` for them and detects at 640 whatever the user
asks. SCRFD itself is fully convolutional: the fixed size lives only in the declared input and output
shapes and in the two nearest-neighbour ``Resize`` nodes of its feature pyramid, which name absolute
output sizes (``sizes=[1, 24, 40, 40]``) where the network means "twice the input" (the reshapes to
``(1, -1, k)`` already use -1). :func:`resizable_scrfd` rewrites those ``Resize`` nodes to the same
ratios as ``scales``, frees the spatial dimensions, checks that the new graph gives the original's
outputs at the original size, and caches the result outside the user's pack
(``$DEEPSWAP_CACHE`` or ``~/.cache/deepswap``, ``detectors/<sha256 of the original>-resizable.onnx``).

Detection cost falls with the input area. On 2 CPU cores the fixtures' SCRFD-2.5G takes about 60 ms
at 640, 33 ms at 480 and 15-24 ms at 320; small faces are lost first (SCRFD's smallest anchors are
16 px at the input scale).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from deepswap.errors import DeepswapError


class GraphRewriteError(DeepswapError, ValueError):
    """The detector graph cannot be made resizable (the message says why)."""


def cache_dir() -> Path:
    return Path(os.environ.get("DEEPSWAP_CACHE", "~/.cache/deepswap")).expanduser() / "detectors"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fixed_input_size(path: str | Path) -> tuple[int, int] | None:
    """``(width, height)`` of a graph's declared fixed input, or ``None`` when it is dynamic."""
    import onnx

    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4 or not all(d.HasField("dim_value") and d.dim_value > 0 for d in dims[2:]):
        return None
    return int(dims[3].dim_value), int(dims[2].dim_value)


def rewrite(model):
    """An ``onnx.ModelProto`` of a fixed-size SCRFD -> the same network with free spatial sizes.

    Raises :class:`GraphRewriteError` on a graph that is not shaped like SCRFD's."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.ModelProto.FromString(model.SerializeToString())  # never edit the caller's copy
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise GraphRewriteError(f"expected an NCHW image input, got rank {len(dims)}")
    inferred = shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)
    }
    initializers = {t.name: t for t in graph.initializer}
    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
    for node in graph.node:
        if node.op_type != "Resize":
            continue
        if len(node.input) < 4 or not node.input[3]:
            continue  # already ratio-based
        sizes = initializers.get(node.input[3])
        if sizes is None and node.input[3] in constants:
            sizes = constants[node.input[3]].attribute[0].t
        source = shapes.get(node.input[0])
        if sizes is None or not source or 0 in source:
            raise GraphRewriteError(f"Resize {node.name!r}: cannot read its sizes or its input shape")
        ratio = numpy_helper.to_array(sizes).astype(np.float32) / np.asarray(source, np.float32)
        if not np.allclose(ratio, np.round(ratio)) or ratio[0] != 1 or ratio[1] != 1:
            raise GraphRewriteError(f"Resize {node.name!r} is not a whole-number spatial upsampling")
        name = f"{node.output[0]}__deepswap_scales"
        graph.initializer.append(numpy_helper.from_array(np.round(ratio).astype(np.float32), name))
        node.input[2] = name
        del node.input[3]
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in graph.output:  # (1, anchors, k) or (anchors, k): the anchor count follows the input
        out = output.type.tensor_type.shape.dim
        if len(out) >= 2:
            out[len(out) - 2].dim_param = f"{output.name}_anchors"
    used = {name for n in graph.node for name in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def resizable_scrfd(path: str | Path, *, check: bool = True) -> Path:
    """The cached resizable copy of the SCRFD graph at ``path`` (written on first use).

    ``check``: run both graphs on one fixed random image at the original size and refuse the copy
    unless every output agrees (to 1e-3 of its range), then run the copy at half the size and refuse
    it unless each output's anchor count falls with the area (a reshape that pins a size fails here)."""
    import onnx
    import onnxruntime

    path = Path(path)
    out = cache_dir() / f"{_sha256(path)}-resizable.onnx"
    if out.is_file():
        return out
    size = fixed_input_size(path)
    if size is None:
        raise GraphRewriteError(f"{path.name} already takes any input size")
    original = onnx.load(str(path))
    model = rewrite(original)
    if check:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        before = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        after = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        name = before.get_inputs()[0].name
        image = np.random.default_rng(0).uniform(-1, 1, (1, 3, size[1], size[0])).astype(np.float32)
        for a, b in zip(before.run(None, {name: image}), after.run(None, {name: image})):
            if a.shape != b.shape or np.abs(a - b).max() > 1e-3 * max(1.0, float(np.ptp(a))):
                raise GraphRewriteError("the rewritten graph does not reproduce the original's outputs")
        half = (max(32, size[0] // 64 * 32), max(32, size[1] // 64 * 32))
        small = np.zeros((1, 3, half[1], half[0]), np.float32)
        ratio = half[0] * half[1] / (size[0] * size[1])
        for a, b in zip(before.run(None, {name: image}), after.run(None, {name: small})):
            if a.ndim < 2 or b.shape[-2] != round(a.shape[-2] * ratio) or a.shape[-1] != b.shape[-1]:
                raise GraphRewriteError(f"at {half[0]}x{half[1]} an output has shape {b.shape}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)  # atomic: parallel workers never read a half-written file
    return out
