"""The default recipe's parts (issue 10): the face region, the outside loss, the multi-view identity
target, the upsampler, the supervised bound's data, and the streak measure."""

import pytest
import torch
from hydra.utils import instantiate

from deepswap.data.pairs import SyntheticPairs, template_face_mask
from deepswap.evaluation.metrics import streak_energy, streak_ratio
from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator
from deepswap.train import _data_overrides, build_module, detector_mode
from deepswap.training.module import dilate_mask, random_affine


@pytest.fixture(scope="module")
def world_small():
    from deepswap.data.synthetic import SyntheticFaceWorld

    return SyntheticFaceWorld(num_train_identities=20, num_heldout_identities=4)


def test_dilate_mask_grows_by_the_given_pixels():
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 8, 8] = 1
    grown = dilate_mask(mask, 2)
    assert grown.sum().item() == 25 and grown[..., 6:11, 6:11].min().item() == 1
    assert torch.equal(dilate_mask(mask, 0), mask)


def test_jitter_without_scale_keeps_the_face_size():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 32, 32)
    x[:, :, 8:24, 8:24] = 1  # a 16 px square in the middle
    with_scale = random_affine(x, 0.1, scale=True).sum((1, 2, 3))
    without = random_affine(x, 0.1, scale=False).sum((1, 2, 3))
    assert (without - 256).abs().max() < 8  # rotation and shift keep the area (up to resampling)
    assert (with_scale - 256).abs().max() > 20  # the scale jitter changes it by up to +-20%


def test_synthetic_pairs_carry_the_target_face_and_extra_source_views(world_small):
    pairs = SyntheticPairs(world_small, "train", 32, 8, extra_source_views=2, seed=0)
    item = pairs[3]
    assert item["target_mask"].shape == (1, 32, 32) and 0 < item["target_mask"].mean() < 0.9
    assert item["source_views"].shape == (2, 3, 32, 32)
    # the views are other renders of the source identity: not copies of the source image
    assert (item["source_views"][0] - item["source"]).abs().mean() > 0.01
    assert "truth" not in item  # the truth is no training target ...
    truthful = SyntheticPairs(world_small, "train", 32, 8, with_truth=True, seed=0)[3]
    assert "truth" in truthful  # ... but for the supervised bound (data.train_truth)


def test_template_face_mask_covers_the_middle_of_an_aligned_crop():
    mask = template_face_mask("arcface", 112)[0]
    assert mask.shape == (112, 112)
    assert mask[60, 56] == 1 and mask[2, 2] == 0 and mask[110, 2] == 0
    assert 0.3 < mask.mean() < 0.7


def test_outside_loss_and_confine_keep_the_swap_off_hair_and_background(cfg_factory):
    cfg = cfg_factory(["detector=off", "loss.weights.outside=10", "model.face_region.dilate_px=1"])
    module = build_module(cfg)
    b = 4
    target = torch.rand(b, 3, 32, 32) * 2 - 1
    mask = torch.zeros(b, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    region = module.face_region({"target": target, "target_mask": mask})
    assert region[..., 7:25, 7:25].min() == 1 and region.sum() == b * 18 * 18
    swap = torch.rand(b, 3, 32, 32)
    confined = module.confine(swap, target, region)
    outside = region.expand_as(target) == 0
    assert torch.equal(confined[outside], target[outside])
    assert torch.allclose(confined[~outside], swap[~outside], atol=1e-6)
    source_id = module.embed(torch.rand(b, 3, 32, 32) * 2 - 1)
    _, terms = module.generator_losses(target, source_id, torch.zeros(b, dtype=torch.bool), region)
    assert terms["outside"].item() > 0
    # the outside term is the L1 of the unconfined swap beyond the region: 0 for the target itself
    module.region_confine = False
    assert module.confine(swap, target, region) is swap


def test_identity_target_is_the_mean_of_the_source_views(cfg_factory):
    cfg = cfg_factory(["detector=off"])
    module = build_module(cfg)
    torch.manual_seed(0)
    source, views = torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 2, 3, 32, 32) * 2 - 1
    mean = module.source_identity(source, views)
    every = torch.stack([module.embed(source), module.embed(views[:, 0]), module.embed(views[:, 1])], 1)
    expected = torch.nn.functional.normalize(every.mean(1), dim=1)
    assert torch.allclose(mean, expected, atol=1e-5)
    assert torch.allclose(module.source_identity(source, None), module.embed(source))


