"""Identity encoders for the swap job: train one, cache it, load it frozen.

- :func:`train_encoder` trains any encoder with an objective: :class:`ArcFaceObjective` (an ArcFace
  margin head, for any identity-labelled dataset; optionally with an auxiliary regression of known
  identity factors) or :class:`FactorRegression` (the synthetic world's factor oracle).
- :func:`synthetic_identity_encoder` trains one on the synthetic world's train identities (or loads it
  from the cache, keyed by a hash of its config and of the renderer's and encoder's code), with
  colour and lighting jitter so that it encodes face geometry rather than colour: an encoder that
  recognises skin tone teaches the generator to recolour instead of swapping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from filelock import FileLock
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from deepswap.data.augment import build_augment
from deepswap.models.identity.arcface_head import ArcMarginHead
from deepswap.models.identity.oracle import oracle_targets

log = logging.getLogger(__name__)


def config_hash(config: dict) -> str:
    """Stable short hash of a JSON-able config (the cache key)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class ArcFaceObjective(nn.Module):
    """ArcFace (additive angular margin) cross-entropy, margin ramped up from 0 over ``warmup`` of the
    steps (a margin from step 0 stalls small models trained from scratch). With ``factor_weight > 0``
    and batches carrying ``targets``, a linear head on the embedding also regresses the standardised
    identity factors (synthetic data only): dense supervision that speeds up learning of geometry."""

    def __init__(
        self,
        embedding_size: int,
        num_classes: int,
        scale: float = 32.0,
        margin: float = 0.5,
        warmup: float = 0.3,
        factor_weight: float = 0.0,
        num_factors: int = 0,
    ):
        super().__init__()
        self.head = ArcMarginHead(embedding_size, num_classes, scale=scale, margin=margin)
        self.margin, self.warmup, self.factor_weight = margin, warmup, factor_weight
        self.factor_head = nn.Linear(embedding_size, num_factors) if factor_weight > 0 else None

    def forward(self, embeddings: Tensor, batch: dict, progress: float) -> Tensor:
        m = self.margin * min(1.0, progress / max(self.warmup, 1e-6))
        self.head.margin, self.head.cos_m, self.head.sin_m = m, math.cos(m), math.sin(m)
        self.head.threshold = math.cos(math.pi - m)
        loss = F.cross_entropy(self.head(embeddings, batch["labels"]), batch["labels"])
        if self.factor_head is not None:
            n = self.factor_head.out_features
            loss = loss + self.factor_weight * F.mse_loss(
                self.factor_head(embeddings), batch["targets"][:, :n]
            )
        return loss


class FactorRegression(nn.Module):
    """MSE between the oracle's outputs and the standardised factor targets."""

    def forward(self, outputs: Tensor, batch: dict, progress: float) -> Tensor:
        return F.mse_loss(outputs, batch["targets"])


