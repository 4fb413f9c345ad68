"""insightface recognition ONNX files (e.g. ``w600k_r50.onnx``) as differentiable torch modules.

``(B, 3, H, W) float in [-1, 1] RGB -> (B, D) raw embedding``, like deepswap's other identity encoders,
so an insightface recogniser can drive the identity loss (gradients reach the input image)::

    encoder = load_recognizer("~/.insightface/models/buffalo_l/w600k_r50.onnx")   # or a backbone.pth

The converter walks the graph's nodes in topological order and maps each op to a torch function (the
table in :mod:`deepswap.models.onnx_ops`); initializers become parameters (buffers for BatchNorm
statistics and integer tensors), ``Constant`` nodes become buffers. BatchNormalization runs in
inference mode. Inputs are resized to the model's input size (bilinear, antialiased) and mapped to what
insightface's ``ArcFaceONNX`` feeds: RGB ``(pixel - 127.5) / 127.5``, which is the [-1, 1] input itself,
or raw pixels 0..255 for graphs that normalise inside (an mxnet export: ``Sub`` and ``Mul`` among the
first 8 nodes, insightface's own rule). The module's ``build_spec`` rebuilds it without the ONNX file
(``hydra.utils.instantiate(spec)`` then ``load_state_dict``), which is how checkpoints restore it.
"""

from __future__ import annotations

import heapq
import json
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import Tensor, nn

from deepswap.models.onnx_ops import OPS, OnnxConversionError

ARCFACE_MEAN = ARCFACE_STD = 127.5  # insightface ArcFaceONNX: blob = (rgb - 127.5) / 127.5
BN_STATISTICS = {("BatchNormalization", 3), ("BatchNormalization", 4)}  # (op, input slot): buffers