def test_supervised_bound_experiment_has_no_same_identity_pairs(cfg_factory):
    # same-identity pairs (truth = target) pin an L1-trained generator to the target (experiments/
    # 2026-12-04_identity_speed): the bound's experiment drops them and runs no detector
    cfg = cfg_factory(["experiment=supervised_bound"])
    assert cfg.data.same_ratio == 0.0 and cfg.loss.weights.truth > 0 and cfg.loss.weights.adversarial == 0
    assert detector_mode(cfg) == "off" and _data_overrides(cfg) == {"train_truth": True}


def test_supervised_bound_trains_on_the_truth_and_nothing_else_needs_it(cfg_factory):
    cfg = cfg_factory(["loss=supervised", "detector=off"])
    assert _data_overrides(cfg) == {"train_truth": True}
    data = instantiate(cfg.data, **_data_overrides(cfg))
    data.setup("fit")
    assert "truth" in data.train_set[0]
    assert _data_overrides(cfg_factory(["detector=off"])) == {}
    module = build_module(cfg)
    b = 2
    target, truth = torch.rand(b, 3, 32, 32) * 2 - 1, torch.rand(b, 3, 32, 32) * 2 - 1
    total, terms = module.generator_losses(
        target, module.embed(truth), torch.zeros(b, dtype=torch.bool), None, truth
    )
    assert set(terms) >= {"truth", "truth_perceptual"} and total.requires_grad
    assert terms["truth_perceptual"].item() > 0
    # no adversarial or feature-matching weight: the discriminator is neither run nor trained
    assert not module.uses_discriminator and "adversarial" not in terms
    assert module._d_step(None, target, truth) == {}
    assert build_module(cfg_factory(["detector=off"])).uses_discriminator
    # end to end: trains (the fakes for D are not made) and leaves the discriminator as it started
    from deepswap.train import train

    short = cfg_factory(["loss=supervised", "detector=off", "total_kimg=0.008", "final_eval.enabled=false"])
    torch.manual_seed(0)
    start = {k: v.clone() for k, v in build_module(short).discriminator.state_dict().items()}
    metrics, objects = train(short)
    assert objects["trainer"].global_step > 0 and "train/g/truth" in metrics
    # the budget in images holds without a D step (max_steps counted D's steps before: twice the kimg)
    from deepswap.train import kimg_to_batches

    batch = int(short.data.batch_size)
    assert int(objects["module"].images_seen) == kimg_to_batches(short.total_kimg, batch) * batch
    end = objects["module"].discriminator.state_dict()
    assert all(torch.equal(start[k], end[k]) for k in start)


def test_generator_without_a_blending_mask_starts_at_the_target():
    gen = DeepSwapLiteGenerator(
        id_dim=8, base_channels=8, max_channels=16, blend_mask=False, rgb_init_scale=0
    )
    target = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    out = gen(target, torch.randn(2, 8))
    assert out.mask.shape == (2, 1, 32, 32) and bool((out.mask == 1).all())
    assert torch.allclose(out.image, target, atol=1e-5)  # the residual alone: the output is the target
    assert len(list(gen.head.parameters())[1]) == 3  # no mask channel
    # neither residual nor mask: the face is rendered from scratch (AEI-Net style), so with the RGB head
    # at 0 the output is mid-grey, not the target; the training face region keeps the target around it
    free = DeepSwapLiteGenerator(
        id_dim=8, base_channels=8, max_channels=16, blend_mask=False, residual_rgb=False, rgb_init_scale=0
    )
    out = free(target, torch.randn(2, 8))
    assert bool((out.mask == 1).all()) and torch.allclose(out.image, torch.zeros_like(target), atol=1e-5)


