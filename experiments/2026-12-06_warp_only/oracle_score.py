"""Oracle ID top-1 / cosine and face L1 of saved per-pair probe outputs (same 200 test pairs)."""
import sys, torch
from omegaconf import OmegaConf
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation.protocol import synthetic_pairs, score_outputs
from deepswap.evaluation.harness import synthetic_oracle
from deepswap.evaluation.scorers import scorer_for
torch.set_num_threads(1)
world = SyntheticFaceWorld(1000, 400, 0, "target")
p = synthetic_pairs(world, 200, 64, 0)
data = OmegaConf.to_container(OmegaConf.load("configs/data/synthetic.yaml"))
data = {"world": data["world"], "size": 64}
scorer = scorer_for(synthetic_oracle(data))
outs = {"target": p["target"], "average": p["average"], "truth": p["truth"]}
for f in sys.argv[1:]:
    outs[f] = torch.load(f)
res = score_outputs(outs, p, scorer)
for k, v in res.items():
    print(f"{k}: ID top-1 {100*v['id_top1'].mean():.1f}%  cos {v['id_cos_gallery'].mean():.3f}  face L1 {v['gt_l1_face'].nanmean():.4f}  pose {v['pose_err'].mean():.2f}")
