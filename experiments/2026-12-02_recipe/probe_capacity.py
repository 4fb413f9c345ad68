"""How fast can the default generator learn the swap at all? Supervised (L1 to the ground truth)
training of generator variants on pre-rendered world-v2 pairs, scored on 200 val pairs.

    python experiments/2026-12-02_recipe/probe_capacity.py --steps 500 --variants base lr2e-3
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from deepswap.data.pairs import SyntheticPairs  # noqa: E402
from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402
from deepswap.evaluation.metrics import region_errors  # noqa: E402
from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator  # noqa: E402

VARIANTS = {
    "base": {},
    "lr2e-3": {"lr": 2e-3},
    "lr1e-3": {"lr": 1e-3},
    "mask0": {"gen": {"mask_bias_init": 0.0}},
    "blocks4": {"gen": {"n_blocks": 4}},
    "nores": {"gen": {"residual_rgb": False, "mask_bias_init": 0.0}},
    "beta09": {"betas": (0.9, 0.99)},
    "lr1e-3b09": {"lr": 1e-3, "betas": (0.9, 0.99)},
}


def batchify(ds, n):
    items = [ds[i] for i in range(n)]
    return {
        k: torch.stack([it[k] for it in items])
        for k in ("target", "truth", "truth_mask", "target_mask", "source_id")
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--variants", nargs="+", default=["base"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    world = SyntheticFaceWorld(num_train_identities=1000, num_heldout_identities=400, seed=0)
    t0 = time.time()
    train = batchify(
        SyntheticPairs(world, "train", 64, args.steps * args.batch, 0.0, with_truth=True),
        args.steps * args.batch,
    )
    val = batchify(SyntheticPairs(world, "val", 64, 200, 0.0, with_truth=True, seed=5), 200)
    print(f"rendered in {time.time() - t0:.0f} s", flush=True)
    # the generator is told the source's true identity factors: a perfect identity encoder
    idf = lambda ids: torch.stack([world.identity_factors(int(i)) for i in ids])  # noqa: E731
    tr_id, va_id = idf(train["source_id"]), idf(val["source_id"])
    base_err = region_errors(val["target"], val["truth"], val["truth_mask"], val["target_mask"])
    print(f"output = target: gt_l1_face {base_err['gt_l1_face'].nanmean():.4f}", flush=True)
    results = {}
    for name in args.variants:
        v = VARIANTS[name]
        torch.manual_seed(0)
        gen = DeepSwapLiteGenerator(id_dim=tr_id.shape[1], **v.get("gen", {}))
        opt = torch.optim.Adam(gen.parameters(), lr=v.get("lr", 4e-4), betas=v.get("betas", (0.0, 0.99)))
        t0 = time.time()
        for step in range(args.steps):
            sl = slice(step * args.batch, (step + 1) * args.batch)
            out = gen(train["target"][sl], tr_id[sl]).image
            loss = (out - train["truth"][sl]).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            swap = torch.cat(
                [gen(val["target"][i : i + 50], va_id[i : i + 50]).image for i in range(0, 200, 50)]
            )
        err = region_errors(swap, val["truth"], val["truth_mask"], val["target_mask"])
        results[name] = {k: float(err[k].nanmean()) for k in ("gt_l1_face", "gt_l1")}
        print(
            f"{name:12s} gt_l1_face {results[name]['gt_l1_face']:.4f} "
            f"gt_l1 {results[name]['gt_l1']:.4f} ({time.time() - t0:.0f} s)",
            flush=True,
        )
    if args.out:
        json.dump(results, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