def test_bilinear_upsampler_makes_no_2x2_blocks():
    torch.manual_seed(0)
    gens = {
        u: DeepSwapLiteGenerator(id_dim=8, base_channels=8, max_channels=16, upsample=u)
        for u in ("nearest", "bilinear")
    }
    for g in gens.values():
        g.eval()
    x = torch.randn(1, 16, 4, 4)
    nearest = torch.nn.functional.interpolate(
        gens["nearest"].ups[0].reduce(x), scale_factor=2, mode="nearest"
    )
    assert torch.equal(nearest[..., 0::2, 0::2], nearest[..., 1::2, 1::2])  # the blocks nearest makes
    out = gens["bilinear"](torch.rand(1, 3, 32, 32) * 2 - 1, torch.randn(1, 8)).image
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


def test_streak_energy_sees_bands_and_not_smooth_or_local_changes():
    torch.manual_seed(0)
    truth = torch.zeros(8, 3, 32, 32)
    target = truth.clone()
    target[..., 10:22, 10:22] += 0.3 * torch.randn(8, 3, 12, 12)  # the truth's own change: local
    bands = truth.clone()
    bands[..., ::3, :] += 0.2  # a row every 3 px: horizontal streaks over the whole image
    smooth = truth + torch.linspace(0, 0.5, 32).view(1, 1, 1, 32)  # a colour ramp: no streak
    assert streak_energy(bands - truth).mean() > 10 * streak_energy(target - truth).mean()
    assert streak_energy(smooth - truth).mean() < 1e-2 * streak_energy(bands - truth).mean()
    assert streak_ratio(bands, truth, target) > 1.5
    assert streak_ratio(truth + 0.5 * (target - truth), truth, target) < 1.5


def test_identity_space_keeps_the_directions_that_tell_identities_apart():
    from deepswap.losses.identity_space import IdentitySpace

    torch.manual_seed(0)
    p, k, d = 40, 5, 32
    centres = torch.zeros(p, d)
    centres[:, :4] = torch.randn(p, 4)  # identity lives in 4 directions ...
    noise = torch.randn(p * k, d) * 0.3
    noise[:, 4:] *= 4  # ... the other 28 vary with everything else, more strongly
    e = centres.repeat_interleave(k, 0) + noise
    labels = torch.arange(p).repeat_interleave(k)
    space = IdentitySpace(d, dims=4, shrinkage=0.0).fit(e, labels)
    assert bool(space.fitted) and space.ratios.min() > 3  # between/within: about 1 / 0.09
    weight_on_identity = space.projection[:4].norm() / space.projection.norm()
    assert weight_on_identity > 0.9

    # retrieval of a view's identity by cosine: better in the space than on the raw embedding
    def top1(x):
        x = torch.nn.functional.normalize(x, dim=1)
        gallery, probes = x[0::k], x[1::k]
        return (torch.argmax(probes @ gallery.T, 1) == torch.arange(p)).float().mean()

    assert top1(space(e)) > top1(e) + 0.2
    with pytest.raises(ValueError, match="several identities"):
        IdentitySpace(d, dims=2).fit(e[:5], torch.zeros(5))


@pytest.mark.slow  # about 40 s on 2 cores: `make test-full`
def test_identity_space_is_fitted_when_training_starts_and_kept_in_checkpoints(cfg_factory, tmp_path):
    from deepswap.train import train

    cfg = cfg_factory(["detector=off", "+model.identity_space={dims: 8, identities: 16, views: 3}"])
    train(cfg)
    ckpt = torch.load(f"{cfg.paths.output_dir}/checkpoints/last.ckpt", weights_only=False)
    state = ckpt["state_dict"]
    assert bool(state["identity_space.fitted"]) and state["identity_space.projection"].shape[1] == 8


def test_warp_head_starts_at_the_identity_and_moves_the_target_by_at_most_its_bound():
    gen = DeepSwapLiteGenerator(
        id_dim=8, base_channels=8, max_channels=16, blend_mask=False, rgb_init_scale=0, warp_pixels=4
    )
    target = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    assert torch.allclose(gen(target, torch.randn(2, 8)).image, target, atol=1e-4)  # zero flow at init
    with torch.no_grad():
        gen.flow.bias[0] = 20.0  # saturated: every pixel samples 4 px to its right
    shifted = gen(target, torch.randn(2, 8)).image
    assert torch.allclose(shifted[..., :-4], target[..., 4:], atol=1e-3)
    with pytest.raises(ValueError, match="warp_pixels"):
        DeepSwapLiteGenerator(id_dim=8, warp_pixels=-1)


