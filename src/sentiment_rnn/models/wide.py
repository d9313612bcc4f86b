"""The wide part: a linear model over the review's token n-grams, whose logits are added to the
recurrent part's ("wide & deep", Cheng et al. 2016; hashed n-grams as in fastText, Joulin et al. 2017).

The n-grams are read from the token ids the network already gets, so the part needs no second text
path: in the ONNX graph, in an occlusion explanation (a review without a word is a shorter id
sequence, its n-grams recomputed) and under padding it sees exactly what the recurrent part sees.

Features: unigram k is row k of the table (the vocabulary's ids); an n-gram of order 2..n is hashed
into `buckets` rows after them. Each occurrence counts with its inverse document frequency, and the
review's vector is normalised by the root of its occurrences' summed squared idf:

    logits = Σ_p idf[f_p] · W[f_p] / √(Σ_p idf[f_p]²) + b          (p: the review's n-gram positions)

which is TF-IDF with L2 normalisation wherever an n-gram occurs once in a review (the norm of
repeated n-grams is taken per occurrence). Measured on IMDB validation it scores as the exact TF-IDF
does (docs/wide.md), and it needs no counting of equal n-grams, so the ONNX graph computes it
with a gather and two sums. The table starts from a logistic regression fitted on the same
features (training/wide.py), scaled by the join weight chosen on validation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

HASH_PRIME = 1_000_003


def ngram_positions(token_ids: torch.Tensor, lengths: torch.Tensor, order: int, vocab_size: int,
                    buckets: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every n-gram of order 1..`order` of each review as a feature row, (B, N) int64, and (B, N)
    true where the n-gram lies within the review's length."""
    steps = token_ids.size(1)
    positions = torch.arange(steps, device=token_ids.device)
    ids, valid = [token_ids], [positions.unsqueeze(0) < lengths.unsqueeze(1)]
    for k in range(2, order + 1):
        if steps < k:
            break
        width = steps - k + 1
        h = torch.full_like(token_ids[:, :width], k)
        for j in range(k):
            h = (h * HASH_PRIME + token_ids[:, j:j + width]) % buckets
        ids.append(h + vocab_size)
        valid.append(positions[:width].unsqueeze(0) + (k - 1) < lengths.unsqueeze(1))
    return torch.cat(ids, dim=1), torch.cat(valid, dim=1)


def ngram_rows(sequence: np.ndarray, order: int, vocab_size: int, buckets: int) -> np.ndarray:
    """`ngram_positions` for one unpadded review, in numpy (for fitting the linear model)."""
    ids = sequence.astype(np.int64)
    rows = [ids]
    for k in range(2, order + 1):
        if len(ids) < k:
            break
        width = len(ids) - k + 1
        h = np.full(width, k, dtype=np.int64)
        for j in range(k):
            h = (h * HASH_PRIME + ids[j:j + width]) % buckets
        rows.append(h + vocab_size)
    return np.concatenate(rows)


class WideNgrams(nn.Module):
    """TF-IDF features of hashed token n-grams → (B, outputs) logits."""

    def __init__(self, order: int, buckets: int, vocab_size: int, outputs: int):
        super().__init__()
        self.order, self.buckets, self.vocab_size = order, buckets, vocab_size
        rows = vocab_size + buckets
        self.weight = nn.Parameter(torch.zeros(rows, outputs))
        self.bias = nn.Parameter(torch.zeros(outputs))
        # Inverse document frequency per feature row (1 where training never saw it); fixed.
        self.register_buffer("idf", torch.ones(rows))

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        ids, valid = ngram_positions(token_ids, lengths, self.order, self.vocab_size, self.buckets)
        idf = self.idf[ids] * valid  # (B, N): 0 on padding
        norm = idf.square().sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)
        return nn.functional.embedding_bag(ids, self.weight, per_sample_weights=idf / norm, mode="sum") + self.bias
