"""Networks: generator contract, discriminator, IResNet key compatibility, ArcFace margin head."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf

from deepswap.models import (
    AADGenerator,
    ArcMarginHead,
    DeepSwapLiteGenerator,
    MultiScalePatchDiscriminator,
    SimSwapGenerator,
    SwapGenerator,
)
from deepswap.models.identity import iresnet18, load_arcface_backbone

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SIZE = 64
ID_DIM = 32

SMALL_GENERATORS = {
    "simswap": lambda: SimSwapGenerator(
        id_dim=ID_DIM, base_channels=8, n_down=2, n_blocks=2, max_channels=32
    ),
    "faceshifter": lambda: AADGenerator(
        id_dim=ID_DIM, base_channels=4, max_channels=32, n_down=5, mod_kernel=3, full_channel_mask=True
    ),
    "ghost": lambda: AADGenerator(id_dim=ID_DIM, base_channels=4, max_channels=32, n_down=5),
    "aad_masked": lambda: AADGenerator(
        id_dim=ID_DIM, base_channels=4, max_channels=32, n_down=5, output_mask=True
    ),
    "deepswap_lite": lambda: DeepSwapLiteGenerator(id_dim=ID_DIM, base_channels=8, max_channels=32, w_dim=32),
}
# names of the parameters through which the identity enters each family
ID_PARAM_MARKERS = ("adain", "id_gamma", "id_beta", "seed", "mapping", "affine")

# Shrinking overrides for every config in configs/generator (keeps each YAML's other keys).
SMALL_OVERRIDES = {
    "simswap": dict(base_channels=8, max_channels=32, n_blocks=2),
    "faceshifter": dict(base_channels=4, max_channels=32, n_down=5),
    "ghost": dict(base_channels=4, max_channels=32, n_down=5),
    "deepswap": dict(base_channels=8, max_channels=32),
}


def _inputs(batch: int = 2, id_dim: int = ID_DIM, size: int = SIZE, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    source_id = F.normalize(torch.randn(batch, id_dim, generator=g), dim=1)
    return target, source_id


@pytest.fixture(params=sorted(SMALL_GENERATORS))
def generator(request) -> SwapGenerator:
    torch.manual_seed(0)
    return SMALL_GENERATORS[request.param]()


def test_generator_shapes_and_ranges(generator: SwapGenerator) -> None:
    target, source_id = _inputs()
    out = generator(target, source_id)
    assert out.image.shape == target.shape
    assert out.image.min() >= -1 and out.image.max() <= 1
    if generator.has_mask:
        assert out.mask is not None and out.mask.shape == (2, 1, SIZE, SIZE)
        assert out.mask.min() >= 0 and out.mask.max() <= 1
    else:
        assert out.mask is None
    feats = generator.encode_attributes(target)
    assert len(feats) >= 2 and all(f.dim() == 4 and f.shape[0] == 2 for f in feats)


def test_output_depends_on_source_id(generator: SwapGenerator) -> None:
    generator.eval()
    target, id_a = _inputs(seed=1)
    _, id_b = _inputs(seed=2)
    with torch.no_grad():
        a, b = generator(target, id_a).image, generator(target, id_b).image
    assert (a - b).abs().max() > 1e-4


def test_gradient_reaches_all_parameters(generator: SwapGenerator) -> None:
    target, source_id = _inputs()
    out = generator(target, source_id)
    weights = torch.randn_like(out.image)
    loss = (out.image * weights).sum() + (0.0 if out.mask is None else out.mask.sum())
    loss.backward()
    missing = [n for n, p in generator.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    id_params = [(n, p) for n, p in generator.named_parameters() if any(m in n for m in ID_PARAM_MARKERS)]
    assert id_params, "no identity-modulation parameters found"
    dead = [n for n, p in id_params if p.grad.abs().sum() == 0]
    assert not dead, f"zero gradient for identity params {dead[:5]}"


def test_generator_rejects_bad_shapes(generator: SwapGenerator) -> None:
    target, source_id = _inputs()
    with pytest.raises(ValueError, match="divisible"):
        generator(target[..., :62, :62], source_id)
    with pytest.raises(ValueError, match="id_dim"):
        generator(target, torch.randn(2, ID_DIM + 1))
    with pytest.raises(ValueError, match="batch"):
        generator(target, source_id[:1])
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        generator(target[:, :1], source_id)


def test_modulated_conv_one_sample_path_equals_the_batched_one() -> None:
    """One sample folds modulation, demodulation and bias into the weights (a faster path for inference
    on one face); it must give what the batch path gives that sample, gradients included, and a traced
    graph must keep the batch path (a shape test would be baked into ONNX exports)."""
    from deepswap.models.layers import ModulatedConv2d

    torch.manual_seed(0)
    conv = ModulatedConv2d(8, 6, 3, 16)
    with torch.no_grad():
        conv.bias.normal_()
    x, w = torch.randn(3, 8, 10, 10, requires_grad=True), torch.randn(3, 16)
    batched = conv(x, w)
    single = torch.cat([conv(x[i : i + 1], w[i : i + 1]) for i in range(3)])
    assert torch.allclose(single, batched, atol=1e-5)
    g_batched = torch.autograd.grad(batched.square().sum(), [x, conv.weight])
    g_single = torch.autograd.grad(single.square().sum(), [x, conv.weight])
    for a, b in zip(g_batched, g_single):
        assert torch.allclose(a, b, atol=1e-4)
    traced = torch.jit.trace(conv, (x[:1].detach(), w[:1]))
    assert torch.allclose(traced(x.detach(), w), batched, atol=1e-5)  # B=3 through a B=1 trace


def test_modulated_conv_shift_starts_at_zero_and_is_folded_like_the_bias() -> None:
    """``shift=True`` adds a latent-driven per-channel shift (the identity's additive path). It starts
    at zero (the layer equals the plain modulated conv), it learns (its weight gets a gradient), and
    the one-sample path folds it into the bias exactly as the batch path adds it."""
    from deepswap.models.layers import ModulatedConv2d

    torch.manual_seed(0)
    plain, shifted = ModulatedConv2d(8, 6, 3, 16), ModulatedConv2d(8, 6, 3, 16, shift=True)
    shifted.load_state_dict(plain.state_dict(), strict=False)
    x, w = torch.randn(3, 8, 10, 10), torch.randn(3, 16)
    assert torch.allclose(shifted(x, w), plain(x, w))
    (grad,) = torch.autograd.grad(shifted(x, w).sum() + shifted(x, w).square().sum(), [shifted.shift.weight])
    assert grad.abs().sum() > 0
    with torch.no_grad():
        shifted.shift.weight.normal_()
    batched = shifted(x, w)
    assert (batched - plain(x, w)).abs().mean() > 0.1  # the latent now moves the output additively
    single = torch.cat([shifted(x[i : i + 1], w[i : i + 1]) for i in range(3)])
    assert torch.allclose(single, batched, atol=1e-5)
    gen = DeepSwapLiteGenerator(id_dim=ID_DIM, base_channels=8, max_channels=16, w_dim=32, id_shift=True)
    assert sum(m.shift is not None for m in gen.modules() if isinstance(m, ModulatedConv2d)) == 3 + 2 * 2


def _assert_uses_identity_and_trains(g, target, source_id, min_change: float) -> None:
    """Another source identity changes the swap by more than ``min_change`` (mean |diff|), and every
    parameter of ``g`` gets a non-zero gradient from the swap."""
    out = g(target, source_id)
    other = g(target, source_id.roll(1, 0))
    assert (out.image - other.image).abs().mean() > min_change
    out.image.square().mean().backward()
    missing = [n for n, p in g.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_aad_decoder_starts_near_the_target_and_uses_the_identity() -> None:
    """``decoder="aad"``: AAD residual blocks replace the modulated decoder. The residual RGB head
    still starts the swap at the target (exactly, with ``rgb_init_scale=0``); once the head is not
    zero the output depends on the source identity; every parameter gets a gradient; options that
    belong to the modulated decoder are refused with a message that names them."""
    from deepswap.models.generators.aad import AADLayer

    torch.manual_seed(0)
    kw = dict(id_dim=ID_DIM, base_channels=8, max_channels=16, w_dim=32, mask_bias_init=0.0)
    target, source_id = _inputs()
    exact = DeepSwapLiteGenerator(decoder="aad", rgb_init_scale=0.0, **kw)
    assert (exact(target, source_id).image - target).abs().max() < 1e-3
    g = DeepSwapLiteGenerator(decoder="aad", **kw)
    assert sum(isinstance(m, AADLayer) for m in g.modules()) == 2 * (2 + 3)  # 2 blocks + 3 stages, 2 units
    _assert_uses_identity_and_trains(g, target, source_id, min_change=1e-4)
    with pytest.raises(ValueError, match="id_shift"):
        DeepSwapLiteGenerator(decoder="aad", id_shift=True, **kw)
    with pytest.raises(ValueError, match="decoder must be"):
        DeepSwapLiteGenerator(decoder="spade", **kw)


def test_residual_aad_generator_starts_near_the_target_and_uses_the_identity() -> None:
    """``AADGenerator(residual_rgb=True)``: the RGB is a change from the target in tanh space, so with
    ``rgb_init_scale=0`` the swap starts exactly at the target (the plain generator does not); with the
    default scale it starts near it, depends on the source identity, and every parameter trains."""
    torch.manual_seed(0)
    kw = dict(id_dim=ID_DIM, base_channels=4, max_channels=32, n_down=5)
    target, source_id = _inputs()
    target = target.clamp(-0.99, 0.99)
    exact = AADGenerator(residual_rgb=True, rgb_init_scale=0.0, **kw)
    assert (exact(target, source_id).image - target).abs().max() < 1e-4
    torch.manual_seed(1)
    plain = AADGenerator(**kw)
    torch.manual_seed(1)  # the same weights before the init scaling
    g = AADGenerator(residual_rgb=True, **kw)
    far = (plain(target, source_id).image - target).abs().mean()
    near = (g(target, source_id).image - target).abs().mean()
    assert near < 0.5 * far, (near, far)
    _assert_uses_identity_and_trains(g, target, source_id, min_change=1e-5)
    with pytest.raises(ValueError, match="rgb_init_scale"):
        AADGenerator(residual_rgb=True, rgb_init_scale=-1.0, **kw)


def test_masked_output_is_blended_with_target() -> None:
    g = DeepSwapLiteGenerator(id_dim=ID_DIM, base_channels=8, max_channels=32, w_dim=32, residual_rgb=False)
    target, source_id = _inputs()
    out = g(target, source_id)
    assert out.mask.mean() < 0.3, "mask should start low so the output starts near the target"
    with torch.no_grad():  # raw RGB == tanh(0) == 0 -> image must be (1 - mask) * target
        g.head.weight[:3].zero_()
        g.head.bias[:3].zero_()
    out = g(target, source_id)
    torch.testing.assert_close(out.image, (1 - out.mask) * target)


def test_residual_rgb_starts_at_the_target() -> None:
    g = DeepSwapLiteGenerator(id_dim=ID_DIM, base_channels=8, max_channels=32, w_dim=32)
    target, source_id = _inputs()
    target = target.clamp(-0.99, 0.99)
    out = g(target, source_id)
    assert (out.image - target).abs().mean() < 0.02
    with torch.no_grad():  # zero RGB change -> raw == target -> image == target whatever the mask
        g.head.weight[:3].zero_()
        g.head.bias[:3].zero_()
    torch.testing.assert_close(g(target, source_id).image, target, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", sorted(SMALL_OVERRIDES))
def test_generator_configs_instantiate(name: str) -> None:
    cfg = OmegaConf.load(CONFIGS / "generator" / f"{name}.yaml")
    assert cfg.id_dim == 512
    g = instantiate(cfg, **SMALL_OVERRIDES[name])
    assert isinstance(g, SwapGenerator) and g.id_dim == 512
    target, source_id = _inputs(id_dim=512)
    assert g(target, source_id).image.shape == target.shape


@pytest.mark.parametrize("name", ["patch", "patch_sn"])
def test_discriminator_configs(name: str) -> None:
    d = instantiate(
        OmegaConf.load(CONFIGS / "discriminator" / f"{name}.yaml"), base_channels=8, max_channels=32
    )
    out = d(torch.randn(2, 3, SIZE, SIZE))
    assert len(out.logits) == len(out.features) == 2
    assert out.logits[0].shape == (2, 1, 4, 4) and out.logits[1].shape == (2, 1, 2, 2)
    assert all(len(f) == 5 and f[-1].shape[1] == 32 for f in out.features)


def test_discriminator_scales_and_errors() -> None:
    d = MultiScalePatchDiscriminator(num_scales=3, num_layers=3, base_channels=8, norm="batch")
    out = d(torch.randn(2, 3, SIZE, SIZE))
    assert [tuple(x.shape[-2:]) for x in out.logits] == [(8, 8), (4, 4), (2, 2)]
    with pytest.raises(ValueError, match="too small"):
        d(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="norm"):
        MultiScalePatchDiscriminator(norm="group")


# arcface_torch r18 state dict (width 64, 112 px): "name kind shape", from its iresnet.py construction.
R18_SPEC = """
conv1 conv 64 3 3
bn1 bn 64
prelu prelu 64
layer1.0.bn1 bn 64
layer1.0.conv1 conv 64 64 3
layer1.0.bn2 bn 64
layer1.0.prelu prelu 64
layer1.0.conv2 conv 64 64 3
layer1.0.bn3 bn 64
layer1.0.downsample.0 conv 64 64 1
layer1.0.downsample.1 bn 64
layer1.1.bn1 bn 64
layer1.1.conv1 conv 64 64 3
layer1.1.bn2 bn 64
layer1.1.prelu prelu 64
layer1.1.conv2 conv 64 64 3
layer1.1.bn3 bn 64
layer2.0.bn1 bn 64
layer2.0.conv1 conv 128 64 3
layer2.0.bn2 bn 128
layer2.0.prelu prelu 128
layer2.0.conv2 conv 128 128 3
layer2.0.bn3 bn 128
layer2.0.downsample.0 conv 128 64 1
layer2.0.downsample.1 bn 128
layer2.1.bn1 bn 128
layer2.1.conv1 conv 128 128 3
layer2.1.bn2 bn 128
layer2.1.prelu prelu 128
layer2.1.conv2 conv 128 128 3
layer2.1.bn3 bn 128
layer3.0.bn1 bn 128
layer3.0.conv1 conv 256 128 3
layer3.0.bn2 bn 256
layer3.0.prelu prelu 256
layer3.0.conv2 conv 256 256 3
layer3.0.bn3 bn 256
layer3.0.downsample.0 conv 256 128 1
layer3.0.downsample.1 bn 256
layer3.1.bn1 bn 256
layer3.1.conv1 conv 256 256 3
layer3.1.bn2 bn 256
layer3.1.prelu prelu 256
layer3.1.conv2 conv 256 256 3
layer3.1.bn3 bn 256
layer4.0.bn1 bn 256
layer4.0.conv1 conv 512 256 3
layer4.0.bn2 bn 512
layer4.0.prelu prelu 512
layer4.0.conv2 conv 512 512 3
layer4.0.bn3 bn 512
layer4.0.downsample.0 conv 512 256 1
layer4.0.downsample.1 bn 512
layer4.1.bn1 bn 512
layer4.1.conv1 conv 512 512 3
layer4.1.bn2 bn 512
layer4.1.prelu prelu 512
layer4.1.conv2 conv 512 512 3
layer4.1.bn3 bn 512
bn2 bn 512
fc linear 512 25088
features bn 512
"""


def _arcface_r18_state_dict() -> dict[str, torch.Tensor]:
    state = {}
    for line in R18_SPEC.strip().splitlines():
        name, kind, *dims = line.split()
        n = [int(d) for d in dims]
        if kind == "conv":
            state[f"{name}.weight"] = torch.randn(n[0], n[1], n[2], n[2])
        elif kind == "linear":
            state[f"{name}.weight"], state[f"{name}.bias"] = torch.randn(n[0], n[1]), torch.randn(n[0])
        elif kind == "prelu":
            state[f"{name}.weight"] = torch.rand(n[0])
        else:
            for key in ("weight", "bias", "running_mean"):
                state[f"{name}.{key}"] = torch.randn(n[0])
            state[f"{name}.running_var"] = torch.rand(n[0]) + 0.5
            state[f"{name}.num_batches_tracked"] = torch.tensor(0)
    return state


def test_iresnet18_loads_arcface_torch_keys_strict(tmp_path: Path) -> None:
    state = _arcface_r18_state_dict()
    model = iresnet18()
    assert list(model.state_dict()) == list(state)
    model.load_state_dict(state, strict=True)
    assert all(m.eps == 1e-5 for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    path = tmp_path / "backbone.pth"
    torch.save(state, path)
    loaded = load_arcface_backbone(path, depth="r18")
    assert not loaded.training
    torch.testing.assert_close(loaded.fc.weight, state["fc.weight"])


def test_load_arcface_backbone_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "backbone.pth"
    with pytest.raises(FileNotFoundError, match="nope") as info:
        load_arcface_backbone(missing, depth=50)
    assert "arcface_torch" in str(info.value)
    small = iresnet18(width=8, input_size=32)
    path = tmp_path / "small.pth"
    torch.save(small.state_dict(), path)
    with pytest.raises(RuntimeError, match="missing keys"):
        load_arcface_backbone(path, depth=34, width=8, input_size=32)


def test_small_iresnet_forward_resizes() -> None:
    model = iresnet18(width=8, input_size=64, embedding_size=16).eval()
    assert model.fc.in_features == 8 * 8 * (64 // 16) ** 2
    with torch.no_grad():
        emb = model(torch.rand(3, 3, 80, 80) * 2 - 1)
    assert emb.shape == (3, 16) and torch.isfinite(emb).all()


def test_arc_margin_head_penalises_true_class() -> None:
    torch.manual_seed(0)
    head = ArcMarginHead(embedding_size=16, num_classes=5, scale=32.0, margin=0.5)
    emb = torch.randn(4, 16)
    labels = torch.tensor([0, 1, 2, 3])
    plain = head(emb)
    logits = head(emb, labels)
    cos = F.linear(F.normalize(emb), F.normalize(head.weight))
    torch.testing.assert_close(plain, 32.0 * cos)
    rows = torch.arange(4)
    theta = torch.acos(cos[rows, labels])
    torch.testing.assert_close(logits[rows, labels], 32.0 * torch.cos(theta + 0.5), rtol=1e-4, atol=1e-4)
    assert (logits[rows, labels] < plain[rows, labels]).all()
    other = torch.ones_like(logits, dtype=torch.bool)
    other[rows, labels] = False
    torch.testing.assert_close(logits[other], plain[other])


def test_arc_margin_head_fallback_beyond_pi() -> None:
    head = ArcMarginHead(embedding_size=2, num_classes=2, scale=1.0, margin=0.5)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    angle = math.pi - 0.2  # theta + m > pi: cos(theta + m) would increase again
    emb = torch.tensor([[math.cos(angle), math.sin(angle)]])
    logit = head(emb, torch.tensor([0]))[0, 0]
    expected = math.cos(angle) - 0.5 * math.sin(0.5)
    assert abs(logit.item() - expected) < 1e-5 and logit.item() < math.cos(angle)


def test_aad_rejects_input_below_two_pixel_bottleneck() -> None:
    g = SMALL_GENERATORS["ghost"]()  # n_down=5: needs H, W >= 64
    target, source_id = _inputs(size=32)
    with pytest.raises(ValueError, match="lower n_down"):
        g(target, source_id)


def test_swap_model_runs_the_generator_channels_last() -> None:
    """Inference (``SwapModel.generate``) runs in channels-last memory format, 256 px crops one at a
    time on a CPU, with the same output as the plain generator."""
    import copy

    from torch import nn

    from deepswap.inference.model import SwapModel

    torch.manual_seed(0)
    gen = DeepSwapLiteGenerator(base_channels=8, max_channels=16, w_dim=16).eval()
    reference = copy.deepcopy(gen)
    model = SwapModel(gen, nn.Identity(), {"data": {"size": 32}}, identity_input=nn.Identity())
    conv_weights = [p for p in gen.parameters() if p.ndim == 4]
    assert conv_weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights)
    for size in (32, 256):  # 256 px on a CPU: one crop at a time
        x, z = torch.rand(3, 3, size, size) * 2 - 1, F.normalize(torch.randn(3, 512), dim=1)
        with torch.no_grad():
            out, ref = model.generate(x, z), reference(x, z)
        assert out.image.shape == ref.image.shape and out.mask.shape == ref.mask.shape
        assert torch.allclose(out.image, ref.image, atol=1e-5)
        assert torch.allclose(out.mask, ref.mask, atol=1e-5)


@pytest.mark.slow
def test_compiled_swap_model_matches_eager() -> None:
    """``SwapModel.compile()``: torch.compile of the generator (slow: inductor compiles C++ on a CPU)."""
    import copy

    from torch import nn

    from deepswap.inference.model import SwapModel

    torch.manual_seed(0)
    gen = DeepSwapLiteGenerator(base_channels=8, max_channels=16, w_dim=16).eval()
    reference = copy.deepcopy(gen)
    model = SwapModel(gen, nn.Identity(), {"data": {"size": 32}}, identity_input=nn.Identity())
    assert model.compile() is model and model.compiled is not None
    for batch in (1, 3):  # the one-sample path and the batch path
        x, z = torch.rand(batch, 3, 32, 32) * 2 - 1, F.normalize(torch.randn(batch, 512), dim=1)
        with torch.no_grad():
            out, ref = model.generate(x, z), reference(x, z)
        assert torch.allclose(out.image, ref.image, atol=1e-4)


def test_swap_model_on_a_cpu_keeps_freed_activation_memory(monkeypatch):
    import platform

    from deepswap.utils import cpu

    cpu.keep_freed_memory.cache_clear()
    monkeypatch.setenv("DEEPSWAP_MALLOC_TUNING", "0")
    assert cpu.keep_freed_memory() is False
    cpu.keep_freed_memory.cache_clear()
    monkeypatch.delenv("DEEPSWAP_MALLOC_TUNING")
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert cpu.keep_freed_memory() is True  # mallopt accepted both thresholds
    calls = []
    monkeypatch.setattr(cpu, "keep_freed_memory", lambda: calls.append(1) or True)
    from torch import nn

    from deepswap.inference.model import SwapModel

    gen = DeepSwapLiteGenerator(base_channels=8, max_channels=16, w_dim=16)
    SwapModel(gen, nn.Identity(), {"data": {"size": 32}}, identity_input=nn.Identity())
    assert calls == [1]


@pytest.mark.parametrize("mod_kernel,full_mask", [(1, False), (3, True)])
def test_fused_aad_layer_is_the_papers_formula(mod_kernel: int, full_mask: bool) -> None:
    """AADLayer's fused forward (one conv for both attribute modulations, addcmul, lerp) computes
    FaceShifter's (1 - M) * (gamma_att * h_bar + beta_att) + M * (gamma_id * h_bar + beta_id), with
    gradients, for GHOST's (1x1, one mask channel) and FaceShifter's (3x3, per-channel mask) settings."""
    from deepswap.models.generators.aad import AADLayer

    torch.manual_seed(0)
    layer = AADLayer(8, 6, 5, mod_kernel=mod_kernel, full_channel_mask=full_mask)
    h = torch.randn(2, 8, 9, 7, requires_grad=True)
    z_att, z_id = torch.randn(2, 6, 9, 7), torch.randn(2, 5)
    h_bar = F.instance_norm(h)
    a = layer.att_gamma(z_att) * h_bar + layer.att_beta(z_att)
    i = layer.id_gamma(z_id)[:, :, None, None] * h_bar + layer.id_beta(z_id)[:, :, None, None]
    m = torch.sigmoid(layer.mask_conv(h_bar))
    reference = (1 - m) * a + m * i
    fused = layer(h, z_att, z_id)
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-5)
    g_ref = torch.autograd.grad(reference.square().sum(), [h, layer.att_gamma.weight])
    g_new = torch.autograd.grad(fused.square().sum(), [h, layer.att_gamma.weight])
    for x, y in zip(g_new, g_ref):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)


def test_lite_aad_skipless_levels_cut_the_finest_skips() -> None:
    """aad_skipless_levels=N: the finest N AAD decoder stages get their own input as the attribute map
    instead of the encoder skip; 0 keeps every skip. Bad values say why."""
    from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator

    kw = dict(id_dim=8, base_channels=8, max_channels=16, n_down=2, decoder="aad", aad_layers=1)
    kw.update(residual_rgb=False, blend_mask=False)
    x, z = torch.rand(1, 3, 16, 16) * 2 - 1, torch.randn(1, 8)
    for levels, reaches in ((0, True), (1, False)):
        torch.manual_seed(0)
        gen = DeepSwapLiteGenerator(aad_skipless_levels=levels, **kw).eval()
        feats = gen.encode_attributes(x)
        seen = {}
        stage = gen.ups[-1].block
        hook = stage.register_forward_hook(lambda m, args, out, seen=seen: seen.update(att=args[1]))
        gen(x, z)
        hook.remove()
        assert torch.equal(seen["att"], feats[0]) == reaches
    with pytest.raises(ValueError, match="aad_skipless_levels"):
        DeepSwapLiteGenerator(aad_skipless_levels=3, **kw)
    with pytest.raises(ValueError, match="aad_skipless_levels"):
        DeepSwapLiteGenerator(id_dim=8, aad_skipless_levels=1)