def test_warp_only_generator_moves_the_target_with_a_smooth_coarse_flow_and_nothing_else():
    """``rgb_change=false``: the swap is the target resampled by a flow predicted at ``warp_level``
    (1/2**k of the image, bilinearly upsampled), so it can move the face's geometry but cannot paint;
    without a mask the decoder stops at the flow's level (no unused stages)."""
    kw = dict(id_dim=8, base_channels=8, max_channels=16, n_down=3, blend_mask=False, rgb_change=False)
    gen = DeepSwapLiteGenerator(warp_pixels=4, warp_level=2, **kw)
    assert gen.head is None and len(gen.ups) == 1 and gen.flow.in_channels == 16
    target = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    source = torch.randn(2, 8)
    assert torch.allclose(gen(target, source).image, target, atol=1e-4)  # zero flow at init
    with torch.no_grad():
        gen.flow.bias[1] = 20.0  # saturated: every pixel samples 4 px below it
    out = gen(target, source)
    assert torch.allclose(out.image[..., :-4, :], target[..., 4:, :], atol=1e-3)
    assert torch.equal(out.mask, torch.ones_like(out.mask))
    # a flow varying only at the coarse level is smooth at full size: one value per 4x4 cell, interpolated
    with torch.no_grad():
        gen.flow.bias.zero_()
    x = torch.linspace(-1, 1, 32).expand(1, 3, 32, 32).contiguous()  # a horizontal ramp
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0, :, 4:] = 1.0
    warped = gen.warp(x, flow)
    step = (warped - x)[0, 0, 16].abs()
    assert step[:8].max() < 1e-5 and step[20:28].min() > 0.15 and (step.diff().abs() < 0.15).all()
    loss = gen(target, source).image.sum()
    loss.backward()
    assert all(p.grad is not None for p in gen.parameters())  # every module it builds is used
    with pytest.raises(ValueError, match="warp_pixels > 0"):
        DeepSwapLiteGenerator(**kw)
    with pytest.raises(ValueError, match="warp_level"):
        DeepSwapLiteGenerator(warp_pixels=4, warp_level=4, **kw)


def test_target_identity_term_is_computed_with_the_frozen_encoder(cfg_factory):
    """``loss.weights.identity_target``: the leakage term runs in the generator step, on the frozen
    encoder's embedding of the target; off (weight 0) it is not computed."""
    module = build_module(cfg_factory(["detector=off", "loss.weights.identity_target=1"]))
    torch.manual_seed(0)
    target, source = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    different = torch.zeros(2, dtype=torch.bool)
    _, terms = module.generator_losses(target, module.embed(source), different)
    assert "identity_target" in terms and terms["identity_target"].requires_grad
    # the source is the target: any swap is at most as close to the target as the source (cos 1)
    _, terms = module.generator_losses(target, module.embed(target), different)
    assert terms["identity_target"].item() == 0.0
    off = build_module(cfg_factory(["detector=off"]))
    assert "identity_target" not in off.generator_losses(target, off.embed(source), different)[1]
    # it does not depend on the identity term being on
    alone = build_module(
        cfg_factory(["detector=off", "loss.weights.identity=0", "loss.weights.identity_target=1"])
    )
    _, terms = alone.generator_losses(target, alone.embed(source), different)
    assert "identity_target" in terms and "identity" not in terms


def test_cycle_term_swaps_back_with_the_target_identity_and_reaches_the_first_pass(cfg_factory):
    """``loss.weights.cycle``: the swap, swapped back with the target's own embedding, is compared with
    the target by L1. The term is computed only when its weight is set, its gradient reaches the swap
    itself (the pixel signal on cross-identity pairs), and it is zero for a generator that returns its
    target whatever the identity."""
    module = build_module(cfg_factory(["detector=off", "loss.weights.cycle=1"]))
    torch.manual_seed(0)
    target, source = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    different = torch.zeros(2, dtype=torch.bool)
    _, terms = module.generator_losses(target, module.embed(source), different)
    assert "cycle" in terms and terms["cycle"].item() > 0
    swap = (target + 0.1).requires_grad_(True)
    module.cycle(swap, target).backward()
    assert swap.grad is not None and swap.grad.abs().sum() > 0
    # by hand: the generator run twice, back with the target's embedding
    with torch.no_grad():
        back = module.generator(swap, module.embed(target)).image
        assert torch.allclose(module.cycle(swap, target), (back - target).abs().mean())

    class Identity(torch.nn.Module):
        def forward(self, target, source_id):
            return type("Out", (), {"image": target})()

    module.generator = Identity()
    assert module.cycle(target, target).item() == 0.0
    off = build_module(cfg_factory(["detector=off"]))
    assert "cycle" not in off.generator_losses(target, off.embed(source), different)[1]


