"""Ceiling of a warp-only swap: per pair, optimise a coarse flow (G x G, bilinear up) that warps the
target towards the ground truth (L1), and score face L1 against output = target and the average identity."""
import sys, torch, torch.nn.functional as F
from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.evaluation.protocol import synthetic_pairs
from deepswap.evaluation.metrics import region_errors
torch.manual_seed(0)
world = SyntheticFaceWorld(1000, 400, 0, "target")
p = synthetic_pairs(world, 200, 64, 0)
T, G, A = p["target"], p["truth"], p["average"]
def face(x): return region_errors(x, G, p["truth_mask"], p["target_mask"])["gt_l1_face"]
base = torch.stack(torch.meshgrid(torch.linspace(-1,1,64), torch.linspace(-1,1,64), indexing="xy"), -1)
for g, maxpx, colour in [(8, 8, False), (16, 8, False), (32, 8, False), (16, 8, True)]:
    flow = torch.zeros(200, 2, g, g, requires_grad=True)
    gain = torch.zeros(200, 3, g, g, requires_grad=True)
    opt = torch.optim.Adam([flow, gain], lr=0.05)
    for it in range(300):
        off = F.interpolate(flow, 64, mode="bilinear", align_corners=True)
        off = torch.tanh(off).permute(0, 2, 3, 1) * maxpx * 2 / 63
        out = F.grid_sample(T, base + off, mode="bilinear", padding_mode="border", align_corners=True)
        if colour:
            out = (out + F.interpolate(gain, 64, mode="bilinear", align_corners=True)).clamp(-1, 1)
        loss = (out - G).abs().mean()
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        f = face(out)
    print(f"grid {g} max {maxpx}px colour {colour}: face L1 {f.nanmean():.4f}")
print(f"target {face(T).nanmean():.4f}  average {face(A).nanmean():.4f}")
