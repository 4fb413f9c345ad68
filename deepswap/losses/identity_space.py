"""The identity loss's space: the directions of the encoder's embedding that tell identities apart.

A frozen encoder's embedding has many directions that vary with pose, expression or lighting as much
as with identity (the synthetic encoder reads a few identity factors well and others hardly at all).
``1 - cos`` over all of them asks the generator to move directions the encoder cannot see in pixels,
which it can only do by leaving the image manifold. :class:`IdentitySpace` is fitted once, before
training, on P identities x K views embedded by the frozen encoder: Fisher's linear discriminant
(LDA) keeps the ``dims`` directions with the largest ratio of between-identity to within-identity
variance and whitens them (unit within-identity variance), so the identity loss's cosine weighs each
direction by how reliably the encoder reads identity along it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class IdentitySpace(nn.Module):
    """``(B, D)`` embeddings -> ``(B, dims)`` discriminant coordinates (identity map until fitted).

    ``fit`` sets the buffers ``mean`` ``(D,)`` and ``projection`` ``(D, dims)``; both are saved in
    checkpoints, so a resumed run keeps the space it started with.
    """

    def __init__(self, embedding_size: int, dims: int = 64, shrinkage: float = 0.05):
        super().__init__()
        if not 1 <= dims <= embedding_size:
            raise ValueError(f"identity_space dims must be in [1, {embedding_size}], got {dims}")
        if not 0.0 <= shrinkage < 1.0:
            raise ValueError(f"identity_space shrinkage must be in [0, 1), got {shrinkage}")
        self.dims, self.shrinkage = int(dims), float(shrinkage)
        self.register_buffer("mean", torch.zeros(embedding_size))
        self.register_buffer("projection", torch.eye(embedding_size)[:, :dims].clone())
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("ratios", torch.zeros(dims))  # between / within variance per direction

    @torch.no_grad()
    def fit(self, embeddings: Tensor, labels: Tensor) -> IdentitySpace:
        """``embeddings`` ``(N, D)`` of several views per identity, ``labels`` ``(N,)`` -> self.

        Within-identity scatter ``Sw`` (shrunk towards its mean eigenvalue by ``shrinkage``) and
        between-identity scatter ``Sb``; the directions are the top eigenvectors of
        ``Sw^-1/2 Sb Sw^-1/2`` mapped back through ``Sw^-1/2`` (whitened)."""
        e = F.normalize(embeddings.double(), dim=1)
        labels = torch.as_tensor(labels)
        classes = labels.unique()
        if len(classes) < 2 or len(classes) == len(labels):
            raise ValueError("fitting the identity space needs several identities with several views each")
        mean = e.mean(0)
        centred_within = torch.empty_like(e)
        means = torch.empty(len(classes), e.shape[1], dtype=e.dtype)
        for i, c in enumerate(classes):
            rows = labels == c
            means[i] = e[rows].mean(0)
            centred_within[rows] = e[rows] - means[i]
        sw = centred_within.T @ centred_within / len(e)
        sb = (means - mean).T @ (means - mean) / len(classes)
        d = sw.shape[0]
        sw = (1 - self.shrinkage) * sw + self.shrinkage * sw.trace() / d * torch.eye(d, dtype=sw.dtype)
        vals, vecs = torch.linalg.eigh(sw)
        inv_sqrt = vecs @ torch.diag(vals.clamp_min(1e-12).rsqrt()) @ vecs.T
        ratio, dirs = torch.linalg.eigh(inv_sqrt @ sb @ inv_sqrt)
        top = ratio.argsort(descending=True)[: self.dims]
        self.mean.copy_(mean.float())
        self.projection.copy_((inv_sqrt @ dirs[:, top]).float())
        self.ratios.copy_(ratio[top].float())
        self.fitted.fill_(True)
        return self

    def forward(self, embeddings: Tensor) -> Tensor:
        if not bool(self.fitted):
            return embeddings
        return (F.normalize(embeddings.float(), dim=1) - self.mean) @ self.projection
