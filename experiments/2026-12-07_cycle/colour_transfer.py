"""One-off check: does a standard face-swap colour transfer (per-channel mean, or mean and std, of the
output matched to the target inside the target face mask) bring an output closer to the truth? Face L1
before and after, paired 95% bootstrap. Checkpoint path hard-coded to the GHOST 96-kimg run of
../2026-12-07_ghost_plateau.

    python experiments/2026-12-07_cycle/colour_transfer.py [CKPT]
"""

import sys

import torch
from face_pairs import FacePairs, interval

DEFAULT = "/tmp/x100/ghost_swap_96k_b/checkpoints/kimg00096.000.ckpt"


def stats(x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and channel mean and std of ``x`` over mask ``m`` (B, 1, H, W)."""
    a = m.flatten(1).sum(1).clamp_min(1)[:, None]
    mu = (x * m).flatten(2).sum(2) / a
    var = (((x - mu[..., None, None]) ** 2) * m).flatten(2).sum(2) / a
    return mu[..., None, None], var.sqrt()[..., None, None]


fp = FacePairs(200)
m = (fp.pairs["target_mask"].float() > 0.5).float()
outputs = fp.outputs([f"g96={sys.argv[1] if len(sys.argv) > 1 else DEFAULT}"])
print("face L1 | paired difference to the raw output [95%]\n")
for name in ("average identity", "g96"):
    o = outputs[name]
    (mu_o, sd_o), (mu_t, sd_t) = stats(o, m), stats(fp.target, m)
    mean_only = torch.where(m > 0, o - mu_o + mu_t, o)
    full = torch.where(m > 0, (o - mu_o) / sd_o.clamp_min(1e-3) * sd_t + mu_t, o)
    raw = fp.face_l1(o)
    for label, x in [("raw", o), ("mean->target", mean_only), ("mean+std->target", full)]:
        print(name, label, f"{fp.face_l1(x).mean():.4f}", interval(fp.face_l1(x) - raw, star=False))
