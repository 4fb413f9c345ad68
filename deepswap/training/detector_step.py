"""Co-training a deepfake detector inside the swap GAN: its batch, loss, evasion term, scores, snapshots.

Images are ``(B, 3, H, W)`` float in [-1, 1]; the detector maps them to logits ``(B,)``, positive = fake.
The detector is :class:`~deepswap.training.module.FaceSwapModule`'s third optimiser; its step runs after
the D and G steps. Its batch: reals = the batch's targets and sources, fakes = the generator's detached
swaps plus older swaps replayed from a reservoir buffer. Both classes go through the same post-processing
draw (position by position) and, when the buffer stores uint8, the same 8-bit rounding, so neither
operation can become the cue the detector learns instead of the forgery.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deepswap.detection.metrics import evasion_rate, roc_auc
from deepswap.detection.postprocess import PostProcess, quantize
from deepswap.detection.replay import ReplayBuffer
from deepswap.detection.sbi import check_sbi_options
from deepswap.detection.train_detector import check_hflip, random_hflip

log = logging.getLogger(__name__)
MODES = ("off", "observer", "adversarial")
REPLAY_KEYS = {"capacity", "share", "as_uint8", "in_checkpoint"}
PSEUDO_KEYS = {"sbi", "self_swap"}
SNAPSHOT_FORMAT = 1


class CoTraining:
    """Settings and state of the detector game; the networks stay on the LightningModule.

    Args:
        mode: ``observer`` (the detector learns, the generator never sees it) or ``adversarial`` (the
            generator also minimises ``evasion_weight x softplus(logit)``, i.e. BCE towards "real").
        replay: ``{capacity, share, as_uint8}``; ``share`` in [0, 1) is the share of the detector's fakes
            per batch drawn from the buffer (0.5: as many replayed fakes as fresh swaps); ``in_checkpoint``:
            store the buffer in checkpoints (False: smaller files; a resumed run starts it empty).
        postprocess: :class:`PostProcess` kwargs, or None for none.
        snapshot_every_kimg: thousands of images between snapshots; 0 = off.
        val_fpr: false-positive rate on held-out reals that sets the threshold of ``val/det/evasion``.
        pseudo: pseudo-fakes added to the detector's fakes each step, as shares of the batch size:
            ``sbi`` (self-blended targets on their face masks, Shiohara & Yamasaki 2022) and
            ``self_swap`` (targets regenerated whole by the generator with source = target). They teach
            the traces of pasting and of re-synthesis rather than this generator's fingerprint
            (issue 11 §2); they never enter the replay buffer.
        ema_half_life_kimg: keep a moving average of the detector's weights with this half-life in
            thousands of images (:class:`~deepswap.training.ema.EMA`, no ramp-up); the average, not the
            live detector, is validated, snapshotted and loaded from checkpoints (``final_detector``).
            It starts from the warm start's weights (``detector.pretrain``), so after ``k`` kimg it
            still holds ``0.5 ** (k / half_life)`` of them: a weight-space ensemble of the
            pseudo-fake detector and the co-trained one (WiSE-FT, Wortsman et al. 2022). None: off.
        hflip: probability of a left-right flip of each image of the detector's batch, both classes.
    """

    def __init__(
        self,
        mode: str = "observer",
        evasion_weight: float = 0.0,
        replay: dict | None = None,
        postprocess: dict | None = None,
        snapshot_every_kimg: float = 0.0,
        val_fpr: float = 0.01,
        seed: int = 0,
        pseudo: dict | None = None,
        sbi: dict | None = None,
        ema_half_life_kimg: float | None = None,
        hflip: float = 0.0,
    ) -> None:

        if mode not in MODES or mode == "off":
            raise ValueError(f"detector mode {mode!r} needs a detector; use one of {MODES[1:]}")
        replay = {"capacity": 1024, "share": 0.5, "as_uint8": True, "in_checkpoint": True, **(replay or {})}
        if set(replay) - REPLAY_KEYS:
            raise ValueError(
                f"unknown replay key(s) {sorted(set(replay) - REPLAY_KEYS)}; valid: {sorted(REPLAY_KEYS)}"
            )
        if not 0.0 <= replay["share"] < 1.0:
            raise ValueError(f"replay.share must be in [0, 1), got {replay['share']}")
        pseudo = {"sbi": 0.0, "self_swap": 0.0, **(pseudo or {})}
        if set(pseudo) - PSEUDO_KEYS or not all(0.0 <= float(v) <= 1.0 for v in pseudo.values()):
            raise ValueError(
                f"detector.pseudo takes shares in [0, 1] of {sorted(PSEUDO_KEYS)}, got {dict(pseudo)}"
            )
        self.pseudo = {k: float(v) for k, v in pseudo.items()}
        if ema_half_life_kimg is not None and not float(ema_half_life_kimg) > 0:
            raise ValueError(
                f"detector.ema_half_life_kimg must be null (off) or > 0 kimg, got {ema_half_life_kimg}"
            )
        self.ema_half_life_kimg = None if ema_half_life_kimg is None else float(ema_half_life_kimg)
        self.sbi_rng = torch.Generator().manual_seed(int(seed) + 9173)
        self.hflip, self.flip_rng = check_hflip(hflip), torch.Generator().manual_seed(int(seed) + 4111)
        self.sbi_options = check_sbi_options(sbi)
        self.mode = mode
        self.evasion_weight = float(evasion_weight) if mode == "adversarial" else 0.0
        self.share, self.quantize = float(replay["share"]), bool(replay["as_uint8"])
        self.replay = ReplayBuffer(int(replay["capacity"]), seed, self.quantize)
        self.replay_in_checkpoint = bool(replay["in_checkpoint"])
        self.postprocess = PostProcess(**postprocess) if postprocess else None
        self.snapshot_every_kimg, self.val_fpr = float(snapshot_every_kimg), float(val_fpr)
        self.snapshots_done = 0  # multiples of snapshot_every_kimg that training has passed
        self.val_scores: dict[str, list[Tensor]] = {"real": [], "fake": []}

    # -- training --------------------------------------------------------------------------------
    def prepare(self, images: Tensor, params=None, differentiable: bool = False) -> Tensor:
        """What the detector sees: post-processed with ``params`` (if any), then 8-bit rounding.

        Image processing, not a network: it runs in float32 even under mixed-precision autocast.
        """
        with torch.autocast(images.device.type, enabled=False):
            x = images.float()
            if self.postprocess is not None and params is not None:
                x = self.postprocess.apply(x, params, differentiable)
            return quantize(x, ste=differentiable) if self.quantize else x

    def pseudo_count(self, name: str, batch_size: int) -> int:
        """How many pseudo-fakes of kind ``name`` a batch of ``batch_size`` pairs gets."""
        return min(batch_size, round(self.pseudo.get(name, 0.0) * batch_size))

    def sbi_fakes(self, targets: Tensor, masks: Tensor | None) -> Tensor:
        """Self-blends of the first ``pseudo.sbi x B`` targets on their face masks ``(B, 1, H, W)``
        (None: the aligned crop's soft ellipse); fresh draws every step."""
        from deepswap.detection.sbi import self_blend
        from deepswap.evaluation.protocol import ellipse_mask

        k = self.pseudo_count("sbi", targets.shape[0])
        if k == 0:
            return targets[:0]
        x = targets[:k].detach().float()
        m = masks[:k].float() if masks is not None else ellipse_mask(x.shape[-1]).expand(k, 1, -1, -1)
        return self_blend(x, m.to(x.device), self.sbi_rng, **self.sbi_options)[0]

    def batch(self, reals: Tensor, swaps: Tensor, pseudo: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Reals ``(R, 3, H, W)``, swaps ``(B, 3, H, W)`` -> inputs ``(N, 3, H, W)``, labels ``(N,)`` 1=fake.

        Replayed older swaps are drawn before this batch's swaps join the buffer; ``pseudo`` (pseudo-fakes,
        never replayed) join the fakes. One post-processing draw of ``max(R, F)`` parameter sets serves
        both classes: position i of the reals and of the fakes get the same operations.
        """
        swaps = swaps.detach().float()
        wanted = round(self.share * swaps.shape[0] / (1.0 - self.share))
        k = min(wanted, len(self.replay))
        fakes = torch.cat([swaps, self.replay.sample(k, swaps.device)]) if k else swaps
        if pseudo is not None and len(pseudo):
            fakes = torch.cat([fakes, pseudo.detach().float()])
        if torch.isfinite(swaps).all():  # a diverged generator's output would poison the buffer (pseudo
            # fakes are not in ``swaps``)
            self.replay.add(swaps)
        params = self.postprocess.sample_params(max(len(reals), len(fakes))) if self.postprocess else None
        images = torch.cat(
            [
                self.prepare(reals, None if params is None else params[: len(reals)]),
                self.prepare(fakes, None if params is None else params[: len(fakes)]),
            ]
        )
        labels = torch.cat([reals.new_zeros(len(reals)), reals.new_ones(len(fakes))]).float()
        return random_hflip(images, self.hflip, self.flip_rng), labels

    @staticmethod
    def loss(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Class-balanced BCE (mean of the real and the fake means) and balanced accuracy at logit 0."""
        logits = logits.float()
        bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        real, fake = labels == 0, labels == 1
        loss = 0.5 * (bce[real].mean() + bce[fake].mean())
        hit = ((logits > 0).float() == labels).float()
        return loss, 0.5 * (hit[real].mean() + hit[fake].mean()).detach()

    def evasion(self, detector: nn.Module, swaps: Tensor) -> Tensor:
        """Generator term ``softplus(logit)`` = BCE towards "real" on swaps ``(B, 3, H, W)`` (with gradient).

        The swaps go through the differentiable post-processing (a fresh draw) and straight-through 8-bit
        rounding; the detector runs in eval mode so fakes alone do not shift its BatchNorm statistics.
        """
        params = self.postprocess.sample_params(swaps.shape[0]) if self.postprocess else None
        was_training = detector.training
        detector.eval()
        try:
            logits = detector(self.prepare(swaps, params, differentiable=True))
        finally:
            detector.train(was_training)
        return F.softplus(logits.float()).mean()

    # -- validation ------------------------------------------------------------------------------
    @torch.no_grad()
    def add_val_scores(self, detector: nn.Module, reals: Tensor, fakes: Tensor) -> None:
        """Score held-out reals and swaps (no post-processing, 8-bit rounding as in training)."""
        self.val_scores["real"].append(detector(self.prepare(reals)).float())
        self.val_scores["fake"].append(detector(self.prepare(fakes)).float())

    def pop_val_scores(self) -> tuple[Tensor, Tensor] | None:
        scores, self.val_scores = self.val_scores, {"real": [], "fake": []}
        if not scores["real"]:
            return None
        return torch.cat(scores["real"]), torch.cat(scores["fake"])

    def val_metrics(self, real: Tensor, fake: Tensor) -> dict[str, float]:
        """``val/det/auc`` (held-out swaps vs reals) and ``val/det/evasion`` (swaps not caught at the
        threshold giving ``val_fpr`` on the reals); NaN if a score is not finite."""
        if not (torch.isfinite(real).all() and torch.isfinite(fake).all()):
            return {"val/det/auc": float("nan"), "val/det/evasion": float("nan")}
        labels = torch.cat([torch.zeros(len(real)), torch.ones(len(fake))])
        return {
            "val/det/auc": roc_auc(labels, torch.cat([real, fake]).cpu()),
            "val/det/evasion": evasion_rate(real.cpu(), fake.cpu(), self.val_fpr),
        }

    # -- snapshots and checkpoints ---------------------------------------------------------------
    def _multiples(self, kimg: float) -> int:
        return int(kimg / self.snapshot_every_kimg + 1e-9) if self.snapshot_every_kimg > 0 else 0

    def start_snapshots(self, kimg: float) -> None:
        self.snapshots_done = self._multiples(kimg)

    def snapshot_due(self, kimg: float) -> bool:
        """True each time ``kimg`` (images seen / 1000) passes a multiple of ``snapshot_every_kimg``."""
        if self._multiples(kimg) <= self.snapshots_done:
            return False
        self.snapshots_done = self._multiples(kimg)
        return True

    def state_dict(self) -> dict:
        return {"replay": self.replay.state_dict() if self.replay_in_checkpoint else None}

    def load_state_dict(self, state: dict) -> None:
        if state.get("replay") is None:
            log.warning("the checkpoint holds no replay buffer (replay.in_checkpoint=false): it starts empty")
            return
        self.replay.load_state_dict(state["replay"])


def align_checkpoint(
    checkpoint: dict,
    detector: nn.Module | None,
    cotrain: CoTraining | None,
    detector_ema: nn.Module | None = None,
) -> None:
    """Let a run resume across a change of ``detector=``, before Lightning loads the weights: a
    checkpoint without detector weights gets the fresh detector's (it starts from scratch), one with
    them but no detector configured loses them. Otherwise the replay buffer is restored. The same for
    the detector's weight average (``detector_ema``): a checkpoint without one starts it at the
    checkpoint's detector; one the run no longer keeps is dropped."""
    state = checkpoint["state_dict"]
    averaged = [k for k in state if k.startswith("detector_ema.")]
    if detector_ema is None and averaged:
        log.warning(
            "the checkpoint has a detector weight average but detector.ema_half_life_kimg is off: dropped"
        )
        for k in averaged:
            del state[k]
    elif detector_ema is not None and not averaged:
        log.warning("the checkpoint has no detector weight average: it starts at the checkpoint's detector")
        fresh = {f"detector_ema.{k}": v for k, v in detector_ema.state_dict().items()}
        from_ckpt = {f"detector_ema.shadow.{k[9:]}": v for k, v in state.items() if k.startswith("detector.")}
        state.update({**fresh, **from_ckpt})
    saved = [k for k in state if k.startswith("detector.")]
    if detector is None:
        if saved:
            log.warning("the checkpoint has a co-trained detector but detector.mode is off: dropped")
        for k in saved:
            del state[k]
        return
    if not saved:
        log.warning(
            "the checkpoint has no detector: it starts from scratch, and global_step now moves by 3 per "
            "batch instead of 2, so the resumed run trains a few more batches than total_kimg says"
        )
        state.update({f"detector.{k}": v for k, v in detector.state_dict().items()})
    if "detector_cotraining" in checkpoint:
        cotrain.load_state_dict(checkpoint["detector_cotraining"])


def snapshot_spec(run_config: dict | None, identity_spec: dict | None) -> dict:
    """What a loader needs to rebuild the snapshot networks: the run's detector and generator configs,
    the image size, and the identity encoder's build spec (the generator takes its embeddings)."""
    config = run_config or {}
    return {
        "detector": config.get("detector"),
        "generator": config.get("generator"),
        "image_size": (config.get("data") or {}).get("size"),
        "identity_encoder": identity_spec,
    }


def write_snapshot(
    folder: Path, step: int, kimg: float, detector: nn.Module, generator: nn.Module, spec: dict
) -> None:
    """Save ``det_XXXXXXXX.pt`` / ``gen_XXXXXXXX.pt`` (plain state_dicts) in ``folder``, write
    ``config.json`` (how to rebuild both networks) once, and append a line to ``index.jsonl``."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.json").is_file():
        (folder / "config.json").write_text(json.dumps({"format": SNAPSHOT_FORMAT, **spec}, indent=2))
    names = {"det": f"det_{step:08d}.pt", "gen": f"gen_{step:08d}.pt"}
    torch.save({k: v.detach().cpu() for k, v in detector.state_dict().items()}, folder / names["det"])
    torch.save({k: v.detach().cpu() for k, v in generator.state_dict().items()}, folder / names["gen"])
    with open(folder / "index.jsonl", "a") as f:
        f.write(json.dumps({"step": step, "kimg": round(kimg, 3), **names}) + "\n")
