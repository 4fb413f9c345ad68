"""The face-swap GAN as a LightningModule: manual optimisation, D step, G step, detector step, EMA generator.

Shapes: images ``(B, 3, H, W)`` float in [-1, 1]; identity embeddings ``(B, D)`` L2-normalised.
Progress: ``global_step`` counts optimiser steps (per batch: D and G, plus the detector's when one is
co-trained); ``kimg`` counts images seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.evaluation.metrics import identity_cosine, region_errors
from deepswap.faces.region import dilate_mask, paste_inside, scramble_face
from deepswap.inference.format import CHECKPOINT_FORMAT
from deepswap.losses import (
    AttributeLoss,
    FeatureMatchingLoss,
    IdentityLoss,
    LazyR1,
    ReconstructionLoss,
    TargetIdentityLoss,
)
from deepswap.losses.identity_space import IdentitySpace
from deepswap.losses.spectral import SpectralLoss
from deepswap.models.identity.align import ArcFaceInput
from deepswap.training import rng
from deepswap.training.detector_step import CoTraining, align_checkpoint, snapshot_spec, write_snapshot
from deepswap.training.ema import DEFAULT_HALF_LIFE_KIMG, EMA

log = logging.getLogger(__name__)
LOSS_NAMES = (
    "adversarial",
    "identity",
    "reconstruction",
    "attribute",
    "feature_matching",
    "outside",  # L1 to the target outside the (dilated) face region, every pair
    "truth",  # L1 to the ground-truth swap: the supervised upper bound only (loss=supervised)
    "truth_perceptual",  # L1 between frozen-encoder features of swap and truth (loss=supervised)
    "pose_expression",  # L1 between the frozen encoder's pose + expression reads of swap and target
    "identity_target",  # the swap no closer to the target's identity than the source is (leakage)
    "cycle",  # L1 between the target and the swap swapped back with the target's own identity
)


def needs_discriminator(loss_weights) -> bool:
    """Whether a generator objective uses D: a non-zero adversarial or feature-matching weight
    (``loss=supervised`` has neither, so D is then neither run nor trained). ``deepswap.train`` counts
    the optimiser steps per batch with the same rule."""
    return any(float(loss_weights.get(k, 0.0)) for k in ("adversarial", "feature_matching"))


def random_affine(images: Tensor, strength: float, scale: bool = True) -> Tensor:
    """``(B, 3, H, W)`` -> the same images, each shifted, scaled and rotated at random (differentiable).

    ``strength`` is the largest shift as a share of the image (scale and rotation scale with it; with
    ``scale=False`` only shifts and rotations, which leave face width and length as they are). Seen
    through such jitter, the identity encoder cannot be fooled by pixel-exact patterns: the generator
    has to change the face, not paint stripes the frozen encoder happens to respond to.
    """
    b = images.shape[0]
    r = torch.rand(b, 4, device=images.device, dtype=torch.float32) * 2 - 1
    angle, zoom = r[:, 0] * strength * 2, 1 + r[:, 1] * strength * float(scale)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos, -sin, r[:, 2] * strength * 2], 1),
            torch.stack([sin, cos, r[:, 3] * strength * 2], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _features(encoder: nn.Module, x: Tensor) -> list[Tensor]:
    """The activations after each ReLU of ``encoder.features`` (or ``encoder.trunk.features``, a
    Sequential), else ``[encoder(x)]``."""
    owner = encoder if isinstance(getattr(encoder, "features", None), nn.Sequential) else None
    if owner is None and isinstance(
        getattr(getattr(encoder, "trunk", None), "features", None), nn.Sequential
    ):
        owner = encoder.trunk  # a FactorOracle's ConvTrunk
    if owner is None:
        return [encoder(x)]
    trunk, size = owner.features, getattr(owner, "input_size", None)
    if size and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    out = []
    for layer in trunk:
        x = layer(x)
        if isinstance(layer, nn.ReLU):
            out.append(x)
    return out


class FaceSwapModule(L.LightningModule):
    """Generator + multi-scale patch discriminator + frozen identity encoder.

    Args:
        generator / discriminator: built networks (``deepswap.models``).
        identity_encoder: frozen; embeds sources and scores the identity loss.
        adversarial_loss: a :class:`deepswap.losses.AdversarialLoss`.
        loss_weights: weight per name in ``LOSS_NAMES``; 0 disables a term (it is then not computed).
        r1: ``{gamma, interval}`` for lazy R1 on reals (None: :class:`LazyR1`'s defaults; gamma 0: off).
        ema_half_life_kimg: half-life of the EMA generator in thousands of images; None:
            :data:`deepswap.training.ema.DEFAULT_HALF_LIFE_KIMG` (:mod:`deepswap.training.ema`).
        optimizer_g / optimizer_d: partial optimisers (``params -> Optimizer``).
        eval_identity_encoder: optional second encoder, never used for training, for validation scores.
        grad_clip: max gradient norm per optimiser step (None: off).
        nan_patience: stop after this many consecutive non-finite losses (the steps are skipped).
        identity_jitter: random shift/scale/rotation applied to swaps before the identity encoder in
            the identity loss (0: off); see :func:`random_affine`.
        detector / optimizer_det / detector_settings: an optional co-trained deepfake detector
            (``(B, 3, H, W) -> (B,)`` logits, positive = fake), its partial optimiser and the
            :class:`~deepswap.training.detector_step.CoTraining` kwargs (mode, replay, ...).
        spectral: ``{weight, mode, min_radius}`` of the generator's :class:`SpectralLoss` (weight 0: off).
        identity_crop: ``{size, alignment}`` of the training crops; ArcFace crops are resampled onto
            the 112 px template before each identity encoder (``deepswap.models.identity.align``).
        run_config: the resolved run config (at least its ``generator``, ``data`` and ``identity``
            sections), written into every checkpoint: ``deepswap.load_checkpoint`` rebuilds the
            generator from it. ``deepswap.train`` passes the whole config; without one, checkpoints
            train and resume but do not load for inference.
        identity_spec: how to rebuild the identity encoder's network (a ``_target_`` dict); None: the
            encoder's own ``build_spec`` when it has one (deepswap's encoder builders give one), else
            an IResNet of the configured depth.
        face_region: ``{dilate_px, confine}``: where batches carry ``target_mask`` (the target's face),
            the region is that mask grown by ``dilate_px``; the ``outside`` loss is the L1 to the
            target beyond it, and with ``confine`` every training swap is limited to it
            (``target + region * (swap - target)``) before D, the identity encoder and the losses see
            it. None: no region (the ``outside`` weight must then be 0).
        identity_space: ``{dims, shrinkage, identities, views}``: the identity loss compares swap and
            source in a discriminant space of the frozen encoder's embedding
            (:class:`~deepswap.losses.identity_space.IdentitySpace`), fitted when training starts on
            ``identities`` x ``views`` training images (``datamodule.identity_views``). None: the
            plain cosine over the whole embedding.
        identity_jitter_scale: let the identity jitter scale the swap too (False: shifts and rotations
            only, so the encoder sees the face's width and length as they are).
        restore: ``{max_px, grid}``: same-identity pairs reach the generator with their face scrambled
            (:meth:`scrambled`) and are reconstructed to the clean target. None or ``max_px=0``: off.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        identity_encoder: nn.Module,
        adversarial_loss: nn.Module,
        loss_weights: dict,
        optimizer_g: Callable,
        optimizer_d: Callable,
        r1: dict | None = None,
        ema_half_life_kimg: float | None = None,
        eval_identity_encoder: nn.Module | None = None,
        grad_clip: float | None = None,
        nan_patience: int = 5,
        identity_jitter: float = 0.0,
        feature_matching_last_n: int = 2,
        reconstruction: str = "l1",
        detector: nn.Module | None = None,
        optimizer_det: Callable | None = None,
        detector_settings: dict | None = None,
        spectral: dict | None = None,
        identity_crop: dict | None = None,
        run_config: dict | None = None,
        identity_spec: dict | None = None,
        face_region: dict | None = None,
        identity_jitter_scale: bool = True,
        identity_space: dict | None = None,
        restore: dict | None = None,
    ):
        super().__init__()
        self.automatic_optimization = False
        unknown = set(loss_weights) - set(LOSS_NAMES)
        if unknown:
            raise ValueError(f"unknown loss weight(s) {sorted(unknown)}; valid: {list(LOSS_NAMES)}")
        self.generator, self.discriminator = generator, discriminator
        self.identity_encoder = identity_encoder.eval().requires_grad_(False)
        self.eval_identity_encoder = (
            eval_identity_encoder.eval().requires_grad_(False) if eval_identity_encoder is not None else None
        )
        crop = dict(identity_crop or {"size": 0, "alignment": "none"})
        self.identity_input = ArcFaceInput.for_encoder(identity_encoder, **crop)
        self.eval_identity_input = None
        if eval_identity_encoder is not None:
            self.eval_identity_input = ArcFaceInput.for_encoder(eval_identity_encoder, **crop)
        self.ema = EMA(generator, ema_half_life_kimg or DEFAULT_HALF_LIFE_KIMG)
        self.adversarial_loss = adversarial_loss
        self.weights = {k: float(loss_weights.get(k, 0.0)) for k in LOSS_NAMES}
        if detector is not None and optimizer_det is None:
            raise ValueError("a co-trained detector needs optimizer_det (a partial optimiser)")
        self.detector, self.optimizer_det = detector, optimizer_det
        self.cotrain = CoTraining(**(detector_settings or {})) if detector is not None else None
        hl = self.cotrain.ema_half_life_kimg if self.cotrain else None
        # the weights validated, saved and scored; BatchNorm statistics averaged with them
        self.detector_ema = EMA(detector, hl, average_buffers=True) if hl else None
        self.weights["evasion"] = self.cotrain.evasion_weight if self.cotrain else 0.0
        spectral = dict(spectral or {})
        self.weights["spectral"] = float(spectral.pop("weight", 0.0))
        self.spectral_loss = SpectralLoss(**spectral)
        self.identity_loss, self.attribute_loss = IdentityLoss(), AttributeLoss()
        self.target_identity_loss = TargetIdentityLoss()
        self.reconstruction_loss = ReconstructionLoss(reconstruction)
        self.feature_matching_loss = FeatureMatchingLoss(feature_matching_last_n)
        self.r1 = LazyR1(**(r1 or {}))  # without r1: LazyR1's defaults (StyleGAN2's)
        self.optimizer_g, self.optimizer_d = optimizer_g, optimizer_d
        self.grad_clip, self.nan_patience = grad_clip, int(nan_patience)
        self.identity_jitter = float(identity_jitter)
        self.identity_jitter_scale = bool(identity_jitter_scale)
        space = dict(identity_space or {})
        self.space_views = (int(space.pop("identities", 256)), int(space.pop("views", 4)))
        self.identity_space = (
            IdentitySpace(int(generator.id_dim), **space) if identity_space is not None else None
        )
        region = dict(face_region or {})
        unknown_region = set(region) - {"dilate_px", "confine"}
        if unknown_region:
            raise ValueError(
                f"unknown face_region key(s) {sorted(unknown_region)}; valid: dilate_px, confine"
            )
        self.region_dilate = int(region.get("dilate_px", 3)) if face_region is not None else None
        restore = dict(restore or {})
        unknown_restore = set(restore) - {"max_px", "grid", "paste"}
        if unknown_restore:
            raise ValueError(f"unknown restore key(s) {sorted(unknown_restore)}; valid: max_px, grid, paste")
        self.restore_px, self.restore_grid = float(restore.get("max_px", 0.0)), int(restore.get("grid", 6))
        self.restore_paste = float(restore.get("paste", 0.0))
        if self.restore_px < 0 or self.restore_grid < 2 or not 0 <= self.restore_paste <= 1:
            raise ValueError(
                f"restore needs max_px >= 0, grid >= 2 and paste in [0, 1], got max_px={self.restore_px}, "
                f"grid={self.restore_grid}, paste={self.restore_paste}"
            )
        if (self.restore_px or self.restore_paste) and face_region is None:
            raise ValueError("restore scrambles the face region: it needs model.face_region={dilate_px: 4}")
        self.region_confine = bool(region.get("confine", False)) and face_region is not None
        if self.weights["pose_expression"] and not callable(getattr(identity_encoder, "predict", None)):
            raise ValueError(
                f"loss.weights.pose_expression needs an identity encoder with pose and expression heads "
                f"(a FactorOracle: identity=synthetic_factors); {type(identity_encoder).__name__} has no "
                f"predict(). Set loss.weights.pose_expression=0 for this encoder"
            )
        if self.weights["outside"] and face_region is None:
            raise ValueError("the outside loss needs face_region (model.face_region={dilate_px: 4})")
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))
        self.nan_streak = 0
        self.nan_skipped = 0
        self.run_config = dict(run_config) if run_config is not None else None
        missing = [
            k for k in ("generator", "data") if self.run_config is not None and k not in self.run_config
        ]
        if missing:
            raise ValueError(
                f"run_config lacks {missing}: pass the resolved run config (train.yaml composed)"
            )
        self.identity_spec = (
            identity_spec if identity_spec is not None else getattr(identity_encoder, "build_spec", None)
        )
        self._rng_to_restore = None  # a resumed run's random states, set when the first batch comes

    # -- helpers ---------------------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        self.identity_encoder.eval()  # frozen encoders keep their BatchNorm statistics
        if self.eval_identity_encoder is not None:
            self.eval_identity_encoder.eval()
        self.ema.shadow.eval()
        return self

    def embed(self, images: Tensor, encoder: nn.Module | None = None) -> Tensor:
        """``(B, 3, H, W)`` in [-1, 1] -> L2-normalised ``(B, D)`` embedding."""
        if encoder is None or encoder is self.identity_encoder:
            encoder, stage = self.identity_encoder, self.identity_input
        else:
            stage = self.eval_identity_input if encoder is self.eval_identity_encoder else nn.Identity()
        return F.normalize(encoder(stage(images)).float(), dim=1)

    @property
    def kimg(self) -> float:
        return float(self.images_seen) / 1000.0

    def configure_optimizers(self):
        optimizers = [
            self.optimizer_g(self.generator.parameters()),
            self.optimizer_d(self.discriminator.parameters()),
        ]
        if self.detector is not None:
            optimizers.append(self.optimizer_det(self.detector.parameters()))
        return optimizers

    def _finite_or_skip(self, loss: Tensor, name: str) -> bool:
        bad = not bool(torch.isfinite(loss.detach()).item())
        if self.trainer is not None and self.trainer.world_size > 1:
            bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            return True
        self.nan_streak += 1
        self.nan_skipped += 1
        log.warning(
            "non-finite %s loss at step %d: step skipped (%d in a row)",
            name,
            self.global_step,
            self.nan_streak,
        )
        self.log("train/nan_skipped", float(self.nan_skipped))
        if self.nan_streak >= self.nan_patience:
            log.error(
                "%d non-finite losses in a row: stopping. The last checkpoint holds the last good "
                "weights (skipped steps never touched them). Lower the learning rates or enable "
                "trainer.grad_clip / bf16.",
                self.nan_streak,
            )
            self.trainer.should_stop = True
        return False

    def _optimise(self, opt, loss: Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        opt.step()  # clips in on_before_optimizer_step, once mixed precision has unscaled the gradients

    def on_before_optimizer_step(self, optimizer) -> None:
        """Clip to ``grad_clip`` through Lightning's ``clip_gradients``: called inside ``opt.step()``,
        after a 16-mixed gradient scaler has unscaled the gradients (clipping scaled ones before the
        step would clip by the loss scale instead)."""
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")

    # -- steps -----------------------------------------------------------------------------------
    def training_step(self, batch: dict, batch_idx: int) -> None:
        opt_g, opt_d, *opt_det = self.optimizers()
        target, source, same = batch["target"], batch["source"], batch["same"]
        region = self.face_region(batch)
        with torch.no_grad():
            source_id = self.source_identity(source, batch.get("source_views"))
            given = self.scrambled(target, same, region, batch)  # what G sees (target unless restore is on)
            fake = None  # for D and the detector only: not made when neither runs (loss=supervised)
            if self.uses_discriminator or opt_det:
                fake = self.confine(self.generator(given, source_id).image, target, region)
        d_logs = self._d_step(opt_d, target, fake)  # fake: seen by D, then (detached) by the detector
        g_logs = self._g_step(opt_g, target, source_id, same, region, batch.get("truth"), given)
        reals = torch.cat([target, source])
        pseudo_from = (target, batch.get("target_mask"), region)
        det_logs = self._det_step(opt_det[0], reals, fake, pseudo_from) if opt_det else {}
        if d_logs is not None and g_logs is not None:
            batch_images = target.shape[0] * self.trainer.world_size
            self.images_seen += batch_images
            self.ema.update(self.generator, batch_images, int(self.images_seen))
            if self.detector_ema is not None and det_logs is not None:
                self.detector_ema.update(self.detector, batch_images)  # no ramp-up: starts at the warm start
            self.log_dict({**d_logs, **g_logs, **(det_logs or {})}, prog_bar=False)
            self.log("kimg", self.kimg, prog_bar=True)
            if det_logs is not None:
                self.nan_streak = 0
        if self.cotrain is not None and self.cotrain.snapshot_due(self.kimg):
            self._snapshot()

    @property
    def uses_discriminator(self) -> bool:
        """False when neither the adversarial nor the feature-matching weight is set (``loss=supervised``):
        the discriminator is then neither trained nor run (:func:`needs_discriminator`)."""
        return needs_discriminator(self.weights)

    def _d_step(self, opt_d, target: Tensor, fake: Tensor) -> dict | None:
        if not self.uses_discriminator:
            return {}
        with self.toggled_optimizer(opt_d):
            real_logits = self.discriminator(target).logits
            fake_logits = self.discriminator(fake.detach()).logits
            loss = self.adversarial_loss.d_loss(real_logits, fake_logits)
            logs = {"train/d/adversarial": loss.detach()}
            if self.r1.due(int(self.d_steps)):
                r1 = self.r1(lambda x: self.discriminator(x).logits, target)
                loss = loss + r1
                logs["train/d/r1"] = r1.detach()
            if not self._finite_or_skip(loss, "discriminator"):
                return None
            self._optimise(opt_d, loss)
            self.d_steps += 1
        return logs

    def source_identity(self, source: Tensor, views: Tensor | None = None) -> Tensor:
        """The identity target: the source's embedding, or with ``views`` ``(B, V, 3, H, W)`` (more
        images of each source identity) the re-normalised mean embedding of the source and its views."""
        if views is None or views.shape[1] == 0:
            return self.embed(source)
        b, v = views.shape[:2]
        every = torch.cat([source[:, None], views], 1).flatten(0, 1)
        return F.normalize(self.embed(every).view(b, v + 1, -1).mean(1), dim=1)

    def scrambled(
        self, target: Tensor, same: Tensor, region: Tensor | None, batch: dict | None = None
    ) -> Tensor:
        """The generator's input: ``target``, with the faces of same-identity pairs scrambled when
        ``restore`` is on. The reconstruction loss still asks for the clean target, so those pairs teach
        the generator to put the source identity's features back in place: a dense pixel signal for
        using identity, which plain same-identity pairs (where copying the target is exact) never give.

        A share ``restore.paste`` of those faces get another face of the batch pasted over them
        (:func:`~deepswap.detection.manipulations.paste_swap`: aligned by the 5 landmarks, colour
        transferred, alpha-blended; needs ``target_landmarks`` in the batch): the scramble is then the
        difference between two real identities, so undoing it is a swap onto a face that looks like
        another person, with its answer known. The others, when ``restore.max_px > 0``, get a smooth
        random warp (:func:`~deepswap.faces.region.scramble_face`)."""
        if region is None or not bool(same.any()) or not (self.restore_px or self.restore_paste):
            return target
        moved = scramble_face(target, region, self.restore_px, self.restore_grid)
        if self.restore_paste:
            pick = same.cpu() & (torch.rand(target.shape[0]) < self.restore_paste)
            if bool(pick.any()):
                moved = moved.clone()
                at = pick.to(target.device)  # inside the face region only (paste rounds to 8 bits)
                moved[at] = paste_inside(self._pasted(target, batch or {}, pick), target[at], region[at])
        return torch.where(same.view(-1, 1, 1, 1).to(target.device), moved, target)

    def _pasted(self, target: Tensor, batch: dict, pick: Tensor) -> Tensor:
        """The ``pick`` ed targets with the next target of the batch (another identity) pasted in."""
        from deepswap.detection.manipulations import paste_swap

        marks, mask = batch.get("target_landmarks"), batch.get("target_mask")
        if marks is None or mask is None:
            raise ValueError(
                "model.restore.paste needs target_landmarks and target_mask in each batch (the synthetic "
                "world gives both); set it to 0 for this data"
            )
        idx = torch.nonzero(pick).flatten()
        donor = (idx + 1) % target.shape[0]
        seed = int(torch.randint(0, 2**31 - 1, (1,)))
        out = paste_swap(
            target[idx], target[donor], mask[idx], mask[donor], marks[idx], marks[donor],
            blend="alpha", colour_transfer=True, seed=seed,
        )  # fmt: skip
        return out.to(target.dtype)

    def face_region(self, batch: dict) -> Tensor | None:
        """The dilated target face region ``(B, 1, H, W)``, or None (no ``face_region`` or no mask)."""
        mask = batch.get("target_mask")
        if self.region_dilate is None or mask is None:
            return None
        return dilate_mask(mask.to(batch["target"].dtype), self.region_dilate)

    def confine(self, image: Tensor, target: Tensor, region: Tensor | None) -> Tensor:
        """``image`` limited to ``region`` (``target`` elsewhere) when ``face_region.confine`` is set."""
        if region is None or not self.region_confine:
            return image
        return paste_inside(image, target, region)

    def generator_losses(
        self,
        target: Tensor,
        source_id: Tensor,
        same: Tensor,
        region: Tensor | None = None,
        truth: Tensor | None = None,
        given: Tensor | None = None,
    ) -> tuple[Tensor, dict]:
        """All weighted generator terms for one batch -> (total, {name: value}). ``given``: the
        generator's input when it is not ``target`` itself (``restore``); every loss still compares with
        the clean ``target``."""
        w = self.weights
        raw = self.generator(target if given is None else given, source_id).image
        image = self.confine(raw, target, region)
        terms = {}
        if self.uses_discriminator:
            d_out = self.discriminator(image)
            terms["adversarial"] = self.adversarial_loss.g_loss(d_out.logits)
        if w["identity"] or w["identity_target"]:  # one encoder pass of the swap serves both terms
            seen = image
            if self.identity_jitter:
                seen = random_affine(image, self.identity_jitter, self.identity_jitter_scale)
            seen = self.identity_encoder(self.identity_input(seen))
            if self.identity_space is not None:
                seen, source_id = self.identity_space(seen), self.identity_space(source_id)
            if w["identity"]:
                terms["identity"] = self.identity_loss(seen, source_id)
            if w["identity_target"]:
                with torch.no_grad():
                    tgt = self.identity_encoder(self.identity_input(target))
                    if self.identity_space is not None:
                        tgt = self.identity_space(tgt)
                terms["identity_target"] = self.target_identity_loss(seen, source_id, tgt, same)
        if w["reconstruction"]:
            terms["reconstruction"] = self.reconstruction_loss(image, target, same)
        if w["outside"] and region is not None:
            outside = 1.0 - region
            err = (raw.float() - target.float()).abs() * outside
            terms["outside"] = err.sum() / (outside.sum() * raw.shape[1]).clamp_min(1.0)
        if w["truth"] or w["truth_perceptual"]:
            if truth is None:
                raise ValueError(
                    "loss=supervised needs the truth in training batches (data.train_truth=true)"
                )
            terms["truth"] = (image.float() - truth.float()).abs().mean()
            if w["truth_perceptual"]:
                terms["truth_perceptual"] = self.perceptual(image, truth)
        if w["pose_expression"]:
            terms["pose_expression"] = self.pose_expression(image, target)
        if w["cycle"]:
            terms["cycle"] = self.cycle(image, target, region)
        if w["attribute"]:
            terms["attribute"] = self.attribute_loss(
                self.generator.encode_attributes(image), self.generator.encode_attributes(target)
            )
        if w["feature_matching"]:
            with torch.no_grad():
                real_features = self.discriminator(target).features
            terms["feature_matching"] = self.feature_matching_loss(d_out.features, real_features)
        if w["evasion"]:
            terms["evasion"] = self.cotrain.evasion(self.detector, image)
        if w["spectral"]:
            terms["spectral"] = self.spectral_loss(image, target)
        total = sum(w[k] * v for k, v in terms.items())
        return total, terms

    def pose_expression(self, image: Tensor, target: Tensor) -> Tensor:
        """Mean L1, in factor units ([0, 1] ranges), between the frozen encoder's pose (yaw, pitch,
        roll) and expression reads of ``image`` and of ``target``: the attribute loss of issue 10 (what
        a swap must keep from its target, as the encoder's heads see it). No jitter: it would move roll."""
        seen = self.identity_encoder.predict(self.identity_input(image))
        with torch.no_grad():
            ref = self.identity_encoder.predict(self.identity_input(target))
        diffs = [(seen[k].float() - ref[k].float()).abs().mean() for k in ("pose", "expression")]
        return torch.stack(diffs).mean()

    def cycle(self, image: Tensor, target: Tensor, region: Tensor | None = None) -> Tensor:
        """Cycle consistency: the swap ``image`` swapped back with the target's own identity (its
        embedding by the frozen encoder) must return ``target``; mean L1 over pixels. Unlike the
        identity and pose terms, this is a pixel signal on cross-identity pairs: a feature of the swap
        drawn off the target's pose or expression comes back misplaced, and the error reaches the
        first pass through the second. Both passes use the live generator; the back swap is confined
        like the swap (``face_region.confine``). Needs no ground truth, so it holds on real data.
        Measured as a target-leakage term (the back swap is easiest when the swap keeps the target):
        ``experiments/2026-12-07_cycle``."""
        with torch.no_grad():
            own = self.embed(target)
        back = self.confine(self.generator(image, own).image, image, region)
        return (back.float() - target.float()).abs().mean()

    def perceptual(self, image: Tensor, truth: Tensor) -> Tensor:
        """Mean L1 between the frozen identity encoder's feature maps (after each ReLU of a
        :class:`~deepswap.models.identity.conv.ConvTrunk`, else its embedding) of ``image`` and
        ``truth``: the upper bound's perceptual term, with no downloaded network."""
        a, b = self.identity_input(image), self.identity_input(truth)
        terms = [
            (x.float() - y.float().detach()).abs().mean()
            for x, y in zip(_features(self.identity_encoder, a), _features(self.identity_encoder, b))
        ]
        return torch.stack(terms).mean()

    def _g_step(
        self,
        opt_g,
        target: Tensor,
        source_id: Tensor,
        same: Tensor,
        region: Tensor | None = None,
        truth: Tensor | None = None,
        given: Tensor | None = None,
    ) -> dict | None:
        with self.toggled_optimizer(opt_g):
            loss, terms = self.generator_losses(target, source_id, same, region, truth, given)
            if not self._finite_or_skip(loss, "generator"):
                return None
            self._optimise(opt_g, loss)
        logs = {f"train/g/{k}": v.detach() for k, v in terms.items()}
        logs["train/g/total"] = loss.detach()
        return logs

    def _det_step(self, opt_det, reals: Tensor, fake: Tensor, pseudo_from: tuple | None = None):
        """Detector on ``reals`` (targets and sources) vs detached swaps + replayed older swaps + the
        pseudo-fakes of ``detector.pseudo`` made from ``pseudo_from = (target, face mask, region)``:
        self-blends on the face masks, targets regenerated by G (confined to the region)."""
        pseudo = self._pseudo_fakes(*pseudo_from) if pseudo_from is not None else None
        with self.toggled_optimizer(opt_det):
            images, labels = self.cotrain.batch(reals, fake.detach(), pseudo)
            loss, acc = self.cotrain.loss(self.detector(images), labels)
            if not self._finite_or_skip(loss, "detector"):
                return None
            self._optimise(opt_det, loss)
        return {"train/det/loss": loss.detach(), "train/det/acc": acc}

    @torch.no_grad()
    def _pseudo_fakes(self, target: Tensor, mask: Tensor | None, region: Tensor | None) -> Tensor | None:
        parts = [self.cotrain.sbi_fakes(target, mask)]
        k = self.cotrain.pseudo_count("self_swap", target.shape[0])
        if k:
            t = target[-k:]  # the last targets (SBI takes the first): G(target, id(target))
            regen = self.generator(t, self.embed(t)).image.float()
            parts.append(self.confine(regen, t, None if region is None else region[-k:]))
        out = torch.cat(parts)
        return out if len(out) else None

    @property
    def kept_detector(self) -> nn.Module | None:
        """The detector that is validated, snapshotted and loaded from checkpoints: the weight average
        when ``detector.ema_half_life_kimg`` is set, else the live one (which the generator evades)."""
        return self.detector_ema.shadow if self.detector_ema is not None else self.detector

    def _snapshot(self) -> None:
        """Detector and EMA generator state_dicts to ``<run>/snapshots`` (rank zero), for cross-play."""
        if self.trainer.is_global_zero:
            spec = snapshot_spec(self.run_config, self.identity_spec)
            folder = Path(self.trainer.default_root_dir) / "snapshots"
            write_snapshot(folder, self.global_step, self.kimg, self.kept_detector, self.ema.shadow, spec)

    def fit_identity_space(self) -> None:
        """Fit the identity loss's space on the datamodule's training identities (once: a resumed run
        keeps the fitted buffers)."""
        if self.identity_space is None or bool(self.identity_space.fitted):
            return
        p, k = self.space_views
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "identity_views"):
            raise ValueError(
                "model.identity_space is fitted on the datamodule's identity_views: pass a deepswap "
                "datamodule to trainer.fit, or set model.identity_space=null"
            )
        views = datamodule.identity_views(p, k, seed=0)
        with torch.no_grad():
            chunks = views["images"].to(self.device).split(256)
            embeddings = torch.cat([self.embed(c) for c in chunks])
        self.identity_space.fit(embeddings, views["labels"])
        ratios = self.identity_space.ratios
        log.info(
            "identity space: %d discriminant directions from %d identities x %d views; between/within "
            "variance ratio %.2f (first) .. %.2f (last)",
            self.identity_space.dims,
            p,
            k,
            float(ratios[0]),
            float(ratios[-1]),
        )

    def on_fit_start(self) -> None:
        self.fit_identity_space()

    def on_train_start(self) -> None:
        if self._rng_to_restore is not None:  # here: after the loaders are built, before the first step
            rng.restore(self._rng_to_restore)
            self._rng_to_restore = None
        if self.cotrain is not None:
            self.cotrain.start_snapshots(self.kimg)  # a resumed run does not repeat its last one

    # -- validation ------------------------------------------------------------------------------
    @torch.no_grad()
    def swap(self, target: Tensor, source: Tensor, use_ema: bool = True) -> Tensor:
        """Swap ``source``'s identity into ``target`` (both ``(B, 3, H, W)`` in [-1, 1])."""
        generator = self.ema.shadow if use_ema else self.generator
        return generator(target, self.embed(source)).image.float().clamp(-1, 1)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        swap = self.swap(batch["target"], batch["source"])
        scorer = self.eval_identity_encoder or self.identity_encoder
        metrics = {
            "val/id_cos": identity_cosine(self.embed(swap, scorer), self.embed(batch["source"], scorer)),
            "val/id_cos_target": identity_cosine(
                self.embed(swap, scorer), self.embed(batch["target"], scorer)
            ),
        }
        if self.detector is not None:
            self.cotrain.add_val_scores(
                self.kept_detector, torch.cat([batch["target"], batch["source"]]), swap
            )
        if "truth" in batch:
            errors = region_errors(swap, batch["truth"], batch["truth_mask"], batch["target_mask"])
            for k in ("gt_l1_face", "gt_l1", "gt_psnr"):
                metrics[f"val/{k}"] = errors[k].nan_to_num(0.0)
        self.log_dict(
            {k: v.mean() for k, v in metrics.items()},
            sync_dist=True,
            batch_size=swap.shape[0],
            prog_bar=False,
        )

    def on_validation_epoch_end(self) -> None:
        scores = self.cotrain.pop_val_scores() if self.cotrain else None
        if scores is None:
            return
        real, fake = (self.all_gather(s).flatten() for s in scores)  # every process scores all of them
        self.log_dict(self.cotrain.val_metrics(real, fake), sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self.cotrain is not None:
            checkpoint["detector_cotraining"] = self.cotrain.state_dict()  # the replay buffer
        checkpoint["deepswap"] = {
            "format": CHECKPOINT_FORMAT,
            "kimg": self.kimg,
            "nan_skipped": self.nan_skipped,
            "config": self.run_config,
            "identity_encoder": self.identity_spec,  # how to rebuild the frozen identity encoder
        }
        checkpoint["deepswap_rng"] = rng.capture()  # a resumed run continues the same random stream

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._rng_to_restore = checkpoint.get("deepswap_rng")
        align_checkpoint(checkpoint, self.detector, self.cotrain, self.detector_ema)  # and the replay buffer
