"""The swap protocol: fixed, seeded (source, target) pairs of held-out identities, scored the same way
for a model and for the reference outputs, every mean with a bootstrap interval.

Metrics per output (FaceShifter's FaceForensics++ protocol, plus the ground truth only a synthetic
world has):

- ``id_top1``: 1 if the swap's nearest neighbour (cosine) in the gallery is its own source identity.
  The gallery holds an independent render of every pair's source identity (other attributes), never
  the source image itself, so copying the source's pose or background earns nothing.
  ``id_cos_gallery``: cosine to that render; ``id_cos_target``: cosine to the target (leakage).
- ``pose_err``: L2 of (yaw, pitch, roll) between the scorer's reading of the swap and the target's
  true pose, degrees; ``expr_err``: the same for the expression vector. The row ``output = target``
  is then the scorer's own error on the target: the floor.
- ``lm_err``: mean distance (pixels) between the scorer's five landmarks of the swap and the true
  landmarks of the ground truth.
- ``gt_l1_<region>``, ``gt_psnr_<region>``, ``gt_ssim_<region>``: the swap against the rendered
  ground truth in the face interior (``face``), the face outline band (``band``), outside the face
  (``outside``) and over the whole image (no suffix). Regions come from the union of the target's and
  the truth's face masks, eroded / dilated by 2 px at 64 px (scaled with the size).

On real data (no truth) only the identity and pose metrics exist, with the source image's own
embedding as the gallery.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from deepswap.errors import DeepswapError
from deepswap.evaluation.metrics import identity_cosine, recolor_to_source, region_errors, streak_ratio
from deepswap.evaluation.scorers import Scorer
from deepswap.faces.region import dilate_mask, paste_inside
from deepswap.models.identity.oracle import EXPRESSION, POSE

METRICS = (
    "id_top1",
    "id_cos_gallery",
    "id_cos_target",
    "pose_err",
    "expr_err",
    "lm_err",
    *[f"gt_{m}{r}" for r in ("_face", "_band", "_outside", "") for m in ("l1", "psnr", "ssim")],
)
REFERENCE_BASELINES = ("output = target", "average identity")  # every model row is compared with these
PAIR_SALT = 20261126  # a fixed second seed word: protocol pairs never share a stream with other draws


class EvaluationError(DeepswapError, ValueError):
    """The evaluation cannot run as configured (the message says why and what to change)."""


def _check_count(num_pairs: int, available: int, where: str, fix: str) -> None:
    if num_pairs > available:
        raise EvaluationError(
            f"{num_pairs} pairs requested but {where} has {available} identities (each pair needs its own "
            f"source identity): use num_pairs<={available}{fix}"
        )
    if num_pairs < 2:
        raise EvaluationError(f"num_pairs must be at least 2 (retrieval needs a gallery), got {num_pairs}")


def synthetic_pairs(world, num_pairs: int, size: int, seed: int, split: str = "test") -> dict[str, Tensor]:
    """``num_pairs`` pairs of ``split`` identities (``"test"`` by default, ``"val"`` for validation):
    each pair's source is a distinct identity, its target another identity of the split.

    Returns images ``(N, 3, size, size)`` in [-1, 1] (``target``, ``source``, ``truth``, ``gallery``: an
    independent render of the source identity, ``average``: the average identity with the target's
    attributes), masks ``(N, 1, size, size)``, the truth's, the target's and the source's landmarks
    ``(N, 5, 2)``, ids, attribute indices and the target's true pose (degrees) and expression.
    """
    from deepswap.data.synthetic.params import POSE_SPAN_DEG

    ids = np.asarray(list(world.identity_ids(split)))
    _check_count(
        num_pairs, len(ids), f"the world's {split!r} split", " or raise data.world.num_heldout_identities"
    )
    rng = np.random.default_rng([int(seed), PAIR_SALT])
    source_ids = rng.permutation(ids)[:num_pairs]
    offsets = rng.integers(1, len(ids), size=num_pairs)  # never 0: the target is another identity
    pos = {int(v): k for k, v in enumerate(ids)}
    target_ids = ids[[(pos[int(s)] + int(o)) % len(ids) for s, o in zip(source_ids, offsets)]]
    index = {k: rng.integers(0, 2**31 - 1, size=num_pairs) for k in ("target", "source", "gallery")}
    names = world.attribute_names
    out: dict[str, list[Tensor]] = {}
    for lo in range(0, num_pairs, 64):
        sl = slice(lo, lo + 64)
        attr = {
            k: torch.stack([world.attribute_factors(split, int(i)) for i in v[sl]]) for k, v in index.items()
        }
        t_id = torch.stack([world.identity_factors(int(i)) for i in target_ids[sl]])
        s_id = torch.stack([world.identity_factors(int(i)) for i in source_ids[sl]])
        target, source = world.render(t_id, attr["target"], size), world.render(s_id, attr["source"], size)
        truth, gallery = (
            world.swap_truth(s_id, attr["target"], size),
            world.render(s_id, attr["gallery"], size),
        )
        average = world.render(torch.full_like(s_id, 0.5), attr["target"], size)
        parts = {
            "target": target.image * 2 - 1,
            "source": source.image * 2 - 1,
            "truth": truth.image * 2 - 1,
            "gallery": gallery.image * 2 - 1,
            "average": average.image * 2 - 1,
            "target_mask": target.mask,
            "source_mask": source.mask,
            "truth_mask": truth.mask,
            "truth_landmarks": truth.landmarks,
            "target_landmarks": target.landmarks,
            "source_landmarks": source.landmarks,
            "target_pose_true": (attr["target"][:, [names.index(k) for k in POSE]] - 0.5)
            * torch.tensor(POSE_SPAN_DEG),
            "target_expr_true": attr["target"][:, [names.index(k) for k in EXPRESSION]],
        }
        for k, v in parts.items():
            out.setdefault(k, []).append(v.float())
    pairs = {k: torch.cat(v) for k, v in out.items()}
    pairs.update(
        target_id=torch.as_tensor(target_ids),
        source_id=torch.as_tensor(source_ids),
        target_index=torch.as_tensor(index["target"]),
        source_index=torch.as_tensor(index["source"]),
    )
    pairs["skin_on_source"] = "skin_lightness" in world.identity_names
    return pairs


def reference_outputs(pairs: dict) -> dict[str, Tensor]:
    """The floor and ceiling rows, computed by the same harness as the model. The recoloured target is
    a reference only where skin tone is the source's to give (real data, or ``skin_tone_side=source``)."""
    refs = {"output = target": pairs["target"], "output = source": pairs["source"]}
    if "average" in pairs:
        refs["average identity"] = pairs["average"]
    if pairs.get("skin_on_source", True):
        refs["target recoloured to source"] = recolor_to_source(
            pairs["target"], pairs["target_mask"], pairs["source"], pairs["source_mask"]
        )
    if "truth" in pairs:
        refs["ground truth (ceiling)"] = pairs["truth"]
    return refs


