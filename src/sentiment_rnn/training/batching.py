"""Length bucketing for training: batches of similar-length reviews, so little compute is spent on
padding, in an order that changes every epoch.

The training order is a pure function of (seed, epoch), which is what makes resume exact, and
of (rank, world size), which is how data-parallel ranks get disjoint shards.
"""

from __future__ import annotations

import numpy as np
import torch

from ..text.batching import collate as collate_arrays


def bucketed_batches(lengths: np.ndarray, batch_size: int, window_batches: int, seed: int,
                     rank: int = 0, world_size: int = 1) -> list[np.ndarray]:
    """Shuffle, sort by length within windows of `window_batches` batches, cut, shuffle the batches."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * window_batches
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    batches = [batches[i] for i in rng.permutation(len(batches))]
    if world_size > 1:
        usable = len(batches) - len(batches) % world_size  # every rank takes the same number of steps
        batches = batches[rank:usable:world_size]
    return batches


def collate(sequences: list[np.ndarray], index: np.ndarray, pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """text.batching.collate as tensors, for the training step."""
    tokens, lengths = collate_arrays(sequences, index, pad_to)
    return torch.from_numpy(tokens), torch.from_numpy(lengths)
