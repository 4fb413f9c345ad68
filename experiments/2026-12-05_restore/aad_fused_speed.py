"""GHOST 3M at 256 px: the AAD layer's old forward (7 elementwise passes, two attribute convs) against
the fused one (one conv for both modulations, addcmul, lerp), interleaved in one process so machine
load hits both alike; NCHW and channels-last, batch 1, inference mode::

    python experiments/2026-12-05_restore/aad_fused_speed.py --threads 2
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_generators import _inputs, build  # noqa: E402

from deepswap.models.generators import aad  # noqa: E402

NEW = aad.AADLayer.forward


def old(self, h, z_att, z_id):  # the forward before stop 32, the paper's formula term by term
    h_bar = self.norm(h)
    a = self.att_gamma(z_att) * h_bar + self.att_beta(z_att)
    i = self.id_gamma(z_id)[:, :, None, None] * h_bar + self.id_beta(z_id)[:, :, None, None]
    m = torch.sigmoid(self.mask_conv(h_bar))
    return a + m * (i - a)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = build("ghost", ["n_down=5", "base_channels=16", "max_channels=96"]).eval()
    x, z = _inputs(1, 256, model.id_dim)
    with torch.inference_mode():
        aad.AADLayer.forward = old
        y_old = model(x, z).image
        aad.AADLayer.forward = NEW
        print(f"max abs difference old vs fused: {(y_old - model(x, z).image).abs().max().item():.2e}")
        for fmt in (torch.contiguous_format, torch.channels_last):
            m, xx = model.to(memory_format=fmt), x.contiguous(memory_format=fmt)
            spent = {"old": 0.0, "fused": 0.0}
            for _ in range(args.rounds):
                for key, fwd in (("old", old), ("fused", NEW)):
                    aad.AADLayer.forward = fwd
                    m(xx, z)
                    start = time.perf_counter()
                    for _ in range(3):
                        m(xx, z)
                    spent[key] += time.perf_counter() - start
            rates = {k: 3 * args.rounds / v for k, v in spent.items()}
            print(
                f"{str(fmt):24s} old {rates['old']:.2f} img/s, fused {rates['fused']:.2f} img/s "
                f"(x{rates['fused'] / rates['old']:.2f})"
            )
        aad.AADLayer.forward = NEW


if __name__ == "__main__":
    main()
