"""Batches of already-encoded token ids, for prediction and evaluation: sorted by length so that
little compute goes to padding, and right-padded into one array. (Training's shuffled, bucketed
order is training/batching.py.) Plain numpy: the text path needs no torch."""

from __future__ import annotations

import numpy as np

from .tokenizer import PAD_ID


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Inference batches: globally sorted by length (longest first), deterministic."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def collate(sequences: list[np.ndarray], index: np.ndarray, pad_to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded (B, T) token ids and (B,) lengths for the reviews at `index`."""
    lengths = np.fromiter((len(sequences[i]) for i in index), dtype=np.int64, count=len(index))
    width = max(int(lengths.max()), pad_to or 0)
    tokens = np.full((len(index), width), PAD_ID, dtype=np.int64)
    for row, i in enumerate(index):
        tokens[row, :lengths[row]] = sequences[i]
    return tokens, lengths
