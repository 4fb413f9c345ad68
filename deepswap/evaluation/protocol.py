"""The swap protocol: fixed, seeded (source, target) pairs of held-out identities, scored the same way
for a model and for the reference outputs.

Metrics per output (FaceShifter's FaceForensics++ protocol, plus the ground truth only a synthetic
world has):

- ``id_top1``: 1 if the swap's nearest neighbour (cosine) among ALL pairs' source images is its own
  source, else 0 (averaged: ID retrieval top-1, %); ``id_cos_source`` / ``id_cos_target``.
- ``pose_err``: L2 of (yaw, pitch, roll) between swap and target, degrees; ``expr_err``: L2 between
  their expression vectors.
- ``gt_masked_l1`` (inside the union of the truth's and the target's face masks), ``gt_psnr``,
  ``gt_ssim``: the swap against the rendered ground truth (synthetic only).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from deepswap.errors import DeepswapError
from deepswap.evaluation.metrics import (
    face_union_mask,
    identity_cosine,
    masked_l1,
    psnr,
    recolor_to_source,
    ssim,
)
from deepswap.evaluation.scorers import Scorer

METRICS = (
    "id_top1",
    "id_cos_source",
    "id_cos_target",
    "pose_err",
    "expr_err",
    "gt_masked_l1",
    "gt_psnr",
    "gt_ssim",
)


class EvaluationError(DeepswapError, ValueError):
    """The evaluation cannot run as configured (the message says why and what to change)."""


def synthetic_pairs(world, num_pairs: int, size: int, seed: int) -> dict[str, Tensor]:
    """``num_pairs`` held-out pairs: each pair's source is a distinct held-out identity, its target
    another held-out identity; both are rendered with their own seeded attributes, plus the truth.

    Returns images ``(N, 3, size, size)`` in [-1, 1] (``target``, ``source``, ``truth``), masks
    ``(N, 1, size, size)``, ids and attribute indices ``(N,)``, and the target's true pose/expression.
    """
    ids = np.asarray(list(world.identity_ids("heldout")))
    if num_pairs > len(ids):
        raise EvaluationError(
            f"{num_pairs} pairs requested but the world has {len(ids)} held-out identities (each pair needs "
            f"its own source identity): use num_pairs<={len(ids)} or raise "
            "data.world.num_heldout_identities"
        )
    if num_pairs < 2:
        raise EvaluationError(f"num_pairs must be at least 2 (retrieval needs a gallery), got {num_pairs}")
    rng = np.random.default_rng([int(seed), 20261126])
    source_ids = rng.permutation(ids)[:num_pairs]
    offsets = rng.integers(1, len(ids), size=num_pairs)  # never 0: the target is another identity
    pos = {int(v): k for k, v in enumerate(ids)}
    target_ids = ids[[(pos[int(s)] + int(o)) % len(ids) for s, o in zip(source_ids, offsets)]]
    t_index = rng.integers(0, 2**31 - 1, size=num_pairs)
    s_index = rng.integers(0, 2**31 - 1, size=num_pairs)
    p_index = rng.integers(0, 2**31 - 1, size=num_pairs)  # a second render of each source (noise floor)
    out: dict[str, list[Tensor]] = {}
    for lo in range(0, num_pairs, 64):
        sl = slice(lo, lo + 64)
        t_attr = torch.stack([world.attribute_factors("heldout", int(i)) for i in t_index[sl]])
        s_attr = torch.stack([world.attribute_factors("heldout", int(i)) for i in s_index[sl]])
        p_attr = torch.stack([world.attribute_factors("heldout", int(i)) for i in p_index[sl]])
        t_id = torch.stack([world.identity_factors(int(i)) for i in target_ids[sl]])
        s_id = torch.stack([world.identity_factors(int(i)) for i in source_ids[sl]])
        target, source = world.render(t_id, t_attr, size), world.render(s_id, s_attr, size)
        truth, probe = world.swap_truth(s_id, t_attr, size), world.render(s_id, p_attr, size)
        names = world.attribute_names
        parts = {
            "target": target.image * 2 - 1,
            "source": source.image * 2 - 1,
            "truth": truth.image * 2 - 1,
            "source_probe": probe.image * 2 - 1,
            "target_mask": target.mask,
            "source_mask": source.mask,
            "truth_mask": truth.mask,
            "target_pose_true": t_attr[:, [names.index(k) for k in ("yaw", "pitch", "roll")]],
            "target_expr_true": t_attr[
                :, [names.index(k) for k in ("smile", "mouth_open", "eye_open", "brow_raise")]
            ],
        }
        for k, v in parts.items():
            out.setdefault(k, []).append(v.float())
    pairs = {k: torch.cat(v) for k, v in out.items()}
    pairs.update(
        target_id=torch.as_tensor(target_ids),
        source_id=torch.as_tensor(source_ids),
        target_index=torch.as_tensor(t_index),
        source_index=torch.as_tensor(s_index),
    )
    return pairs


def reference_outputs(pairs: dict[str, Tensor]) -> dict[str, Tensor]:
    """The floor and ceiling rows, computed by the same harness as the model."""
    refs = {"output = target": pairs["target"], "output = source": pairs["source"]}
    refs["target recoloured to source"] = recolor_to_source(
        pairs["target"], pairs["target_mask"], pairs["source"], pairs["source_mask"]
    )
    if "truth" in pairs:
        refs["ground truth (ceiling)"] = pairs["truth"]
    return refs


def _measure(scorer: Scorer, images: Tensor, batch_size: int) -> dict[str, Tensor | None]:
    parts = [scorer.measure(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return {k: None if parts[0][k] is None else torch.cat([p[k] for p in parts]) for k in parts[0]}


@torch.no_grad()
def score_outputs(
    outputs: dict[str, Tensor], pairs: dict[str, Tensor], scorer: Scorer, batch_size: int = 64
) -> dict[str, dict[str, Tensor]]:
    """Per-pair metric values ``{output name: {metric: (N,)}}``; metrics whose instrument is missing
    (or, off the synthetic world, that need the truth) are absent."""
    src, tgt = _measure(scorer, pairs["source"], batch_size), _measure(scorer, pairs["target"], batch_size)
    mask = face_union_mask(pairs["truth_mask"], pairs["target_mask"]) if "truth" in pairs else None
    result = {}
    for name, images in outputs.items():
        m, values = _measure(scorer, images, batch_size), {}
        if m["embedding"] is not None:
            nearest = (m["embedding"] @ src["embedding"].T).argmax(1)
            values["id_top1"] = (nearest == torch.arange(len(images))).float()
            values["id_cos_source"] = identity_cosine(m["embedding"], src["embedding"])
            values["id_cos_target"] = identity_cosine(m["embedding"], tgt["embedding"])
        if m["pose"] is not None:
            values["pose_err"] = (m["pose"] - tgt["pose"]).norm(dim=1)
        if m["expression"] is not None:
            values["expr_err"] = (m["expression"] - tgt["expression"]).norm(dim=1)
        if mask is not None:
            chunks = range(0, len(images), batch_size)
            values["gt_masked_l1"] = masked_l1(images, pairs["truth"], mask)
            values["gt_psnr"] = psnr(images, pairs["truth"])
            values["gt_ssim"] = torch.cat(
                [ssim(images[i : i + batch_size], pairs["truth"][i : i + batch_size]) for i in chunks]
            )
        result[name] = values
    return result


def summarize(per_pair: dict[str, dict[str, Tensor]]) -> dict[str, dict[str, float]]:
    """Means per output; ``id_top1`` as a percentage."""
    rows = {}
    for name, values in per_pair.items():
        rows[name] = {
            k: float(v.float().mean()) * (100.0 if k == "id_top1" else 1.0) for k, v in values.items()
        }
    return rows


@torch.no_grad()
def oracle_noise_floor(scorer: Scorer, pairs: dict[str, Tensor], batch_size: int = 64) -> dict[str, float]:
    """The oracle's own error on real renders: ID retrieval of a second render of each source identity
    (other attributes) among the sources, and its pose / expression error on the targets against the
    renderer's true factors. A swap metric closer than this to its reference is below the instrument's
    resolution."""
    from deepswap.evaluation.scorers import POSE_SPAN_DEG

    truth = _measure(scorer, pairs["source_probe"], batch_size)
    src, tgt = _measure(scorer, pairs["source"], batch_size), _measure(scorer, pairs["target"], batch_size)
    n = len(pairs["truth"])
    top1 = float(((truth["embedding"] @ src["embedding"].T).argmax(1) == torch.arange(n)).float().mean())
    pose_true = pairs["target_pose_true"] * POSE_SPAN_DEG
    return {
        "id_top1": 100.0 * top1,
        "id_top1_chance": 100.0 / n,
        "pose_err": float((tgt["pose"] - pose_true).norm(dim=1).mean()),
        "expr_err": float((tgt["expression"] - pairs["target_expr_true"]).norm(dim=1).mean()),
    }


def run_model(
    swap_fn: Callable[[Tensor, Tensor], Tensor], pairs: dict[str, Tensor], batch_size: int = 64
) -> Tensor:
    """The model's swaps of every pair, ``(N, 3, H, W)`` in [-1, 1], in batches."""
    out = [
        swap_fn(pairs["target"][i : i + batch_size], pairs["source"][i : i + batch_size]).float().cpu()
        for i in range(0, len(pairs["target"]), batch_size)
    ]
    return torch.cat(out).clamp(-1, 1)


