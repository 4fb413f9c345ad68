"""FaceShifter AEI-Net (Li et al., 2019): multi-level attribute U-Net encoder + AAD generator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.models.generators.base import GeneratorOutput, SwapGenerator, tanh_residual
from deepswap.models.layers import channel_plan


def _up2(x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    if size is None:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class AttributeEncoder(nn.Module):
    """(B, 3, H, W) -> list of n_down + 1 attribute maps z_att, coarse (H/2**n_down) to fine (H).

    U-Net: ``n_down`` 4x4 stride-2 conv + BN + LeakyReLU(0.1) stages, then 4x4 transposed convs back up,
    each concatenated with the encoder feature of the same size; the last map is the finest decoder
    output upsampled bilinearly to the input size. At 256 px with defaults: 8 levels,
    channels [1024, 2048, 1024, 512, 256, 128, 64, 64] at 2..256 px.
    """

    def __init__(self, base_channels: int = 32, max_channels: int = 1024, n_down: int = 7) -> None:
        super().__init__()
        enc = channel_plan(base_channels, n_down, max_channels)
        self.downs = nn.ModuleList(
            self._stage(nn.Conv2d(3 if i == 0 else enc[i - 1], enc[i], 4, 2, 1, bias=False), enc[i])
            for i in range(n_down)
        )
        self.out_channels = [enc[-1]]
        ups = []
        for i in reversed(range(n_down - 1)):
            ups.append(
                self._stage(nn.ConvTranspose2d(self.out_channels[-1], enc[i], 4, 2, 1, bias=False), enc[i])
            )
            self.out_channels.append(2 * enc[i])
        self.ups = nn.ModuleList(ups)
        self.out_channels.append(self.out_channels[-1])

    @staticmethod
    def _stage(conv: nn.Module, channels: int) -> nn.Sequential:
        return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.1, inplace=True))

    def forward(self, x: Tensor) -> list[Tensor]:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        z_att = [skips[-1]]
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            z_att.append(torch.cat([up(z_att[-1]), skip], dim=1))
        z_att.append(_up2(z_att[-1]))
        return z_att


class AADLayer(nn.Module):
    """(B, C, h, w) activation h, (B, C_att, h, w) z_att, (B, id_dim) z_id -> (B, C, h, w).

    Adaptive Attentional Denormalisation: h_bar = InstanceNorm(h); A = gamma_att * h_bar + beta_att
    (gamma/beta from convs on z_att); I = gamma_id * h_bar + beta_id (from linear layers on z_id);
    M = sigmoid(conv(h_bar)) (1 channel or one per channel); output (1 - M) * A + M * I.
    """

    def __init__(
        self,
        channels: int,
        att_channels: int,
        id_dim: int,
        mod_kernel: int = 1,
        full_channel_mask: bool = False,
    ) -> None:
        super().__init__()
        pad = mod_kernel // 2
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.att_gamma = nn.Conv2d(att_channels, channels, mod_kernel, padding=pad)
        self.att_beta = nn.Conv2d(att_channels, channels, mod_kernel, padding=pad)
        self.id_gamma = nn.Linear(id_dim, channels)
        self.id_beta = nn.Linear(id_dim, channels)
        self.mask_conv = nn.Conv2d(channels, channels if full_channel_mask else 1, mod_kernel, padding=pad)

    def forward(self, h: Tensor, z_att: Tensor, z_id: Tensor) -> Tensor:
        # Memory-bound at high resolution (issue 10 §4): the two attribute modulations run as one conv,
        # and each denormalisation and the blend is one fused pass (addcmul, lerp) instead of 2-3
        # elementwise passes over the full-size activation. Same function as the paper's formula.
        h_bar = self.norm(h)
        weight = torch.cat([self.att_gamma.weight, self.att_beta.weight])
        bias = torch.cat([self.att_gamma.bias, self.att_beta.bias])
        gamma_att, beta_att = F.conv2d(z_att, weight, bias, padding=self.att_gamma.padding).chunk(2, dim=1)
        a = torch.addcmul(beta_att, gamma_att, h_bar)
        i = torch.addcmul(self.id_beta(z_id)[:, :, None, None], self.id_gamma(z_id)[:, :, None, None], h_bar)
        m = torch.sigmoid(self.mask_conv(h_bar))
        return torch.lerp(a, i, m)


class AADResBlock(nn.Module):
    """(B, C_in, h, w) + z_att (B, C_att, h, w) + z_id -> (B, C_out, h, w).

    ``n_layers`` units of AAD -> ReLU -> conv3x3 (the last one maps C_in to C_out); when C_in != C_out
    the shortcut is one more AAD -> ReLU -> conv3x3 unit, otherwise the identity.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        att_channels: int,
        id_dim: int,
        n_layers: int = 2,
        **aad: int | bool,
    ) -> None:
        super().__init__()
        self.aads = nn.ModuleList(AADLayer(in_channels, att_channels, id_dim, **aad) for _ in range(n_layers))
        self.convs = nn.ModuleList(
            nn.Conv2d(
                in_channels, out_channels if i == n_layers - 1 else in_channels, 3, padding=1, bias=False
            )
            for i in range(n_layers)
        )
        self.shortcut_aad = self.shortcut_conv = None
        if in_channels != out_channels:
            self.shortcut_aad = AADLayer(in_channels, att_channels, id_dim, **aad)
            self.shortcut_conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)

    def forward(self, h: Tensor, z_att: Tensor, z_id: Tensor) -> Tensor:
        x = h
        for aad, conv in zip(self.aads, self.convs):
            x = conv(F.relu(aad(x, z_att, z_id), inplace=True))
        if self.shortcut_aad is not None:
            h = self.shortcut_conv(F.relu(self.shortcut_aad(h, z_att, z_id), inplace=True))
        return x + h


