"""What an identity encoder sees: ArcFace crops on the 112 px template, whatever the generator's crop.

A generator trained on ArcFace-aligned crops of size S uses insightface's template for S
(``deepswap.faces.align.arcface_template``): for S a multiple of 112 the 112 template scaled by S / 112,
otherwise insightface's 128 px rule (scaled by S / 128 and shifted right by 8 S / 128 px: a looser
crop). Recognisers are trained on the 112 template. Resizing a 256 px crop to 112 px would show them a
face 12.5% too small and 7 px off-centre; :class:`ArcFaceInput` resamples instead, with the fixed
similarity between the two templates, onto the 112 template scaled to the encoder's input size E
(``encoder.input_size``; E = 112 reproduces insightface's ``norm_crop(frame, kps, 112)`` sample for
sample). It is differentiable (``grid_sample``), so the identity loss trains through it, and has no
saved state: checkpoints do not change. Crops in the synthetic world's frame go through unchanged
(the synthetic encoders were trained on that frame).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

ARCFACE_SIZE = 112


def _pixel_to_unit(size: int) -> np.ndarray:
    """3x3: pixel coordinates (centres at integers) -> grid_sample's [-1, 1] (align_corners=False)."""
    return np.array([[2.0 / size, 0, 1.0 / size - 1], [0, 2.0 / size, 1.0 / size - 1], [0, 0, 1]])


class ArcFaceInput(nn.Module):
    """(B, 3, S, S) ArcFace crops at the generator's size S -> (B, 3, E, E) crops on the 112 template
    scaled by E / 112. ``alignment`` other than ``"arcface"`` (or an exact match): passed through."""

    def __init__(self, crop_size: int, encoder_size: int = ARCFACE_SIZE, alignment: str = "arcface"):
        super().__init__()
        self.crop_size, self.encoder_size, self.alignment = int(crop_size), int(encoder_size), alignment
        theta = None
        if alignment == "arcface":
            from insightface.utils.face_align import arcface_dst

            from deepswap.faces.align import arcface_template, similarity

            dst = np.asarray(arcface_dst, np.float64) * (self.encoder_size / ARCFACE_SIZE)
            crop_to_enc = np.vstack([similarity(arcface_template(self.crop_size), dst), [0, 0, 1]])
            if self.crop_size != self.encoder_size or not np.allclose(crop_to_enc, np.eye(3), atol=1e-4):
                unit = _pixel_to_unit(self.crop_size) @ np.linalg.inv(crop_to_enc)
                theta = torch.tensor((unit @ np.linalg.inv(_pixel_to_unit(self.encoder_size)))[:2])
        self.register_buffer("theta", theta.float() if theta is not None else None, persistent=False)

    @classmethod
    def for_encoder(cls, encoder: nn.Module, size: int, alignment: str = "arcface") -> ArcFaceInput:
        """The input stage of ``encoder`` (its ``input_size``, else 112) for crops of ``size`` px."""
        return cls(size, int(getattr(encoder, "input_size", ARCFACE_SIZE)), alignment)

    @property
    def resamples(self) -> bool:
        return self.theta is not None

    def forward(self, crops: Tensor) -> Tensor:
        if self.theta is None:
            return crops
        if crops.dim() != 4 or tuple(crops.shape[-2:]) != (self.crop_size, self.crop_size):
            size = self.crop_size
            raise ValueError(f"expected (B, C, {size}, {size}) crops, got {tuple(crops.shape)}")
        b, c = crops.shape[:2]
        theta = self.theta.to(crops.dtype).expand(b, 2, 3)
        grid = F.affine_grid(theta, [b, c, self.encoder_size, self.encoder_size], align_corners=False)
        return F.grid_sample(crops, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def extra_repr(self) -> str:
        return f"{self.crop_size} px {self.alignment} -> {self.encoder_size} px on the 112 template"


def crop_alignment(config: dict) -> str:
    """The alignment of a run's crops from its resolved config: ``data.alignment`` if set, else
    ``"synthetic"`` for the synthetic world and ``"arcface"`` otherwise (as the swapper assumes)."""
    data = config.get("data", {}) or {}
    if data.get("alignment"):
        return str(data["alignment"])
    return "synthetic" if str(data.get("_target_", "")).endswith("SyntheticDataModule") else "arcface"
