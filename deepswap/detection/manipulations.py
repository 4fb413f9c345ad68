"""Face swaps made without a generator, and whole-frame pseudo-fakes: fake families for detectors.

**Paste swaps** (the classic graphics pipeline of FaceForensics++'s "FaceSwap" method, in short): align
the source face to the target with the similarity transform that maps the source's 5 landmarks onto the
target's, warp it, optionally move its colour statistics to the target's (Reinhard et al. 2001: mean and
standard deviation per channel of the Lab image, inside the face), and blend it into the target over the
face region, either with a softened alpha mask or with Poisson image editing (Pérez et al. 2003, through
``cv2.seamlessClone``). Four variants: :data:`PASTE_VARIANTS`.

**Autoencoder pseudo-fakes** ("the whole frame regenerated"): real faces passed through small
convolutional autoencoders trained briefly on reals, one per upsampler (nearest, bilinear, transposed
convolution, pixel shuffle). Every pixel is re-synthesised, as a generator re-synthesises a whole crop,
and each upsampler leaves its own spectral trace; a detector that also sees these cannot rest on "the
face region differs from its surround".

**Face autoencoder pseudo-fakes** ("only the face regenerated"): the same regenerations, blended back
into the real over its face mask (randomly grown or shrunk and softened, as for self-blends), the rest
of the frame the real's own pixels. That is what a masked face-swap generator leaves when it hardly
moves identity (the default deepswap-lite's outputs differ from their target by about 2 grey levels,
and only inside the face): a re-synthesised face with no identity change, which neither the
whole-frame regenerations nor the same-face self-blends show.

**Tinted faces** ("the face's colour drifted"): a smooth random colour field of a few grey levels added
over the face mask. A generator that regenerates the face and keeps the target's identity leaves mostly
that: the default deepswap-lite's residual to its target at 4 kimg is 80% low-frequency colour drift
(mean 2 grey levels), which neither blurred regenerations nor self-blends carry. It was designed after
inspecting that residual, so any held-out figure it lifted would be an optimistic one. Measured
(``experiments/2026-12-06_face_autoencoder``): neither it nor the face autoencoder fakes lift the held-out
deepswap or paste columns (both lower them), so neither is in ``detect_recipe=generalise``.

Images are ``(B, 3, H, W)`` float in [-1, 1]; outputs are rounded to the 8-bit grid.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.detection.postprocess import gaussian_blur, quantize

# name -> (blend, colour transfer)
PASTE_VARIANTS = {
    "paste_alpha": ("alpha", False),
    "paste_alpha_ct": ("alpha", True),
    "paste_poisson": ("poisson", False),
    "paste_poisson_ct": ("poisson", True),
}
UPSAMPLERS = ("nearest", "bilinear", "transposed", "shuffle")


def to_uint8(x: Tensor) -> np.ndarray:
    """``(3, H, W)`` in [-1, 1] -> ``(H, W, 3)`` uint8 RGB."""
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def from_uint8(a: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float() / 127.5 - 1


def align_matrix(source_landmarks: np.ndarray, target_landmarks: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, shift) taking source landmarks ``(5, 2)`` onto the
    target's, least squares (Umeyama), as ``cv2.warpAffine`` wants it."""
    src, dst = np.asarray(source_landmarks, np.float64), np.asarray(target_landmarks, np.float64)
    m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if m is None:  # degenerate landmarks: fall back to a pure shift of the centroids
        m = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        m[:, 2] = dst.mean(0) - src.mean(0)
    return m


