"""How far can a warp of the target go? Per pair, a coarse flow (g x g, bilinearly upsampled, at most
8 px) is optimised against the ground truth itself (L1, Adam, 300 steps): the ceiling of a warp-only swap.

    python experiments/2026-12-06_warp_only/warp_ceiling.py
"""

import sys

import torch

sys.path.insert(0, "experiments/2026-12-06_warp_only")
from common import report, test_pairs, warp  # noqa: E402

torch.manual_seed(0)
_, p = test_pairs()
outputs = {}
for g in (8, 16, 32):
    flow = torch.zeros(len(p["target"]), 2, g, g, requires_grad=True)
    opt = torch.optim.Adam([flow], lr=0.05)
    for _ in range(300):
        loss = (warp(p["target"], flow) - p["truth"]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    outputs[f"warp fitted to the truth, {g}x{g}"] = warp(p["target"], flow).detach()
print("| output | ID top-1 % | ID cos | pose ° | face L1 |\n|---|---:|---:|---:|---:|")
report(outputs, p)
