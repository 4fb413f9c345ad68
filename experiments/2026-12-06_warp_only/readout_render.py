"""Diagnostic: the world's own renderer driven by the evaluation oracle's *estimate* of the source's
identity factors (target's true attributes): the best a swap that knows identity only as well as the
instruments read it can do. Also the truth with each identity factor perturbed by the oracle's error."""
import torch
from omegaconf import OmegaConf
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation.protocol import synthetic_pairs, score_outputs
from deepswap.evaluation.harness import synthetic_oracle
from deepswap.evaluation.scorers import scorer_for
torch.set_num_threads(2)
world = SyntheticFaceWorld(1000, 400, 0, "target")
p = synthetic_pairs(world, 200, 64, 0)
data = OmegaConf.to_container(OmegaConf.load("configs/data/synthetic.yaml"))
oracle = synthetic_oracle({"world": data["world"], "size": 64}).eval()
attr = torch.stack([world.attribute_factors("test", int(i)) for i in p["target_index"]])
true_id = torch.stack([world.identity_factors(int(i)) for i in p["source_id"]])
with torch.no_grad():
    est = oracle.predict(torch.cat([p["source"], p["gallery"]]))["identity"].clamp(0, 1)
    est = (est[:200] + est[200:]) / 2  # two views of the source, as the training identity target
outs = {"target": p["target"], "average": p["average"]}
def render(ids):
    return world.swap_truth(ids, attr, 64).image * 2 - 1
outs["render(oracle estimate of source)"] = render(est)
err = (est - true_id)
print("oracle identity-factor error: mean |err| per factor", [round(float(v), 3) for v in err.abs().mean(0)])
for frac in (0.5, 0.25):
    outs[f"render(truth + {frac} of the oracle error)"] = render((true_id + frac * err).clamp(0, 1))
assert torch.allclose(render(true_id), p["truth"], atol=1e-5)
res = score_outputs(outs, p, scorer_for(oracle))
for k, v in res.items():
    print(f"{k}: ID top-1 {100*v['id_top1'].mean():.1f}%  cos {v['id_cos_gallery'].mean():.3f}  face L1 {v['gt_l1_face'].nanmean():.4f}  pose {v['pose_err'].mean():.2f}", flush=True)
