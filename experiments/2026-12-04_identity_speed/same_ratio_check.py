"""Why the supervised upper bound does not move in the main job: the share of same-identity pairs.

The default generator (``configs/generator/deepswap.yaml``) trained with L1 to the ground truth,
confined to the dilated face region as in the main job, on pre-rendered train pairs with a given
share of same-identity pairs (whose truth is the target itself), the source's true identity factors
as input. Prints the face L1 and the mean change from the target on the first validation batch of
the main job's datamodule every 50 steps.

    python experiments/2026-12-04_identity_speed/same_ratio_check.py --same-ratio 0.2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from deepswap.data.pairs import SyntheticPairs
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.training.module import dilate_mask

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--same-ratio", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    overrides = ["loss=supervised", "detector=off", "data.num_workers=0"]
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=overrides + ["paths.output_dir=/tmp/same_ratio_check"])
    world = SyntheticFaceWorld(**cfg.data.world)
    factors = lambda ids: torch.stack([world.identity_factors(int(i)) for i in ids])  # noqa: E731
    torch.manual_seed(0)
    gen = instantiate(cfg.generator, id_dim=len(world.identity_names))
    opt = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.9, 0.99))
    val_set = SyntheticPairs(world, "val", 64, 64, 0.0, with_truth=True, seed=5)
    keys = ("target", "truth", "source_id", "target_mask")
    stack = lambda items: {k: torch.stack([it[k] for it in items]) for k in keys}  # noqa: E731
    val = stack([val_set[i] for i in range(64)])
    train = SyntheticPairs(world, "train", 64, args.steps * 16, args.same_ratio, with_truth=True)

    def face_l1_and_change() -> tuple[float, float]:
        with torch.no_grad():
            t, region = val["target"], dilate_mask(val["target_mask"], 4)
            out = t + region * (gen(t, factors(val["source_id"])).image - t)
            m = val["target_mask"]
            per = lambda a: float(((a.abs().mean(1, keepdim=True)) * m).sum() / m.sum())  # noqa: E731
            return per(out - val["truth"]), per(out - t)

    print(f"same ratio {args.same_ratio}: target face L1 {face_l1_and_change()[0]:.4f}", flush=True)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        b = stack([train[i] for i in range((step - 1) * 16, step * 16)])
        t, region = b["target"], dilate_mask(b["target_mask"], 4)
        out = t + region * (gen(t, factors(b["source_id"])).image - t)
        loss = (out - b["truth"]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            l1, change = face_l1_and_change()
            print(f"step {step}: face L1 {l1:.4f} change {change:.4f} ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
