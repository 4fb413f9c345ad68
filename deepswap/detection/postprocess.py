"""Post-processing ``(B, 3, H, W)`` float in [-1, 1] -> same shape, applied identically to reals and fakes.

Operations, in the order a sharing pipeline applies them: a sub-pixel shift (the resampling of a crop,
rotation or re-alignment), down-then-up resize, Gaussian blur, Gaussian noise, JPEG. Applying any of them
to one class only lets a detector learn the operation instead of the forgery (e.g. "JPEG means fake"), so
:class:`PostProcess` processes both classes with one parameter set.

Two JPEG paths: the exact one encodes and decodes with ``cv2`` (no gradient); the differentiable one
re-implements baseline JPEG as libjpeg does it (8-bit YCbCr planes, 4:2:0 chroma with box downsampling
and triangle upsampling, 8x8 DCT, IJG tables scaled by quality), with rounding replaced by a
straight-through estimator or the cubic ``round(x) + (x - round(x))**3`` (Shin & Song 2017), for the
generator's evasion path. Resize, blur and noise are the same torch code on both paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Example quantisation tables of the JPEG standard (ITU T.81, Annex K), used by libjpeg at quality 50.
# fmt: off
_LUMA_Q = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
           14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
           49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
# fmt: on
_CHROMA_Q = [17, 18, 24, 47] + [99] * 4 + [18, 21, 26, 66] + [99] * 4 + [24, 26, 56] + [99] * 5 + [47, 66]
_CHROMA_Q += [99] * (64 - len(_CHROMA_Q))
_RGB_TO_YCC = [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
_YCC_TO_RGB = [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]


def _check_images(images: Tensor) -> None:
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images (B, 3, H, W) in [-1, 1], got shape {tuple(images.shape)}")


def quantize(images: Tensor, ste: bool = False) -> Tensor:
    """``(..., H, W)`` in [-1, 1] -> rounded to the 8-bit grid, as a saved image holds it; ``ste``: the
    gradient passes straight through (the generator's evasion path)."""
    q = torch.round((images.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1
    return images + (q - images).detach() if ste else q


def quant_tables(quality: Tensor) -> Tensor:
    """Qualities ``(B,)`` in [1, 100] -> IJG luma/chroma tables ``(B, 2, 8, 8)`` (libjpeg scaling)."""
    q = quality.long().clamp(1, 100)
    scale = torch.where(q < 50, 5000 // q, 200 - 2 * q)[:, None, None]
    base = torch.tensor([_LUMA_Q, _CHROMA_Q], dtype=torch.long, device=q.device)[None]
    return ((base * scale + 50) // 100).clamp(1, 255).view(-1, 2, 8, 8).float()


def _dct_matrix(device: torch.device) -> Tensor:
    n = torch.arange(8, dtype=torch.float64, device=device)
    c = torch.cos((2 * n[None, :] + 1) * n[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    c[0] /= math.sqrt(2)
    return c.float()  # orthonormal DCT-II: coefficients = C @ block @ C.T


def block_dct(x: Tensor, inverse: bool = False) -> Tensor:
    """``(B, C, H, W)`` with H, W multiples of 8 -> per-8x8-block (inverse) DCT, same shape."""
    b, ch, h, w = x.shape
    c = _dct_matrix(x.device).to(x.dtype)
    blocks = x.reshape(b, ch, h // 8, 8, w // 8, 8).transpose(3, 4)
    out = c.T @ blocks @ c if inverse else c @ blocks @ c.T
    return out.transpose(3, 4).reshape(b, ch, h, w)


def _round(x: Tensor, rounding: str) -> Tensor:
    if rounding == "ste":
        return x + (torch.round(x) - x).detach()
    if rounding == "cubic":
        r = torch.round(x)
        return r + (x - r) ** 3
    raise ValueError(f"rounding must be 'ste' or 'cubic', got {rounding!r}")


def _quantise(plane: Tensor, table: Tensor, rounding: str) -> Tensor:
    """Plane ``(B, 1, H, W)`` -> level shift, DCT, quantisation by ``table`` ``(B, 8, 8)``, inverse DCT."""
    b, _, h, w = plane.shape
    coef = block_dct(plane - 128.0).reshape(b, 1, h // 8, 8, w // 8, 8)
    t = table[:, None, None, :, None, :]
    coef = _round(coef / t, rounding) * t
    return block_dct(coef.reshape(b, 1, h, w), inverse=True) + 128.0


def diff_jpeg(images: Tensor, quality: Tensor | float, rounding: str = "ste") -> Tensor:
    """``(B, 3, H, W)`` in [-1, 1] -> differentiable JPEG at ``quality`` (scalar or ``(B,)``)."""
    _check_images(images)
    b, _, h, w = images.shape
    q = torch.as_tensor(quality, device=images.device).expand(b)
    tables = quant_tables(q).to(images.dtype)
    x = (images + 1) * 127.5
    ph, pw = (-h) % 16, (-w) % 16  # 4:2:0 works on 16x16 macroblocks; libjpeg pads by edge replication
    x = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x

    def u8(t: Tensor) -> Tensor:
        # libjpeg keeps every plane as 8-bit integers between stages; straight-through rounding here, so
        # cubic mode's small derivative (3 (x - round x)^2) is applied once, at quantisation, not chained
        return _round(t.clamp(0, 255), "ste")

    offset = x.new_tensor([0.0, 128.0, 128.0])[:, None, None]
    ycc = torch.einsum("ij,bjhw->bihw", x.new_tensor(_RGB_TO_YCC), x) + offset
    y = u8(_quantise(u8(ycc[:, :1]), tables[:, 0], rounding))
    chroma = u8(F.avg_pool2d(u8(ycc[:, 1:]), 2))
    cb, cr = (u8(_quantise(chroma[:, i : i + 1], tables[:, 1], rounding)) for i in (0, 1))
    chroma = u8(F.interpolate(torch.cat([cb, cr], 1), scale_factor=2, mode="bilinear", align_corners=False))
    rgb = u8(torch.einsum("ij,bjhw->bihw", x.new_tensor(_YCC_TO_RGB), torch.cat([y, chroma - 128.0], 1)))
    return rgb[:, :, :h, :w] / 127.5 - 1


def cv2_jpeg(images: Tensor, quality: Tensor | float) -> Tensor:
    """``(B, 3, H, W)`` in [-1, 1] -> JPEG round trip through ``cv2.imencode``/``imdecode`` (no gradient)."""
    _check_images(images)
    q = torch.as_tensor(quality).expand(images.shape[0]).tolist()
    u8 = ((images.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    out = []
    for img, qi in zip(u8.permute(0, 2, 3, 1).numpy(), q):
        bgr = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(round(qi))])
        if not ok:
            raise RuntimeError(f"cv2.imencode failed at JPEG quality {qi}")
        out.append(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    dec = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return dec.to(images.device, images.dtype)


def jpeg(
    images: Tensor, quality: Tensor | float, differentiable: bool = False, rounding: str = "ste"
) -> Tensor:
    """``(B, 3, H, W)`` in [-1, 1] -> JPEG at ``quality``: cv2 (exact) or :func:`diff_jpeg`."""
    return diff_jpeg(images, quality, rounding) if differentiable else cv2_jpeg(images, quality)


def gaussian_blur(images: Tensor, sigma: Tensor | float) -> Tensor:
    """``(B, C, H, W)`` -> separable Gaussian blur, ``sigma`` in pixels (scalar or ``(B,)``; 0 = identity)."""
    b, c, h, w = images.shape
    s = torch.as_tensor(sigma, dtype=images.dtype, device=images.device).expand(b)
    radius = int(math.ceil(3 * float(s.max())))
    if radius == 0:
        return images
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    k = torch.exp(-(t[None] ** 2) / (2 * s.clamp_min(1e-3)[:, None] ** 2))
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, K): one kernel per channel
    x = F.pad(images.reshape(1, b * c, h, w), (radius,) * 4, mode="replicate")
    x = F.conv2d(x, k[:, None, :, None], groups=b * c)
    x = F.conv2d(x, k[:, None, None, :], groups=b * c)
    return x.reshape(b, c, h, w)


def subpixel_shift(images: Tensor, dx: Tensor | float, dy: Tensor | float) -> Tensor:
    """``(B, C, H, W)`` -> translated by ``(dx, dy)`` pixels (scalars or ``(B,)``), bilinear, border padding.

    A fractional shift ``d`` resamples every pixel with the kernel ``(1 - d, d)``: the mild softening a
    crop, rotation or face re-alignment leaves (variance ``d (1 - d)`` per axis, 1/6 on average over ``d``,
    about a 0.4 px Gaussian). Self-blended fakes carry it inside the face (their copy is zoomed and shifted);
    applied to both classes it stops being a sign of a fake."""
    b, _, h, w = images.shape
    dx, dy = (torch.as_tensor(v, dtype=images.dtype).expand(b).to(images.device) for v in (dx, dy))
    theta = torch.zeros(b, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2], theta[:, 1, 2] = -2.0 * dx / w, -2.0 * dy / h  # sampled at x - dx: the image moves by +dx
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def resize_down_up(images: Tensor, factor: float) -> Tensor:
    """``(B, C, H, W)`` -> resized by ``factor`` (antialiased bilinear), then back to ``(H, W)``."""
    h, w = images.shape[-2:]
    if factor >= 1.0:
        return images
    size = (max(1, round(h * factor)), max(1, round(w * factor)))
    down = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(down, size=(h, w), mode="bilinear", align_corners=False)


def gaussian_noise(images: Tensor, std: float, seed: int) -> Tensor:
    """``(B, C, H, W)`` -> plus N(0, std) noise (``std`` on the [0, 1] pixel scale), clamped to [-1, 1]."""
    g = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(images.shape, generator=g).to(images.device, images.dtype)
    return (images + 2.0 * std * noise).clamp(-1, 1)


@dataclass
class PostParams:
    """Per-image parameters, each ``(B,)`` on CPU: an on/off mask and a value per operation."""

    resize: Tensor
    factor: Tensor
    blur: Tensor
    sigma: Tensor
    noise: Tensor
    noise_std: Tensor
    noise_seed: Tensor
    jpeg: Tensor
    quality: Tensor
    shift: Tensor
    dx: Tensor
    dy: Tensor

    def __len__(self) -> int:
        return self.resize.shape[0]

    def __getitem__(self, idx: Tensor) -> PostParams:
        return PostParams(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def _on(mask: Tensor, x: Tensor, fn: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Apply ``fn(x[idx], idx)`` to the images selected by ``mask``; the others pass through unchanged."""
    idx = mask.nonzero().flatten()
    if idx.numel() == 0:
        return x
    out = x.clone()
    out[idx.to(x.device)] = fn(x[idx.to(x.device)], idx)
    return out


class PostProcess(nn.Module):
    """Random post-processing of ``(B, 3, H, W)`` in [-1, 1] with one parameter set for both classes.

    Each operation is applied to an image with its probability ``p_*``; its value is drawn uniformly
    from its range (``quality`` as integers; ``noise_std`` on the [0, 1] pixel scale, ``sigma`` in pixels;
    ``shift``: the size of the shift in pixels along each axis, its sign drawn at random). ``p_shift=0``
    (the default) draws the same parameters for the other operations as before the shift existed.
    """

    def __init__(
        self,
        p_jpeg: float = 0.5,
        quality: tuple[int, int] = (30, 95),
        p_blur: float = 0.2,
        sigma: tuple[float, float] = (0.2, 1.5),
        p_resize: float = 0.2,
        scale: tuple[float, float] = (0.5, 0.9),
        p_noise: float = 0.1,
        noise_std: tuple[float, float] = (0.0, 0.03),
        rounding: str = "ste",
        p_shift: float = 0.0,
        shift: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        probabilities = {"p_jpeg": p_jpeg, "p_blur": p_blur, "p_resize": p_resize, "p_noise": p_noise,
                         "p_shift": p_shift}  # fmt: skip
        for name, p in probabilities.items():
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        ranges = {"quality": quality, "sigma": sigma, "scale": scale, "noise_std": noise_std, "shift": shift}
        for name, (lo, hi) in ranges.items():
            if lo > hi or lo < 0:
                raise ValueError(f"{name} range must be (low, high) with 0 <= low <= high, got {(lo, hi)}")
        if not 1 <= quality[0] <= quality[1] <= 100 or scale[1] > 1:
            raise ValueError(f"quality must lie in [1, 100] and scale in (0, 1]; got {quality}, {scale}")
        _round(torch.zeros(1), rounding)  # validates the name
        self.p = {"jpeg": p_jpeg, "blur": p_blur, "resize": p_resize, "noise": p_noise, "shift": p_shift}
        self.ranges = {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}
        self.rounding = rounding

    def sample_params(self, batch_size: int, generator: torch.Generator | None = None) -> PostParams:
        """Draw parameters for ``batch_size`` images (CPU tensors), reproducibly given ``generator``."""

        def u(lo: float, hi: float) -> Tensor:
            return lo + (hi - lo) * torch.rand(batch_size, generator=generator, dtype=torch.float64)

        def on(name: str) -> Tensor:
            return torch.rand(batch_size, generator=generator) < self.p[name]

        qlo, qhi = self.ranges["quality"]
        params = dict(
            resize=on("resize"),
            factor=u(*self.ranges["scale"]).float(),
            blur=on("blur"),
            sigma=u(*self.ranges["sigma"]).float(),
            noise=on("noise"),
            noise_std=u(*self.ranges["noise_std"]).float(),
            noise_seed=torch.randint(0, 2**62, (batch_size,), generator=generator),
            jpeg=on("jpeg"),
            quality=torch.floor(u(qlo, qhi + 1 - 1e-9)).long(),
        )
        zero = torch.zeros(batch_size)
        params.update(shift=zero.bool(), dx=zero, dy=zero)
        if self.p["shift"] > 0:  # drawn last and only when on: the other draws stay as they were without it
            sign = lambda: torch.where(torch.rand(batch_size, generator=generator) < 0.5, -1.0, 1.0)  # noqa: E731
            dx = u(*self.ranges["shift"]).float() * sign()
            dy = u(*self.ranges["shift"]).float() * sign()
            params.update(shift=on("shift"), dx=dx, dy=dy)
        return PostParams(**params)

    def apply(self, images: Tensor, params: PostParams, differentiable: bool = False) -> Tensor:
        """``(B, 3, H, W)`` -> processed with ``params`` (length B); cv2 JPEG unless ``differentiable``."""
        _check_images(images)
        if len(params) != images.shape[0]:
            raise ValueError(f"params are for {len(params)} images but the batch has {images.shape[0]}")
        p = params

        def resize(v: Tensor, idx: Tensor) -> Tensor:
            return torch.cat([resize_down_up(v[j : j + 1], float(p.factor[k])) for j, k in enumerate(idx)])

        def noise(v: Tensor, idx: Tensor) -> Tensor:
            std, seed = p.noise_std[idx].tolist(), p.noise_seed[idx].tolist()
            return torch.cat([gaussian_noise(v[j : j + 1], std[j], seed[j]) for j in range(len(idx))])

        x = _on(p.shift, images, lambda v, idx: subpixel_shift(v, p.dx[idx], p.dy[idx]))
        x = _on(p.resize, x, resize)
        x = _on(p.blur, x, lambda v, idx: gaussian_blur(v, p.sigma[idx]))
        x = _on(p.noise, x, noise)
        return _on(p.jpeg, x, lambda v, i: jpeg(v, p.quality[i], differentiable, self.rounding))

    def forward(
        self,
        real: Tensor,
        fake: Tensor,
        differentiable: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(B, 3, H, W)`` reals and fakes -> both processed; the same parameters at each batch position.

        ``differentiable`` applies to BOTH classes, so the detector never sees exact JPEG on one class
        and the approximation on the other. Batches of different sizes get independent draws.
        """
        params = self.sample_params(real.shape[0], generator)
        fake_params = (
            params if fake.shape[0] == real.shape[0] else self.sample_params(fake.shape[0], generator)
        )
        return self.apply(real, params, differentiable), self.apply(fake, fake_params, differentiable)
