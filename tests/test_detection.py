"""Detection building blocks: metrics at hand-computed points, replay, post-processing, SBI, networks."""

from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F

from deepswap.detection import (
    EfficientNetDetector,
    FrequencyDetector,
    PostProcess,
    ReplayBuffer,
    ResNetDetector,
    SmallDetector,
    XceptionDetector,
    aggregate_videos,
    average_precision,
    balanced_log_loss,
    cv2_jpeg,
    diff_jpeg,
    eer,
    evasion_rate,
    frame_metrics,
    landmarks_to_mask,
    roc_auc,
    self_blend,
    subpixel_shift,
    threshold_at_fpr,
    tpr_at_fpr,
)
from deepswap.losses.spectral import SpectralLoss, azimuthal_power_spectrum


def smooth_images(b: int = 2, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(b, 3, size // 4, size // 4, generator=g) * 2 - 1
    x = F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)
    return ((x + 1) * 127.5).round() / 127.5 - 1  # on the uint8 grid, so cv2 sees the same pixels


# ---------------------------------------------------------------- metrics


def test_auc_perfect_reversed_tied_and_ties():
    y = [0, 0, 1, 1]
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc(y, [0.5] * 4) == 0.5
    # pairs (fake, real): (0.5, 0.5) tie = 0.5, the other three correct -> 3.5 / 4
    assert roc_auc([0, 0, 1, 1], [0.5, 0.2, 0.5, 0.9]) == pytest.approx(0.875)


def test_eer_interpolated_and_exact():
    # reals 0.1..0.4, fakes 0.35 and 0.5: no threshold gives FPR = FNR; the ROC segment crosses at 0.25
    assert eer([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.35, 0.5]) == pytest.approx(0.25)
    # threshold 0.45: one real (0.6) above, one fake (0.4) below -> FPR = FNR = 1/4
    assert eer([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.4, 0.5, 0.7, 0.8]) == pytest.approx(0.25)


def test_tpr_threshold_and_evasion_at_fpr():
    reals = [i / 100 for i in range(100)]
    fakes = [0.5, 0.985, 0.99, 1.5]
    y, s = [0] * 100 + [1] * 4, reals + fakes
    assert threshold_at_fpr(y, s, 0.01) == pytest.approx(0.98)  # exactly one real (0.99) above
    assert tpr_at_fpr(y, s, 0.01) == pytest.approx(0.75)
    assert tpr_at_fpr(y, s, 0.001) == pytest.approx(0.25)  # no real may be above: threshold 0.99
    assert evasion_rate(reals, fakes, 0.01) == pytest.approx(0.25)


def test_average_precision_and_balanced_log_loss_by_hand():
    # ranked: F R F R F -> precision at each fake 1, 2/3, 3/5
    assert average_precision([1, 0, 1, 0, 1], [0.9, 0.8, 0.7, 0.6, 0.5]) == pytest.approx(34 / 45)
    want = 0.5 * (-(math.log(0.9) + math.log(0.6)) / 2 - (math.log(0.8) + math.log(0.5)) / 2)
    assert balanced_log_loss([1, 1, 0, 0], [0.9, 0.6, 0.2, 0.5]) == pytest.approx(want)
    # duplicating the reals changes nothing: each class counts half
    assert balanced_log_loss([1, 1, 0, 0, 0, 0], [0.9, 0.6, 0.2, 0.5, 0.2, 0.5]) == pytest.approx(want)


def test_frame_metrics_and_errors():
    m = frame_metrics([0, 0, 1, 1], [-2.0, 1.0, -0.5, 3.0], val_threshold=-1.0)
    assert m["auc"] == 0.75 and m["acc"] == 0.5 and m["acc_val"] == 0.75
    with pytest.raises(ValueError, match="empty"):
        roc_auc([], [])
    with pytest.raises(ValueError, match="all fake"):
        eer([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="one score per label"):
        roc_auc([0, 1], [0.1])


def test_videos_grouped_by_full_path_not_basename():
    paths = ["ff/Deepfakes/000_003.mp4"] * 3 + ["ff/Face2Face/000_003.mp4"] * 2 + ["./ff/real/000.mp4"]
    paths.append("ff/real/000.mp4")  # same video as the one before, spelled differently
    scores = [0.2, 0.8, 0.5, 0.1, 0.3, 0.0, 0.4]
    labels = [1, 1, 1, 1, 1, 0, 0]
    videos = {v.path: v for v in aggregate_videos(paths, scores, labels, how="mean")}
    assert len(videos) == 3
    assert videos["ff/Deepfakes/000_003.mp4"].n_frames == 3
    assert videos["ff/Deepfakes/000_003.mp4"].score == pytest.approx(0.5)
    assert videos["ff/Face2Face/000_003.mp4"].score == pytest.approx(0.2)
    assert videos["ff/real/000.mp4"].label == 0 and videos["ff/real/000.mp4"].n_frames == 2
    top = {v.path: v.score for v in aggregate_videos(paths, scores, labels, how="topk", k=2)}
    assert top["ff/Deepfakes/000_003.mp4"] == pytest.approx(0.65)
    mx = {v.path: v.score for v in aggregate_videos(paths, scores, labels, how="max")}
    assert mx["ff/Face2Face/000_003.mp4"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="both real and fake"):
        aggregate_videos(["a/x.mp4", "a/x.mp4"], [0.1, 0.2], [0, 1])


# ---------------------------------------------------------------- replay buffer


def test_replay_capacity_and_sample_shape():
    buf = ReplayBuffer(capacity=10, seed=0)
    buf.add(torch.rand(25, 3, 4, 4) * 2 - 1)
    assert len(buf) == 10 and buf.seen == 25 and buf.storage.shape[0] == 10
    out = buf.sample(6, device="cpu")
    assert out.shape == (6, 3, 4, 4) and out.dtype == torch.float32
    assert buf.sample(15).shape == (15, 3, 4, 4)  # more than stored: drawn with replacement
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4).sample(1)


def test_replay_reservoir_keeps_old_items():
    # after 200 offers to 20 slots each item is kept with p = 0.1, so the first half fills ~10 slots;
    # a FIFO buffer would keep none of them
    old = []
    for seed in range(40):
        buf = ReplayBuffer(capacity=20, seed=seed)
        for start in range(0, 200, 10):
            buf.add(torch.arange(start, start + 10).float().view(10, 1, 1, 1).expand(10, 3, 1, 1) / 1000)
        ids = (buf.storage[:, 0, 0, 0] * 1000).round()
        old.append(float((ids < 100).float().mean()))
    assert 0.42 < sum(old) / len(old) < 0.58


def test_replay_state_dict_round_trip_uint8():
    a = ReplayBuffer(capacity=8, seed=3, as_uint8=True)
    x = torch.rand(12, 3, 4, 4) * 2 - 1
    a.add(x)
    assert a.storage.dtype == torch.uint8
    blob = io.BytesIO()
    torch.save(a.state_dict(), blob)
    b = ReplayBuffer(capacity=8, seed=99, as_uint8=True)
    b.load_state_dict(torch.load(io.BytesIO(blob.getvalue()), weights_only=True))
    assert len(b) == 8 and b.seen == 12
    torch.testing.assert_close(a.sample(5), b.sample(5))
    a.add(x[:4])
    b.add(x[:4])
    torch.testing.assert_close(a.storage, b.storage)
    decoded = a.sample(8)  # each within half a uint8 step of one of the images offered
    gap = (decoded.flatten(1)[:, None] - x.flatten(1)[None]).abs().amax(-1).amin(1)
    assert gap.max() <= 1 / 255 + 1e-6


# ---------------------------------------------------------------- post-processing


def test_postprocess_same_params_same_output_for_both_classes():
    pp = PostProcess(p_jpeg=1.0, p_blur=1.0, p_resize=1.0, p_noise=1.0, p_shift=1.0)
    x = smooth_images(3)
    params = pp.sample_params(3, torch.Generator().manual_seed(0))
    for differentiable in (False, True):
        torch.testing.assert_close(
            pp.apply(x, params, differentiable), pp.apply(x.clone(), params, differentiable)
        )
        real, fake = pp(x, x.clone(), differentiable, torch.Generator().manual_seed(1))
        torch.testing.assert_close(real, fake)
        assert (real - x).abs().mean() > 0.01
    off = PostProcess(p_jpeg=0.0, p_blur=0.0, p_resize=0.0, p_noise=0.0)
    assert torch.equal(off(x, x)[1], x)


def test_subpixel_shift_moves_by_whole_pixels_and_softens_between_and_leaves_other_draws_alone():
    x = torch.zeros(2, 3, 16, 16)
    x[..., 8, 8] = 1.0
    moved = subpixel_shift(x, torch.tensor([1.0, 0.0]), torch.tensor([0.0, -1.0]))
    assert moved[0, :, 8, 9].allclose(torch.ones(3), atol=1e-5) and moved[0, :, 8, 8].abs().max() < 1e-5
    assert moved[1, :, 7, 8].allclose(torch.ones(3), atol=1e-5)
    half = subpixel_shift(x[:1], 0.5, 0.0)[0, 0, 8]
    assert half[8:10].allclose(torch.tensor([0.5, 0.5]), atol=1e-5)  # the (1 - d, d) kernel: a mild blur
    # p_shift draws after every other operation: switching it on keeps the other parameters of a seed
    seed = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    plain = PostProcess(p_blur=0.5, p_jpeg=0.5).sample_params(8, seed())
    shifted = PostProcess(p_blur=0.5, p_jpeg=0.5, p_shift=0.5).sample_params(8, seed())
    assert torch.equal(plain.sigma, shifted.sigma) and torch.equal(plain.quality, shifted.quality)
    assert not plain.shift.any() and 0 < int(shifted.shift.sum()) < 8
    assert shifted.dx.abs().max() <= 1.0 and (shifted.dx < 0).any() and (shifted.dx > 0).any()
    with pytest.raises(ValueError, match="p_shift"):
        PostProcess(p_shift=1.5)


def test_jpeg_changes_image_and_differentiable_jpeg_is_close_to_cv2():
    x = smooth_images(2, 32) + 0.0
    x = (x + 0.03 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    x = ((x + 1) * 127.5).round() / 127.5 - 1
    real = cv2_jpeg(x, 75)
    jpeg_err = float((real - x).abs().mean() * 127.5)  # on the 0..255 scale
    approx_err = float((diff_jpeg(x, 75) - real).abs().mean() * 127.5)
    assert jpeg_err > 2.0
    assert approx_err < 2.0 and approx_err < 0.4 * jpeg_err, (approx_err, jpeg_err)
    for rounding in ("ste", "cubic"):
        xg = x.clone().requires_grad_(True)
        diff_jpeg(xg, torch.tensor([40, 90]), rounding).square().sum().backward()
        assert torch.isfinite(xg.grad).all() and xg.grad.abs().sum() > 0
    pp = PostProcess(p_jpeg=1.0, p_blur=1.0, p_resize=1.0, p_noise=1.0)
    fake = x.clone().requires_grad_(True)
    _, out = pp(x, fake, differentiable=True)
    out.sum().backward()
    assert fake.grad.abs().sum() > 0


# ---------------------------------------------------------------- spectral loss


def test_spectral_loss_sends_gradient():
    fake = smooth_images(2, 32, seed=1).requires_grad_(True)
    real = smooth_images(2, 32, seed=2) + 0.05 * torch.randn(2, 3, 32, 32)
    assert azimuthal_power_spectrum(real).shape == (2, 16)
    for mode in ("l1", "bce"):
        loss = SpectralLoss(mode)(fake, real)
        (g,) = torch.autograd.grad(loss, fake)
        assert loss > 0 and torch.isfinite(g).all() and g.abs().sum() > 0
    assert SpectralLoss()(real, real) == 0


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize(
    "make",
    [
        lambda: SmallDetector(8),
        lambda: ResNetDetector(width=4, blocks=1),
        lambda: XceptionDetector(width=0.0625, middle_blocks=1),
        lambda: FrequencyDetector(width=8, freq="fft"),
        lambda: FrequencyDetector(width=8, freq="dct"),
        lambda: EfficientNetDetector("b0"),
    ],
    ids=["small", "resnet", "xception", "freq-fft", "freq-dct", "efficientnet-b0"],
)
def test_detectors_return_logits_and_backprop(make):
    torch.manual_seed(0)
    net = make()
    out = net(smooth_images(2, 32))
    assert out.shape == (2,)
    out.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        net(torch.zeros(3, 32, 32))


def test_resnet_detector_size_and_arguments():
    # width 16, 2 blocks per stage: the configs/detect_net/resnet.yaml network
    assert sum(p.numel() for p in ResNetDetector(16, 2).parameters()) == 700_593
    with pytest.raises(ValueError, match="width >= 1"):
        ResNetDetector(width=0)


def test_efficientnet_weights_path(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        EfficientNetDetector("b0", weights_path=missing)
    a = EfficientNetDetector("b0").eval()
    torch.save(a.net.state_dict(), tmp_path / "b0.pth")
    b = EfficientNetDetector("b0", weights_path=tmp_path / "b0.pth").eval()
    torch.testing.assert_close(a.net.features[0][0].weight, b.net.features[0][0].weight)


# ---------------------------------------------------------------- self-blended images


def test_self_blend_changes_only_inside_mask_and_is_deterministic():
    x = smooth_images(2, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 10:22, 10:22] = 1
    fake, blend = self_blend(x, mask, rng=0)
    assert fake.shape == x.shape and blend.shape == mask.shape
    outside = (blend == 0).expand_as(x)
    assert outside.any() and torch.equal(fake[outside], x[outside])
    assert (fake - x).abs()[~outside].max() > 0.01
    assert blend[:, :, 0, 0].eq(0).all()  # the blurred mask stays near the face
    again, _ = self_blend(x, mask, rng=torch.Generator().manual_seed(0))
    assert torch.equal(fake, again)
    assert not torch.equal(fake, self_blend(x, mask, rng=1)[0])
    single, single_blend = self_blend(x[0], mask[0, 0], rng=0)
    assert single.shape == (3, 32, 32) and single_blend.shape == (1, 32, 32)


def test_self_blend_frequency_jitter_softens_or_sharpens_the_source():
    from deepswap.detection.sbi import _frequency_jitter

    x = smooth_images(64, 32)
    x = (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)

    def detail(t):  # high-frequency energy per image
        return (t - F.avg_pool2d(t, 3, 1, 1, count_include_pad=False)).pow(2).mean((1, 2, 3))

    assert torch.equal(_frequency_jitter(x, torch.Generator().manual_seed(0), 0.0), x)
    ratio = detail(_frequency_jitter(x, torch.Generator().manual_seed(0), 1.0)) / detail(x)
    assert (ratio < 0.8).sum() > 16 and (ratio > 1.2).sum() > 16  # about half softened, half sharpened
    assert ((ratio - 1).abs() < 0.05).sum() == 0  # every image changed at p = 1
    mask = torch.zeros(64, 1, 32, 32)
    mask[:, :, 8:24, 8:24] = 1
    plain, _ = self_blend(x, mask, rng=0, frequency=0.0)
    jittered, blend = self_blend(x, mask, rng=0, frequency=1.0)
    outside = (blend == 0).expand_as(x)
    assert torch.equal(jittered[outside], x[outside]) and not torch.equal(plain, jittered)


def test_self_blend_relight_adds_a_shading_ramp_inside_the_mask_only():
    from deepswap.detection.sbi import _relight

    x = torch.zeros(8, 3, 32, 32)  # mid grey: a multiplicative ramp shows as a linear gradient
    g = torch.Generator().manual_seed(0)
    assert torch.equal(_relight(x, g, 0.0), x)
    lit = _relight(x, torch.Generator().manual_seed(0), 1.0)
    span = lit.amax((1, 2, 3)) - lit.amin((1, 2, 3))
    # grey 0.5 on the [0, 1] scale times 1 + s * ramp, s in 0.15-0.4, |ramp| <= 1 (axis) .. sqrt(2)
    # (diagonal): a span of 2s to 2.83s on the [-1, 1] scale
    assert (span > 0.29).all() and (span < 1.14).all()
    assert torch.allclose(lit.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=0.02)  # a ramp, not a brightness step
    mask = torch.zeros(8, 1, 32, 32)
    mask[:, :, 8:24, 8:24] = 1
    y = smooth_images(8, 32)
    fake, blend = self_blend(y, mask, rng=0, frequency=0.0, relight=1.0)
    outside = (blend == 0).expand_as(y)
    assert torch.equal(fake[outside], y[outside])
    assert not torch.equal(fake, self_blend(y, mask, rng=0, frequency=0.0)[0])


def test_self_blend_poisson_clones_over_the_binary_mask():
    from deepswap.detection.sbi import check_sbi_options

    y = smooth_images(4, 32)
    mask = torch.zeros(4, 1, 32, 32)
    mask[:, :, 8:24, 8:24] = 1
    fake, blend = self_blend(y, mask, rng=0, frequency=0.0, relight=1.0, poisson=1.0)
    assert torch.equal(blend, mask)  # Poisson: the binary face mask is the blend region
    outside = (mask == 0).expand_as(y)
    assert (fake - y).abs()[outside].max() <= 1 / 127.5 + 1e-6  # only the 8-bit round trip outside
    assert (fake - y).abs()[~outside].max() > 0.01
    with pytest.raises(ValueError, match="poisson is a probability"):
        check_sbi_options({"poisson": 2})
    with pytest.raises(ValueError, match="unknown self-blend option"):
        check_sbi_options({"relit": 0.5})


def test_self_blend_mirror_flips_the_copy_about_the_face_centre():
    from deepswap.detection.sbi import _mirror, check_sbi_options

    x = torch.randn(3, 3, 16, 32)
    mask = torch.zeros(3, 1, 16, 32)
    mask[0, :, 4:12, 8:24] = 1  # centred: columns 8..23, centre between 15 and 16
    mask[1, :, 4:12, 4:20] = 1  # centre between 11 and 12: 4 columns left of the image's centre
    mask[2, :, 4:12, 11:14] = 1  # centre on column 12
    g = torch.Generator().manual_seed(0)
    assert torch.equal(_mirror(x, mask, g, 0.0), x)
    out = _mirror(x, mask, g, 1.0)
    assert torch.allclose(out[0], x[0].flip(-1), atol=1e-5)
    # about column 11.5: out[..., c] = x[..., 23 - c] where 23 - c is inside the image
    assert torch.allclose(out[1, ..., :24], x[1, ..., :24].flip(-1), atol=1e-5)
    assert torch.allclose(out[2, ..., :25], x[2, ..., :25].flip(-1), atol=1e-5)  # c -> 24 - c
    # in self_blend: the mirrored copy changes the face only where it is blended in
    y = smooth_images(4, 32)
    square = torch.zeros(4, 1, 32, 32)
    square[:, :, 8:24, 6:22] = 1
    fake, blend = self_blend(y, square, rng=0, frequency=0.0, mirror=1.0)
    outside = (blend == 0).expand_as(y)
    assert torch.equal(fake[outside], y[outside])
    assert (fake - y).abs()[~outside].max() > 0.01
    with pytest.raises(ValueError, match="mirror is a probability"):
        check_sbi_options({"mirror": 1.5})


def test_landmarks_to_mask_convex_hull():
    pts = torch.tensor([[12.0, 12.0], [20.0, 12.0], [16.0, 16.0], [13.0, 20.0], [19.0, 20.0]])
    m = landmarks_to_mask(pts, (32, 32))
    assert m.shape == (1, 1, 32, 32) and m[0, 0, 16, 16] == 1 and m[0, 0, 0, 0] == 0
    assert m.sum() > landmarks_to_mask(pts, (32, 32), expand=1.0).sum()
