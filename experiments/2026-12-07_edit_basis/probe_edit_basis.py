"""Does a swap that is a first-order edit of the target learn faster? Supervised probe (issue 10).

The renderer's truth is R(id_source, attributes_target) and the target is R(id_target, attributes_target),
so to first order truth = target + J(target) (id_source - id_target). An *edit-basis* generator predicts
K colour maps B_k and K displacement maps F_k from the target alone (a plain U-Net: no identity inside)
and combines them with coefficients c = W (e_source - e_target):

    swap = tanh(sum_k c_k B_k + atanh(warp(target, sum_k c_k F_k)))

A same-identity pair gives c = 0 and so the target exactly; the edit grows with the identity difference;
pose and background come from the target's own pixels. This script trains it with the probe of
``../2026-12-04_identity_speed`` (L1 to the truth, true identity factors, no same-identity pairs) next to
that probe's base and delta variants, on the same pairs and scoring.

    python probe_edit_basis.py --batch 8 --steps 1000 --pairs 4000 --variants basis basis_nowarp delta
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "2026-12-04_identity_speed"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from probe_identity_speed import BASE, run_variants  # noqa: E402
from torch import nn  # noqa: E402

from deepswap.models.generators.base import GeneratorOutput, tanh_residual  # noqa: E402
from deepswap.models.generators.deepswap_lite import DeepSwapLiteGenerator  # noqa: E402


def conv(cin, cout, stride=1):
    c = nn.Conv2d(cin, cout, 3, stride, 1)
    nn.init.kaiming_normal_(c.weight, a=0.2, nonlinearity="leaky_relu")
    nn.init.zeros_(c.bias)
    return nn.Sequential(c, nn.LeakyReLU(0.2, inplace=True))


class EditBasis(nn.Module):
    """target (B, 3, H, W), delta (B, D) -> GeneratorOutput; see the module docstring."""

    def __init__(self, id_dim, k=32, ch=(32, 64, 128, 192), warp=True, max_px=4.0, blocks=2):
        super().__init__()
        self.k, self.warp_on, self.max_px = k, warp, max_px
        self.stem = conv(3, ch[0])
        self.downs = nn.ModuleList(conv(ch[i], ch[i + 1], 2) for i in range(len(ch) - 1))
        self.mid = nn.ModuleList(conv(ch[-1], ch[-1]) for _ in range(2 * blocks))
        self.reduce = nn.ModuleList(nn.Conv2d(ch[i + 1], ch[i], 1) for i in reversed(range(len(ch) - 1)))
        self.skip = nn.ModuleList(nn.Conv2d(ch[i], ch[i], 1) for i in reversed(range(len(ch) - 1)))
        self.post = nn.ModuleList(conv(ch[i], ch[i]) for i in reversed(range(len(ch) - 1)))
        self.head = nn.Conv2d(ch[0], k * (5 if warp else 3), 3, padding=1)
        with torch.no_grad():
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
        self.coef = nn.Linear(id_dim, k, bias=False)  # c(0) = 0: no difference, no edit

    def forward(self, target, delta):
        feats = [self.stem(target)]
        for d in self.downs:
            feats.append(d(feats[-1]))
        h = feats[-1]
        for i in range(0, len(self.mid), 2):
            h = (h + self.mid[i + 1](self.mid[i](h))) / 2**0.5
        for red, sk, post, f in zip(self.reduce, self.skip, self.post, reversed(feats[:-1])):
            h = post(F.interpolate(red(h), scale_factor=2, mode="bilinear", align_corners=False) + sk(f))
        maps = self.head(h)
        b, _, hh, ww = maps.shape
        c = self.coef(delta)  # (B, K)
        colour = torch.einsum("bk,bkchw->bchw", c, maps[:, : 3 * self.k].view(b, self.k, 3, hh, ww))
        base = target
        if self.warp_on:
            flow = torch.einsum("bk,bkchw->bchw", c, maps[:, 3 * self.k :].view(b, self.k, 2, hh, ww))
            flow = self.max_px * torch.tanh(flow / self.max_px)  # pixels, soft-bounded
            ys = torch.linspace(-1, 1, hh)
            xs = torch.linspace(-1, 1, ww)
            grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).expand(b, hh, ww, 2)
            scale = torch.tensor([2.0 / (ww - 1), 2.0 / (hh - 1)])
            base = F.grid_sample(
                target, grid + flow.permute(0, 2, 3, 1) * scale, mode="bilinear",
                padding_mode="border", align_corners=True,
            )  # fmt: skip
        return GeneratorOutput(image=tanh_residual(colour, base), mask=None)


VARIANTS = {
    "base": {"input": "source"},
    "delta": {"input": "delta"},
    "basis": {"input": "delta", "basis": {}},
    "basis_nowarp": {"input": "delta", "basis": {"warp": False}},
    "basis_k64": {"input": "delta", "basis": {"k": 64}},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--variants", nargs="+", default=["basis"])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run_variants(args, VARIANTS, functools.partial(build, lr=args.lr))


def build(v: dict, id_dim: int, lr: float):
    """A variant's settings -> (the edit basis or the default generator, Adam at ``lr``)."""
    if "basis" in v:
        gen = EditBasis(id_dim, **v["basis"])
    else:
        gen = DeepSwapLiteGenerator(id_dim=id_dim, **BASE)
    return gen, torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.9, 0.99))


if __name__ == "__main__":
    main()
