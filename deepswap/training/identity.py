"""Identity encoders: train one with an ArcFace margin head, cache it, load it frozen.

The swap job freezes its identity encoder. For the synthetic world the encoder is trained here first
(or taken from the cache, keyed by a hash of its config), with colour and lighting jitter so that it
encodes face geometry rather than colour: an encoder that recognises skin tone teaches the generator
to recolour instead of swapping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from filelock import FileLock
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from deepswap.data.augment import build_augment
from deepswap.models.identity.arcface_head import ArcMarginHead

log = logging.getLogger(__name__)


def config_hash(config: dict) -> str:
    """Stable short hash of a JSON-able config (the cache key)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _set_margin(head: ArcMarginHead, margin: float) -> None:
    head.margin, head.cos_m, head.sin_m = margin, math.cos(margin), math.sin(margin)
    head.threshold = math.cos(math.pi - margin)


def train_identity_encoder(
    encoder: nn.Module,
    batches: Iterator[tuple[Tensor, Tensor]],
    num_classes: int,
    steps: int,
    lr: float = 2e-3,
    margin: float = 0.5,
    scale: float = 32.0,
    margin_warmup: float = 0.3,
    progress: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train ``encoder`` with an ArcFace head on ``(images (B,3,H,W) in [-1,1], labels (B,))`` batches.

    AdamW with cosine decay; the angular margin ramps from 0 over the first ``margin_warmup`` share of
    steps (a margin from step 0 stalls small models trained from scratch).
    """
    head = ArcMarginHead(encoder.embedding_size, num_classes, scale=scale, margin=margin)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    encoder.train()
    for step in range(steps):
        images, labels = next(batches)
        _set_margin(head, margin * min(1.0, step / max(1.0, margin_warmup * steps)))
        loss = F.cross_entropy(head(encoder(images), labels), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None:
            progress(step, float(loss))
    return encoder.eval()


def synthetic_batches(
    world, size: int, batch_size: int, augment, seed: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """Endless batches of train-identity renders under random attributes, colour-jittered."""
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
        yield images * 2.0 - 1.0, labels


def _code_digest() -> str:
    import deepswap.data.synthetic as synthetic
    import deepswap.models.identity as identity_models

    files = sorted(Path(synthetic.__file__).parent.glob("*.py")) + sorted(
        Path(identity_models.__file__).parent.glob("*.py")) + [Path(__file__)]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


@torch.no_grad()
def heldout_retrieval(encoder: nn.Module, world, size: int, seed: int = 7) -> float:
    """Top-1 identity retrieval on held-out identities: a probe render of each identity must be
    nearest (cosine) to the gallery render of the same identity, among all held-out identities."""
    encoder.eval()
    ids = list(world.identity_ids("heldout"))
    id_f = torch.stack([world.identity_factors(i) for i in ids])
    embeds = []
    for offset in (0, 1):
        attr = torch.stack([world.attribute_factors("heldout", 10_000_000 * (offset + 1) + seed + k)
                            for k in range(len(ids))])
        images = torch.cat([world.render(id_f[i:i + 128], attr[i:i + 128], size).image
                            for i in range(0, len(ids), 128)])
        embeds.append(F.normalize(encoder(images * 2 - 1), dim=1))
    nearest = (embeds[0] @ embeds[1].T).argmax(1)
    return float((nearest == torch.arange(len(ids))).float().mean())


def synthetic_identity_encoder(
    encoder: DictConfig,
    world: DictConfig,
    size: int,
    cache_dir: str,
    steps: int = 600,
    batch_size: int = 128,
    lr: float = 2e-3,
    margin: float = 0.5,
    scale: float = 32.0,
    seed: int = 0,
    augment: list | None = None,
) -> nn.Module:
    """A frozen identity encoder trained on the synthetic world's train identities (cached).

    The cache file is ``<cache_dir>/<hash>.pt`` with the hash over every argument, so changing the
    architecture, the world or the recipe trains a new one. Training happens at most once at a time
    (a file lock), so DDP ranks share one result.
    """
    from deepswap.data.synthetic import SyntheticFaceWorld

    spec = {
        k: OmegaConf.to_container(v, resolve=True) if isinstance(v, DictConfig) else v
        for k, v in dict(
            encoder=encoder,
            world=world,
            size=size,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            margin=margin,
            scale=scale,
            seed=seed,
            augment=augment,
        ).items()
    }
    spec["augment"] = (
        OmegaConf.to_container(augment, resolve=True) if hasattr(augment, "_metadata") else augment
    )
    path = Path(cache_dir).expanduser() / f"{config_hash(spec)}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        torch.manual_seed(seed)
        net = instantiate(encoder)
        if path.is_file():
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
            log.info("identity encoder loaded from cache %s", path)
            return net.eval().requires_grad_(False)
        w = SyntheticFaceWorld(**spec["world"])
        batches = synthetic_batches(w, size, batch_size, build_augment(spec["augment"], seed), seed)
        log.info("training the synthetic identity encoder (%d steps, cached afterwards at %s)", steps, path)
        t0 = time.time()

        def progress(step: int, loss: float) -> None:
            if step % 100 == 0 or step == steps - 1:
                log.info(
                    "identity encoder step %d/%d loss %.3f (%.0f s)", step + 1, steps, loss, time.time() - t0
                )

        train_identity_encoder(
            net, batches, len(w.identity_ids("train")), steps, lr, margin, scale, progress=progress
        )
        tmp = path.with_suffix(".tmp")
        torch.save({"state_dict": net.state_dict(), "spec": json.dumps(spec), "heldout_top1": accuracy}, tmp)
        tmp.replace(path)
        return net.requires_grad_(False)
