"""Length bucketing: batches of similar-length reviews, so little compute is spent on padding.

The training order is a pure function of (seed, epoch), which is what makes resume exact, and
of (rank, world size), which is how data-parallel ranks get disjoint shards.
"""

from __future__ import annotations

import numpy as np
import torch

from ..text.tokenizer import PAD_ID


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


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Inference batches: globally sorted by length (longest first), deterministic."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def collate(sequences: list[np.ndarray], index: np.ndarray, pad_to: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (B, T) token ids and (B,) lengths for the reviews at `index`."""
    lengths = np.fromiter((len(sequences[i]) for i in index), dtype=np.int64, count=len(index))
    width = max(int(lengths.max()), pad_to or 0)
    tokens = np.full((len(index), width), PAD_ID, dtype=np.int64)
    for row, i in enumerate(index):
        tokens[row, :lengths[row]] = sequences[i]
    return torch.from_numpy(tokens), torch.from_numpy(lengths)
