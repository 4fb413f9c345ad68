"""Is the scorer independent of the training encoder? An attack that fools one should barely move the other.

A generator trained against an identity encoder can push the encoder's embedding towards the source by
changes the encoder reads but a face recogniser would not: adversarial directions. If the scorer shared
those directions, it would confirm the fake gain. :func:`attack_transfer` measures this directly: a
PGD perturbation (L-infinity budget ``eps``) of real renders is optimised to raise the *training
encoder's* cosine to a chosen other identity, and the gain of the *scorer's* cosine to that identity is
reported next to it. The protocol asks the ratio to stay below a quarter.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

Embed = Callable[[Tensor], Tensor]


def attack_transfer(
    encoder: Embed,
    scorer: Embed,
    images: Tensor,
    chosen: Tensor,
    eps: float = 8 / 255,
    steps: int = 20,
    step_size: float | None = None,
) -> dict[str, float]:
    """PGD on ``images`` ``(B, 3, H, W)`` in [-1, 1] towards the identity of ``chosen`` (renders of the
    chosen identities, same shape): maximise ``cos(encoder(x + d), encoder(chosen))`` with
    ``|d| <= eps`` on the [0, 1] scale.

    Returns the mean cosine gains ``encoder_gain`` and ``scorer_gain`` (after minus before, each
    measured by its own network against its own embedding of ``chosen``), their ``ratio``, and the
    cosines before and after.
    """
    eps2 = 2 * eps  # the images are on [-1, 1]
    step = 2 * (step_size if step_size is not None else 2.5 * eps / steps)
    with torch.no_grad():
        goal_e = F.normalize(encoder(chosen).float(), dim=1)
        goal_s = F.normalize(scorer(chosen).float(), dim=1)
        before_e = (F.normalize(encoder(images).float(), dim=1) * goal_e).sum(1)
        before_s = (F.normalize(scorer(images).float(), dim=1) * goal_s).sum(1)
    delta = torch.zeros_like(images, requires_grad=True)
    for _ in range(steps):
        x = (images + delta).clamp(-1, 1)
        cos = (F.normalize(encoder(x).float(), dim=1) * goal_e).sum(1)
        (grad,) = torch.autograd.grad(cos.sum(), delta)
        with torch.no_grad():
            delta += step * grad.sign()
            delta.clamp_(-eps2, eps2)
    with torch.no_grad():
        x = (images + delta).clamp(-1, 1)
        after_e = (F.normalize(encoder(x).float(), dim=1) * goal_e).sum(1)
        after_s = (F.normalize(scorer(x).float(), dim=1) * goal_s).sum(1)
    gain_e, gain_s = float((after_e - before_e).mean()), float((after_s - before_s).mean())
    return {
        "encoder_gain": gain_e,
        "scorer_gain": gain_s,
        "ratio": gain_s / gain_e if gain_e > 0 else float("nan"),
        "encoder_before": float(before_e.mean()),
        "encoder_after": float(after_e.mean()),
        "scorer_before": float(before_s.mean()),
        "scorer_after": float(after_s.mean()),
        "eps": eps,
        "steps": steps,
    }


def attack_renders(
    world, size: int, n: int = 64, split: str = "test", seed: int = 3
) -> tuple[Tensor, Tensor]:
    """``n`` renders of ``split`` identities and renders of ``n`` other identities to push them towards
    (each image's chosen identity differs from its own), both in [-1, 1]."""
    ids = list(world.identity_ids(split))
    own = [ids[i % len(ids)] for i in range(n)]
    other = [ids[(i + len(ids) // 2) % len(ids)] for i in range(n)]
    images = world.views(split, own, 1, size, seed=seed).image * 2 - 1
    chosen = world.views(split, other, 1, size, seed=seed + 1).image * 2 - 1
    return images, chosen