def _measure(scorer: Scorer, images: Tensor, batch_size: int) -> dict[str, Tensor | None]:
    parts = [scorer.measure(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return {k: None if parts[0].get(k) is None else torch.cat([p[k] for p in parts]) for k in parts[0]}


@torch.no_grad()
def score_outputs(
    outputs: dict[str, Tensor], pairs: dict, scorer: Scorer, batch_size: int = 64
) -> dict[str, dict[str, Tensor]]:
    """Per-pair metric values ``{output name: {metric: (N,)}}``; metrics whose instrument is missing
    (or, off the synthetic world, that need the truth) are absent."""
    gallery = _measure(scorer, pairs.get("gallery", pairs["source"]), batch_size)
    tgt = _measure(scorer, pairs["target"], batch_size)
    result = {}
    for name, images in outputs.items():
        m, values = _measure(scorer, images, batch_size), {}
        if m["embedding"] is not None:
            nearest = (m["embedding"] @ gallery["embedding"].T).argmax(1)
            values["id_top1"] = (nearest == torch.arange(len(images))).float()
            values["id_cos_gallery"] = identity_cosine(m["embedding"], gallery["embedding"])
            values["id_cos_target"] = identity_cosine(m["embedding"], tgt["embedding"])
        true_pose = pairs.get("target_pose_true", tgt["pose"])
        if m["pose"] is not None and true_pose is not None:
            values["pose_err"] = (m["pose"] - true_pose).norm(dim=1)
        true_expr = pairs.get("target_expr_true", tgt["expression"])
        if m["expression"] is not None and true_expr is not None:
            values["expr_err"] = (m["expression"] - true_expr).norm(dim=1)
        if m.get("landmarks") is not None and "truth_landmarks" in pairs:
            values["lm_err"] = (m["landmarks"] - pairs["truth_landmarks"]).norm(dim=2).mean(1)
        if "truth" in pairs:
            values.update(region_errors(images, pairs["truth"], pairs["truth_mask"], pairs["target_mask"]))
        result[name] = values
    return result


def bootstrap_interval(values: Tensor, resamples: int = 1000, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap interval of the mean of ``values`` (N,) over pairs -> (low, high)."""
    v = values.double().flatten()
    v = v[torch.isfinite(v)]
    if len(v) < 2:
        return float("nan"), float("nan")
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(v), (resamples, len(v)), generator=gen)
    means = v[idx].mean(1)
    lo, hi = torch.quantile(means, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=means.dtype))
    return float(lo), float(hi)


def _scale(metric: str) -> float:
    return 100.0 if metric == "id_top1" else 1.0


def summarize(per_pair: dict[str, dict[str, Tensor]]) -> dict[str, dict[str, float]]:
    """Means per output; ``id_top1`` as a percentage. Non-finite values (a region a pair lacks; PSNR of
    the ground truth against itself, capped at 100 dB anyway) are left out of the mean."""
    rows = {}
    for name, values in per_pair.items():
        rows[name] = {}
        for k, v in values.items():
            finite = v[torch.isfinite(v.float())]
            rows[name][k] = float(finite.double().mean()) * _scale(k) if len(finite) else float("nan")
    return rows


def uncertainty(per_pair: dict[str, dict[str, Tensor]], resamples: int = 1000, seed: int = 0) -> dict:
    """Bootstrap 95% intervals over pairs of every mean, and every model row's paired difference to
    each of :data:`REFERENCE_BASELINES` (mean of the per-pair differences, with its interval).

    Returns ``{"intervals": {output: {metric: [lo, hi]}}, "differences": {output: {baseline: {metric:
    [mean, lo, hi]}}}}``; a difference whose interval excludes 0 is significant at the 5% level.
    """
    intervals, diffs = {}, {}
    for name, values in per_pair.items():
        intervals[name] = {}
        for k, v in values.items():
            lo, hi = bootstrap_interval(v, resamples, seed)
            intervals[name][k] = [lo * _scale(k), hi * _scale(k)]
    for name, values in per_pair.items():
        if name in REFERENCE_BASELINES or name.startswith(("output =", "ground truth", "target recoloured")):
            continue
        diffs[name] = {}
        for base in (b for b in REFERENCE_BASELINES if b in per_pair):
            diffs[name][base] = {}
            for k, v in values.items():
                d = (v.double() - per_pair[base][k].double()) * _scale(k) if k in per_pair[base] else None
                if d is None or not bool(torch.isfinite(d).all()):
                    continue
                lo, hi = bootstrap_interval(d, resamples, seed)
                diffs[name][base][k] = [float(d.mean()), lo, hi]
    return {"intervals": intervals, "differences": diffs}


@torch.no_grad()
def oracle_noise_floor(scorer: Scorer, pairs: dict, batch_size: int = 64) -> dict[str, float]:
    """The scorer's own error on real renders: retrieval of each pair's source image (a real render of
    the identity) against the gallery, its pose / expression error on the targets against the
    renderer's truth, its landmark error on the ground truths, and its per-factor held-out R^2. A swap
    metric closer than this to its reference is below the instrument's resolution."""
    src = _measure(scorer, pairs["source"], batch_size)
    gallery = _measure(scorer, pairs["gallery"], batch_size)
    tgt, truth = _measure(scorer, pairs["target"], batch_size), _measure(scorer, pairs["truth"], batch_size)
    n = len(pairs["truth"])
    top1 = float(((src["embedding"] @ gallery["embedding"].T).argmax(1) == torch.arange(n)).float().mean())
    floor = {"id_top1": 100.0 * top1, "id_top1_chance": 100.0 / n}
    if tgt["pose"] is not None:
        floor["pose_err"] = float((tgt["pose"] - pairs["target_pose_true"]).norm(dim=1).mean())
    if tgt["expression"] is not None:
        floor["expr_err"] = float((tgt["expression"] - pairs["target_expr_true"]).norm(dim=1).mean())
    if truth.get("landmarks") is not None:
        floor["lm_err"] = float((truth["landmarks"] - pairs["truth_landmarks"]).norm(dim=2).mean())
    floor.update({f"r2/{k}": v for k, v in scorer.factor_r2().items()})
    return floor


DEFAULT_PASTE_PX = 4  # the main job's model.face_region.dilate_px at 64 px


def paste_px_for(run_config: dict | None, paste: bool) -> int | None:
    """How far beyond the target's face mask the protocol pastes a model's swaps: ``None`` (raw output)
    when ``paste`` is false, else the run's ``model.face_region.dilate_px`` (the region training
    confined its swaps to), or :data:`DEFAULT_PASTE_PX` for a run without a face region."""
    if not paste:
        return None
    region = ((run_config or {}).get("model") or {}).get("face_region")
    if not region:
        return DEFAULT_PASTE_PX
    return int(region.get("dilate_px", DEFAULT_PASTE_PX))


def paste_words(paste_px: int | None) -> str:
    """How the model's swaps were scored, for table titles."""
    if paste_px is None:
        return "model rows: the generator's raw output"
    return f"model rows: swaps pasted inside the target's face region grown by {paste_px} px"


def paste_into_target(swaps: Tensor, target: Tensor, target_mask: Tensor, pixels: int) -> Tensor:
    """``swaps`` as deployed: pasted into ``target`` inside the target's face region grown by
    ``pixels``, the target everywhere else. This is what training confines each swap to
    (``model.face_region.confine``) and what the image / video swapper pastes (inside the landmark
    face outline), so the protocol scores it by default; ``paste_px=None`` scores the raw output."""
    if target_mask is None:
        raise EvaluationError(
            "pasting the swaps needs the pairs' target_mask; set paste_px=None to score the raw output"
        )
    return paste_inside(swaps, target, dilate_mask(target_mask.to(swaps.dtype), pixels))


def run_model(
    swap_fn: Callable[[Tensor, Tensor], Tensor],
    pairs: dict[str, Tensor],
    batch_size: int = 64,
    paste_px: int | None = None,
) -> Tensor:
    """The model's swaps of every pair, ``(N, 3, H, W)`` in [-1, 1], in batches; with ``paste_px``
    pasted into the target inside its face region grown by that many pixels (:func:`paste_into_target`)."""
    out = [
        swap_fn(pairs["target"][i : i + batch_size], pairs["source"][i : i + batch_size]).float().cpu()
        for i in range(0, len(pairs["target"]), batch_size)
    ]
    swaps = torch.cat(out).clamp(-1, 1)
    if paste_px is not None:
        swaps = paste_into_target(swaps, pairs["target"].float(), pairs.get("target_mask"), int(paste_px))
    return swaps


def run_protocol(
    swap_fn,
    pairs: dict,
    scorer: Scorer,
    batch_size: int = 64,
    resamples: int = 1000,
    paste_px: int | None = None,
) -> dict:
    """The whole protocol for one model: its swaps and the reference rows scored by ``scorer``, means,
    intervals, paired differences and (on the synthetic world) the scorer's noise floor. The closing
    table of ``deepswap.train`` and ``deepswap.evaluate`` both call this. ``paste_px``: score the swaps
    pasted into the target inside its face region grown by that many pixels (as deployed and as
    trained with ``model.face_region.confine``); None: the generator's raw output.

    Returns ``{"outputs", "per_pair", "rows", "intervals", "differences", "noise_floor", "streaks"}``;
    ``streaks`` (with a ground truth): the row- and column-constant energy of ``model - truth`` over
    that of ``truth - target`` (:func:`~deepswap.evaluation.metrics.streak_ratio`; above 1.5 the
    model paints bands the true swap does not have).
    """
    outputs = {"model": run_model(swap_fn, pairs, batch_size, paste_px), **reference_outputs(pairs)}
    per_pair = score_outputs(outputs, pairs, scorer, batch_size)
    result = {"outputs": outputs, "per_pair": per_pair, "rows": summarize(per_pair)}
    result.update(uncertainty(per_pair, resamples))
    if "truth" in pairs:
        result["streaks"] = streak_ratio(outputs["model"], pairs["truth"], pairs["target"])
    if "truth" in pairs and not scorer.missing:
        result["noise_floor"] = oracle_noise_floor(scorer, pairs, batch_size)
    else:
        result["noise_floor"] = {"id_top1_chance": 100.0 / len(pairs["target"])}
    return result


def ellipse_mask(size: int) -> Tensor:
    """``(1, size, size)`` soft ellipse over the face of an ArcFace-aligned crop (real data has no face
    masks; the recoloured-target reference row uses this one)."""
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    d = (x / 0.62) ** 2 + ((y - 0.08) / 0.8) ** 2
    return (1 - d).clamp(0, 0.15)[None] / 0.15


def folder_pairs(folder, num_pairs: int, seed: int) -> dict:
    """Pairs from an :class:`~deepswap.data.folder.IdentityFolder` of held-out identities: each pair's
    source is a distinct identity (one random image of it), its target an image of another identity.
    The gallery is another image of the source identity where it has one (else the source image)."""
    identities = sorted(folder.by_identity)
    _check_count(num_pairs, len(identities), str(folder.root), "")
    rng = np.random.default_rng([int(seed), PAIR_SALT])
    source_ids = rng.permutation(identities)[:num_pairs]
    offsets = rng.integers(1, len(identities), size=num_pairs)
    target_ids = [
        identities[(identities.index(int(s)) + int(o)) % len(identities)] for s, o in zip(source_ids, offsets)
    ]
    s_img = [int(rng.choice(folder.by_identity[int(k)])) for k in source_ids]
    t_img = [int(rng.choice(folder.by_identity[int(k)])) for k in target_ids]
    g_img = []
    for k, s in zip(source_ids, s_img):
        others = [i for i in folder.by_identity[int(k)] if i != s]
        g_img.append(int(rng.choice(others)) if others else s)
    mask = ellipse_mask(folder.size)[None].expand(num_pairs, -1, -1, -1)
    return {
        "target": torch.stack([folder.load(i) for i in t_img]) * 2 - 1,
        "source": torch.stack([folder.load(i) for i in s_img]) * 2 - 1,
        "gallery": torch.stack([folder.load(i) for i in g_img]) * 2 - 1,
        "target_mask": mask,
        "source_mask": mask,
        "target_id": torch.as_tensor(target_ids),
        "source_id": torch.as_tensor(source_ids),
        "target_path": [str(folder.paths[i]) for i in t_img],
        "source_path": [str(folder.paths[i]) for i in s_img],
    }
