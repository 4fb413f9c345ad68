"""Paired comparison of checkpoints on the closing table's test pairs: face-interior and whole-image GT
L1 of each, and each one's paired difference to ``--base`` (and to the protocol's average identity row),
with 95% bootstrap intervals over pairs (``protocol.bootstrap_interval``). The face L1 is computed as in
``../2026-12-07_ghost_plateau/where_error.py`` (the protocol's face region, [0, 1] scale).

    python experiments/2026-12-07_cycle/paired.py --base A A=PATH B=PATH ...
"""

from __future__ import annotations

import argparse

import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from deepswap.evaluation import protocol
from deepswap.evaluation.harness import CONFIG_DIR, heldout_pairs
from deepswap.evaluation.metrics import face_regions
from deepswap.inference.loader import load_model


def interval(x: torch.Tensor) -> str:
    lo, hi = protocol.bootstrap_interval(x)
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{x.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="NAME=PATH")
    ap.add_argument("--base", required=True, help="the NAME every other checkpoint is paired against")
    ap.add_argument("--num-pairs", type=int, default=200)
    args = ap.parse_args()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        train = compose("train")
        ev = compose("evaluate", overrides=["checkpoint=unused", f"num_pairs={args.num_pairs}"])
    with open_dict(ev):
        ev.data = train.data
    pairs, _, _ = heldout_pairs(ev, ev.data)
    truth = pairs["truth"].float()
    face = face_regions(pairs["truth_mask"], pairs["target_mask"])["face"].float()
    area = face.flatten(1).sum(1).clamp_min(1)

    def errors(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        err = ((out.float() - truth).abs() * 0.5).mean(1, keepdim=True)
        return (err * face).flatten(1).sum(1) / area, err.flatten(1).mean(1)

    rows = {"average identity": errors(pairs["average"]), "output = target": errors(pairs["target"])}
    for spec in args.checkpoints:
        name, _, path = spec.partition("=")
        model, _ = load_model(path, "cpu")
        px = protocol.paste_px_for(model.config, True)
        rows[name] = errors(protocol.run_model(model.swap, pairs, 64, px))
    if args.base not in rows:
        raise SystemExit(f"--base {args.base!r} is not one of {list(rows)}")
    avg, base = rows["average identity"], rows[args.base]
    print(f"{len(truth)} pairs; differences: row minus the named row, paired over pairs (* excludes 0)\n")
    head = "| output | face L1 | whole L1 | face - average | whole - average"
    print(f"{head} | face - {args.base} | whole - {args.base} |")
    print("|---|---:|---:|---|---|---|---|")
    for name, (f, w) in rows.items():
        vs_avg = [interval(f - avg[0]), interval(w - avg[1])] if name != "average identity" else ["", ""]
        vs_base = [interval(f - base[0]), interval(w - base[1])] if name != args.base else ["", ""]
        print(f"| {name} | {f.mean():.4f} | {w.mean():.4f} | " + " | ".join(vs_avg + vs_base) + " |")


if __name__ == "__main__":
    main()
