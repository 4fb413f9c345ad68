"""Does an identity encoder's gradient lead a warp to the true geometry? Per pair, a coarse flow is
optimised (Adam, 200 steps) to raise an encoder's cosine to the source, optionally holding its pose and
expression reads at the target's (weight ``lam``), then scored by the closing table's oracle.

    python experiments/2026-12-06_warp_only/identity_warp_probe.py RUN_DIR   # the training encoder of a run
    python experiments/2026-12-06_warp_only/identity_warp_probe.py oracle    # the evaluation oracle itself

RUN_DIR is a main-job output folder (its config.yaml and checkpoints/last.ckpt give the frozen training
encoder, its input crop, face region and jitter); with the training encoder the identity is seen through
the training jitter, as in the main job.
"""

import sys

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

sys.path.insert(0, "experiments/2026-12-06_warp_only")
from common import oracle, report, test_pairs, warp  # noqa: E402

from deepswap.train import build_module  # noqa: E402
from deepswap.training.module import random_affine  # noqa: E402

torch.manual_seed(0)
_, p = test_pairs()
T = p["target"]
judge = oracle()
if sys.argv[1] == "oracle":
    settings = [(16, 1.0), (16, 5.0)]

    def embed(x):
        return F.normalize(judge(x), dim=1)

    def reads(x):
        return judge.predict(x)

    def seen(x):
        return x

    def confine(x):
        return x
else:
    settings = [(8, 0.0), (16, 0.0), (8, 1.5), (8, 5.0), (16, 1.5)]
    cfg = OmegaConf.load(f"{sys.argv[1]}/config.yaml")
    m = build_module(cfg)
    state = torch.load(f"{sys.argv[1]}/checkpoints/last.ckpt", weights_only=False)["state_dict"]
    m.load_state_dict(state, strict=False)
    m.eval()
    region = m.face_region({"target": T, "target_mask": p["target_mask"]})

    def embed(x):
        return F.normalize(m.identity_encoder(m.identity_input(x)), dim=1)

    def reads(x):
        return m.identity_encoder.predict(m.identity_input(x))

    def seen(x):
        return random_affine(x, m.identity_jitter, m.identity_jitter_scale)

    def confine(x):
        return m.confine(x, T, region)


with torch.no_grad():
    src, ref = embed(p["source"]), reads(T)
outputs = {}
for g, lam in settings:
    flow = torch.zeros(len(T), 2, g, g, requires_grad=True)
    opt = torch.optim.Adam([flow], lr=0.05)
    for _ in range(200):
        out = confine(warp(T, flow))
        loss = 1 - (embed(seen(out)) * src).sum(1).mean()
        if lam:
            r = reads(out)
            loss = (
                loss
                + lam * torch.stack([(r[k] - ref[k]).abs().mean() for k in ("pose", "expression")]).mean()
            )
        opt.zero_grad()
        loss.backward()
        opt.step()
    outputs[
        f"warp for {sys.argv[1] if sys.argv[1] == 'oracle' else 'the training encoder'}, {g}x{g}, pose x{lam}"
    ] = out.detach()
print("| output | ID top-1 % | ID cos | pose ° | face L1 |\n|---|---:|---:|---:|---:|")
report(outputs, p, judge)
