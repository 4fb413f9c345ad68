"""Does the frozen training identity encoder's gradient point at the true geometry when the swap can
only warp the target? Per pair, optimise a coarse flow to raise the encoder's cosine to the source;
score face L1 to the truth (vs output = target, the average identity) and the oracle's cosine."""
import sys, torch, torch.nn.functional as F
from omegaconf import OmegaConf
from deepswap.train import build_module
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation.protocol import synthetic_pairs
from deepswap.evaluation.metrics import region_errors
from deepswap.training.module import random_affine
torch.manual_seed(0); torch.set_num_threads(1)
run = sys.argv[1]
cfg = OmegaConf.load(f"{run}/config.yaml")
m = build_module(cfg)
sd = torch.load(f"{run}/checkpoints/last.ckpt", weights_only=False)["state_dict"]
m.load_state_dict(sd, strict=False); m.eval()
world = SyntheticFaceWorld(1000, 400, 0, "target")
p = synthetic_pairs(world, 200, 64, 0)
T, G, A, S = p["target"], p["truth"], p["average"], p["source"]
region = m.face_region({"target": T, "target_mask": p["target_mask"]})
def face(x): return region_errors(x, G, p["truth_mask"], p["target_mask"])["gt_l1_face"].nanmean().item()
from deepswap.evaluation.harness import synthetic_oracle
enc = lambda x: F.normalize(m.identity_encoder(m.identity_input(x)), dim=1)
with torch.no_grad():
    src = enc(S)
base = torch.stack(torch.meshgrid(torch.linspace(-1,1,64), torch.linspace(-1,1,64), indexing="xy"), -1)
for g, jitter, steps in [(8, True, 300)]:
    flow = torch.zeros(200, 2, g, g, requires_grad=True)
    opt = torch.optim.Adam([flow], lr=0.05)
    for it in range(steps):
        off = torch.tanh(F.interpolate(flow, 64, mode="bilinear")).permute(0, 2, 3, 1) * 8 * 2 / 63
        out = F.grid_sample(T, base + off, mode="bilinear", padding_mode="border", align_corners=True)
        out = m.confine(out, T, region) if m.region_confine else out
        seen = random_affine(out, 0.06, False) if jitter else out
        loss = 1 - (enc(seen) * src).sum(1).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        if it % 20 == 0:
            with torch.no_grad():
                print(it, f"cos {(enc(out) * src).sum(1).mean().item():.3f} face {face(out):.4f}", flush=True)
    with torch.no_grad():
        cos = (enc(out) * src).sum(1).mean().item()
    print(f"grid {g} jitter {jitter}: encoder cos {cos:.3f}, face L1 {face(out):.4f}", flush=True)
    torch.save(out, f"/tmp/wp/idprobe_g{g}_{jitter}.pt")
with torch.no_grad():
    print(f"target: encoder cos {(enc(T)*src).sum(1).mean():.3f} face L1 {face(T):.4f}; truth cos {(enc(G)*src).sum(1).mean():.3f}; average face L1 {face(A):.4f}")
