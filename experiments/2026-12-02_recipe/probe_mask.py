"""Does the blending mask hold the default generator back? The main job's generator objective without
the discriminator (identity loss through the frozen training encoder, outside-the-face L1, swaps
confined to the dilated face region), on pre-rendered world-v2 pairs, for generator variants; scored
on 200 val pairs against the ground truth (face L1) and by the evaluation oracle (ID cosine).

    python experiments/2026-12-02_recipe/probe_mask.py --steps 300 --variants learned nomask
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from deepswap.data.pairs import SyntheticPairs  # noqa: E402
from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402
from deepswap.evaluation.metrics import region_errors  # noqa: E402
from deepswap.training.module import dilate_mask, random_affine  # noqa: E402

HERE = Path(__file__).resolve().parent
VARIANTS = {  # generator overrides, loss: "identity" (the main job's, no D) or "truth" (L1 to the truth)
    "learned": {"gen": {}},
    "learned_rgb0": {"gen": {"rgb_init_scale": 0.0}},
    "nomask": {"gen": {"blend_mask": False}},
    "nomask_rgb0": {"gen": {"blend_mask": False, "rgb_init_scale": 0.0}},
    "truth_learned": {"gen": {}, "loss": "truth"},
    "truth_nomask": {"gen": {"blend_mask": False}, "loss": "truth"},
    "nomask_id30": {"gen": {"blend_mask": False}, "identity": 30.0},
    "nomask_noout": {"gen": {"blend_mask": False}, "outside": 0.0},
    "nomask_blur1": {"gen": {"blend_mask": False}, "blur": 1.0},
    "nomask_blur2": {"gen": {"blend_mask": False}, "blur": 2.0},
    "nomask_keep1": {"gen": {"blend_mask": False}, "keep": 1.0},
    "nomask_keep3": {"gen": {"blend_mask": False}, "keep": 3.0},
    "nomask_blur1_keep1": {"gen": {"blend_mask": False}, "blur": 1.0, "keep": 1.0},
    # identity loss as the squared error of the encoder's (unnormalised) factor estimates: the cosine
    # is blind to their scale, so overshooting a feature costs nothing
    "nomask_warp": {"gen": {"blend_mask": False, "warp_pixels": 4.0}},
    "nomask_warp_keep3": {"gen": {"blend_mask": False, "warp_pixels": 4.0}, "keep": 3.0},
    "truth_nomask_warp": {"gen": {"blend_mask": False, "warp_pixels": 4.0}, "loss": "truth"},
    "nomask_mse": {"gen": {"blend_mask": False}, "metric": "mse", "identity": 1.0},
    "nomask_mse_keep3": {"gen": {"blend_mask": False}, "metric": "mse", "identity": 1.0, "keep": 3.0},
    "nomask_mse10_keep3": {"gen": {"blend_mask": False}, "metric": "mse", "identity": 10.0, "keep": 3.0},
}


def gaussian_blur(x, sigma):
    """Separable Gaussian low-pass (reflect padding), 2*ceil(2 sigma)+1 taps."""
    r = int(2 * sigma + 0.999)
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.device)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def batchify(ds, n):
    items = [ds[i] for i in range(n)]
    keys = ("target", "source", "truth", "truth_mask", "target_mask", "source_views")
    return {k: torch.stack([it[k] for it in items]) for k in keys if k in items[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--variants", nargs="+", default=["learned", "nomask"])
    ap.add_argument("--out", default=None)
    ap.add_argument("--pairs", type=int, default=0, help="distinct training pairs (0: steps x batch)")
    ap.add_argument("--eval-every", type=int, default=0, help="also score every this many steps")
    ap.add_argument("--overrides", nargs="*", default=[], help="Hydra overrides of the train config")
    args = ap.parse_args()
    with initialize_config_dir(str(HERE.parents[1] / "configs"), version_base=None):
        cfg = compose("train", overrides=args.overrides)
    encoder = instantiate(cfg.identity).eval().requires_grad_(False)
    oracle = instantiate(cfg.eval_identity).eval().requires_grad_(False)
    world = SyntheticFaceWorld(**cfg.data.world)
    t0 = time.time()
    n = args.pairs or args.steps * args.batch
    train = batchify(SyntheticPairs(world, "train", 64, n, 0.0, with_truth=True, extra_source_views=1), n)
    val = batchify(SyntheticPairs(world, "val", 64, 200, 0.0, with_truth=True, seed=5), 200)
    print(f"rendered in {time.time() - t0:.0f} s", flush=True)
    emb = lambda net, x: F.normalize(net(x).float(), dim=1)  # noqa: E731
    with torch.no_grad():
        views = torch.cat([train["source"][:, None], train["source_views"]], 1)
        tr_raw = torch.cat(
            [encoder(views[i : i + 256].flatten(0, 1)).view(-1, 2, 512).mean(1) for i in range(0, n, 256)]
        )
        tr_id = F.normalize(tr_raw, dim=1)
        va_id = emb(encoder, val["source"])
        va_oracle_src = emb(oracle, val["source"])
        base = region_errors(val["target"], val["truth"], val["truth_mask"], val["target_mask"])
        ref_cos = {k: float((emb(oracle, val[k]) * va_oracle_src).sum(1).mean()) for k in ("target", "truth")}
        ref_enc = {k: float((emb(encoder, val[k]) * va_id).sum(1).mean()) for k in ("target", "truth")}
    print(f"oracle cos to the source: target {ref_cos['target']:.3f}, truth {ref_cos['truth']:.3f}")
    print(f"training-encoder cos to the source: target {ref_enc['target']:.3f}, truth {ref_enc['truth']:.3f}")
    print(f"output = target: face L1 {base['gt_l1_face'].nanmean():.4f} gt L1 {base['gt_l1'].nanmean():.4f}")
    tr_region = dilate_mask(train["target_mask"].float(), 4)
    va_region = dilate_mask(val["target_mask"].float(), 4)

    @torch.no_grad()
    def score(gen) -> dict:
        gens = [gen(val["target"][i : i + 50], va_id[i : i + 50]) for i in range(0, 200, 50)]
        raw = torch.cat([g.image for g in gens])
        mask = torch.cat([g.mask for g in gens])
        swap = val["target"] + va_region * (raw - val["target"])
        err = region_errors(swap, val["truth"], val["truth_mask"], val["target_mask"])
        cos = (emb(oracle, swap) * va_oracle_src).sum(1)
        enc_cos = (emb(encoder, swap) * va_id).sum(1)
        inside = val["target_mask"].float()
        change = ((swap - val["target"]).abs().mean(1, keepdim=True) * inside).sum() / inside.sum()
        d = err["gt_l1_face"] - base["gt_l1_face"]
        boot = torch.stack([d[torch.randint(0, 200, (200,))].nanmean() for _ in range(1000)])
        return {
            "gt_l1_face": float(err["gt_l1_face"].nanmean()),
            "face_minus_target": float(d.nanmean()),
            "face_minus_target_95": [float(boot.quantile(0.025)), float(boot.quantile(0.975))],
            "gt_l1": float(err["gt_l1"].nanmean()),
            "oracle_cos": float(cos.mean()),
            "encoder_cos": float(enc_cos.mean()),
            "mask_in_face": float((mask * inside).sum() / inside.sum()),
            "change_in_face": float(change),
        }

    results = {}
    for name in args.variants:
        v = VARIANTS[name]
        torch.manual_seed(0)
        gen = instantiate(cfg.generator, **v["gen"])
        opt = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.9, 0.99))
        w_id, w_out = v.get("identity", 10.0), v.get("outside", 10.0)
        t0 = time.time()
        for step in range(args.steps):
            start = (step * args.batch) % (n - args.batch + 1)
            sl = slice(start, start + args.batch)
            tgt, reg = train["target"][sl], tr_region[sl]
            raw = gen(tgt, tr_id[sl]).image
            img = tgt + reg * (raw - tgt)
            if v.get("loss") == "truth":
                loss = (img - train["truth"][sl]).abs().mean()
            else:
                seen = random_affine(img, 0.06, False)
                if v.get("blur"):
                    seen = gaussian_blur(seen, v["blur"])
                if v.get("metric") == "mse":
                    loss = w_id * (encoder(seen) - tr_raw[sl]).square().mean() * (tr_raw.shape[1] / 17)
                else:
                    loss = w_id * (1 - (emb(encoder, seen) * tr_id[sl]).sum(1)).mean()
                out = 1 - reg
                loss = loss + w_out * ((raw - tgt).abs() * out).sum() / (out.sum() * 3).clamp_min(1)
                if v.get("keep"):  # a minimal-change prior inside the face region
                    loss = loss + v["keep"] * ((img - tgt).abs() * reg).sum() / (reg.sum() * 3).clamp_min(1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
                r = score(gen)
                msg = f"face L1 {r['gt_l1_face']:.4f} (- target {r['face_minus_target']:+.4f})"
                print(f"  step {step + 1}: {msg} encoder cos {r['encoder_cos']:.3f}", flush=True)
                results.setdefault(name + "/curve", []).append({"step": step + 1, **r})
        results[name] = r = {**score(gen), "seconds": time.time() - t0}
        print(
            f"{name:14s} face L1 {r['gt_l1_face']:.4f} (- target {r['face_minus_target']:+.4f} "
            f"[{r['face_minus_target_95'][0]:+.4f}, {r['face_minus_target_95'][1]:+.4f}]) "
            f"oracle cos {r['oracle_cos']:.3f} encoder cos {r['encoder_cos']:.3f} "
            f"mask {r['mask_in_face']:.2f} change {r['change_in_face']:.3f} "
            f"({r['seconds']:.0f} s)",
            flush=True,
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
