"""How much each fake family changes the target: mean |fake - target| inside and outside the face.

The figures quoted in this folder's README ("Reading"). Fake specs are what ``deepswap.detect``
accepts, a generator-free manipulation name (``paste_alpha``, ``paste_poisson``, ``autoencoder``, ...)
or a swap checkpoint path. Pairs are the world's test split at 64 px.

    python experiments/2026-12-02_lofo/fake_difference.py paste_alpha paste_poisson \\
        logs/train/runs/<run>/checkpoints/last.ckpt [--pairs 64]
"""

from __future__ import annotations

import argparse

import torch

from deepswap.data.synthetic import SyntheticFaceWorld
from deepswap.detection.data import _fakes_of, resolve_fakes, world_pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+", help="fake families: manipulation names or checkpoint paths")
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = SyntheticFaceWorld(num_train_identities=1000, num_heldout_identities=200, seed=0)
    pairs = world_pairs(world, "test", args.pairs, args.size, 0)
    fakes = resolve_fakes(args.specs)
    face = pairs["target_mask"] > 0.5
    print(f"{'family':<45} {'face':>7} {'outside':>8}   (mean |fake - target|, in [-1, 1] units)")
    for spec in args.specs:
        fake = _fakes_of(fakes[spec], pairs, torch.arange(args.pairs), 0, args.pairs)
        diff = (fake - pairs["target"]).abs().mean(1, keepdim=True)
        print(f"{spec[-45:]:<45} {float(diff[face].mean()):>7.4f} {float(diff[~face].mean()):>8.4f}")


if __name__ == "__main__":
    main()
