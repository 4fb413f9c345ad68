"""Loss values at known points, and gradient reaching the generator through every generator loss."""

import math

import pytest
import torch

from deepswap.losses import (
    AttributeLoss,
    FeatureMatchingLoss,
    HingeLoss,
    IdentityLoss,
    LazyR1,
    LeastSquaresLoss,
    NonSaturatingLoss,
    ReconstructionLoss,
    TargetIdentityLoss,
    r1_penalty,
)

ZERO = [torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 2, 2)]


def test_hinge_at_zero_logits():
    loss = HingeLoss()
    assert loss.d_loss(ZERO, ZERO).item() == pytest.approx(2.0)
    assert loss.g_loss(ZERO).item() == pytest.approx(0.0)
    assert loss.d_loss([torch.full((1, 1, 2, 2), 2.0)], [torch.full((1, 1, 2, 2), -3.0)]).item() == 0.0


def test_nonsaturating_and_lsgan_at_known_points():
    assert NonSaturatingLoss().d_loss(ZERO, ZERO).item() == pytest.approx(2 * math.log(2))
    assert NonSaturatingLoss().g_loss(ZERO).item() == pytest.approx(math.log(2))
    assert LeastSquaresLoss().d_loss(ZERO, ZERO).item() == pytest.approx(0.5)
    assert LeastSquaresLoss().g_loss([torch.ones(1, 1, 3, 3)]).item() == pytest.approx(0.0)


def test_scales_are_averaged_not_summed():
    one_scale = HingeLoss().g_loss([torch.full((1, 1, 4, 4), -1.0)])
    two_scales = HingeLoss().g_loss([torch.full((1, 1, 4, 4), -1.0), torch.full((1, 1, 2, 2), -1.0)])
    assert one_scale.item() == two_scales.item() == pytest.approx(1.0)


def test_r1_is_zero_for_a_constant_discriminator_and_known_for_linear():
    x = torch.randn(3, 3, 8, 8, requires_grad=True)
    w = torch.randn(1, 3, 8, 8)
    const = [x.sum(dim=(1, 2, 3), keepdim=True) * 0 + 1.0]
    assert r1_penalty(const, x).item() == 0.0
    linear = [(x * w).sum(dim=(1, 2, 3)).view(3, 1, 1, 1)]
    assert r1_penalty(linear, x).item() == pytest.approx(w.square().sum().item(), rel=1e-5)
    lazy = LazyR1(gamma=10, interval=4)
    assert lazy.due(0) and not lazy.due(1) and lazy.due(8)
    value = lazy(lambda t: [(t * w).sum(dim=(1, 2, 3)).view(-1, 1, 1, 1)], x)
    assert value.item() == pytest.approx(w.square().sum().item() * 10 / 2 * 4, rel=1e-5)


def test_r1_is_on_the_mean_patch_logit_so_it_does_not_grow_with_the_number_of_patches():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    w = torch.randn(1, 3, 8, 8)
    score = (x * w).sum(dim=(1, 2, 3)).view(2, 1, 1, 1)
    few, many = score.expand(2, 1, 2, 2), score.expand(2, 1, 16, 16)  # 4 vs 256 equal patches
    assert r1_penalty([few], x).item() == pytest.approx(r1_penalty([many], x).item(), rel=1e-5)
    assert r1_penalty([many], x).item() == pytest.approx(w.square().sum().item(), rel=1e-5)


def test_identity_loss_values():
    e = torch.randn(4, 16)
    assert IdentityLoss()(e, e).item() == pytest.approx(0.0, abs=1e-6)
    assert IdentityLoss()(e, -e).item() == pytest.approx(2.0, abs=1e-6)
    with pytest.raises(ValueError, match="shapes differ"):
        IdentityLoss()(e, torch.randn(4, 8))


def test_target_identity_loss_charges_only_leakage_beyond_the_sources():
    """0 when the swap is as far from the target as the source is (or farther); the excess cosine to
    the target otherwise; same-identity pairs never count; gradients reach the swap."""
    source, target = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])  # cos(source, target) = 0
    loss, other = TargetIdentityLoss(), torch.tensor([False])
    assert loss(source, source, target, other).item() == pytest.approx(0.0)
    assert loss(-target, source, target, other).item() == pytest.approx(0.0)  # farther than the source
    halfway = torch.tensor([[1.0, 1.0]], requires_grad=True)  # cos to the target 0.707
    value = loss(halfway, source, target, other)
    assert value.item() == pytest.approx(math.sqrt(0.5), abs=1e-6)
    value.backward()
    assert halfway.grad.abs().sum() > 0
    assert loss(target, source, target, torch.tensor([True])).item() == 0.0  # a same-identity pair
    two = loss(
        torch.cat([target, source]),
        torch.cat([source, source]),
        torch.cat([target, target]),
        torch.tensor([False, False]),
    )
    assert two.item() == pytest.approx(0.5)  # the mean over the pairs: (1 + 0) / 2
    with pytest.raises(ValueError, match="shapes differ"):
        loss(source, source, torch.randn(1, 3), other)


def test_reconstruction_counts_only_same_identity_pairs():
    swap, target = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    same = torch.tensor([True, False])
    assert ReconstructionLoss("l1")(swap, target, same).item() == pytest.approx(1.0)
    assert ReconstructionLoss("l2")(swap, target, same).item() == pytest.approx(0.5)
    assert ReconstructionLoss()(swap, target, torch.tensor([False, False])).item() == 0.0
    with pytest.raises(ValueError):
        ReconstructionLoss("l3")


def test_attribute_and_feature_matching_values():
    a, b = (
        [torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 2, 2)],
        [torch.ones(1, 2, 4, 4), torch.full((1, 4, 2, 2), 2.0)],
    )
    assert AttributeLoss()(a, b).item() == pytest.approx((0.5 + 2.0) / 2)
    fm = FeatureMatchingLoss(last_n=1)
    fake = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 2)]]
    real = [[torch.full((1, 2, 4, 4), 9.0), torch.ones(1, 2, 2, 2)]]
    assert fm(fake, real).item() == pytest.approx(1.0)  # only the last map counts


def test_every_generator_loss_sends_gradient_to_its_input():
    """Two public face-swap repos shipped losses that send no gradient; ours must."""
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    feats = [x * 2, x.mean(1, keepdim=True)]
    losses = {
        "hinge": HingeLoss().g_loss([x[:, :1]]),
        "nonsat": NonSaturatingLoss().g_loss([x[:, :1]]),
        "lsgan": LeastSquaresLoss().g_loss([x[:, :1]]),
        "identity": IdentityLoss()(x.flatten(1), torch.randn(2, 192)),
        "reconstruction": ReconstructionLoss()(x, torch.zeros_like(x), torch.tensor([True, True])),
        "attribute": AttributeLoss()(feats, [f.detach() + 1 for f in feats]),
        "feature_matching": FeatureMatchingLoss()([feats], [[f.detach() + 1 for f in feats]]),
    }
    for name, loss in losses.items():
        (grad,) = torch.autograd.grad(loss, x, retain_graph=True)
        assert grad.abs().sum() > 0, f"{name} sends no gradient"
