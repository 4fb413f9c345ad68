"""What the pose loss's instrument sees: the frozen training encoder's pose read against the true pose.

The closing table's test pairs (seed 0). For the target, the truth and the average identity (all three
have the target's true pose) and for each checkpoint's pasted swaps, prints the mean absolute error of
the training encoder's (``configs/identity``) yaw / pitch / roll read in degrees.

    python experiments/2026-12-07_ghost_plateau/pose_read.py NAME=CHECKPOINT ...
"""

from __future__ import annotations

import sys

import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from deepswap.data.synthetic.params import POSE_SPAN_DEG
from deepswap.evaluation import protocol
from deepswap.evaluation.harness import CONFIG_DIR, heldout_pairs
from deepswap.inference.loader import load_model
from deepswap.train import build_module


def main(specs: list[str]) -> None:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        train = compose("train", overrides=["paths.output_dir=/tmp/pose_read"])
        ev = compose("evaluate", overrides=["checkpoint=unused"])
    with open_dict(ev):
        ev.data = train.data
    pairs, _, world = heldout_pairs(ev, ev.data)
    module = build_module(train)  # the main job's frozen training encoder and its input stage
    encoder, stage = module.identity_encoder, module.identity_input
    names = world.attribute_names
    attr = torch.stack([world.attribute_factors("test", int(i)) for i in pairs["target_index"]])
    true_pose = attr[:, [names.index(k) for k in ("yaw", "pitch", "roll")]]
    span = torch.tensor(POSE_SPAN_DEG)

    @torch.no_grad()
    def pose(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([encoder.predict(stage(x[i : i + 64]))["pose"] for i in range(0, len(x), 64)])

    outputs = {"target": pairs["target"], "truth": pairs["truth"], "average identity": pairs["average"]}
    for spec in specs:
        name, _, path = spec.partition("=")
        model, _ = load_model(path, "cpu")
        outputs[name] = protocol.run_model(model.swap, pairs, 64, protocol.paste_px_for(model.config, True))
    print("| output | yaw | pitch | roll | mean |\n|---|---:|---:|---:|---:|")
    for name, x in outputs.items():
        err = ((pose(x.float()) - true_pose).abs() * span).mean(0)
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in err.tolist()) + f" | {err.mean():.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
