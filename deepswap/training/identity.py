"""Identity encoders for the swap job: train one, cache it, load it frozen.

- :func:`train_encoder` trains any encoder with an objective: :class:`SupConObjective` (supervised
  contrastive metric learning over P identities x K views, the real-data path: it needs identity labels
  only), :class:`ArcFaceObjective` (an ArcFace margin head; optionally with an auxiliary regression of
  known identity factors) or :class:`FactorRegression` (the synthetic world's factor oracle).
- :func:`synthetic_identity_encoder` trains one on the synthetic world's train identities (or loads it
  from the cache, keyed by a hash of its config and of the renderer's and encoder's code) and reports
  its top-1 retrieval on the test identities (:func:`identity_retrieval`). Skin tone is an attribute
  by default, so views of one identity differ in skin tone: metric learning becomes invariant to it
  without colour jitter (which would also erase eye colour, an identity factor).
"""

from __future__ import annotations

import hashlib
import inspect
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
from deepswap.utils.fresh_process import run_in_fresh_process

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


class SupConObjective(nn.Module):
    """Supervised contrastive loss (Khosla et al., 2020, the "L_out" form) over a batch of P identities
    x K views: each view's positives are the other views of its identity; temperature ``tau``."""

    def __init__(self, tau: float = 0.1):
        super().__init__()
        self.tau = float(tau)

    def forward(self, embeddings: Tensor, batch: dict, progress: float) -> Tensor:
        z = F.normalize(embeddings.float(), dim=1)
        labels = batch["labels"]
        self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
        logits = (z @ z.T / self.tau).masked_fill(self_mask, float("-inf"))
        positives = (labels[:, None] == labels[None]) & ~self_mask
        if not bool(positives.any(1).all()):
            raise ValueError(
                "SupCon needs at least 2 views of every identity in a batch (views_per_identity >= 2)"
            )
        log_prob = logits - logits.logsumexp(1, keepdim=True)
        return -(log_prob.masked_fill(~positives, 0).sum(1) / positives.sum(1)).mean()


class FactorRegression(nn.Module):
    """MSE between the oracle's outputs and the standardised factor targets (plus the normalised
    landmarks when the oracle regresses them)."""

    def forward(self, outputs: Tensor, batch: dict, progress: float) -> Tensor:
        targets = batch["targets"]
        if outputs.shape[1] != targets.shape[1] and "targets_landmarks" in batch:
            targets = batch["targets_landmarks"]
        return F.mse_loss(outputs, targets)


