"""How fast does the default generator learn to USE the identity it is given? Supervised (L1 to the
ground truth, the upper bound's objective) training on pre-rendered world-v2 pairs, with the source's
TRUE identity factors as input (a perfect encoder), scored every few hundred steps on 200 val pairs:

- face L1 to the truth, against output = target and the average identity (the protocol's baselines);
- identity gain: face L1 with every pair given ANOTHER pair's source identity minus face L1 with its
  own. Zero means the generator ignores the identity input (it only learned what every swap shares,
  e.g. moving the target towards the average face); the truth's own gain is the shuffled truth's error.

    python experiments/2026-12-04_identity_speed/probe_identity_speed.py --steps 1000 --variants base
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from deepswap.data.pairs import SyntheticPairs  # noqa: E402
from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402
from deepswap.evaluation.metrics import region_errors  # noqa: E402
from deepswap.evaluation.protocol import synthetic_pairs  # noqa: E402
from deepswap.models.generators.aad import AADGenerator  # noqa: E402
from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator  # noqa: E402

# The main job's generator defaults (configs/generator/deepswap.yaml) and optimiser (configs/optimizer).
BASE = {"mask_bias_init": 0.0, "residual_rgb": True, "upsample": "bilinear", "rgb_init_scale": 0.1}
VARIANTS = {
    "base": {},
    "mapping_lr10": {"mapping_lr": 10.0},  # the identity's mapping network at 10x the learning rate
    "lr3e-3": {"lr": 3e-3},
    "blocks4": {"gen": {"n_blocks": 4}},
    "nomask_warp4": {"gen": {"blend_mask": False, "warp_pixels": 4.0}},
    # stop 25: an additive identity shift in every modulated conv (AdaIN's beta, AAD's id_beta)
    "id_shift": {"gen": {"id_shift": True}},
    # the GHOST family at about 3M params (the families comparison of ../2026-12-04_bound_and_families)
    "map0": {"gen": {"mapping_layers": 0}},  # identity straight into the modulations (AAD has no mapping)
    "id_shift_map0": {"gen": {"id_shift": True, "mapping_layers": 0}},
    "id_norm": {"gen": {"id_norm": True}},
    "adain": {"gen": {"id_norm": True, "id_shift": True}},  # instance norm + identity scale and shift
    # stop 26: deepswap-lite with an AAD decoder (FaceShifter's denormalisation, skips as attributes)
    "lite_aad": {"gen": {"decoder": "aad"}},
    "lite_aad1": {"gen": {"decoder": "aad", "aad_layers": 1}},
    "lite_aad_b24": {"gen": {"decoder": "aad", "base_channels": 24}},
    "ghost_3M": {"cls": "aad", "gen": {"base_channels": 16, "max_channels": 96, "n_down": 5}},
    # 2026-12-07: what the generator is told. "delta": source factors - target factors (the edit to
    # make; zero for a same-identity pair); "concat": both, side by side.
    "delta": {"input": "delta"},
    "concat": {"input": "concat"},
    "delta_warp4": {"input": "delta", "gen": {"warp_pixels": 4.0}},
    "ghost_3M_delta": {
        "cls": "aad",
        "input": "delta",
        "gen": {"base_channels": 16, "max_channels": 96, "n_down": 5},
    },
}


def identity_input(kind: str, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """What the generator is given about identity: the source's factors, their difference to the
    target's, or both."""
    if kind == "source":
        return src
    if kind == "delta":
        return src - tgt
    if kind == "concat":
        return torch.cat([src, tgt], 1)
    raise ValueError(f"unknown identity input {kind!r}")


def batchify(ds, n):
    items = [ds[i] for i in range(n)]
    return {k: torch.stack([it[k] for it in items]) for k in ("target", "truth", "source_id", "target_id")}


