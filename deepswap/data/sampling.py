"""Training order that a checkpoint can resume: an epoch-keyed sampler and a loader that records its place.

:class:`EpochSampler` yields keys ``(epoch, index)``: a permutation of the dataset that is a pure function
of ``(seed, epoch)``, split between processes. The pair datasets (:mod:`deepswap.data.pairs`) draw each
item from ``(seed, epoch, index)``, so pairs and augmentations change from epoch to epoch and stay
deterministic. :class:`ResumableLoader` counts the batches it has handed out in the current epoch and
gives Lightning that count as its ``state_dict``; Lightning stores it in the checkpoint (the fit loop's
``combined_loader`` state) and hands it back before the first batch of a resumed run, which then starts
at the next unseen batch of the same permutation: a resumed run sees the data an uninterrupted one sees.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import DataLoader, DistributedSampler

# Keys the sampler's permutations apart from the datasets' own draws, which also start from the seed.
SAMPLER_STREAM = 0x5A3D


class EpochSampler(DistributedSampler):
    """Keys ``(epoch, index)`` of one process's share of a ``(seed, epoch)`` permutation of ``range(n)``.

    A :class:`DistributedSampler` (so Lightning does not wrap it under DDP) that drops the tail that does
    not split evenly between the ``num_replicas`` processes. ``start`` skips that many of this process's
    keys in the epoch ``epoch`` only (a resumed epoch); :meth:`set_epoch` to another epoch starts at 0.
    """

    def __init__(self, n: int, seed: int = 0, num_replicas: int = 1, rank: int = 0, shuffle: bool = True):
        super().__init__(
            range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=True
        )
        self.n, self.start = int(n), 0

    def set_epoch(self, epoch: int) -> None:
        if int(epoch) != self.epoch:
            self.start = 0
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The whole permutation of ``epoch`` (every process's share, interleaved)."""
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([SAMPLER_STREAM, self.seed, int(epoch)]).permutation(self.n)

    def __iter__(self):
        mine = self.order(self.epoch)[: self.num_samples * self.num_replicas][self.rank :: self.num_replicas]
        epoch = self.epoch
        return iter([(epoch, int(i)) for i in mine[self.start :]])


class ResumableLoader(DataLoader):
    """A training :class:`DataLoader` over an :class:`EpochSampler` whose position is checkpointed.

    ``state_dict()`` is ``{"epoch", "batches"}``: the epoch and how many batches of it were handed out
    (Lightning does not pre-fetch from a loader of known length, so handed out means consumed).
    ``load_state_dict`` makes the next iteration continue from there.
    """

    def __init__(self, dataset, sampler: EpochSampler, batch_size: int, **kwargs):
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, drop_last=True, **kwargs)
        self.epoch_sampler, self._handed_out = sampler, 0

    def __iter__(self):
        self._handed_out = self.epoch_sampler.start // self.batch_size
        for batch in super().__iter__():
            self._handed_out += 1
            yield batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch_sampler.epoch, "batches": self._handed_out}

    def load_state_dict(self, state: dict) -> None:
        self.epoch_sampler.epoch = int(state["epoch"])
        self.epoch_sampler.start = int(state["batches"]) * self.batch_size
        self._handed_out = int(state["batches"])


__all__ = ["EpochSampler", "ResumableLoader", "SAMPLER_STREAM"]
