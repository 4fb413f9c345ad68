"""Identity splits of an :class:`~deepswap.data.folder.IdentityFolder`: train, val and test identities.

Every datamodule has the three: training pairs come from train identities, validation (samples, model
selection) from val identities, and the closing evaluation (``deepswap.evaluate``) from test identities.
No identity is in two splits.
"""

from __future__ import annotations

from deepswap.data.folder import DataError, IdentityFolder

SPLITS = ("train", "val", "test")


def subset_folder(folder: IdentityFolder, indices: list[int]) -> IdentityFolder:
    """The images ``indices`` of ``folder`` as a folder of their own (identity indices unchanged)."""
    sub = object.__new__(IdentityFolder)
    sub.__dict__.update(folder.__dict__)
    sub.paths = [folder.paths[i] for i in indices]
    sub.labels = [folder.labels[i] for i in indices]
    sub.by_identity = {}
    for j, k in enumerate(sub.labels):
        sub.by_identity.setdefault(k, []).append(j)
    return sub


def identities_subset(folder: IdentityFolder, identities: set[int]) -> IdentityFolder:
    """The images of ``identities`` (identity indices of ``folder``)."""
    return subset_folder(folder, [i for i, k in enumerate(folder.labels) if k in identities])


def share_count(n_ids: int, share: float) -> int:
    """How many of ``n_ids`` identities a share holds out: at least one, unless the share is 0."""
    return 0 if share <= 0 else max(1, round(n_ids * share))


def hold_out(folder: IdentityFolder, shares: dict[str, float]) -> dict[str, IdentityFolder]:
    """Split ``folder``'s (sorted) identities: the last ``shares["val"]`` for val, the ``shares["test"]``
    before them for test (a share of 0: no such split), the rest for train (at least 2)."""
    n_ids = len(folder.identity_names)
    n_val, n_test = share_count(n_ids, shares.get("val", 0.0)), share_count(n_ids, shares.get("test", 0.0))
    if n_ids - n_val - n_test < 2:
        raise DataError(
            f"{folder.root} has {n_ids} identities: too few to hold out {n_val} for validation and "
            f"{n_test} for test; add identities, lower the shares or set data.val_root / data.test_root"
        )
    ids = list(range(n_ids))
    parts = {"train": ids[: n_ids - n_val - n_test], "test": ids[n_ids - n_val - n_test : n_ids - n_val]}
    parts["val"] = ids[n_ids - n_val :]
    return {name: identities_subset(folder, set(k)) for name, k in parts.items() if k}


def check_disjoint(folders: dict[str, IdentityFolder]) -> None:
    """Stop when one identity name is in two splits (e.g. a ``val_root`` that repeats ``root``'s people)."""
    names = {split: {f.identity_names[k] for k in f.by_identity} for split, f in folders.items()}
    splits = list(names)
    for i, a in enumerate(splits):
        for b in splits[i + 1 :]:
            both = sorted(names[a] & names[b])
            if both:
                raise DataError(
                    f"{len(both)} identities are in both {a} and {b} splits, e.g. {both[:5]}: "
                    "held-out identities must be people training never sees"
                )


__all__ = ["SPLITS", "subset_folder", "identities_subset", "share_count", "hold_out", "check_disjoint"]
