"""The synthetic face world: identities, per-image attributes, rendering, samples and ground-truth swaps."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from deepswap.data.synthetic import factors as fx
from deepswap.data.synthetic.params import scene_params
from deepswap.data.synthetic.render import RenderOutput, render_params

MIN_SIZE, MAX_SIZE = 32, 512


class SyntheticFaceWorld:
    """Procedural cartoon faces with known generating factors (see the package docstring for the table).

    Args:
        num_train_identities: identities ``0 .. num_train - 1`` form the train split.
        num_heldout_identities: the next ones are held out. The first ``val_share`` of them form the
            ``"val"`` split (training-time samples, model selection), the rest the ``"test"`` split (the
            closing table, ``deepswap.evaluate``, the arms race); ``"heldout"`` is both.
        seed: world seed; every draw is a pure function of ``(seed, what, split, index)``.
        skin_tone_side: ``"target"`` puts the skin tone factors in the attribute vector (a swap keeps the
            target's skin), ``"source"`` in the identity vector (a swap carries the source's skin).
    """

    def __init__(
        self,
        num_train_identities: int = 1000,
        num_heldout_identities: int = 400,
        seed: int = 0,
        skin_tone_side: str = "target",
        val_share: float = 0.5,
    ):
        if num_train_identities < 1 or num_heldout_identities < 0:
            raise ValueError(
                "need at least one train identity and a non-negative held-out count, got "
                f"{num_train_identities} and {num_heldout_identities}"
            )
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if not 0.0 <= val_share <= 1.0:
            raise ValueError(f"val_share must be in [0, 1], got {val_share}")
        self.num_train_identities = int(num_train_identities)
        self.num_heldout_identities = int(num_heldout_identities)
        self.seed = int(seed)
        self.skin_tone_side = skin_tone_side
        self.val_share = float(val_share)
        self.num_val_identities = int(round(self.num_heldout_identities * self.val_share))
        self.num_test_identities = self.num_heldout_identities - self.num_val_identities
        self.identity_names, self.attribute_names = fx.layouts(skin_tone_side)
        self.num_identity_factors = len(self.identity_names)
        self.num_attribute_factors = len(self.attribute_names)

    def __repr__(self) -> str:
        return (
            f"SyntheticFaceWorld(num_train_identities={self.num_train_identities}, "
            f"num_heldout_identities={self.num_heldout_identities}, seed={self.seed}, "
            f"skin_tone_side={self.skin_tone_side!r}, val_share={self.val_share})"
        )

    def identity_ids(self, split: str) -> range:
        """Identity ids of a split: ``"train"``, ``"val"``, ``"test"`` (disjoint ranges) or ``"heldout"``
        (val and test together)."""
        fx.split_code(split)
        n_train, n_val = self.num_train_identities, self.num_val_identities
        return {
            "train": range(0, n_train),
            "heldout": range(n_train, n_train + self.num_heldout_identities),
            "val": range(n_train, n_train + n_val),
            "test": range(n_train + n_val, n_train + self.num_heldout_identities),
        }[split]

    def identity_factors(self, identity_id: int) -> torch.Tensor:
        """-> (K_id,) float32 in [0, 1], a pure function of (seed, identity_id)."""
        total = self.num_train_identities + self.num_heldout_identities
        if not 0 <= int(identity_id) < total:
            raise ValueError(f"identity_id must be in [0, {total}), got {identity_id}")
        return fx.draw_identity(self.seed, int(identity_id), self.skin_tone_side == "source")

    def attribute_factors(self, split: str, index: int) -> torch.Tensor:
        """-> (K_attr,) float32 in [0, 1] of sample ``index`` of ``split``; pure function of the arguments."""
        return fx.draw_attributes(self.seed, split, _index(index), self.skin_tone_side == "target")

    def identity_of(self, split: str, index: int) -> int:
        """Identity id of sample ``index`` of ``split``: uniform over ``identity_ids(split)``."""
        ids = self.identity_ids(split)
        if len(ids) == 0:
            raise ValueError(f"split {split!r} has no identities")
        return fx.draw_identity_of(self.seed, split, _index(index), ids.start, len(ids))

    def factor_dict(self, identity: torch.Tensor, attributes: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, K_id) or (K_id,), (B, K_attr) or (K_attr,) -> {name: (B,) float64}; a batch of 1 broadcasts."""
        identity, attributes = _batched(identity, "identity"), _batched(attributes, "attributes")
        for t, k, what in (
            (identity, self.num_identity_factors, "identity"),
            (attributes, self.num_attribute_factors, "attributes"),
        ):
            if t.shape[1] != k:
                raise ValueError(
                    f"{what} must have {k} factors (layout {what}_names), got shape {tuple(t.shape)}"
                )
        b = max(identity.shape[0], attributes.shape[0])
        if identity.shape[0] not in (1, b) or attributes.shape[0] not in (1, b):
            raise ValueError(
                f"batch sizes differ: identity {identity.shape[0]}, attributes {attributes.shape[0]}"
            )
        table = torch.cat([identity.expand(b, -1), attributes.expand(b, -1)], 1).to(torch.float64).clamp(0, 1)
        return dict(zip(self.identity_names + self.attribute_names, table.t().contiguous().unbind(0)))

    def render(self, identity: torch.Tensor, attributes: torch.Tensor, size: int) -> RenderOutput:
        """(B, K_id) identity, (B, K_attr) attribute factors -> :class:`RenderOutput`, B images of size^2."""
        _check_size(size)
        with torch.no_grad():
            return render_params(scene_params(self.factor_dict(identity, attributes)), int(size))

    def swap_truth(
        self, source_identity: torch.Tensor, target_attributes: torch.Tensor, size: int
    ) -> RenderOutput:
        """The ground-truth swap: the source identity rendered with the target's attributes."""
        return self.render(source_identity, target_attributes, size)

    def views(self, split: str, identities, k: int, size: int, seed: int = 0) -> RenderOutput:
        """P identities x K views: ``identities`` (P ids) each rendered under ``k`` independent attribute
        draws of ``split`` (seeded by ``seed``, a pure function of the arguments). Images are ordered
        identity-major: rows ``i * k .. i * k + k - 1`` are identity ``identities[i]``."""
        ids = [int(i) for i in identities]
        if k < 1:
            raise ValueError(f"k (views per identity) must be at least 1, got {k}")
        index = fx.draw_view_indices(self.seed, split, seed, len(ids) * k)
        id_f = torch.stack([self.identity_factors(i) for i in ids]).repeat_interleave(k, 0)
        attr = torch.stack([self.attribute_factors(split, int(j)) for j in index])
        return self.render(id_f, attr, size)

    def sample(self, split: str, index: int, size: int) -> dict:
        """One sample: image (3, H, W), mask (1, H, W), landmarks (5, 2), identity id, both factor vectors."""
        _check_size(size)
        ident = self.identity_of(split, index)
        id_f, attr_f = self.identity_factors(ident), self.attribute_factors(split, index)
        out = self.render(id_f, attr_f, size)
        return {
            "image": out.image[0],
            "mask": out.mask[0],
            "landmarks": out.landmarks[0],
            "identity": ident,
            "identity_factors": id_f,
            "attribute_factors": attr_f,
        }


class SyntheticFaceDataset(Dataset):
    """``length`` samples of a world split: item i is ``world.sample(split, i, size)``."""

    def __init__(self, world: SyntheticFaceWorld, split: str, size: int, length: int):
        fx.split_code(split)
        _check_size(size)
        self.world, self.split, self.size, self.length = world, split, int(size), int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for a dataset of {self.length}")
        return self.world.sample(self.split, index, self.size)


def _check_size(size: int) -> None:
    if int(size) != size or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer in [{MIN_SIZE}, {MAX_SIZE}], got {size}")


def _index(index: int) -> int:
    if int(index) != index or index < 0:
        raise ValueError(f"sample index must be a non-negative integer, got {index}")
    return int(index)


def _batched(t: torch.Tensor, what: str) -> torch.Tensor:
    t = torch.as_tensor(t).detach().cpu()
    if t.dim() == 1:
        return t[None]
    if t.dim() != 2:
        raise ValueError(f"{what} must be (K,) or (B, K), got shape {tuple(t.shape)}")
    return t