def test_pose_expression_loss_compares_the_encoder_heads_on_swap_and_target(cfg_factory):
    """``loss.weights.pose_expression``: L1 between the frozen encoder's pose and expression reads of
    the swap and of the target. Zero when the swap is the target, positive and differentiable for
    another face; an encoder without those heads is refused with a message naming the option."""
    module = build_module(cfg_factory(["detector=off", "loss.weights.pose_expression=1"]))
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    assert module.pose_expression(target, target).item() == 0.0
    other = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
    value = module.pose_expression(other, target)
    assert value.item() > 0
    (grad,) = torch.autograd.grad(value, [other])
    assert grad.abs().sum() > 0
    _, terms = module.generator_losses(target, module.embed(target), torch.zeros(2, dtype=torch.bool))
    assert "pose_expression" in terms
    from deepswap.training.module import FaceSwapModule

    cfg = cfg_factory(["detector=off", "loss.weights.pose_expression=1"])
    gen = instantiate(cfg.generator)
    with pytest.raises(ValueError, match="pose_expression"):
        FaceSwapModule(
            generator=gen,
            discriminator=instantiate(cfg.discriminator),
            identity_encoder=torch.nn.Conv2d(3, 4, 3),  # no predict(): no pose or expression heads
            adversarial_loss=instantiate(cfg.loss.adversarial),
            loss_weights={"pose_expression": 1.0},
            optimizer_g=None,
            optimizer_d=None,
        )


def test_scramble_face_moves_features_inside_the_region_only(world_small):
    """``scramble_face``: a smooth random warp of the face region (the restore task's input). Pixels
    outside the region are exactly the input's; inside, a real face changes; 0 px is the identity."""
    from deepswap.faces.region import scramble_face

    torch.manual_seed(0)
    samples = [world_small.sample("train", i, size=64) for i in range(4)]
    images = torch.stack([s["image"] for s in samples]) * 2 - 1
    region = dilate_mask(torch.stack([s["mask"] for s in samples]), 4)
    moved = scramble_face(images, region, max_px=4.0)
    outside = region.expand_as(images) == 0
    assert torch.equal(moved[outside], images[outside])
    inside_change = (moved - images).abs()[~outside].mean()
    assert inside_change > 0.02  # the features moved (about 0.1 at 4 px)
    assert scramble_face(images, region, max_px=0.0) is images
    smaller = (scramble_face(images, region, max_px=1.0) - images).abs()[~outside].mean()
    assert smaller < inside_change
    with pytest.raises(ValueError, match="grid"):
        scramble_face(images, region, max_px=2.0, grid=1)