class OnnxRecognizer(nn.Module):
    """(B, 3, H, W) float in [-1, 1] RGB -> (B, D) raw (unnormalised) embedding of a converted ONNX graph.

    Args:
        program: the converted graph (what :func:`convert_onnx` builds; JSON-able): ``nodes`` (op,
            name, inputs, outputs, attrs), ``tensors`` (ONNX name -> [attribute key, shape, dtype,
            kind]), ``input`` / ``output`` names, ``input_size``, ``input_mean`` / ``input_std``,
            ``embedding_size``; or that dict as a JSON string (what ``build_spec`` holds: instantiating
            a big nested config is slow). Tensors start uninitialised: load a state dict (or use
            :func:`convert_onnx`).
    """

    def __init__(self, program: dict | str) -> None:
        super().__init__()
        if isinstance(program, str):
            program = json.loads(program)
        program = OmegaConf.to_container(program) if OmegaConf.is_config(program) else dict(program)
        self.program = program
        self.input_size = int(program["input_size"])
        self.embedding_size = int(program["embedding_size"])
        self.input_mean, self.input_std = float(program["input_mean"]), float(program["input_std"])
        for key, shape, dtype, kind in program["tensors"].values():
            value = torch.empty(shape, dtype=getattr(torch, dtype))
            if kind == "parameter":
                self.register_parameter(key, nn.Parameter(value))
            else:
                self.register_buffer(key, value)

    @property
    def build_spec(self) -> dict:
        """``{"_target_", "program"}``: ``instantiate`` it, then load the state dict (swap checkpoints do)."""
        return {"_target_": f"{__name__}.OnnxRecognizer", "program": json.dumps(self.program)}

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) in [-1, 1] RGB -> (B, embedding_size) raw embedding."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"OnnxRecognizer expects (B, 3, H, W) RGB in [-1, 1], got {tuple(x.shape)}")
        size = (self.input_size, self.input_size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        if (self.input_mean, self.input_std) != (ARCFACE_MEAN, ARCFACE_STD):
            x = ((x + 1.0) * 127.5 - self.input_mean) / self.input_std
        keys = self.program["tensors"]
        env: dict[str, Tensor] = {self.program["input"]: x}

        def value(name: str) -> Tensor | None:
            if not name:
                return None  # an omitted optional input
            return env[name] if name in env else getattr(self, keys[name][0])

        for node in self.program["nodes"]:
            out = OPS[node["op"]]([value(n) for n in node["inputs"]], node["attrs"])
            outs = out if isinstance(out, tuple) else (out,)
            env.update(zip(node["outputs"], outs))
        y = env[self.program["output"]]
        if y.dim() != 2 or y.shape[0] != x.shape[0]:
            raise ValueError(f"the graph returned {tuple(y.shape)}, expected (B, D) embeddings")
        return y


def convert_onnx(path: str | Path) -> OnnxRecognizer:
    """Convert an insightface recognition ONNX file into an :class:`OnnxRecognizer` (eval mode).

    Raises FileNotFoundError for a missing file, :class:`OnnxConversionError` (a ValueError) for a graph
    that is not a recogniser (one (B, 3, S, S) input with S >= 112 a multiple of 16, one (B, D) output)
    or that uses an op the converter lacks (the message names the op and the node).
    """
    import onnx

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ONNX recogniser not found at {str(path)!r}")
    model = onnx.load(str(path))
    graph = model.graph
    arrays = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    input_name, input_size = _check_io(graph, arrays, path)
    nodes, constants = [], set()
    for node in _topological(graph, set(arrays) | {input_name}):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        where = f"node {node.name or '(unnamed)'!r} (op {node.op_type})"
        if node.op_type == "Constant":
            arrays[node.output[0]] = _constant(attrs, where)
            constants.add(node.output[0])
            continue
        if node.domain not in ("", "ai.onnx") or node.op_type not in OPS:
            raise OnnxConversionError(
                f"{path.name}: unsupported ONNX op {node.domain + '.' if node.domain else ''}"
                f"{node.op_type} at {where}. Supported: {', '.join(sorted(OPS))}, Constant."
            )
        attrs = {k: _plain(v, where) for k, v in attrs.items()}
        inputs, outputs = list(node.input), list(node.output)
        nodes.append(
            {"op": node.op_type, "name": node.name, "inputs": inputs, "outputs": outputs, "attrs": attrs}
        )
    mean, std = (0.0, 1.0) if _normalises_inside(graph) else (ARCFACE_MEAN, ARCFACE_STD)
    tensors, values = _tensor_table(arrays, nodes, constants)
    program = {
        "nodes": nodes,
        "tensors": tensors,
        "input": input_name,
        "output": graph.output[0].name,
        "input_size": input_size,
        "input_mean": mean,
        "input_std": std,
        "embedding_size": 0,
        "source": path.name,
    }
    module = OnnxRecognizer(program)
    state = {key: torch.from_numpy(values[name]) for name, (key, *_) in tensors.items()}
    module.load_state_dict(state, assign=True)  # no copy; parameters stay parameters
    with torch.no_grad():
        try:
            y = module(torch.zeros(1, 3, input_size, input_size))
        except ValueError as e:
            raise OnnxConversionError(f"{path.name} is not a recognition model: {e}") from None
    module.embedding_size = program["embedding_size"] = int(y.shape[1])
    return module.eval()


def load_recognizer(path: str | Path | None, depth: int | str = 50) -> nn.Module:
    """A face recogniser from a file: ``.onnx`` -> :func:`convert_onnx`; ``.pth`` / ``.pt`` -> an
    arcface_torch IResNet of ``depth`` (:func:`~deepswap.models.identity.iresnet.load_arcface_backbone`).

    Both take ``(B, 3, H, W)`` RGB in [-1, 1] and return ``(B, D)`` raw embeddings; the module carries a
    ``build_spec`` so swap checkpoints rebuild it. Nothing is downloaded.
    """
    if path in (None, "", "???") or not Path(str(path)).expanduser().is_file():
        raise FileNotFoundError(
            f"face recogniser not found at {str(path)!r}. deepswap never downloads weights: supply an "
            "insightface recognition ONNX (e.g. w600k_r50.onnx from insightface's buffalo_l model pack, "
            "non-commercial licence) or an arcface_torch backbone.pth, via identity.path=... or the "
            "DEEPSWAP_RECOGNIZER_ONNX environment variable."
        )
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".onnx":
        return convert_onnx(path)
    if suffix in (".pth", ".pt"):
        from deepswap.models.identity.iresnet import load_arcface_backbone, parse_depth

        model = load_arcface_backbone(path, depth)
        model.build_spec = {"_target_": f"deepswap.models.identity.iresnet.iresnet{parse_depth(depth)}"}
        return model
    raise ValueError(f"{path}: expected an .onnx (insightface) or .pth (arcface_torch) recogniser")


def _check_io(graph, arrays: dict, path: Path) -> tuple[str, int]:
    def dims(value) -> list:
        shape = value.type.tensor_type.shape
        return [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in shape.dim]

    inputs = [v for v in graph.input if v.name not in arrays]
    shape = dims(inputs[0]) if len(inputs) == 1 else None
    ok = shape is not None and len(shape) == 4 and shape[1] == 3 and shape[2] == shape[3]
    if not ok or not isinstance(shape[2], int) or shape[2] < 112 or shape[2] % 16 or shape[2] == 192:
        found = ", ".join(f"{v.name} {dims(v)}" for v in inputs) or "none"
        raise OnnxConversionError(
            f"{path.name} is not a face recognition model: expected one input (B, 3, S, S) with a fixed "
            f"S >= 112, a multiple of 16 and not 192 (insightface's ArcFaceONNX routing), got {found}"
        )
    out = [dims(v) for v in graph.output]
    if len(out) != 1 or (out[0] and len(out[0]) != 2):
        raise OnnxConversionError(
            f"{path.name} is not a face recognition model: expected one (B, D) output, got {out}"
        )
    return inputs[0].name, int(shape[2])


def _topological(graph, known: set[str]) -> list:
    """The graph's nodes in a topological order (their own order when it is one: ONNX requires it)."""
    nodes, known = list(graph.node), set(known) | {""}
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    waits_for, users = [], [[] for _ in nodes]
    for i, n in enumerate(nodes):
        missing = [x for x in n.input if x not in known and x not in producer]
        if missing:
            raise OnnxConversionError(
                f"node {n.name!r} ({n.op_type}) reads {missing}, which nothing produces"
            )
        deps = {producer[x] for x in n.input if x in producer}
        waits_for.append(len(deps))
        for j in deps:
            users[j].append(i)
    ready, order = [i for i, w in enumerate(waits_for) if w == 0], []
    heapq.heapify(ready)
    while ready:
        i = heapq.heappop(ready)
        order.append(nodes[i])
        for u in users[i]:
            waits_for[u] -= 1
            if waits_for[u] == 0:
                heapq.heappush(ready, u)
    if len(order) < len(nodes):
        raise OnnxConversionError("the ONNX graph has a cycle")
    return order


def _normalises_inside(graph) -> bool:
    """insightface's rule: a Sub and a Mul among the first 8 nodes mean the graph takes raw pixels."""
    names = [n.name for n in graph.node[:8]]
    return any(n.startswith(("Sub", "_minus")) for n in names) and any(
        n.startswith(("Mul", "_mul")) for n in names
    )


def _constant(attrs: dict, where: str) -> np.ndarray:
    import onnx

    if "value" in attrs:
        return onnx.numpy_helper.to_array(attrs["value"])
    kinds = {
        "value_float": np.float32,
        "value_floats": np.float32,
        "value_int": np.int64,
        "value_ints": np.int64,
    }
    for key, dtype in kinds.items():
        if key in attrs:
            return np.asarray(attrs[key], dtype=dtype)
    raise OnnxConversionError(f"{where}: unsupported Constant attributes {sorted(attrs)}")


def _plain(value, where: str):
    """An ONNX attribute value as JSON-able Python (ints, floats, strings and lists of them)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, (int, float, str)):
        return value
    raise OnnxConversionError(f"{where}: unsupported attribute value of type {type(value).__name__}")


def _tensor_table(arrays: dict, nodes: list[dict], constants: set[str]) -> tuple[dict, dict]:
    """ONNX name -> [attribute key, shape, dtype, kind], and the arrays (float16/64 as float32).

    Float initializers become parameters; BatchNorm statistics, Constant outputs and integer tensors
    become buffers."""
    used = {name for n in nodes for name in n["inputs"]}
    stats = {
        n["inputs"][i] for n in nodes for op, i in BN_STATISTICS if n["op"] == op and len(n["inputs"]) > i
    }
    buffers = stats | constants
    tensors, values, taken = {}, {}, set()
    for name in sorted(used & set(arrays)):
        array = np.array(arrays[name], dtype=np.float32 if arrays[name].dtype.kind == "f" else None)
        key = "t_" + re.sub(r"\W", "_", name)
        while key in taken:
            key += "_"
        taken.add(key)
        kind = "parameter" if array.dtype.kind == "f" and name not in buffers else "buffer"
        tensors[name] = [key, list(array.shape), str(torch.from_numpy(array).dtype)[6:], kind]
        values[name] = array
    return tensors, values


__all__ = ["OnnxConversionError", "OnnxRecognizer", "convert_onnx", "load_recognizer"]
