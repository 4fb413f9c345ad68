"""ONNX recognisers as torch modules: parity with torch, onnxruntime and insightface; gradients; errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import onnx
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from onnx import TensorProto, helper, numpy_helper

from deepswap.models.identity.iresnet import IResNet, iresnet18
from deepswap.models.onnx_recognizer import OnnxConversionError, OnnxRecognizer, convert_onnx, load_recognizer


def _iresnet18_with_nontrivial_statistics() -> IResNet:
    """A random IResNet-18 whose BatchNorms and PReLUs are far from their defaults (so both are tested)."""
    torch.manual_seed(0)
    model = iresnet18().eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2 / fan_in) ** 0.5)
            elif isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                if m.weight.requires_grad:  # the embedding BatchNorm1d keeps its frozen weight of 1
                    m.weight.copy_(torch.rand(c, generator=g) + 0.5)
            elif isinstance(m, torch.nn.PReLU):
                m.weight.copy_(torch.rand(m.num_parameters, generator=g) * 0.5)
    return model


def _export(model, path, dynamo: bool, opset: int) -> str:
    kw = {"input_names": ["input.1"], "output_names": ["embedding"], "opset_version": opset}
    if dynamo:  # torch.export-based exporter (onnxscript), opset >= 18
        kw |= {"dynamic_shapes": ({0: torch.export.Dim("batch")},), "external_data": False}
    else:  # the TorchScript exporter, insightface's own models' opset range (11-13)
        kw["dynamic_axes"] = {"input.1": {0: "batch"}, "embedding": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(2, 3, 112, 112),), str(path), dynamo=dynamo, **kw)
    return str(path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The torch model and its exports: {"torch": model, "legacy_opset11": path, "dynamo_opset18": path}."""
    folder = tmp_path_factory.mktemp("onnx")
    model = _iresnet18_with_nontrivial_statistics()
    return {
        "torch": model,
        "legacy_opset11": _export(model, folder / "r18_opset11.onnx", dynamo=False, opset=11),
        "dynamo_opset18": _export(model, folder / "r18_opset18.onnx", dynamo=True, opset=18),
    }


def _bgr_images(n: int, side: int = 112) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, side)[None, :, None]
    return [
        np.clip(rng.normal(128, 50, (side, side, 3)) * 0.5 + ramp * 0.5, 0, 255).astype(np.uint8)
        for _ in range(n)
    ]


def _as_input(bgr_images: list[np.ndarray]) -> torch.Tensor:
    """BGR uint8 crops -> (B, 3, H, W) RGB in [-1, 1] (= insightface's (rgb - 127.5) / 127.5)."""
    rgb = np.stack([im[..., ::-1] for im in bgr_images]).astype(np.float32)
    return torch.from_numpy(rgb).permute(0, 3, 1, 2) / 127.5 - 1.0


def _rel_err(a, b) -> float:
    a, b = torch.as_tensor(np.asarray(a)), torch.as_tensor(np.asarray(b))
    return float((a - b).abs().max() / b.norm(dim=1).max())


@pytest.mark.parametrize("export", ["legacy_opset11", "dynamo_opset18"])
def test_converted_export_matches_torch_and_insightface(exported, export):
    from insightface.model_zoo import get_model

    images = _bgr_images(3)
    x = _as_input(images)
    converted = convert_onnx(exported[export])
    with torch.no_grad():
        ours, reference = converted(x), exported["torch"](x)
    wrapper = get_model(exported[export], providers=["CPUExecutionProvider"])
    assert type(wrapper).__name__ == "ArcFaceONNX"
    assert (converted.input_size, converted.embedding_size) == (112, 512) and ours.shape == (3, 512)
    assert _rel_err(ours, reference) < 1e-3
    assert _rel_err(ours, wrapper.get_feat(images)) < 1e-3
    assert not torch.allclose(ours[0], ours[1])  # the check would catch a constant output