def train_encoder(
    encoder: nn.Module,
    objective: nn.Module,
    batches: Iterator[dict],
    steps: int,
    lr: float = 2e-3,
    forward=None,
    log_every: int = 100,
    adversarial_eps: float = 0.0,
) -> nn.Module:
    """AdamW + one-cycle schedule over ``steps`` batches ``{"images" (B,3,H,W) in [-1,1], "labels",
    "targets"}``; ``forward(encoder, images)`` defaults to ``encoder(images)``.

    ``adversarial_eps > 0`` trains on adversarial images (L-inf radius ``adversarial_eps`` on the
    [-1, 1] scale, one signed-gradient step of 1.25 eps from a random start: "fast" adversarial
    training, Wong, Rice & Kolter 2020), about twice the cost of a step. Robust networks have
    gradients that look like the features they read (Santurkar et al. 2019), which is what a
    generator's identity loss follows."""
    forward = forward or (lambda net, x: net(x))
    params = list(encoder.parameters()) + list(objective.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    encoder.train()
    t0 = time.time()
    for step in range(steps):
        batch = next(batches)
        if adversarial_eps > 0:
            batch = {
                **batch,
                "images": _fgsm(encoder, objective, batch, forward, adversarial_eps, step / steps),
            }
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


def _fgsm(encoder, objective, batch: dict, forward, eps: float, progress: float) -> Tensor:
    """The batch's images moved within ``eps`` (L-inf) to raise ``objective``: random start, one step."""
    x = batch["images"]
    delta = (torch.rand_like(x) * 2 - 1).mul_(eps).requires_grad_(True)
    loss = objective(forward(encoder, x + delta), batch, progress)
    (grad,) = torch.autograd.grad(loss, delta)
    delta = (delta.detach() + 1.25 * eps * grad.sign()).clamp_(-eps, eps)
    return (x + delta).clamp_(-1.0, 1.0).detach()


def synthetic_batches(world, size: int, batch_size: int, augment, seed: int, pool: int = 0) -> Iterator[dict]:
    """Endless batches of train-identity renders under random attributes, with labels (identity
    index) and standardised factor targets (see :func:`oracle_targets`), landmarks included.

    ``pool > 0`` renders that many images once (uint8) and draws every batch from them: rendering is
    about half the cost of a step on a CPU, and the pool is large enough that reuse costs nothing
    measurable (each image is seen a few times over a default training)."""
    gen = torch.Generator().manual_seed(seed)
    ids = world.identity_ids("train")

    def draw(n: int) -> dict:
        labels = torch.randint(0, len(ids), (n,), generator=gen)
        index = torch.randint(0, 2**31 - 1, (n,), generator=gen)
        id_f = torch.stack([world.identity_factors(int(ids[int(k)])) for k in labels])
        attr = torch.stack([world.attribute_factors("train", int(i)) for i in index])
        out = _render_chunks(world, id_f, attr, size)
        return {
            "images": out["image"],
            "labels": labels,
            "targets": oracle_targets(world, id_f, attr),
            "targets_landmarks": oracle_targets(world, id_f, attr, out["landmarks"], size),
        }

    store = draw(pool) if pool else None
    step = 0
    while True:
        if store is None:
            batch = draw(batch_size)
        else:
            pick = torch.randint(0, pool, (batch_size,), generator=gen)
            batch = {k: v[pick] for k, v in store.items()}
        images = batch["images"].float() / 255.0
        if augment is not None:
            images = torch.stack([augment(img, step * batch_size + j) for j, img in enumerate(images)])
        step += 1
        yield {**batch, "images": images * 2.0 - 1.0}


def _render_chunks(world, id_f: Tensor, attr: Tensor, size: int) -> dict[str, Tensor]:
    """Render in chunks of 256 -> uint8 images (N, 3, H, W) and float landmarks (N, 5, 2)."""
    images, landmarks = [], []
    for lo in range(0, len(id_f), 256):
        out = world.render(id_f[lo : lo + 256], attr[lo : lo + 256], size)
        images.append((out.image * 255).round().to(torch.uint8))
        landmarks.append(out.landmarks)
    return {"image": torch.cat(images), "landmarks": torch.cat(landmarks)}


def view_batches(
    world, size: int, identities: int, views: int, augment, seed: int, pool: int = 0
) -> Iterator[dict]:
    """Endless P x K batches: ``identities`` random train identities, each under ``views`` independent
    attribute draws (``world.views``), with labels. ``pool > 0`` renders that many views of every
    train identity once (uint8) and draws the K views of a batch among them (see
    :func:`synthetic_batches` on why)."""
    gen = torch.Generator().manual_seed(seed)
    ids = world.identity_ids("train")
    if pool and pool < views:
        raise ValueError(f"pool ({pool} views per identity) must be at least views ({views})")
    store = None
    if pool:
        parts = [
            world.views("train", list(ids[lo : lo + 64]), pool, size, seed=seed).image
            for lo in range(0, len(ids), 64)
        ]
        store = (torch.cat(parts) * 255).round().to(torch.uint8).view(len(ids), pool, 3, size, size)
    step = 0
    while True:
        chosen = torch.randperm(len(ids), generator=gen)[:identities]
        if store is None:
            out = world.views(
                "train", (chosen + ids.start).tolist(), views, size, seed=seed * 1_000_003 + step
            )
            images = out.image
        else:
            which = torch.rand(len(chosen), pool, generator=gen).argsort(1)[:, :views]
            images = store[chosen[:, None], which].flatten(0, 1).float() / 255.0
        if augment is not None:
            images = torch.stack([augment(img, step * len(images) + j) for j, img in enumerate(images)])
        step += 1
        labels = torch.arange(len(chosen)).repeat_interleave(views)
        yield {"images": images * 2.0 - 1.0, "labels": labels}


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
def identity_retrieval(encoder: nn.Module, world, size: int, split: str = "test", seed: int = 7) -> float:
    """Top-1 identity retrieval over every identity of ``split``: the gallery is one render of each
    identity, the probes an independent render of each (other attributes); a probe is right when its
    nearest gallery render (cosine) is its own identity's. Chance is 1 / number of identities."""
    encoder.eval()
    ids = list(world.identity_ids(split))
    embeds = []
    for view_seed in (seed, seed + 1):
        images = world.views(split, ids, 1, size, seed=view_seed).image
        embeds.append(torch.cat([F.normalize(encoder(x * 2 - 1), dim=1) for x in images.split(128)]))
    nearest = (embeds[1] @ embeds[0].T).argmax(1)
    return float((nearest == torch.arange(len(ids))).float().mean())


def files_digest(files: list[Path]) -> str:
    """Short sha256 over the bytes of ``files`` in order: the code part of a cache key."""
    return hashlib.sha256(b"".join(Path(f).read_bytes() for f in files)).hexdigest()[:16]


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
    return files_digest(files)


def _plain(value):
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


OBJECTIVES = ("supcon", "arcface", "factors")


def synthetic_identity_encoder(
    encoder: DictConfig,
    world: DictConfig,
    size: int,
    cache_dir: str,
    objective: str = "supcon",
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-3,
    margin: float = 0.5,
    scale: float = 32.0,
    factor_weight: float = 1.0,
    seed: int = 0,
    augment: list | None = None,
    views: int = 4,
    tau: float = 0.1,
    pool: int = 0,
    adversarial_eps: float = 0.0,
    fresh_process: bool = False,
) -> nn.Module:
    """A frozen identity encoder trained on the synthetic world's train identities (cached).

    ``objective``: ``"supcon"`` (metric learning on ``batch_size // views`` identities x ``views`` views,
    temperature ``tau``), ``"arcface"`` (ArcFace head, plus factor regression weighted by
    ``factor_weight``) or ``"factors"`` (a :class:`~deepswap.models.identity.oracle.FactorOracle`
    regressing the renderer's factors, its identity embedding then weighted by per-factor reliability
    measured on the val identities). The cache file is ``<cache_dir>/<hash>.pt``, the hash over every
    argument and the code of the renderer and encoders. Training happens at most once at a time (a file
    lock), so DDP ranks share it. The encoder's ``test_top1`` (retrieval on the test identities, see
    :func:`identity_retrieval`) is logged, cached and set as an attribute.

    ``fresh_process``: on a cache miss, train in a child Python process whose OpenMP threads busy-wait
    (``OMP_WAIT_POLICY=ACTIVE``), with this process's torch thread count, then load its cache file.
    deepswap sets ``PASSIVE`` for its own processes (busy-waiting threads crawl when data-loader
    workers share the cores); the encoders' training has no workers and runs 1.5-1.7x faster with
    ``ACTIVE`` on 2 cores. If the child fails, training happens here instead (with a warning).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    if objective == "supcon" and (views < 2 or batch_size // views < 2):
        raise ValueError(f"supcon needs views >= 2 and batch_size >= 2 * views; got {views}, {batch_size}")
    spec, child_args, w, path = _cache_spec(
        encoder, world, size, cache_dir, objective, steps, batch_size, lr, margin, scale, factor_weight,
        seed, augment, views, tau, pool, adversarial_eps,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh_process and not path.is_file():
        _train_in_child(child_args)  # writes the cache file that the code below then loads
    with FileLock(str(path) + ".lock"):
        torch.manual_seed(seed)
        net = instantiate(OmegaConf.create(spec["encoder"]))
        net.build_spec = spec["encoder"]  # saved in swap checkpoints so loaders rebuild the same network
        if path.is_file():
            cached = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(cached["state_dict"])
            net.test_top1 = cached.get("test_top1")
            log.info("identity encoder loaded from cache %s (test top-1 %s)", path, net.test_top1)
            return net.eval().requires_grad_(False)
        log.info("training a synthetic identity encoder (%s, %d steps); cached at %s", objective, steps, path)
        t0, cpu0 = time.time(), time.process_time()
        _fit(net, w, spec, build_augment(spec["augment"], seed))
        if objective == "factors":
            from deepswap.models.identity.oracle import calibrate_reliability

            calibrate_reliability(net, w, size)
        net.test_top1 = identity_retrieval(net, w, size, "test")
        n_test = len(w.identity_ids("test"))
        log.info(
            "identity encoder trained in %.0f s (%.0f CPU-s); test top-1 retrieval %.1f%% over %d "
            "identities (chance %.1f%%)",
            time.time() - t0, time.process_time() - cpu0, 100 * net.test_top1, n_test, 100 / max(n_test, 1),
        )  # fmt: skip
        tmp = path.with_suffix(".tmp")
        payload = {"state_dict": net.state_dict(), "spec": json.dumps(spec), "test_top1": net.test_top1}
        torch.save(payload, tmp)
        tmp.replace(path)
        return net.eval().requires_grad_(False)


def _cache_spec(
    encoder, world, size, cache_dir, objective, steps, batch_size, lr, margin, scale, factor_weight, seed,
    augment, views, tau, pool, adversarial_eps,
):  # fmt: skip
    """(spec, the child process's arguments, the world, the cache file) of one encoder configuration."""
    from deepswap.data.synthetic import SyntheticFaceWorld

    spec = {
        k: _plain(v)
        for k, v in dict(
            encoder=encoder, world=world, size=size, objective=objective, steps=steps,
            batch_size=batch_size, lr=lr, margin=margin, scale=scale, factor_weight=factor_weight,
            seed=seed, augment=augment, views=views, tau=tau, pool=pool,
        ).items()
    }  # fmt: skip
    if adversarial_eps:  # only when set, so the cache keys of existing encoders stay the same
        spec["adversarial_eps"] = float(adversarial_eps)
    child_args = dict(
        json.loads(json.dumps(spec)), cache_dir=str(cache_dir), adversarial_eps=float(adversarial_eps)
    )
    w = SyntheticFaceWorld(**spec["world"])
    if objective == "factors":
        spec["encoder"]["num_identity"] = w.num_identity_factors
    spec["code"] = _code_digest(spec["encoder"].get("_target_"))
    return spec, child_args, w, Path(cache_dir).expanduser() / f"{config_hash(spec)}.pt"


def identity_cache_path(**kwargs) -> Path:
    """The cache file :func:`synthetic_identity_encoder` reads or writes for these keyword arguments (the
    same as its own); the file may not exist yet."""
    bound = inspect.signature(synthetic_identity_encoder).bind(**kwargs)
    bound.apply_defaults()
    args = dict(bound.arguments)
    args.pop("fresh_process")
    return _cache_spec(**args)[3]


def _train_in_child(args: dict) -> None:
    """Run :func:`synthetic_identity_encoder` (``args``, plain values) in a child process with
    busy-waiting OpenMP threads (:func:`~deepswap.utils.fresh_process.run_in_fresh_process`)."""
    run_in_fresh_process(
        "deepswap.training.identity:synthetic_identity_encoder", args, "the identity encoder"
    )


def _fit(net: nn.Module, world, spec: dict, augment) -> None:
    """Train ``net`` on the world's train identities with the objective named in ``spec``."""
    objective, seed, size = spec["objective"], spec["seed"], spec["size"]
    steps, lr, batch_size = spec["steps"], spec["lr"], spec["batch_size"]
    if objective == "factors":
        batches = synthetic_batches(world, size, batch_size, augment, seed, spec["pool"])
        train_encoder(
            net, FactorRegression(), batches, steps, lr, forward=lambda n, x: n.trunk(x),
            adversarial_eps=spec.get("adversarial_eps", 0.0),
        )  # fmt: skip
        return
    views = spec["views"] if objective == "supcon" else 1
    if objective == "supcon":
        batches = view_batches(world, size, batch_size // views, views, augment, seed, spec["pool"])
        train_encoder(net, SupConObjective(spec["tau"]), batches, steps, lr)
        return
    obj = ArcFaceObjective(
        net.embedding_size,
        len(world.identity_ids("train")),
        spec["scale"],
        spec["margin"],
        factor_weight=spec["factor_weight"],
        num_factors=world.num_identity_factors,
    )
    train_encoder(
        net, obj, synthetic_batches(world, size, batch_size, augment, seed, spec["pool"]), steps, lr
    )