def ellipse_mask(size: int) -> Tensor:
    """``(1, size, size)`` soft ellipse over the face of an ArcFace-aligned crop (real data has no face
    masks; the recoloured-target reference row uses this one)."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    d = (x / 0.62) ** 2 + ((y - 0.08) / 0.8) ** 2
    return (1 - d).clamp(0, 0.15)[None] / 0.15


def folder_pairs(folder, num_pairs: int, seed: int) -> dict:
    """Pairs from an :class:`~deepswap.data.folder.IdentityFolder` of held-out identities: each pair's
    source is a distinct identity (one random image of it), its target an image of another identity."""
    identities = sorted(folder.by_identity)
    if num_pairs > len(identities):
        raise EvaluationError(
            f"{num_pairs} pairs requested but {folder.root} has {len(identities)} identities (each pair "
            "needs "
            f"its own source identity): use num_pairs<={len(identities)}"
        )
    if num_pairs < 2:
        raise EvaluationError(f"num_pairs must be at least 2 (retrieval needs a gallery), got {num_pairs}")
    rng = np.random.default_rng([int(seed), 20261126])
    source_ids = rng.permutation(identities)[:num_pairs]
    offsets = rng.integers(1, len(identities), size=num_pairs)
    target_ids = [
        identities[(identities.index(int(s)) + int(o)) % len(identities)] for s, o in zip(source_ids, offsets)
    ]
    s_img = [int(rng.choice(folder.by_identity[int(k)])) for k in source_ids]
    t_img = [int(rng.choice(folder.by_identity[int(k)])) for k in target_ids]
    mask = ellipse_mask(folder.size)[None].expand(num_pairs, -1, -1, -1)
    return {
        "target": torch.stack([folder.load(i) for i in t_img]) * 2 - 1,
        "source": torch.stack([folder.load(i) for i in s_img]) * 2 - 1,
        "target_mask": mask,
        "source_mask": mask,
        "target_id": torch.as_tensor(target_ids),
        "source_id": torch.as_tensor(source_ids),
        "target_path": [str(folder.paths[i]) for i in t_img],
        "source_path": [str(folder.paths[i]) for i in s_img],
    }