class AADGenerator(SwapGenerator):
    """(B, 3, H, W) target in [-1, 1] + (B, id_dim) source_id -> GeneratorOutput(image, mask).

    AEI-Net: z_att = AttributeEncoder(target); the identity is lifted to a 2x2 map by a transposed
    conv (resized to the coarsest z_att when H != 2**(n_down + 1)) and decoded by one AAD ResBlk per
    level, upsampling x2 between levels; tanh on RGB. FaceShifter: ``mod_kernel=3,
    full_channel_mask=True``; GHOST: ``mod_kernel=1, full_channel_mask=False``. FaceShifter has no
    blending mask (``output_mask=False``); with ``output_mask=True`` the last block also predicts a
    1-channel mask and ``image`` is ``mask * raw + (1 - mask) * target``. ``residual_rgb=True`` (a
    deepswap option, not in either paper): the RGB is a change in tanh space, ``raw = tanh(rgb +
    atanh(target))``, with the last block's output convs scaled by ``rgb_init_scale`` at init, so the
    swap starts near the target and keeps its pixel detail while the identity-seeded path learns what
    to change (issue 10: the regenerated face is blocky and blurred at the main job's budget).
    """

    def __init__(
        self,
        id_dim: int = 512,
        base_channels: int = 32,
        max_channels: int = 1024,
        n_down: int = 7,
        n_aad_layers: int = 2,
        mod_kernel: int = 1,
        full_channel_mask: bool = False,
        output_mask: bool = False,
        residual_rgb: bool = False,
        rgb_init_scale: float = 0.1,
    ) -> None:
        super().__init__(id_dim=id_dim, has_mask=output_mask, size_multiple=2**n_down)
        if n_down < 2 or mod_kernel % 2 == 0 or n_aad_layers < 1:
            raise ValueError(
                f"need n_down >= 2, odd mod_kernel, n_aad_layers >= 1; got {n_down}, {mod_kernel}"
            )
        self.encoder = AttributeEncoder(base_channels, max_channels, n_down)
        att = self.encoder.out_channels
        gen = [min(c, max_channels) for c in att[:-1]] + [3 + int(output_mask)]
        self.seed = nn.ConvTranspose2d(id_dim, gen[0], kernel_size=2)
        aad = dict(mod_kernel=mod_kernel, full_channel_mask=full_channel_mask)
        self.blocks = nn.ModuleList(
            AADResBlock(gen[max(k - 1, 0)], gen[k], att[k], id_dim, n_aad_layers, **aad)
            for k in range(len(att))
        )
        self.residual_rgb = residual_rgb
        if residual_rgb:
            if rgb_init_scale < 0:
                raise ValueError(f"rgb_init_scale must be >= 0, got {rgb_init_scale}")
            last = self.blocks[-1]
            with torch.no_grad():
                for conv in (last.convs[-1], last.shortcut_conv):
                    if conv is not None:
                        conv.weight[:3].mul_(rgb_init_scale)

    def check_image(self, x: Tensor, name: str = "target") -> None:
        """Also require H, W >= 2**(n_down + 1): the coarsest level must be at least 2x2 (InstanceNorm)."""
        super().check_image(x, name)
        if min(x.shape[-2:]) < 2 * self.size_multiple:
            raise ValueError(
                f"AADGenerator: {name} H and W must be >= {2 * self.size_multiple} (2**(n_down + 1)) so the "
                f"coarsest attribute level is at least 2x2, got {tuple(x.shape[-2:])}; lower n_down"
            )

    def encode_attributes(self, x: Tensor) -> list[Tensor]:
        """(B, 3, H, W) -> z_att: n_down + 1 maps from (B, C, H/2**n_down, ...) to (B, C, H, W)."""
        self.check_image(x, "x")
        return self.encoder(x)

    def forward(self, target: Tensor, source_id: Tensor) -> GeneratorOutput:
        """(B, 3, H, W) target, (B, id_dim) source_id -> image (B, 3, H, W) in [-1, 1], mask or None."""
        self.check_inputs(target, source_id)
        z_att = self.encoder(target)
        h = self.seed(source_id[:, :, None, None])
        if h.shape[-2:] != z_att[0].shape[-2:]:
            h = _up2(h, size=tuple(z_att[0].shape[-2:]))
        for k, block in enumerate(self.blocks):
            h = block(h, z_att[k], source_id)
            if k + 1 < len(self.blocks):
                h = _up2(h, size=tuple(z_att[k + 1].shape[-2:]))
        image = tanh_residual(h[:, :3], target) if self.residual_rgb else torch.tanh(h[:, :3])
        if not self.has_mask:
            return GeneratorOutput(image=image, mask=None)
        mask = torch.sigmoid(h[:, 3:4])
        return GeneratorOutput(image=self.blend(image, mask, target), mask=mask)