def train_encoder(
    encoder: nn.Module,
    objective: nn.Module,
    batches: Iterator[dict],
    steps: int,
    lr: float = 2e-3,
    forward=None,
    log_every: int = 100,
) -> nn.Module:
    """AdamW + one-cycle schedule over ``steps`` batches ``{"images" (B,3,H,W) in [-1,1], "labels",
    "targets"}``; ``forward(encoder, images)`` defaults to ``encoder(images)``."""
    forward = forward or (lambda net, x: net(x))
    params = list(encoder.parameters()) + list(objective.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    encoder.train()
    t0 = time.time()
    for step in range(steps):
        batch = next(batches)
        loss = objective(forward(encoder, batch["images"]), batch, step / steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            log.info(
                "encoder step %d/%d loss %.3f (%.0f s)",
                step + 1,
                steps,
                float(loss.detach()),
                time.time() - t0,
            )
    return encoder.eval()


def synthetic_batches(world, size: int, batch_size: int, augment, seed: int) -> Iterator[dict]:
    """Endless batches of train-identity renders under random attributes, colour-jittered, with labels
    (identity index) and standardised factor targets (see :func:`oracle_targets`)."""
    gen = torch.Generator().manual_seed(seed)
    ids = world.identity_ids("train")
    step = 0
    while True:
        labels = torch.randint(0, len(ids), (batch_size,), generator=gen)
        index = torch.randint(0, 2**31 - 1, (batch_size,), generator=gen)
        id_f = torch.stack([world.identity_factors(int(ids[int(k)])) for k in labels])
        attr = torch.stack([world.attribute_factors("train", int(i)) for i in index])
        images = world.render(id_f, attr, size).image
        if augment is not None:
            images = torch.stack([augment(img, step * batch_size + j) for j, img in enumerate(images)])
        step += 1
        yield {"images": images * 2.0 - 1.0, "labels": labels, "targets": oracle_targets(world, id_f, attr)}


def folder_batches(folder, batch_size: int, augment=None, seed: int = 0) -> Iterator[dict]:
    """Endless shuffled batches ``{"images", "labels"}`` from an identity-labelled
    :class:`deepswap.data.folder.IdentityFolder` (e.g. VGGFace2-HQ crops), for :class:`ArcFaceObjective`."""
    gen = torch.Generator().manual_seed(seed)
    step = 0
    while True:
        index = torch.randint(0, len(folder), (batch_size,), generator=gen).tolist()
        if augment is None:
            images = torch.stack([folder.load(i) for i in index])
        else:
            images = torch.stack(
                [augment(folder.load_array(i), step * batch_size + j) for j, i in enumerate(index)]
            )
        step += 1
        yield {"images": images * 2.0 - 1.0, "labels": torch.tensor([folder.labels[i] for i in index])}


@torch.no_grad()
def heldout_retrieval(encoder: nn.Module, world, size: int, seed: int = 7) -> float:
    """Top-1 identity retrieval on held-out identities: a probe render of each identity must be
    nearest (cosine) to the gallery render of the same identity, among all held-out identities."""
    encoder.eval()
    ids = list(world.identity_ids("heldout"))
    id_f = torch.stack([world.identity_factors(i) for i in ids])
    embeds = []
    for offset in (0, 1):
        attr = torch.stack(
            [
                world.attribute_factors("heldout", 10_000_000 * (offset + 1) + seed + k)
                for k in range(len(ids))
            ]
        )
        images = torch.cat(
            [world.render(id_f[i : i + 128], attr[i : i + 128], size).image for i in range(0, len(ids), 128)]
        )
        embeds.append(F.normalize(encoder(images * 2 - 1), dim=1))
    nearest = (embeds[0] @ embeds[1].T).argmax(1)
    return float((nearest == torch.arange(len(ids))).float().mean())


def _code_digest(encoder_target: str | None = None) -> str:
    """Digest of the renderer's and encoders' code, plus the module defining ``encoder_target``."""
    import importlib.util

    import deepswap.data.synthetic as synthetic
    import deepswap.models.identity as identity_models

    files = (
        sorted(Path(synthetic.__file__).parent.glob("*.py"))
        + sorted(Path(identity_models.__file__).parent.glob("*.py"))
        + [Path(__file__)]
    )
    spec = importlib.util.find_spec(encoder_target.rpartition(".")[0]) if encoder_target else None
    if spec and spec.origin and Path(spec.origin) not in files:
        files.append(Path(spec.origin))  # e.g. the evaluation oracle (deepswap.evaluation.oracle)
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def _plain(value):
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def synthetic_identity_encoder(
    encoder: DictConfig,
    world: DictConfig,
    size: int,
    cache_dir: str,
    objective: str = "arcface",
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-3,
    margin: float = 0.5,
    scale: float = 32.0,
    factor_weight: float = 1.0,
    seed: int = 0,
    augment: list | None = None,
) -> nn.Module:
    """A frozen identity encoder trained on the synthetic world's train identities (cached).

    ``objective``: ``"arcface"`` (ArcFace head, plus factor regression weighted by ``factor_weight``)
    or ``"factors"`` (a :class:`~deepswap.models.identity.oracle.FactorOracle` regressing factors).
    The cache file is ``<cache_dir>/<hash>.pt``, the hash over every argument and the code of the
    renderer and encoders. Training happens at most once at a time (a file lock), so DDP ranks share it.
    """
    from deepswap.data.synthetic import SyntheticFaceWorld

    if objective not in ("arcface", "factors"):
        raise ValueError(f"objective must be 'arcface' or 'factors', got {objective!r}")
    spec = {
        k: _plain(v)
        for k, v in dict(
            encoder=encoder,
            world=world,
            size=size,
            objective=objective,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            margin=margin,
            scale=scale,
            factor_weight=factor_weight,
            seed=seed,
            augment=augment,
        ).items()
    }
    w = SyntheticFaceWorld(**spec["world"])
    if objective == "factors":
        spec["encoder"]["num_identity"] = w.num_identity_factors
    spec["code"] = _code_digest(spec["encoder"].get("_target_"))
    path = Path(cache_dir).expanduser() / f"{config_hash(spec)}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        torch.manual_seed(seed)
        net = instantiate(OmegaConf.create(spec["encoder"]))
        net.build_spec = spec["encoder"]  # saved in swap checkpoints so loaders rebuild the same network
        if path.is_file():
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
            log.info("identity encoder loaded from cache %s", path)
            return net.eval().requires_grad_(False)
        log.info(
            "training a synthetic identity encoder (%s, %d steps); cached afterwards at %s",
            objective,
            steps,
            path,
        )
        t0 = time.time()
        batches = synthetic_batches(w, size, batch_size, build_augment(spec["augment"], seed), seed)
        if objective == "arcface":
            obj = ArcFaceObjective(
                net.embedding_size,
                len(w.identity_ids("train")),
                scale,
                margin,
                factor_weight=factor_weight,
                num_factors=w.num_identity_factors,
            )
            train_encoder(net, obj, batches, steps, lr)
        else:
            train_encoder(net, FactorRegression(), batches, steps, lr, forward=lambda n, x: n.trunk(x))
        accuracy = heldout_retrieval(net, w, size)
        log.info(
            "identity encoder trained in %.0f s; held-out top-1 retrieval %.1f%% over %d identities "
            "(chance %.1f%%)",
            time.time() - t0,
            100 * accuracy,
            w.num_heldout_identities,
            100 / w.num_heldout_identities,
        )
        tmp = path.with_suffix(".tmp")
        torch.save({"state_dict": net.state_dict(), "spec": json.dumps(spec), "heldout_top1": accuracy}, tmp)
        tmp.replace(path)
        return net.requires_grad_(False)
