"""Diagnostic: per pair, a coarse warp of the target optimised to raise the *evaluation oracle's* own
identity cosine to the source while holding its pose and expression reads at the target's. If even this
misses the average-identity row's face L1, no identity-encoder signal can reach it with warps."""
import torch, torch.nn.functional as F
from omegaconf import OmegaConf
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation.protocol import synthetic_pairs, score_outputs
from deepswap.evaluation.harness import synthetic_oracle
from deepswap.evaluation.scorers import scorer_for
from deepswap.evaluation.metrics import region_errors
torch.manual_seed(0); torch.set_num_threads(2)
world = SyntheticFaceWorld(1000, 400, 0, "target")
p = synthetic_pairs(world, 200, 64, 0)
T, G, S = p["target"], p["truth"], p["source"]
data = OmegaConf.to_container(OmegaConf.load("configs/data/synthetic.yaml"))
oracle = synthetic_oracle({"world": data["world"], "size": 64}).eval().requires_grad_(False)
emb = lambda x: F.normalize(oracle(x), dim=1)
with torch.no_grad():
    src, ref = emb(S), oracle.predict(T)
base = torch.stack(torch.meshgrid(torch.linspace(-1,1,64), torch.linspace(-1,1,64), indexing="xy"), -1)
outs = {}
for g, lam in [(16, 1.0), (16, 5.0)]:
    flow = torch.zeros(200, 2, g, g, requires_grad=True)
    opt = torch.optim.Adam([flow], lr=0.05)
    for it in range(200):
        off = torch.tanh(F.interpolate(flow, 64, mode="bilinear")).permute(0, 2, 3, 1) * 8 * 2 / 63
        out = F.grid_sample(T, base + off, mode="bilinear", padding_mode="border", align_corners=True)
        pr = oracle.predict(out)
        keep = sum((pr[k] - ref[k]).abs().mean() for k in ("pose", "expression"))
        loss = 1 - (emb(out) * src).sum(1).mean() + lam * keep
        opt.zero_grad(); loss.backward(); opt.step()
    outs[f"oracle warp g{g} x{lam}"] = out.detach()
scorer = scorer_for(oracle)
res = score_outputs({"target": T, "average": p["average"], **outs}, p, scorer)
for k, v in res.items():
    print(f"{k}: ID top-1 {100*v['id_top1'].mean():.1f}%  cos {v['id_cos_gallery'].mean():.3f}  face L1 {v['gt_l1_face'].nanmean():.4f}  pose {v['pose_err'].mean():.2f}", flush=True)
