"""DeepSwap-Lite: deepswap's cheap default generator (U-Net with identity-modulated convs + soft mask)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.models.generators.aad import AADResBlock
from deepswap.models.generators.base import GeneratorOutput, SwapGenerator, tanh_residual
from deepswap.models.layers import MappingNetwork, ModulatedConv2d, channel_plan


def _conv_act(cin: int, cout: int, stride: int) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
    nn.init.kaiming_normal_(conv.weight, a=0.2, nonlinearity="leaky_relu")
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.LeakyReLU(0.2, inplace=True))


def _norm(x: Tensor, on: bool) -> Tensor:
    """Instance-normalise ``x`` when ``on`` (AdaIN's first half: the identity then sets the statistics)."""
    return F.instance_norm(x) if on else x


class ModResBlock(nn.Module):
    """(B, C, h, w) + (B, w_dim) latent -> (B, C, h, w): two modulated 3x3 convs, residual, / sqrt(2)."""

    def __init__(self, channels: int, w_dim: int, id_shift: bool = False, id_norm: bool = False) -> None:
        super().__init__()
        self.id_norm = id_norm
        self.conv1 = ModulatedConv2d(channels, channels, 3, w_dim, shift=id_shift)
        self.conv2 = ModulatedConv2d(channels, channels, 3, w_dim, shift=id_shift)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        y = F.leaky_relu(self.conv1(_norm(x, self.id_norm), w), 0.2)
        y = F.leaky_relu(self.conv2(_norm(y, self.id_norm), w), 0.2)
        return (x + y) / math.sqrt(2.0)


class DecoderStage(nn.Module):
    """(B, C_in, h, w) + skip (B, C_out, 2h, 2w) + latent -> (B, C_out, 2h, 2w).

    1x1 conv to C_out at the low resolution (cheap), x2 upsampling (``upsample``: "bilinear", or
    "nearest", which copies each value into a 2x2 block and so favours axis-aligned bands), plus a 1x1
    projection of the encoder skip (pose, expression, background), then an identity-modulated 3x3 conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        upsample: str = "bilinear",
        id_shift: bool = False,
        id_norm: bool = False,
    ) -> None:
        super().__init__()
        self.id_norm = id_norm
        if upsample not in ("bilinear", "nearest"):
            raise ValueError(f"upsample must be 'bilinear' or 'nearest', got {upsample!r}")
        self.upsample = upsample
        self.reduce = nn.Conv2d(in_channels, out_channels, 1)
        self.skip = nn.Conv2d(out_channels, out_channels, 1)
        self.conv = ModulatedConv2d(out_channels, out_channels, 3, w_dim, shift=id_shift)

    def forward(self, x: Tensor, skip: Tensor, w: Tensor) -> Tensor:
        if self.upsample == "nearest":
            up = F.interpolate(self.reduce(x), scale_factor=2, mode="nearest")
        else:
            up = F.interpolate(self.reduce(x), scale_factor=2, mode="bilinear", align_corners=False)
        x = up + self.skip(skip)
        return F.leaky_relu(self.conv(_norm(x, self.id_norm), w), 0.2)


class AADBottleneck(nn.Module):
    """(B, C, h, w) + latent -> (B, C, h, w): an AAD residual block whose attributes are its own input."""

    def __init__(self, channels: int, w_dim: int, n_layers: int) -> None:
        super().__init__()
        self.block = AADResBlock(channels, channels, channels, w_dim, n_layers)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.block(x, x, w)


class AADDecoderStage(nn.Module):
    """(B, C_in, h, w) + skip (B, C_out, 2h, 2w) + latent -> (B, C_out, 2h, 2w), FaceShifter's way.

    1x1 conv to C_out, bilinear x2, then an AAD residual block (``n_layers`` units of AAD -> ReLU ->
    3x3 conv) with the encoder skip as its attribute map: every unit instance-normalises its input and
    mixes an attribute denormalisation (from the skip) with an identity one (scale and shift from the
    latent) under a learned per-pixel mask, so the identity sets the features' statistics wherever the
    mask lets it, instead of only rescaling the target's channels.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, n_layers: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(in_channels, out_channels, 1)
        self.block = AADResBlock(out_channels, out_channels, out_channels, w_dim, n_layers)

    def forward(self, x: Tensor, skip: Tensor, w: Tensor) -> Tensor:
        up = F.interpolate(self.reduce(x), scale_factor=2, mode="bilinear", align_corners=False)
        return self.block(up, up if skip is None else skip, w)  # no skip: its own input is the attribute map


class DeepSwapLiteGenerator(SwapGenerator):
    """(B, 3, H, W) target in [-1, 1] + (B, id_dim) source_id -> GeneratorOutput(image, mask).

    Encoder: 3x3 stem + ``n_down`` stride-2 3x3 convs (channels ``base * 2**i`` capped at
    ``max_channels``). ``n_blocks`` identity-modulated residual blocks at 1/2**n_down, then one decoder
    stage per level (skip from the encoder + identity-modulated 3x3 conv), so the identity acts at
    every resolution and pose/background come through the skips. A 3x3 head gives RGB (tanh) and a
    soft mask (sigmoid, bias ``mask_bias_init`` so it starts low); ``image`` is the blended
    ``mask * raw + (1 - mask) * target`` and ``mask`` (B, 1, H, W) is returned too. With
    ``residual_rgb`` the RGB head predicts a change in tanh space, ``raw = tanh(head + atanh(target))``,
    so raw starts equal to the target: without it a random raw drives the mask to 0 within a few
    dozen steps, after which raw gets no gradient (mask collapse). ``upsample``: the decoder's x2
    upsampling, "bilinear" (default) or "nearest" (the old default; it shaped axis-aligned streaks).
    ``blend_mask=False`` drops the mask (returned as ones): with ``residual_rgb`` the output is the
    target wherever the head outputs 0, so the mask only multiplies the RGB head's gradient (a mask
    and a change that both start small slow each other down); the training module's face region keeps
    the edit on the face. With neither (``residual_rgb=False, blend_mask=False``) the face is rendered
    from scratch, as AEI-Net renders it: only the training module's face region (``confine``) and the
    swapper's paste keep the target around it. ``rgb_init_scale`` scales the RGB head's initial
    weights (0: the output starts exactly at the target, or at grey without ``residual_rgb``).
    ``warp_pixels > 0`` adds a displacement head (at most that many
    pixels, tanh-bounded, starting at 0): the residual then applies to the warped target, so the
    generator can move edges (face width, eye and mouth shape: the identity's geometry) instead of
    painting them. ``warp_level`` k predicts that flow at 1/2**k of the image and upsamples it
    bilinearly (a smooth field); ``rgb_change=False`` drops the RGB head, so the swap is the warped target
    alone (it can move geometry but cannot paint; without a mask the decoder stops at the flow's level:
    ``experiment=warp_swap``). ``id_shift`` adds a per-channel shift from the identity latent to every
    modulated conv's output (AdaIN's beta, AAD's id_beta; zero-initialised): modulation alone only rescales
    the target's features, so without it the identity cannot add what the target lacks. ``id_norm``
    instance-normalises each modulated conv's input (with ``id_shift``: AdaIN, the identity sets the
    per-channel statistics instead of the target's). ``decoder="aad"`` replaces the bottleneck blocks
    and decoder stages with AAD residual blocks (``aad_layers`` units each; ``aad_skipless_levels``: the
    finest N stages use their own input as the attribute map, without the encoder skip; FaceShifter's
    denormalisation, the encoder skips as attribute maps): the GHOST family learned identity much
    faster than the modulated decoder at the same size (issue 10), and this keeps deepswap's residual
    RGB, blending mask and cheap encoder around it.
    Cost with defaults (32-64-128-192 channels): 0.55 GFLOPs at 64 px, 8.9 at 256 px (FLOPs scale
    with H*W for a fixed n_down); ``base_channels=16, max_channels=128, n_blocks=3`` costs 0.22 / 3.5.
    """

    def __init__(
        self,
        id_dim: int = 512,
        base_channels: int = 32,
        max_channels: int = 192,
        n_down: int = 3,
        n_blocks: int = 2,
        w_dim: int = 256,
        mapping_layers: int = 2,
        mask_bias_init: float = -1.5,
        residual_rgb: bool = True,
        upsample: str = "bilinear",
        blend_mask: bool = True,
        rgb_init_scale: float = 0.1,
        warp_pixels: float = 0.0,
        warp_level: int = 0,
        rgb_change: bool = True,
        id_shift: bool = False,
        id_norm: bool = False,
        decoder: str = "modulated",
        aad_layers: int = 2,
        aad_skipless_levels: int = 0,
    ) -> None:
        super().__init__(id_dim=id_dim, has_mask=True, size_multiple=2**n_down)
        if decoder not in ("modulated", "aad"):
            raise ValueError(f"decoder must be 'modulated' or 'aad', got {decoder!r}")
        if decoder == "aad" and (id_shift or id_norm or upsample != "bilinear" or aad_layers < 1):
            raise ValueError(
                "decoder='aad' has its own identity scale/shift and instance norm and upsamples bilinearly: "
                "leave id_shift, id_norm false and upsample bilinear, and give aad_layers >= 1"
            )
        if not 0 <= aad_skipless_levels <= n_down or (aad_skipless_levels and decoder != "aad"):
            raise ValueError(
                f"aad_skipless_levels is the number of finest AAD decoder stages without an encoder skip: "
                f"0..n_down ({n_down}) with decoder='aad', got {aad_skipless_levels} with decoder={decoder!r}"
            )
        self.aad_skipless_levels = aad_skipless_levels
        if n_down < 1 or n_blocks < 0:
            raise ValueError(f"need n_down >= 1 and n_blocks >= 0, got {n_down}, {n_blocks}")
        ch = channel_plan(base_channels, n_down + 1, max_channels)
        self.mapping = MappingNetwork(id_dim, w_dim, mapping_layers)
        w_dim = self.mapping.out_dim
        self.stem = _conv_act(3, ch[0], 1)
        self.downs = nn.ModuleList(_conv_act(ch[i], ch[i + 1], 2) for i in range(n_down))
        self.decoder = decoder
        if decoder == "aad":
            self.blocks = nn.ModuleList(AADBottleneck(ch[-1], w_dim, aad_layers) for _ in range(n_blocks))
            self.ups = nn.ModuleList(
                AADDecoderStage(ch[i + 1], ch[i], w_dim, aad_layers) for i in reversed(range(n_down))
            )
        else:
            self.blocks = nn.ModuleList(
                ModResBlock(ch[-1], w_dim, id_shift, id_norm) for _ in range(n_blocks)
            )
            self.ups = nn.ModuleList(
                DecoderStage(ch[i + 1], ch[i], w_dim, upsample, id_shift, id_norm)
                for i in reversed(range(n_down))
            )
        if warp_pixels < 0:
            raise ValueError(f"warp_pixels must be >= 0, got {warp_pixels}")
        if not 0 <= warp_level <= n_down:
            raise ValueError(
                f"warp_level is a decoder level, 0 (full size) .. n_down ({n_down}), got {warp_level}"
            )
        if not rgb_change and not warp_pixels:
            raise ValueError("rgb_change=false leaves only the warp: give warp_pixels > 0")
        self.rgb_change = rgb_change
        self.warp_level = warp_level
        # warp-only without a mask needs no decoder stage finer than the flow's level
        self.n_stages = n_down - warp_level if not (rgb_change or blend_mask) else n_down
        self.ups = self.ups[: self.n_stages]
        self.residual_rgb = residual_rgb
        self.blend_mask = blend_mask
        self.warp_pixels = float(warp_pixels)
        self.head = (
            nn.Conv2d(ch[0], 4 if blend_mask else 3, 3, padding=1) if self.n_stages == n_down else None
        )
        self.flow = None
        if warp_pixels:  # a displacement field that starts at 0 (the identity warp)
            self.flow = nn.Conv2d(ch[warp_level], 2, 3, padding=1)
            nn.init.zeros_(self.flow.weight)
            nn.init.zeros_(self.flow.bias)
        if self.head is None:
            return
        with torch.no_grad():
            self.head.weight[:3].mul_(rgb_init_scale)  # start with a small (or no) RGB change
            self.head.weight[3:].mul_(0.1)  # and a flat mask
            self.head.bias.zero_()
            if blend_mask:
                self.head.bias[3] = mask_bias_init

    def encode_attributes(self, x: Tensor) -> list[Tensor]:
        """(B, 3, H, W) -> [stem (B, C0, H, W), (B, C1, H/2, W/2), ..., (B, C_n, H/2**n, W/2**n)]."""
        self.check_image(x, "x")
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        return feats

    def warp(self, image: Tensor, flow: Tensor) -> Tensor:
        """``image`` resampled at each pixel plus ``flow`` (B, 2, h, w), bounded by ``warp_pixels``; a
        coarser flow is bilinearly upsampled to the image first (a smooth field)."""
        b, _, h, w = image.shape
        if flow.shape[-2:] != (h, w):
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
        ys = torch.linspace(-1, 1, h, device=image.device, dtype=image.dtype)
        xs = torch.linspace(-1, 1, w, device=image.device, dtype=image.dtype)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).expand(b, h, w, 2)
        scale = torch.tensor(
            [2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=image.device, dtype=image.dtype
        )
        offset = torch.tanh(flow).permute(0, 2, 3, 1) * self.warp_pixels * scale
        return F.grid_sample(image, grid + offset, mode="bilinear", padding_mode="border", align_corners=True)

    def forward(self, target: Tensor, source_id: Tensor) -> GeneratorOutput:
        """(B, 3, H, W) target, (B, id_dim) source_id -> blended image (B, 3, H, W), mask (B, 1, H, W)."""
        self.check_inputs(target, source_id)
        w = self.mapping(source_id)
        feats = self.encode_attributes(target)
        h = feats[-1]
        for block in self.blocks:
            h = block(h, w)
        first_skipless = len(feats) - 1 - self.aad_skipless_levels
        flow = None
        for i, (up, skip) in enumerate(zip(self.ups, reversed(feats[:-1]))):
            if self.flow is not None and len(feats) - 1 - i == self.warp_level:
                flow = self.flow(h)
            h = up(h, None if i >= first_skipless else skip, w)
        if self.flow is not None and flow is None:  # warp_level 0, or the last stage run
            flow = self.flow(h)
        base = target if flow is None else self.warp(target, flow)
        if self.head is None:  # warp only, no mask
            return GeneratorOutput(image=base, mask=torch.ones_like(base[:, :1]))
        out = self.head(h)
        if not self.rgb_change:
            raw = base
        else:  # residual: raw = target where the head outputs 0, so the mask is not pushed shut at init
            raw = tanh_residual(out[:, :3], base) if self.residual_rgb else torch.tanh(out[:, :3])
        if not self.blend_mask:  # the residual alone: the change is learned where it is needed
            return GeneratorOutput(image=raw, mask=torch.ones_like(raw[:, :1]))
        mask = torch.sigmoid(out[:, 3:4])
        return GeneratorOutput(image=self.blend(raw, mask, target), mask=mask)
