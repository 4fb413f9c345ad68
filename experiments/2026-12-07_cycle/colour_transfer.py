"""One-off check: does a standard face-swap colour transfer (per-channel mean, or mean and std, of the
output matched to the target inside the target face mask) bring an output closer to the truth? Face L1
before and after, paired 95% bootstrap. Checkpoint path hard-coded to the GHOST 96-kimg run of
../2026-12-07_ghost_plateau.

    python experiments/2026-12-07_cycle/colour_transfer.py [CKPT]
"""

import sys

import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from deepswap.evaluation import protocol
from deepswap.evaluation.harness import CONFIG_DIR, heldout_pairs
from deepswap.evaluation.metrics import face_regions
from deepswap.inference.loader import load_model

with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
    train = compose("train")
    ev = compose("evaluate", overrides=["checkpoint=unused", "num_pairs=200"])
with open_dict(ev):
    ev.data = train.data
pairs, _, _ = heldout_pairs(ev, ev.data)
truth = pairs["truth"].float()
tgt = pairs["target"].float()
regs = face_regions(pairs["truth_mask"], pairs["target_mask"])
face = regs["face"].float()
area = face.flatten(1).sum(1)
tm = pairs["target_mask"].float()


def fl1(o):
    return (((o - truth).abs() * 0.5).mean(1, keepdim=True) * face).flatten(1).sum(1) / area


def stats(x, m):
    a = m.flatten(1).sum(1).clamp_min(1)[:, None]
    mu = (x * m).flatten(2).sum(2) / a
    var = (((x - mu[..., None, None]) ** 2) * m).flatten(2).sum(2) / a
    return mu[..., None, None], var.sqrt()[..., None, None]


model, _ = load_model(
    sys.argv[1] if len(sys.argv) > 1 else "/tmp/x100/ghost_swap_96k_b/checkpoints/kimg00096.000.ckpt", "cpu"
)
out = protocol.run_model(model.swap, pairs, 64, protocol.paste_px_for(model.config, True)).float()
m = (tm > 0.5).float()
for name, o in [("avg", pairs["average"].float()), ("g96", out)]:
    mu_o, sd_o = stats(o, m)
    mu_t, sd_t = stats(tgt, m)
    mean_only = torch.where(m > 0, o - mu_o + mu_t, o)
    full = torch.where(m > 0, (o - mu_o) / sd_o.clamp_min(1e-3) * sd_t + mu_t, o)
    b = fl1(o)
    for n, x in [("raw", o), ("mean->target", mean_only), ("mean+std->target", full)]:
        d = fl1(x) - b
        lo, hi = protocol.bootstrap_interval(d)
        print(name, n, f"{fl1(x).mean():.4f}", f"{d.mean():+.4f} [{lo:+.4f},{hi:+.4f}]")