def test_gradients_reach_the_input_and_other_sizes_are_resized(exported):
    converted = convert_onnx(exported["legacy_opset11"])
    x = _as_input(_bgr_images(2, side=128)).requires_grad_(True)
    y = converted(x)
    assert y.shape == (2, 512)
    torch.nn.functional.cosine_similarity(y[:1], y[1:]).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        converted(torch.zeros(1, 1, 112, 112))


def test_build_spec_rebuilds_the_module_without_the_onnx_file(exported, tmp_path):
    """What a swap checkpoint stores (build_spec + state dict) restores the encoder, also via JSON and
    the checkpoint loader's helper."""
    from deepswap.inference.model import identity_arch

    converted = convert_onnx(exported["legacy_opset11"])
    blob = tmp_path / "ckpt.pt"
    torch.save({"spec": converted.build_spec, "state": converted.state_dict()}, blob)
    saved = torch.load(blob, weights_only=True)
    spec = json.loads(json.dumps(saved["spec"]))
    rebuilt = identity_arch({"identity_encoder": spec, "config": {}})
    assert isinstance(rebuilt, OnnxRecognizer)
    rebuilt.load_state_dict(saved["state"])
    x = _as_input(_bgr_images(2))
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), converted(x))
    assert any(p.requires_grad for p in converted.parameters())  # initializers are parameters
    assert any("running_var" in k for k, _ in converted.named_buffers())  # BatchNorm statistics: buffers
    assert not any("running" in k for k, _ in converted.named_parameters())


def _small_graph(opset: int) -> onnx.ModelProto:
    """mxnet-style recogniser: Sub/Mul on raw pixels first, then the ops insightface exports rarely use."""
    rng = np.random.default_rng(0)
    init = lambda name, a: numpy_helper.from_array(np.asarray(a), name)  # noqa: E731
    const = lambda name, a: helper.make_node("Constant", [], [name], name=f"c_{name}", value=init(name, a))  # noqa: E731
    f32 = lambda *s: rng.normal(0, 0.5, s).astype(np.float32)  # noqa: E731
    axes_as_input = opset >= 13
    nodes = [
        const("mean", np.float32([127.5])),
        helper.make_node("Sub", ["data", "mean"], ["x0"], name="Sub_0"),
        const("scale", np.float32([1 / 128])),
        helper.make_node("Mul", ["x0", "scale"], ["x1"], name="Mul_1"),
        helper.make_node("Transpose", ["x1"], ["x2"], name="tr", perm=[0, 1, 3, 2]),
        helper.make_node("Pad", ["x2", "pads"], ["x3"], name="pad", mode="constant"),
        helper.make_node("Conv", ["x3", "w", "b"], ["x4"], name="conv", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["x4"], ["x5"], name="relu"),
        helper.make_node("BatchNormalization", ["x5", "s", "bb", "m", "v"], ["x6"], name="bn", epsilon=1e-3),
        helper.make_node("Div", ["x6", "two"], ["x7"], name="div"),
        helper.make_node("PRelu", ["x7", "slope"], ["x8"], name="prelu"),
        helper.make_node("GlobalAveragePool", ["x8"], ["x9"], name="gap"),
        helper.make_node("Shape", ["x9"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather", axis=0),
        helper.make_node(
            "Unsqueeze",
            ["n", "axes"] if axes_as_input else ["n"],
            ["n1"],
            name="unsq",
            **({} if axes_as_input else {"axes": [0]}),
        ),
        const("minus_one", np.int64([-1])),
        helper.make_node("Concat", ["n1", "minus_one"], ["target_shape"], name="concat", axis=0),
        helper.make_node("Reshape", ["x9", "target_shape"], ["x10"], name="reshape"),
        helper.make_node("MatMul", ["x10", "fc"], ["x11"], name="matmul"),
        helper.make_node("Add", ["x11", "fc_b"], ["x12"], name="add"),
        helper.make_node("Identity", ["x12"], ["embedding"], name="out"),
    ]
    initializers = [
        init("pads", np.int64([0, 0, 1, 2, 0, 0, 2, 1])),
        init("w", f32(8, 3, 3, 3)),
        init("b", f32(8)),
        init("s", f32(8) + 1),
        init("bb", f32(8)),
        init("m", f32(8)),
        init("v", np.abs(f32(8)) + 0.5),
        init("two", np.float32(2.0)),
        init("slope", np.abs(f32(8, 1, 1))),
        init("zero", np.int64(0)),
        init("fc", f32(8, 16)),
        init("fc_b", f32(16)),
    ] + ([init("axes", np.int64([0]))] if axes_as_input else [])
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 16])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("opset", [11, 13])
def test_hand_built_graph_with_internal_normalisation_matches_onnxruntime(opset, tmp_path):
    import onnxruntime
    from insightface.model_zoo import get_model

    path = str(tmp_path / "small.onnx")
    onnx.save(_small_graph(opset), path)
    images = _bgr_images(2)
    x = _as_input(images)
    converted = convert_onnx(path)
    assert (converted.input_mean, converted.input_std) == (0.0, 1.0)  # the graph takes raw pixels
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    pixels = ((x + 1) * 127.5).numpy()
    expected = session.run(None, {"data": pixels})[0]
    with torch.no_grad():
        ours = converted(x)
    assert ours.shape == (2, 16) and _rel_err(ours, expected) < 1e-4
    assert _rel_err(ours, get_model(path, providers=["CPUExecutionProvider"]).get_feat(images)) < 1e-4