def reinhard_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 RGB ``source`` recoloured so that its Lab mean and std inside ``mask`` (H, W) in [0, 1]
    match ``target``'s there (Reinhard et al. 2001). Returns uint8 RGB."""
    sel = mask > 0.5
    if sel.sum() < 16:
        return source
    s = cv2.cvtColor(source, cv2.COLOR_RGB2LAB).astype(np.float32)
    t = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = s[sel].mean(0), s[sel].std(0) + 1e-3
    t_mean, t_std = t[sel].mean(0), t[sel].std(0) + 1e-3
    out = (s - s_mean) * (t_std / s_std) + t_mean
    return cv2.cvtColor(out.clip(0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def poisson_clone(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``cv2.seamlessClone`` of ``src`` into ``dst`` over binary ``mask`` at the same place; the images
    are padded first so that a mask touching the border stays inside the clone's domain."""
    h, w = mask.shape
    pad = max(4, h // 8)
    big = [cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_REFLECT) for a in (src, dst)]
    m = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
    m[pad : pad + h, pad : pad + w] = mask
    x, y, bw, bh = cv2.boundingRect(m)
    if bw < 3 or bh < 3:
        return dst
    # seamlessClone puts the mask's bounding box at centre - size // 2: this centre keeps it in place
    out = cv2.seamlessClone(big[0], big[1], m * 255, (x + bw // 2, y + bh // 2), cv2.NORMAL_CLONE)
    return out[pad : pad + h, pad : pad + w]


def paste_swap(
    target: Tensor,
    source: Tensor,
    target_mask: Tensor,
    source_mask: Tensor,
    target_landmarks: Tensor,
    source_landmarks: Tensor,
    blend: str = "alpha",
    colour_transfer: bool = False,
    seed: int = 0,
) -> Tensor:
    """Paste each source face ``(B, 3, H, W)`` into its target, aligned by landmarks ``(B, 5, 2)``.

    The blend region is the target's face mask ``(B, 1, H, W)`` times the warped source face mask,
    eroded by 1-3% of the size; ``alpha`` softens it with a Gaussian (sigma 1-4% of the size, drawn per
    image from ``seed``), ``poisson`` clones over its binary version. Pixels outside the region are the
    target's (alpha: exactly; Poisson: exactly outside the mask's bounding box). Rounded to 8 bits.
    """
    if blend not in ("alpha", "poisson"):
        raise ValueError(f"blend must be 'alpha' or 'poisson', got {blend!r}")
    b, _, h, w = target.shape
    rng = np.random.default_rng([int(seed), 7707])
    out = []
    for i in range(b):
        t, s = to_uint8(target[i]), to_uint8(source[i])
        m = align_matrix(source_landmarks[i].cpu().numpy(), target_landmarks[i].cpu().numpy())
        warped = cv2.warpAffine(s, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        s_mask = source_mask[i, 0].float().cpu().numpy().astype(np.float32)
        s_mask = cv2.warpAffine(s_mask, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)
        region = target_mask[i, 0].float().cpu().numpy() * s_mask
        r = int(rng.integers(max(1, round(0.01 * h)), max(2, round(0.03 * h)) + 1))
        region = cv2.erode(region.astype(np.float32), np.ones((2 * r + 1, 2 * r + 1), np.uint8))
        if colour_transfer:
            warped = reinhard_transfer(warped, t, region)
        if blend == "alpha":
            sigma = float(rng.uniform(0.01, 0.04) * h)
            a = cv2.GaussianBlur(region, (0, 0), sigma)[..., None].clip(0, 1)
            fake = (warped.astype(np.float32) * a + t.astype(np.float32) * (1 - a)).round().astype(np.uint8)
        else:
            fake = poisson_clone(warped, t, (region > 0.5).astype(np.uint8))
        out.append(from_uint8(fake))
    return quantize(torch.stack(out).to(target.device))


def soften_mask(mask: Tensor, g: torch.Generator | None) -> Tensor:
    """``(B, 1, H, W)`` -> randomly dilated or eroded (by up to 3% of the size), then Gaussian-blurred
    (sigma 1-4% of the size) mask in [0, 1]: the blend mask of self-blends and of the face pseudo-fakes."""
    b, _, h, _ = mask.shape
    out = []
    max_r = max(1, round(0.03 * h))
    for i in range(b):
        m = mask[i : i + 1]
        r = int(torch.randint(0, max_r + 1, (1,), generator=g))
        if r > 0:
            dilate = bool(torch.rand(1, generator=g) < 0.5)
            m = F.max_pool2d(m, 2 * r + 1, 1, r) if dilate else -F.max_pool2d(-m, 2 * r + 1, 1, r)
        out.append(m)
    sigma = (0.01 * h + 0.03 * h * torch.rand(b, generator=g)).to(mask)
    return gaussian_blur(torch.cat(out), sigma).clamp(0, 1)


# ---------------------------------------------------------------- autoencoder pseudo-fakes


class TinyAutoencoder(nn.Module):
    """Two stride-2 convolutions down (1/4 resolution, ``width * 2`` channels), two upsampling stages
    of the given kind back up, ``tanh`` out. About 20k parameters at ``width=16``."""

    def __init__(self, upsampler: str = "bilinear", width: int = 16) -> None:
        super().__init__()
        if upsampler not in UPSAMPLERS:
            raise ValueError(f"upsampler must be one of {UPSAMPLERS}, got {upsampler!r}")
        c1, c2 = width, 2 * width
        act = nn.LeakyReLU(0.2)
        self.encode = nn.Sequential(
            nn.Conv2d(3, c1, 4, 2, 1), act, nn.Conv2d(c1, c2, 4, 2, 1), act, nn.Conv2d(c2, c2, 3, 1, 1), act
        )
        self.decode = nn.Sequential(self._up(upsampler, c2, c1), act, self._up(upsampler, c1, c1), act,
                                    nn.Conv2d(c1, 3, 3, 1, 1))  # fmt: skip

    @staticmethod
    def _up(kind: str, cin: int, cout: int) -> nn.Module:
        if kind == "transposed":
            return nn.ConvTranspose2d(cin, cout, 4, 2, 1)
        if kind == "shuffle":
            return nn.Sequential(nn.Conv2d(cin, 4 * cout, 3, 1, 1), nn.PixelShuffle(2))
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=kind), nn.Conv2d(cin, cout, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(self.decode(self.encode(x)))


def train_autoencoder(
    reals: Tensor, upsampler: str, steps: int = 300, width: int = 16, batch_size: int = 16, seed: int = 0
) -> TinyAutoencoder:
    """A :class:`TinyAutoencoder` fitted to reproduce ``reals`` ``(N, 3, H, W)`` (L1, Adam 2e-3)."""
    torch.manual_seed(seed)
    net = TinyAutoencoder(upsampler, width)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(int(steps)):
        x = reals[torch.randint(0, len(reals), (min(batch_size, len(reals)),), generator=g)].float()
        loss = F.l1_loss(net(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.no_grad()
def autoencoder_fakes(
    reals: Tensor,
    upsamplers: tuple[str, ...] | list[str] = UPSAMPLERS,
    steps: int = 300,
    width: int = 16,
    seed: int = 0,
    fit_on: Tensor | None = None,
) -> Tensor:
    """``reals`` ``(N, 3, H, W)`` -> each passed through one of the autoencoders (image ``i`` through
    ``upsamplers[i % K]``), each trained on ``fit_on`` (default: ``reals``). Rounded to 8 bits."""
    fit_on = reals if fit_on is None else fit_on
    out = torch.empty_like(reals, dtype=torch.float32)
    for k, kind in enumerate(upsamplers[: len(reals)]):  # fewer images than upsamplers: the first ones
        with torch.enable_grad():
            net = train_autoencoder(fit_on, kind, steps, width, seed=seed * 31 + k)
        idx = torch.arange(k, len(reals), len(upsamplers))
        for lo in range(0, len(idx), 256):
            out[idx[lo : lo + 256]] = net(reals[idx[lo : lo + 256]].float())
    return quantize(out)


def _check_masks(reals: Tensor, masks: Tensor) -> None:
    """One single-channel face mask ``(N, 1, H, W)`` per image ``(N, 3, H, W)``, or a clear error."""
    if masks.shape[0] != reals.shape[0] or masks.shape[1] != 1 or masks.shape[2:] != reals.shape[2:]:
        raise ValueError(
            f"masks {tuple(masks.shape)} do not match reals {tuple(reals.shape)}; expected one "
            "single-channel face mask of the image's size per face"
        )


@torch.no_grad()
def face_autoencoder_fakes(
    reals: Tensor, masks: Tensor, seed: int = 0, fit_on: Tensor | None = None, **autoencoder: object
) -> Tensor:
    """``reals`` ``(N, 3, H, W)`` and their face masks ``(N, 1, H, W)`` -> the reals with their face
    region replaced by an autoencoder's regeneration (:func:`autoencoder_fakes`, same options), blended
    with the mask randomly dilated or eroded by up to 3% of the size, blurred (sigma 1-4% of the size)
    and scaled by a blend ratio (1 for half the faces, else uniform in [0.1, 1): the brief autoencoders
    blur the face far more than a generator that keeps it, so faint blends cover the subtle end).
    Outside the softened mask the fake is the real. Rounded to 8 bits."""
    _check_masks(reals, masks)
    regenerated = autoencoder_fakes(reals, seed=seed, fit_on=fit_on, **autoencoder)
    g = torch.Generator().manual_seed(int(seed))
    soft = soften_mask(masks.float().cpu().clamp(0, 1), g)
    n = reals.shape[0]
    ratio = torch.where(
        torch.rand(n, generator=g) < 0.5, torch.ones(n), 0.1 + 0.9 * torch.rand(n, generator=g)
    )
    soft = soft * ratio.view(n, 1, 1, 1)
    x = reals.float().cpu()
    return quantize(x * (1 - soft) + regenerated.float() * soft)


@torch.no_grad()
def tint_fakes(
    reals: Tensor,
    masks: Tensor,
    seed: int = 0,
    max_levels: tuple[float, float] = (1.0, 8.0),
    lattice: int = 4,
) -> Tensor:
    """``reals`` ``(N, 3, H, W)`` and face masks ``(N, 1, H, W)`` -> the reals plus a smooth colour field
    inside the softened face mask (randomly grown or shrunk, blurred: as for self-blends). The field is
    uniform noise per channel on a ``lattice`` x ``lattice`` grid, upsampled bicubically, scaled so its
    peak is uniform in ``max_levels`` grey levels (of 255) per image. Rounded to 8 bits."""
    _check_masks(reals, masks)
    lo, hi = (float(v) for v in max_levels)
    if not 0 < lo <= hi:
        raise ValueError(f"max_levels must be (low, high) grey levels with 0 < low <= high, got {max_levels}")
    g = torch.Generator().manual_seed(int(seed))
    n, _, h, w = reals.shape
    soft = soften_mask(masks.float().cpu().clamp(0, 1), g)
    coarse = torch.rand(n, 3, lattice, lattice, generator=g) * 2 - 1
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    field = field / field.abs().amax((1, 2, 3), keepdim=True).clamp_min(1e-6)
    peak = (lo + (hi - lo) * torch.rand(n, generator=g)) * 2 / 255  # grey levels -> [-1, 1] units
    return quantize(reals.float().cpu() + field * peak.view(n, 1, 1, 1) * soft)
