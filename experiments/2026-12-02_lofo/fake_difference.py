import torch

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.detection.data import _fakes_of, resolve_fakes, world_pairs

torch.set_num_threads(1)
w = SyntheticFaceWorld(num_train_identities=1000, num_heldout_identities=200, seed=0)
p = world_pairs(w, "test", 64, 64, 0)
F = "/tmp/fam"
specs = [
    "paste_alpha",
    "paste_poisson",
    "autoencoder",
    "/tmp/r10long/checkpoints/last.ckpt",
    "/tmp/r10d_s2/checkpoints/kimg00004.000.ckpt",
    f"{F}/simswap_s0/checkpoints/last.ckpt",
    f"{F}/faceshifter_s0/checkpoints/last.ckpt",
]
r = resolve_fakes(specs)
face = p["target_mask"] > 0.5
for s in specs:
    f = _fakes_of(r[s], p, torch.arange(64), 0, 64)
    d = (f - p["target"]).abs().mean(1, keepdim=True)
    print(f"{s[-45:]:45s} face {float(d[face].mean()):.4f} outside {float(d[~face].mean()):.4f}")