def _save(tmp_path, nodes, in_shape, out_shape, name="m.onnx") -> str:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, out_shape)],
    )
    path = str(tmp_path / name)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_unsupported_op_names_the_op_and_the_node(tmp_path):
    nodes = [
        helper.make_node("GlobalAveragePool", ["data"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Erf", ["f"], ["out"], name="my_erf_node"),
    ]
    with pytest.raises(OnnxConversionError, match=r"unsupported ONNX op Erf at node 'my_erf_node'"):
        convert_onnx(_save(tmp_path, nodes, ["N", 3, 112, 112], ["N", 3]))


def test_non_recognition_graphs_are_refused(tmp_path):
    relu = [helper.make_node("Relu", ["data"], ["out"], name="relu")]
    with pytest.raises(ValueError, match=r"not a face recognition model.*\(B, D\) output"):
        convert_onnx(_save(tmp_path, relu, ["N", 3, 112, 112], ["N", 3, 112, 112], "image_to_image.onnx"))
    with pytest.raises(ValueError, match=r"not a face recognition model.*S >= 112"):
        convert_onnx(_save(tmp_path, relu, ["N", 3, 64, 64], ["N", 3], "small_input.onnx"))


def test_load_recognizer_dispatches_on_the_suffix_and_names_missing_files(exported, tmp_path):
    with pytest.raises(FileNotFoundError, match="DEEPSWAP_RECOGNIZER_ONNX"):
        load_recognizer(None)
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_recognizer(tmp_path / "w600k_r50.onnx")
    assert isinstance(load_recognizer(exported["legacy_opset11"]), OnnxRecognizer)
    pth = tmp_path / "backbone.pth"
    torch.save(exported["torch"].state_dict(), pth)
    backbone = load_recognizer(pth, depth=18)
    assert isinstance(backbone, IResNet) and backbone.build_spec["_target_"].endswith("iresnet18")


def test_identity_config_instantiates_the_converter(exported, cfg_factory):
    cfg = cfg_factory(["identity=onnx", f"identity.path={exported['legacy_opset11']}"], debug=None)
    encoder = instantiate(cfg.identity)
    assert isinstance(encoder, OnnxRecognizer)
    assert OmegaConf.to_container(cfg.identity)["_target_"].endswith("load_recognizer")
