"""A trained swap model for inference: :class:`SwapModel` (EMA generator + identity encoder).

Neither Lightning nor the training code is imported here.

    model = deepswap.load_checkpoint("logs/train/runs/<run>/checkpoints/last.ckpt")
    swaps = model.swap(targets, sources)     # (B, 3, H, W) in [-1, 1]

Load one with :func:`deepswap.inference.load_model` (checkpoints and export folders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

from deepswap.errors import CheckpointError
from deepswap.inference.format import CHECKPOINT_FORMAT, EMA_PREFIX, ENCODER_PREFIX, sub_state
from deepswap.models.generators.base import GeneratorOutput
from deepswap.utils.safeload import load_weights

__all__ = ["CheckpointError", "SwapModel", "identity_arch", "read_checkpoint"]


def identity_arch(meta: dict) -> nn.Module:
    """The identity encoder's network, empty: from the spec its builder saved, else an IResNet of the
    configured depth (ArcFace checkpoints)."""
    if meta.get("identity_encoder"):
        return instantiate(OmegaConf.create(meta["identity_encoder"]))
    from deepswap.models.identity import iresnet

    return getattr(iresnet, f"iresnet{meta['config']['identity'].get('depth', 100)}")()


def read_checkpoint(path: str | Path) -> dict:
    """Load a deepswap training checkpoint safely (``weights_only=True``) and check its format."""
    path = Path(path)
    ckpt = load_weights(path, "deepswap checkpoint")
    meta = ckpt.get("deepswap") if isinstance(ckpt, dict) else None
    if not meta or not meta.get("config"):
        raise CheckpointError(f"{path} is not a deepswap training checkpoint (no 'deepswap' metadata)")
    if meta.get("format", 0) > CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} has checkpoint format {meta['format']}, newer than this deepswap "
            f"understands ({CHECKPOINT_FORMAT}); upgrade deepswap"
        )
    return ckpt


@dataclass
class SwapModel:
    """EMA generator + the identity encoder it was trained with; ``config`` is the run's resolved config.

    ``identity_input`` resamples the generator's crops onto the 112 px ArcFace template before the
    encoder (``deepswap.models.identity.align``; built from the config when not given)."""

    generator: nn.Module
    identity_encoder: nn.Module
    config: dict
    identity_spec: dict | None = None  # the encoder's build spec (None: IResNet of the configured depth)
    source: str | None = None  # the file the weights were loaded from
    identity_input: nn.Module | None = None
    compiled: object | None = field(default=None, init=False, repr=False)  # see compile()

    def __post_init__(self) -> None:
        if self.identity_input is None:
            from deepswap.models.identity.align import ArcFaceInput, crop_alignment

            self.identity_input = ArcFaceInput.for_encoder(
                self.identity_encoder, self.image_size, crop_alignment(self.config)
            )
        # channels-last weights and activations: oneDNN's convolutions on a CPU run DeepSwap-Lite 1.3x
        # faster on one 256 px image, 1.5-1.6x on batches at 256 and at 64 px (bench_generator_speed.py)
        self.generator.to(memory_format=torch.channels_last)
        if next(self.generator.parameters()).device.type == "cpu":  # activations stay paged in
            from deepswap.utils.cpu import keep_freed_memory

            keep_freed_memory()

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> SwapModel:
        ckpt = read_checkpoint(path)
        cfg = ckpt["deepswap"]["config"]
        generator = instantiate(OmegaConf.create(cfg["generator"]))
        generator.load_state_dict(sub_state(ckpt["state_dict"], EMA_PREFIX))
        encoder = identity_arch(ckpt["deepswap"])
        encoder.load_state_dict(sub_state(ckpt["state_dict"], ENCODER_PREFIX))
        return cls(
            generator.eval().to(device),
            encoder.eval().to(device),
            cfg,
            ckpt["deepswap"].get("identity_encoder"),
            str(Path(path).resolve()),
        )

    @property
    def image_size(self) -> int:
        return int(self.config["data"]["size"])

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        """``(B, 3, S, S)`` crops in [-1, 1] at the model's size -> L2-normalised embeddings ``(B, D)``."""
        crops = self.identity_input.to(images.device)(images)
        return F.normalize(self.identity_encoder(crops).float(), dim=1)

    def compile(self, **options) -> SwapModel:
        """Run the generator through ``torch.compile`` (``options`` go to it) from now on -> self.

        Inductor fuses the element-wise passes that eager mode makes one by one: DeepSwap-Lite at
        256 px on 2 CPU cores ran 1.05-1.3x faster compiled than eager channels-last across four runs
        (12.9-18.3 img/s); SimSwap, whose time is in wide convolutions, gains 0-10%.
        The first call with each new input shape compiles (20-40 s on 2 cores; needs a C++ compiler
        on CPUs), so it pays off for videos and batch jobs, not for one image."""
        self.compiled = torch.compile(self.generator, **options)
        return self

    @torch.no_grad()
    def generate(self, target: Tensor, source_id: Tensor):
        """The generator on ``(B, 3, S, S)`` targets in [-1, 1] and ``(B, D)`` identities (on its
        device), in channels-last memory format -> its output (image, mask).

        On a CPU, crops of 256 px and more go through one at a time: DeepSwap-Lite at 256 px runs
        13.6-14.4 img/s that way against 9.0-9.4 batched by 4 or 8 (activations that stay in cache, and the
        one-sample path of ``ModulatedConv2d``); at 128 px batching is as fast or faster."""
        generator = self.generator if self.compiled is None else self.compiled
        target = target.contiguous(memory_format=torch.channels_last)
        small = target.shape[-1] * target.shape[-2] < 256**2
        if target.device.type != "cpu" or target.shape[0] == 1 or small:
            return generator(target, source_id)
        outs = [generator(target[i : i + 1], source_id[i : i + 1]) for i in range(target.shape[0])]
        masks = [o.mask for o in outs]
        return GeneratorOutput(
            torch.cat([o.image for o in outs]), None if masks[0] is None else torch.cat(masks)
        )

    @torch.no_grad()
    def swap(self, target: Tensor, source: Tensor) -> Tensor:
        """Render ``source``'s identity into ``target``; both ``(B, 3, H, W)`` in [-1, 1] (B may differ
        only if ``source`` has one image, which is then used for every target)."""
        device = next(self.generator.parameters()).device
        source_id = self.embed(source.to(device))
        if source_id.shape[0] == 1 and target.shape[0] > 1:
            source_id = source_id.expand(target.shape[0], -1)
        return self.generate(target.to(device), source_id).image.float().clamp(-1, 1)