def test_restore_scrambles_same_identity_pairs_and_reconstructs_the_clean_target(cfg_factory):
    """``model.restore``: the generator sees same-identity targets scrambled, other pairs as they are,
    and the reconstruction loss compares with the clean target, so a generator that returns its
    input unchanged is penalised on exactly those pairs. Bad settings are refused by name."""
    cfg = cfg_factory(["detector=off", "model.restore.max_px=3", "model.face_region.dilate_px=1"])
    module = build_module(cfg)
    b = 4
    torch.manual_seed(0)
    target = torch.rand(b, 3, 32, 32) * 2 - 1
    mask = torch.zeros(b, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    region = module.face_region({"target": target, "target_mask": mask})
    same = torch.tensor([True, False, True, False])
    given = module.scrambled(target, same, region)
    assert torch.equal(given[~same], target[~same])
    assert (given[same] - target[same]).abs().mean() > 0.01
    assert torch.equal(module.scrambled(target, torch.zeros(b, dtype=torch.bool), region), target)

    class Copy(torch.nn.Module):  # returns its input: what copying the target achieves
        def forward(self, x, _id):
            return type("Out", (), {"image": x})()

    module.generator = Copy()
    module.weights = {k: 0.0 for k in module.weights} | {"reconstruction": 1.0}
    source_id = module.embed(target)
    _, clean = module.generator_losses(target, source_id, same, region)
    _, scrambled = module.generator_losses(target, source_id, same, region, given=given)
    assert clean["reconstruction"].item() == 0.0
    assert scrambled["reconstruction"].item() > 0.005

    for bad, match in (("model.restore.max_px=-1", "max_px"), ("+model.restore.sigma=2", "restore key")):
        with pytest.raises(Exception, match=match):
            build_module(cfg_factory(["detector=off", bad]))
    with pytest.raises(Exception, match="face_region"):
        build_module(cfg_factory(["detector=off", "model.restore.max_px=2", "model.face_region=null"]))


def test_restore_paste_puts_another_identity_over_same_identity_targets(cfg_factory, world_small):
    """``model.restore.paste``: a same-identity target gets the next batch face (another identity) pasted
    over its face, aligned by the 5 landmarks; other pairs and everything away from the face stay."""
    cfg = cfg_factory(["detector=off", "model.restore.paste=1.0"])
    module = build_module(cfg)
    pairs = SyntheticPairs(world_small, "train", 64, 8, same_ratio=0.5, seed=3)
    items = [pairs[i] for i in range(4)]
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    assert batch["target_landmarks"].shape == (4, 5, 2)
    target, same = batch["target"], torch.tensor([True, False, True, False])
    region = module.face_region(batch)
    given = module.scrambled(target, same, region, batch)
    assert torch.equal(given[~same], target[~same])
    face = region > 0.5
    for i in (0, 2):
        changed = (given[i] - target[i]).abs().amax(0, keepdim=True)
        assert changed[face[i]].mean() > 0.02  # the face is another person's
        far = dilate_mask(region[i : i + 1], 4)[0] == 0
        assert changed[far].max() < 1e-6  # hair and background are the target's
    with pytest.raises(ValueError, match="target_landmarks"):
        module.scrambled(target, same, region, {"target_mask": batch["target_mask"]})
    with pytest.raises(Exception, match="paste"):
        build_module(cfg_factory(["detector=off", "model.restore.paste=2"]))


def test_warp_swap_preset_trains_a_warp_only_generator_on_restoration_pairs(cfg_factory):
    # experiment=warp_swap (experiments/2026-12-06_warp_only): the swap is the target moved by a coarse
    # flow; same-identity pairs are scrambled and asked back
    cfg = cfg_factory(["experiment=warp_swap", "detector=off"])
    assert cfg.model.restore.max_px == 4.0 and cfg.data.same_ratio == 0.5
    module = build_module(cfg)
    gen = module.generator
    assert gen.head is None and not gen.rgb_change and gen.warp_level == 3 and len(gen.ups) == 0
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32) * 1.8 - 0.9
    with torch.no_grad():
        gen.flow.weight.normal_(0, 0.5)  # a trained flow: the output is the target, moved
        out = gen(target, torch.nn.functional.normalize(torch.randn(2, gen.id_dim), dim=1)).image
    assert (out - target).abs().mean() > 0.01
    assert out.min() >= target.min() - 1e-5 and out.max() <= target.max() + 1e-5  # resampled, not painted


def test_lite_aad_swap_renders_from_scratch_and_uses_the_identity(cfg_factory):
    # experiment=lite_aad_swap (experiments/2026-12-05_restore): no residual RGB, no mask, an AAD decoder,
    # so at init the output is neither the target nor independent of the source identity
    cfg = cfg_factory(["experiment=lite_aad_swap"])
    assert cfg.loss.weights.pose_expression == 15.0
    gen = instantiate(cfg.generator, id_dim=8).eval()
    assert gen.decoder == "aad" and not gen.residual_rgb and not gen.blend_mask
    torch.manual_seed(0)
    target = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a = gen(target, torch.nn.functional.normalize(torch.randn(2, 8), dim=1)).image
        b = gen(target, torch.nn.functional.normalize(torch.randn(2, 8), dim=1)).image
    assert (a - target).abs().mean() > 0.05  # not a copy of the target
    assert (a - b).abs().mean() > 1e-3  # the identity reaches the pixels
