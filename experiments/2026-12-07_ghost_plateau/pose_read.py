"""What the pose loss's instrument sees: the frozen training encoder's pose read against the true pose.

The closing table's test pairs (seed 0). For the target, the truth and the average identity (all three
have the target's true pose) and for each checkpoint's pasted swaps, prints the mean absolute error of
the training encoder's (``configs/identity``) yaw / pitch / roll read in degrees.

Then the average identity row as a method could make it: the world's renderer with the average identity
and the target's attributes, except pose (and expression) as the training encoder reads them from the
target's pixels, pasted like a model row. Face L1 against the protocol's rows shows how much of the
average identity row's strength is its privileged, exact pose.

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
from deepswap.evaluation.metrics import region_errors
from deepswap.inference.loader import load_model
from deepswap.models.identity.oracle import EXPRESSION, POSE
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

    @torch.no_grad()
    def reads(x: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = [encoder.predict(stage(x[i : i + 64])) for i in range(0, len(x), 64)]
        return {k: torch.cat([p[k] for p in parts]) for k in ("pose", "expression")}

    seen = reads(pairs["target"].float())
    size = pairs["target"].shape[-1]

    def average_at(keys: tuple[str, ...], values: torch.Tensor) -> torch.Tensor:
        a = attr.clone()
        a[:, [names.index(k) for k in keys]] = values.clamp(0, 1).to(a)
        ident = torch.full((len(a), len(world.identity_names)), 0.5)
        img = torch.cat(
            [world.render(ident[i : i + 64], a[i : i + 64], size).image for i in range(0, len(a), 64)]
        )
        return protocol.paste_into_target(img * 2 - 1, pairs["target"], pairs["target_mask"], 4)

    rows = {
        "average identity (true pose, the protocol's row)": pairs["average"].float(),
        "average identity, pose read by the encoder": average_at(POSE, seen["pose"]),
        "average identity, pose + expression read": average_at(
            POSE + EXPRESSION, torch.cat([seen["pose"], seen["expression"]], 1)
        ),
        "output = target": pairs["target"].float(),
        **{k: v.float() for k, v in outputs.items() if k not in ("target", "truth", "average identity")},
    }
    face = {
        k: region_errors(v, pairs["truth"], pairs["truth_mask"], pairs["target_mask"])["gt_l1_face"]
        for k, v in rows.items()
    }

    def paired(d: torch.Tensor) -> str:
        lo, hi = protocol.bootstrap_interval(d)
        star = "*" if lo > 0 or hi < 0 else ""
        return f"{d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"

    ref = face["average identity (true pose, the protocol's row)"]
    read = face["average identity, pose + expression read"]
    print(
        "\n| output | face L1 | - the protocol's average identity row [95%] "
        "| - the average identity at the read pose + expression [95%] |\n|---|---:|---|---|"
    )
    for k, v in face.items():
        print(f"| {k} | {v.mean():.4f} | {paired(v - ref)} | {paired(v - read)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