def bootstrap(x: np.ndarray, n: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n, len(x)))].mean(1)
    return float(x.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def face_l1(swap, val) -> np.ndarray:
    err = region_errors(swap, val["truth"], val["truth_mask"], val["target_mask"])
    return err["gt_l1_face"].numpy()


def swap(gen, val, ids) -> torch.Tensor:
    return torch.cat([gen(val["target"][i : i + 50], ids[i : i + 50]).image for i in range(0, 200, 50)])


def train_and_score(name, gen, opt, train_set, val_set, refs, args) -> list[dict]:
    """L1 to the truth for ``args.steps`` steps of ``args.batch`` pairs (cycling over ``args.pairs``); every
    ``args.eval_every`` steps and at the end, face L1 on the val pairs with each pair's own identity input
    and with another pair's, printed and returned as rows (means and 95% bootstrap intervals)."""
    (train, tr_id), (val, va_id, shuffled) = train_set, val_set
    rows, t0 = [], time.time()
    for step in range(1, args.steps + 1):
        lo = ((step - 1) * args.batch) % args.pairs
        sl = slice(lo, lo + args.batch)
        out = gen(train["target"][sl], tr_id[sl]).image
        loss = (out - train["truth"][sl]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.eval_every and step != args.steps:
            continue
        with torch.no_grad():
            own, other = face_l1(swap(gen, val, va_id), val), face_l1(swap(gen, val, shuffled), val)
        row = {
            "step": step,
            "kimg": step * args.batch / 1000,
            "face_l1": bootstrap(own),
            "minus_target": bootstrap(own - refs["output = target"]),
            "minus_average": bootstrap(own - refs["average identity"]),
            "identity_gain": bootstrap(other - own),
        }
        rows.append(row)
        f = lambda t: f"{t[0]:+.4f} [{t[1]:+.4f}, {t[2]:+.4f}]"  # noqa: E731
        print(
            f"{name:14s} step {step:5d} face L1 {row['face_l1'][0]:.4f}"
            f"  - target {f(row['minus_target'])}"
            f"  - average {f(row['minus_average'])}  identity gain {f(row['identity_gain'])}"
            f"  ({time.time() - t0:.0f} s)",
            flush=True,
        )
    return rows


def prepare(pairs: int):
    """``pairs`` training pairs with truths and the protocol's 200 val pairs of world v2 -> (train, val,
    (train source factors, train target factors, val source factors, val target factors), reference face
    L1 per val pair of output = target and of the average identity)."""
    world = SyntheticFaceWorld(num_train_identities=1000, num_heldout_identities=400, seed=0)
    t0 = time.time()
    train = batchify(SyntheticPairs(world, "train", 64, pairs, 0.0, with_truth=True), pairs)
    val = synthetic_pairs(world, 200, 64, seed=0, split="val")
    print(f"rendered in {time.time() - t0:.0f} s", flush=True)
    idf = lambda ids: torch.stack([world.identity_factors(int(i)) for i in ids])  # noqa: E731
    factors = (idf(train["source_id"]), idf(train["target_id"]), idf(val["source_id"]), idf(val["target_id"]))
    refs = {"output = target": face_l1(val["target"], val), "average identity": face_l1(val["average"], val)}
    for name, v in refs.items():
        print(f"{name:18s} face L1 {v.mean():.4f}", flush=True)
    return train, val, factors, refs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=8000, help="distinct training pairs (cycled)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--variants", nargs="+", default=["base"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run_variants(args, VARIANTS, build)


def build(v: dict, id_dim: int):
    """A variant's settings -> (generator, Adam over it; the mapping network at ``mapping_lr`` x the lr)."""
    if v.get("cls") == "aad":
        gen = AADGenerator(id_dim=id_dim, **v["gen"])
    else:
        gen = DeepSwapLiteGenerator(id_dim=id_dim, **{**BASE, **v.get("gen", {})})
    lr = v.get("lr", 1e-3)
    mapping = list(gen.mapping.parameters()) if hasattr(gen, "mapping") else []
    rest = [p for p in gen.parameters() if all(p is not q for q in mapping)]
    opt = torch.optim.Adam(
        [{"params": rest}, {"params": mapping, "lr": lr * v.get("mapping_lr", 1.0)}],
        lr=lr, betas=(0.9, 0.99),
    )  # fmt: skip
    return gen, opt


def run_variants(args, variants: dict, build_variant) -> dict:
    """Renders the pairs, then for each of ``args.variants``: ``build_variant(settings, id_dim)`` ->
    (generator, optimiser), seeded 0, trained, scored (:func:`train_and_score`); rows go to ``args.out``."""
    train, val, (tr_src, tr_tgt, va_src, va_tgt), refs = prepare(args.pairs)
    references = {k: float(v.mean()) for k, v in refs.items()}
    results = {"args": vars(args), "references": references, "variants": {}}
    for name in args.variants:
        v = variants[name]
        kind = v.get("input", "source")
        tr_id, va_id = identity_input(kind, tr_src, tr_tgt), identity_input(kind, va_src, va_tgt)
        shuffled = identity_input(kind, va_src.roll(1, 0), va_tgt)  # another pair's source identity
        torch.manual_seed(0)
        gen, opt = build_variant(v, tr_id.shape[1])
        print(f"{name}: {sum(p.numel() for p in gen.parameters()) / 1e6:.2f}M params", flush=True)
        results["variants"][name] = train_and_score(
            name, gen, opt, (train, tr_id), (val, va_id, shuffled), refs, args
        )
        if args.out:
            json.dump(results, open(args.out, "w"), indent=1)
    return results


if __name__ == "__main__":
    main()
