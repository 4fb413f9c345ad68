"""Exports: safetensors round trip, ONNX parity with PyTorch, insightface's inswapper loads and runs it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from deepswap.errors import CheckpointError
from deepswap.inference.exporters import (
    EMAP_NAME,
    export_generator_onnx,
    export_inswapper_onnx,
    export_safetensors,
)
from deepswap.inference.format import CHECKPOINT_FORMAT
from deepswap.inference.loader import load_checkpoint as load_for_export
from deepswap.inference.loader import load_exported

GENERATOR = {
    "_target_": "deepswap.models.generators.deepswap_lite.DeepSwapLiteGenerator",
    "base_channels": 8,
    "max_channels": 16,
    "n_blocks": 1,
    "w_dim": 32,
}
# the synthetic default's encoder; its 17 -> 512 lift is a buffer rebuilt from the spec, not saved
ENCODER = {
    "_target_": "deepswap.models.identity.oracle.FactorOracle",
    "num_identity": 17,
    "embedding_size": 512,
    "width": 8,
    "input_size": 32,
}


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    """A checkpoint in the training layout with a small DeepSwap-Lite whose swap visibly changes the face:
    its head brightens the RGB (bias 0.8 in tanh space) and opens the mask (sigmoid(2) = 0.88)."""
    torch.manual_seed(0)
    generator, encoder = instantiate(GENERATOR), instantiate(ENCODER)
    with torch.no_grad():
        generator.head.bias.copy_(torch.tensor([0.8, 0.8, 0.8, 2.0]))
    state = {f"ema.shadow.{k}": v for k, v in generator.state_dict().items()}
    state |= {f"identity_encoder.{k}": v for k, v in encoder.state_dict().items()}
    meta = {"format": CHECKPOINT_FORMAT, "config": {"generator": GENERATOR, "data": {"size": 32}}}
    path = tmp_path_factory.mktemp("tiny_ckpt") / "last.ckpt"
    torch.save({"state_dict": state, "deepswap": meta | {"identity_encoder": ENCODER}}, path)
    return path


@pytest.fixture(scope="module")
def onnx_export(tiny_ckpt, tmp_path_factory):
    """size -> (model, path of its inswapper ONNX export), exported once per size."""
    model, out, paths = load_for_export(tiny_ckpt), tmp_path_factory.mktemp("onnx"), {}

    def get(size: int):
        if size not in paths:
            paths[size] = export_inswapper_onnx(model, out / f"swap_{size}.onnx", size=size)
        return model, paths[size]

    return get


def _synthetic_scene(size: int = 256):
    """A BGR uint8 target image, its 5 landmarks (x, y) and a source face (3, 32, 32) in [-1, 1]."""
    from deepswap.data.synthetic import SyntheticFaceWorld

    world = SyntheticFaceWorld(num_train_identities=10, num_heldout_identities=5, seed=0)
    target, source = world.sample("train", 0, size), world.sample("train", 7, 32)
    bgr = (target["image"].permute(1, 2, 0).numpy()[:, :, ::-1] * 255).round().astype(np.uint8)
    return np.ascontiguousarray(bgr), target["landmarks"].numpy(), source["image"] * 2 - 1


def _faces(model, landmarks: np.ndarray, source: torch.Tensor):
    from insightface.app.common import Face

    lo, hi = landmarks.min(0), landmarks.max(0)
    target_face = Face(bbox=np.r_[lo - 20, hi + 20].astype(np.float32), kps=landmarks, det_score=0.99)
    source_face = Face(embedding=model.embed(source[None])[0].numpy().astype(np.float32))
    return target_face, source_face


def test_safetensors_round_trip_gives_identical_swaps(tiny_ckpt, tmp_path):
    model = load_for_export(tiny_ckpt)
    out = export_safetensors(model, tmp_path / "export")
    meta = json.loads((out / "deepswap.json").read_text())
    assert meta["source"]["sha256"] == hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()
    assert meta["identity_encoder"] == ENCODER and meta["config"] == model.config
    reloaded = load_exported(out)
    image, _, source = _synthetic_scene(32)
    target = torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1)[None] / 127.5 - 1
    expected = model.swap(target, source[None])
    assert (reloaded.swap(target, source[None]) - expected).abs().max() < 1e-6
    assert (expected - target).abs().mean() > 0.1  # the comparison is not between two copies of the target
    assert torch.equal(reloaded.embed(source[None]), model.embed(source[None]))


def test_folders_that_are_not_exports_are_refused(tiny_ckpt, tmp_path):
    with pytest.raises(CheckpointError, match=r"deepswap\.json and model\.safetensors missing.*--format"):
        load_exported(tmp_path)
    out = export_safetensors(load_for_export(tiny_ckpt), tmp_path / "export")
    meta = json.loads((out / "deepswap.json").read_text())
    (out / "deepswap.json").write_text(json.dumps(meta | {"format": 999}))
    with pytest.raises(CheckpointError, match="newer than this deepswap"):
        load_exported(out)
    (out / "deepswap.json").write_text(json.dumps(meta | {"config": meta["config"] | {"generator": ENCODER}}))
    with pytest.raises(CheckpointError, match="generator weights do not fit"):
        load_exported(out / "model.safetensors")


@pytest.mark.parametrize("size", [128, 256])
def test_onnx_matches_pytorch_and_follows_the_inswapper_interface(onnx_export, size):
    model, path = onnx_export(size)
    graph = onnx.load(path).graph
    emap = onnx.numpy_helper.to_array(graph.initializer[-1])
    assert graph.initializer[-1].name == EMAP_NAME and np.array_equal(emap, np.eye(512, dtype=np.float32))
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert shapes == {"target": [1, 3, size, size], "source": [1, 512]}
    torch.manual_seed(size)
    target, source = torch.rand(1, 3, size, size), F.normalize(torch.randn(1, 512), dim=1)
    options = ort.SessionOptions()
    options.log_severity_level = (
        3  # onnxruntime warns that emap is unused: insightface reads it, not the graph
    )
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(None, {"target": target.numpy(), "source": source.numpy()})[0]
    with torch.no_grad():
        want = (model.generator(target * 2 - 1, source).image.clamp(-1, 1) + 1) / 2
    assert got.shape == (1, 3, size, size)
    assert np.abs(got - want.numpy()).max() < 1e-3


def test_insightface_swaps_with_the_128_export(onnx_export):
    import cv2
    from insightface.model_zoo import get_model
    from insightface.model_zoo.inswapper import INSwapper

    model, path = onnx_export(128)
    swapper = get_model(str(path), providers=["CPUExecutionProvider"])
    assert isinstance(swapper, INSwapper) and swapper.input_size == (128, 128)
    image, landmarks, source = _synthetic_scene()
    # world v2 frames the face so large that insightface's 128 px crop covers the whole 256 px scene
    # (so its paste-back replaces every pixel): put the scene on a wider canvas for the outside check
    pad = 128
    image = np.ascontiguousarray(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
    landmarks = landmarks + pad
    target_face, source_face = _faces(model, landmarks, source)
    swapped = swapper.get(image, target_face, source_face, paste_back=True)
    assert swapped.shape == image.shape and swapped.dtype == np.uint8
    nose_x, nose_y = landmarks[2].round().astype(int)
    face = (slice(nose_y - 8, nose_y + 8), slice(nose_x - 8, nose_x + 8))
    assert np.abs(swapped[face].astype(float) - image[face]).mean() > 20  # brightened by the swap
    # outside the pasted crop (its footprint in the image, grown 2 px): untouched up to insightface's
    # own float round trip
    _, matrix = swapper.get(image, target_face, source_face, paste_back=False)
    inverse = cv2.invertAffineTransform(matrix)
    footprint = cv2.warpAffine(np.ones((128, 128), np.uint8), inverse, image.shape[1::-1])
    outside = cv2.dilate(footprint, np.ones((5, 5), np.uint8)) == 0
    assert outside.mean() > 0.2
    assert np.abs(swapped[outside].astype(float) - image[outside]).max() <= 1


def test_insightface_misroutes_256_but_inswapper_loads_it_directly(onnx_export):
    from insightface.model_zoo import get_model
    from insightface.model_zoo.arcface_onnx import ArcFaceONNX
    from insightface.model_zoo.inswapper import INSwapper

    model, path = onnx_export(256)
    assert isinstance(get_model(str(path), providers=["CPUExecutionProvider"]), ArcFaceONNX)
    swapper = INSwapper(model_file=str(path))
    image, landmarks, source = _synthetic_scene()
    swapped = swapper.get(image, *_faces(model, landmarks, source), paste_back=True)
    assert swapped.shape == image.shape and not np.array_equal(swapped, image)


def test_sizes_insightface_or_the_generator_cannot_use_are_refused(tiny_ckpt, tmp_path):
    model = load_for_export(tiny_ckpt)
    with pytest.raises(ValueError, match="multiples of 112 or 128"):
        export_inswapper_onnx(model, tmp_path / "x.onnx", size=96)
    with pytest.raises(ValueError, match="divisible by 8"):
        export_generator_onnx(model, tmp_path / "x.onnx", size=60)
    with pytest.raises(ValueError, match="opset must be >= 18"):
        export_generator_onnx(model, tmp_path / "x.onnx", size=64, opset=17)


def test_cli_writes_an_inswapper_graph(tiny_ckpt, tmp_path, capsys):
    """The command line's ``main`` in this process (``tests/test_bad_inputs.py`` runs
    ``python -m deepswap.export`` as a real process)."""
    from deepswap.export import main

    out = tmp_path / "swap.onnx"
    main([str(tiny_ckpt), "--format", "inswapper", "--out", str(out)])
    assert f"wrote {out}" in capsys.readouterr().out
    graph = onnx.load(out).graph
    assert graph.initializer[-1].name == EMAP_NAME and graph.input[0].name == "target"
