"""The world's own renderer driven by the evaluation oracle's estimate of the source's identity factors
(mean over the source and gallery views) with the target's true attributes: what a swap that knows the
identity only as well as the instruments read it, but renders it faithfully, scores. Also the truth with
the identity factors moved by half and a quarter of the oracle's error.

    python experiments/2026-12-06_warp_only/readout_render.py
"""

import sys

import torch

sys.path.insert(0, "experiments/2026-12-06_warp_only")
from common import SIZE, oracle, report, test_pairs  # noqa: E402

world, p = test_pairs()
judge = oracle()
attr = torch.stack([world.attribute_factors("test", int(i)) for i in p["target_index"]])
true_id = torch.stack([world.identity_factors(int(i)) for i in p["source_id"]])


def render(ids):
    return world.swap_truth(ids, attr, SIZE).image * 2 - 1


assert torch.allclose(render(true_id), p["truth"], atol=1e-5)
with torch.no_grad():
    est = judge.predict(torch.cat([p["source"], p["gallery"]]))["identity"].clamp(0, 1)
est = (est[: len(true_id)] + est[len(true_id) :]) / 2
err = est - true_id
print("oracle's mean |error| per identity factor:", [round(float(v), 3) for v in err.abs().mean(0)])
outputs = {"render(oracle's estimate)": render(est)}
for frac in (0.5, 0.25):
    outputs[f"render(truth + {frac} x the oracle's error)"] = render((true_id + frac * err).clamp(0, 1))
print("| output | ID top-1 % | ID cos | pose ° | face L1 |\n|---|---:|---:|---:|---:|")
report(outputs, p, judge)
