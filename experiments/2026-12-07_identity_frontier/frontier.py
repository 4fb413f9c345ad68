"""What do issue 10's two identity-dependent bars ask of a swap? The renderer itself, fed wrong identities.

A model with a perfect renderer and imperfect identity factors is the best any generator can do with
that much identity knowledge. This script renders the closing table's 200 test pairs with the
target's attributes and identity factors that are wrong in two ways, and scores them with the
protocol (same oracle, same pasting, same paired bootstrap as ``deepswap.train``'s closing table):

- shrink alpha: ``0.5 + alpha * (source - 0.5)``, the source pulled towards the average identity
  (what an L1- or MSE-trained model under uncertainty does; alpha 0 is the average row, 1 the truth);
- mix a / b: ``0.5 + a * (source - 0.5) + b * (target - 0.5)``, part source, part target (what the
  per-factor table below measures in a trained model);
- noise sigma: ``clip(source + sigma * N(0, 1), 0, 1)`` per factor (a sharp model with that much
  error per factor, on the [0, 1] factor scale; the factors are uniform on [0, 1], sd 0.29).

    python experiments/2026-12-07_identity_frontier/frontier.py --out frontier.json
"""

from __future__ import annotations

import argparse
import json

import torch
import torchvision.transforms.functional as TF
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from deepswap.data.synthetic.params import POSE_SPAN_DEG
from deepswap.evaluation import protocol
from deepswap.evaluation.harness import CONFIG_DIR, build_scorer, heldout_pairs
from deepswap.evaluation.metrics import face_regions, region_errors
from deepswap.inference.loader import load_model
from deepswap.models.identity.oracle import EXPRESSION, POSE


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of ``(N, 3, H, W)`` images (kernel 4 sigma + 1, reflected borders)."""
    k = int(4 * sigma) | 1
    return TF.gaussian_blur(images, [k, k], [sigma, sigma])


def colour_matched(pred: torch.Tensor, truth: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """``pred`` shifted per image and channel so that its mean inside ``region`` is the truth's: what is
    left of the error once a global colour drift is forgiven (an offset only: a gain would also shrink
    the contrast, which lowers L1 for any imperfect prediction)."""
    m = region.float()
    n = m.flatten(1).sum(1).clamp_min(1).view(-1, 1, 1, 1)
    mp, mt = (pred * m).sum((2, 3), keepdim=True) / n, (truth * m).sum((2, 3), keepdim=True) / n
    return (pred - mp + mt).clamp(-1, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0, help="pair seed (the closing table's is 0)")
    ap.add_argument("--noise-seeds", type=int, default=3, help="draws of the factor noise per sigma")
    ap.add_argument("--paste-px", type=int, default=protocol.DEFAULT_PASTE_PX)
    ap.add_argument("--out", default="frontier.json")
    ap.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also score a trained model (its swaps pasted as in the closing table) and split its error",
    )
    ap.add_argument(
        "--override",
        action="append",
        default=[],
        help="a configs/evaluate.yaml override, e.g. for another oracle: 'oracle.augment=[...]'",
    )
    ap.add_argument("--no-sweep", action="store_true", help="only the checkpoints and the reference rows")
    args = ap.parse_args()

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        train = compose("train")
        ev = compose(
            "evaluate",
            overrides=[
                "checkpoint=unused",
                f"num_pairs={args.num_pairs}",
                f"seed={args.seed}",
                *args.override,
            ],
        )
    with open_dict(ev):
        ev.data = train.data
    pairs, kind, world = heldout_pairs(ev, ev.data)
    scorer, _ = build_scorer(ev, kind, world)
    size = int(ev.data.size)
    src = torch.stack([world.identity_factors(int(i)) for i in pairs["source_id"]])
    attr = torch.stack([world.attribute_factors("test", int(i)) for i in pairs["target_index"]])

    def raw(ident: torch.Tensor, attributes: torch.Tensor | None = None) -> torch.Tensor:
        a = attr if attributes is None else attributes
        out = [
            world.swap_truth(ident[i : i + 64], a[i : i + 64], size).image * 2 - 1
            for i in range(0, len(ident), 64)
        ]
        return torch.cat(out).float()

    def paste(swaps: torch.Tensor) -> torch.Tensor:
        return protocol.paste_into_target(swaps, pairs["target"], pairs["target_mask"], args.paste_px)

    def render(ident: torch.Tensor) -> torch.Tensor:
        return paste(raw(ident))

    rows = {}
    if not args.no_sweep:
        for alpha in (0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
            rows[f"shrink {alpha}"] = render(0.5 + alpha * (src - 0.5))
        tgt = torch.stack([world.identity_factors(int(i)) for i in pairs["target_id"]])
        for a, b in ((0.7, 0.35), (0.5, 0.5), (0.25, 0.5)):  # source weight a, target weight b
            rows[f"mix source {a} target {b}"] = render((0.5 + a * (src - 0.5) + b * (tgt - 0.5)).clamp(0, 1))
        gen = torch.Generator().manual_seed(1234)
        for sigma in (0.05, 0.1, 0.15, 0.2, 0.3):
            for k in range(args.noise_seeds):
                noisy = (src + sigma * torch.randn(src.shape, generator=gen)).clamp(0, 1)
                rows[f"noise {sigma} #{k}"] = render(noisy)
        # the right identity, the target's attributes slightly wrong: pose jittered by sd degrees per axis,
        # or the four expression factors by sd (factor units)
        names = world.attribute_names
        pose_idx = [names.index(k) for k in POSE]
        span = torch.tensor(POSE_SPAN_DEG, dtype=torch.float32)
        expr_idx = [names.index(k) for k in EXPRESSION]
        for sd in (1.0, 2.0, 3.0):
            moved = attr.clone()
            moved[:, pose_idx] += sd / span * torch.randn(len(attr), 3, generator=gen)
            rows[f"truth, pose jittered {sd} deg"] = paste(raw(src, moved.clamp(0, 1)))
        for sd in (0.05, 0.1):
            moved = attr.clone()
            moved[:, expr_idx] += sd * torch.randn(len(attr), len(expr_idx), generator=gen)
            rows[f"truth, expression jittered {sd}"] = paste(raw(src, moved.clamp(0, 1)))
        for sigma in (0.5, 1.0, 1.5, 2.0):  # a blurred renderer: the truth, and the truth at 25% identity
            rows[f"truth blurred {sigma} px"] = paste(blur(raw(src), sigma))
            rows[f"shrink 0.25 blurred {sigma} px"] = paste(blur(raw(0.5 + 0.25 * (src - 0.5)), sigma))
    face = face_regions(pairs["truth_mask"], pairs["target_mask"])["face"]

    def face_l1(
        pred: torch.Tensor, truth: torch.Tensor
    ) -> float:  # the protocol's face GT L1, mean over pairs
        per = region_errors(pred, truth, pairs["truth_mask"], pairs["target_mask"])["gt_l1_face"]
        return float(per.nanmean())

    def error_split(swaps: torch.Tensor) -> dict[str, float]:
        truth = pairs["truth"]
        lo_s, lo_t = blur(swaps, 2.0), blur(truth, 2.0)
        return {
            "face_l1": face_l1(swaps, truth),
            "face_l1_colour_matched": face_l1(colour_matched(swaps, truth, face), truth),
            "face_l1_lowpass_2px": face_l1(lo_s, lo_t),
            "face_l1_highpass_2px": face_l1(swaps - lo_s, truth - lo_t),
        }

    @torch.no_grad()
    def read(images: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [scorer.oracle.predict(images[i : i + 64])["identity"] for i in range(0, len(images), 64)]
        )

    read_target, read_truth = read(pairs["target"]), read(pairs["truth"])

    def transfer(swaps: torch.Tensor) -> list[list[float]]:
        """Per identity factor, the least-squares fit (with an intercept, over the pairs) of the oracle's
        reading of the swap on its readings of the truth (the source's value) and of the target:
        ``[source weight, target weight]``. The target scores [0, 1], the average identity [0, 0], the
        truth [1, 0], and the source pulled a fraction alpha of the way from the average [alpha, 0]."""
        y = read(swaps)
        out = []
        for f in range(y.shape[1]):
            x = torch.stack([read_truth[:, f], read_target[:, f], torch.ones_like(y[:, f])], 1).double()
            coef = torch.linalg.lstsq(x, y[:, f : f + 1].double()).solution[:2, 0]
            out.append([round(float(c), 3) for c in coef])
        return out

    transfers = {}
    split = {}
    if args.checkpoint:
        split["output = target"] = error_split(pairs["target"])
        split["average identity"] = error_split(pairs["average"])
        if "shrink 0.25" in rows:
            split["shrink 0.25"] = error_split(rows["shrink 0.25"])
    for spec in args.checkpoint:
        name, _, path = spec.partition("=")
        model, _ = load_model(path, "cpu")
        px = protocol.paste_px_for(model.config, True)
        swaps = protocol.run_model(model.swap, pairs, 64, px)
        rows[name] = swaps
        split[name] = error_split(swaps)
    if args.checkpoint:
        for name in [spec.partition("=")[0] for spec in args.checkpoint] + [
            "shrink 0.25",
            "shrink 0.5",
            "average identity",
        ]:
            if name in rows or name == "average identity":
                transfers[name] = transfer(pairs["average"] if name == "average identity" else rows[name])
    outputs = {**rows, **protocol.reference_outputs(pairs)}
    per_pair = protocol.score_outputs(outputs, pairs, scorer)
    res = protocol.uncertainty(per_pair)
    summary = protocol.summarize(per_pair)
    keys = ("id_top1", "gt_l1_face", "gt_l1", "pose_err", "expr_err", "lm_err")
    table = {}
    print(
        "| output | ID top-1 % | pose ° | lm px | face L1 | face L1 - average [95%] "
        "| whole L1 - average [95%] | face L1 - target [95%] |"
    )
    print("|---|---:|---:|---:|---:|---|---|---|")
    for name in outputs:
        r = {k: summary[name].get(k) for k in keys}
        d = res["differences"].get(name, {})
        r["diff"] = d
        table[name] = r

        def fmt(base, m, d=d):
            if base not in d or m not in d[base]:
                return ""
            mean, lo, hi = d[base][m]
            star = "*" if lo > 0 or hi < 0 else ""
            return f"{mean:+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"

        print(
            f"| {name} | {r['id_top1']:.1f} | {r['pose_err']:.2f} | {r['lm_err']:.2f} "
            f"| {r['gt_l1_face']:.4f} "
            f"| {fmt('average identity', 'gt_l1_face')} "
            f"| {fmt('average identity', 'gt_l1')} | {fmt('output = target', 'gt_l1_face')} |"
        )
    if split:
        print("\n| output | face L1 | colour drift forgiven | low-pass (2 px) | high-pass |")
        print("|---|---:|---:|---:|---:|")
        for name, v in split.items():
            print(f"| {name} | " + " | ".join(f"{x:.4f}" for x in v.values()) + " |")
        names = world.identity_names
        print("\nsource / target weight of each factor in the oracle's reading of the swap:")
        print("\n| output | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for name, v in transfers.items():
            print(f"| {name} | " + " | ".join(f"{a:.2f} / {b:.2f}" for a, b in v) + " |")
    with open(args.out, "w") as f:
        json.dump(
            {
                "args": vars(args),
                "rows": table,
                "error_split": split,
                "data": OmegaConf.to_container(ev.data),
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
