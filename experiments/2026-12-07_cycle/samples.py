"""The first 8 closing-table pairs: rows source, target, truth, average identity, the GHOST 96-kimg swap,
and |swap - truth| (x2). Writes ghost96_samples.png.

    python experiments/2026-12-07_cycle/samples.py [CKPT]
"""

import sys

import torch
import torchvision

from deepswap.evaluation.harness import checkpoint_swaps, closing_pairs

pairs = closing_pairs(200)
out = checkpoint_swaps(
    sys.argv[1] if len(sys.argv) > 1 else "/tmp/x100/ghost_swap_96k_b/checkpoints/kimg00096.000.ckpt", pairs
).float()
idx = list(range(0, 8))
rows = [
    pairs["source"][idx],
    pairs["target"][idx],
    pairs["truth"][idx],
    pairs["average"][idx],
    out[idx],
    ((out[idx] - pairs["truth"][idx].float()).abs() * 2 - 1).clamp(-1, 1),
]
g = torch.cat([r.float() for r in rows])
g = torch.nn.functional.interpolate(g, scale_factor=3, mode="nearest")
torchvision.utils.save_image(
    g * 0.5 + 0.5, "experiments/2026-12-07_cycle/ghost96_samples.png", nrow=8, padding=2
)
