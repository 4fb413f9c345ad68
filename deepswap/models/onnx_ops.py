"""Torch implementations of the ONNX ops a face-recogniser export uses (inference semantics).

Each entry of :data:`OPS` maps an ONNX op type to ``fn(inputs, attrs) -> Tensor | tuple[Tensor, ...]``:
``inputs`` is the node's input tensors in ONNX order (None where an optional input is omitted), ``attrs``
its attributes as plain Python. Covered: what insightface's IResNet / MobileFaceNet exports contain
(Conv, BatchNormalization, PRelu, Add, Flatten, Gemm, MatMul, Reshape; Sub/Mul/Div input normalisation),
plus Identity, Dropout, Relu, Transpose, Pad, GlobalAveragePool, Cast, and the shape idiom
Shape/Gather/Unsqueeze/Squeeze/Concat. Everything is differentiable where ONNX is.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from deepswap.errors import DeepswapError

# ONNX TensorProto data types -> torch (Cast)
DTYPES = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 6: torch.int32, 7: torch.int64}
DTYPES |= {9: torch.bool, 10: torch.float16, 11: torch.float64, 16: torch.bfloat16}
CONV = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}


class OnnxConversionError(DeepswapError, ValueError):
    """The ONNX graph cannot be converted (not a recogniser, or an op/attribute the converter lacks)."""


def _ints(t: Tensor | None) -> list[int] | None:
    return None if t is None else [int(v) for v in t.reshape(-1).tolist()]


def _torch_pads(onnx_pads: list[int]) -> list[int]:
    """ONNX [x1_begin, x2_begin, ..., x1_end, x2_end] -> F.pad's (last dim first), trailing zeros cut."""
    n = len(onnx_pads) // 2
    pads = [p for d in reversed(range(n)) for p in (onnx_pads[d], onnx_pads[n + d])]
    while len(pads) > 2 and pads[-2:] == [0, 0]:
        pads = pads[:-2]
    return pads


def _same_pads(x: Tensor, kernel: list[int], strides: list[int], dilations: list[int], mode: str) -> list:
    begins, ends = [], []
    for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins + ends


def conv(inputs, attrs):
    x, w, b = (inputs + [None])[:3]
    n = w.dim() - 2
    strides, dilations = attrs.get("strides", [1] * n), attrs.get("dilations", [1] * n)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_pads(x, list(w.shape[2:]), strides, dilations, auto_pad)
    else:
        pads = [0] * (2 * n) if auto_pad == "VALID" else attrs.get("pads", [0] * (2 * n))
    padding = pads[:n]
    if pads[:n] != pads[n:]:
        x, padding = F.pad(x, _torch_pads([0, 0] + pads[:n] + [0, 0] + pads[n:])), 0
    return CONV[w.dim()](x, w, b, strides, padding, dilations, attrs.get("group", 1))


def batch_norm(inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    if attrs.get("training_mode", 0):
        raise ValueError("BatchNormalization with training_mode=1 is not supported (export in eval mode)")
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, attrs.get("epsilon", 1e-5))


def gemm(inputs, attrs):
    a, b, c = (inputs + [None])[:3]
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    a = a.t() if attrs.get("transA", 0) else a
    if attrs.get("transB", 0) and alpha == 1.0 and beta == 1.0 and (c is None or c.dim() == 1):
        return F.linear(a, b, c)
    y = a @ (b.t() if attrs.get("transB", 0) else b)
    y = y if alpha == 1.0 else alpha * y
    return y if c is None else y + (c if beta == 1.0 else beta * c)


def flatten(inputs, attrs):
    x, axis = inputs[0], attrs.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), -1)


def reshape(inputs, attrs):
    x, shape = inputs[0], _ints(inputs[1])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def pad(inputs, attrs):
    x = inputs[0]
    pads = _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else attrs["pads"]
    value = inputs[2] if len(inputs) > 2 and inputs[2] is not None else attrs.get("value", 0.0)
    axes = _ints(inputs[3]) if len(inputs) > 3 else None
    if axes is not None:  # opset 18: pads only for these axes
        full, n = [0] * (2 * x.dim()), len(axes)
        for i, a in enumerate(axes):
            full[a % x.dim()], full[a % x.dim() + x.dim()] = pads[i], pads[n + i]
        pads = full
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[attrs.get("mode", "constant")]
    value = float(value) if mode == "constant" else None
    return F.pad(x, _torch_pads(pads), mode=mode, value=value)


def _axes(inputs, attrs) -> list[int] | None:
    return _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else attrs.get("axes")


def unsqueeze(inputs, attrs):
    x, axes = inputs[0], _axes(inputs, attrs)
    rank = x.dim() + len(axes)
    for a in sorted(a % rank for a in axes):
        x = x.unsqueeze(a)
    return x


def squeeze(inputs, attrs):
    x, axes = inputs[0], _axes(inputs, attrs)
    if axes is None:
        return x.squeeze()
    return x.squeeze(tuple(a % x.dim() for a in axes))


def gather(inputs, attrs):
    x, index = inputs[0], inputs[1].long()
    axis = attrs.get("axis", 0) % x.dim()
    index = torch.where(index < 0, index + x.shape[axis], index)
    out = x.index_select(axis, index.reshape(-1))
    return out.reshape(x.shape[:axis] + index.shape + x.shape[axis + 1 :])


def shape(inputs, attrs):
    x = inputs[0]
    dims = list(x.shape)[attrs.get("start", 0) : attrs.get("end", x.dim())]
    return torch.tensor(dims, dtype=torch.int64, device=x.device)


def divide(inputs, attrs):
    a, b = inputs[:2]
    if not a.is_floating_point() and not b.is_floating_point():
        return torch.div(a, b, rounding_mode="trunc")
    return a / b


def dropout(inputs, attrs):
    return inputs[0], torch.ones_like(inputs[0], dtype=torch.bool)


def concat(inputs, attrs):
    return torch.cat([t.to(inputs[0].device) for t in inputs], attrs["axis"])


def transpose(inputs, attrs):
    return inputs[0].permute(attrs.get("perm", list(reversed(range(inputs[0].dim())))))


OPS = {
    "Add": lambda i, a: i[0] + i[1],
    "BatchNormalization": batch_norm,
    "Cast": lambda i, a: i[0].to(DTYPES[a["to"]]),
    "Concat": concat,
    "Conv": conv,
    "Div": divide,
    "Dropout": dropout,
    "Flatten": flatten,
    "Gather": gather,
    "Gemm": gemm,
    "GlobalAveragePool": lambda i, a: i[0].mean(dim=tuple(range(2, i[0].dim())), keepdim=True),
    "Identity": lambda i, a: i[0],
    "MatMul": lambda i, a: torch.matmul(i[0], i[1]),
    "Mul": lambda i, a: i[0] * i[1],
    "Pad": pad,
    "PRelu": lambda i, a: torch.where(i[0] >= 0, i[0], i[0] * i[1]),
    "Relu": lambda i, a: F.relu(i[0]),
    "Reshape": reshape,
    "Shape": shape,
    "Squeeze": squeeze,
    "Sub": lambda i, a: i[0] - i[1],
    "Transpose": transpose,
    "Unsqueeze": unsqueeze,
}
