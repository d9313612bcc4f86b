"""Gradient flow through time: how strongly the loss reaches back to each earlier time step.

For a batch of reviews cut to one length L, the loss of each review (its own label) is
backpropagated through the unrolled encoder; ‖∂loss/∂h_t‖ is read at every hidden state of the top
layer and ‖∂loss/∂x_t‖ at every embedded input, then averaged over the reviews and indexed by the
distance from the position that produced the output: the last position a direction read (d = 0)
back to its first (d = L − 1). With last-state pooling that position is the only way to the output,
so the curve is the gradient that backpropagation through time carries d steps; with max or mean
pooling every step has its own short path to the output as well. Computed in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ..models.unrolled import unrolled_forward
from .callbacks import Callback


def gradient_flow(network, token_ids: torch.Tensor, targets: torch.Tensor, batch_size: int = 256) -> dict[str, Any]:
    """token_ids (N, L) unpadded, targets (N,) class indices (or (N, C) multi-hot rows) → mean norms
    per distance (lists of L)."""
    import copy

    # In float64, on a copy: in float32 a vanishing gradient reaches 0 (below 1e-38) within a hundred
    # steps or so, and how far below it goes is the lesson. eval(): no dropout, as the model predicts.
    network = copy.deepcopy(network).cpu().double().eval()
    steps = token_ids.size(1)
    sums = {"norm": np.zeros(steps), "input_norm": np.zeros(steps)}
    backward_sum = np.zeros(steps)
    bidirectional = network.encoder.bidirectional
    for start in range(0, len(token_ids), batch_size):
        ids, target = token_ids[start:start + batch_size], targets[start:start + batch_size]
        with torch.enable_grad():
            run = unrolled_forward(network, ids, keep_grad=True)
            # Summed, not averaged: each review's gradient is that of its own loss.
            if getattr(network, "multilabel", False):  # multi-hot targets, a sigmoid per label
                loss = F.binary_cross_entropy_with_logits(run.logits, target.float(), reduction="sum")
            elif run.logits.size(-1) == 1:
                loss = F.binary_cross_entropy_with_logits(run.logits.squeeze(-1), target.float(), reduction="sum")
            else:
                loss = F.cross_entropy(run.logits, target.long(), reduction="sum")
            loss.backward()
        top = run.layers[-1]
        # Reading order: states[k] has read k + 1 tokens; the direction's output position is k = L − 1.
        forward = torch.stack([s.grad.norm(dim=-1) for s in top[0].states], dim=1)  # (B, L)
        sums["norm"] += forward.flip(1).sum(0).numpy()
        if bidirectional:
            backward = torch.stack([s.grad.norm(dim=-1) for s in top[1].states], dim=1)
            backward_sum += backward.flip(1).sum(0).numpy()
        # Inputs by position; distance from the end of the review (the forward direction's output).
        sums["input_norm"] += run.embedded.grad.norm(dim=-1).flip(1).sum(0).numpy()
        network.zero_grad(set_to_none=True)
    count = len(token_ids)
    result = {"distance": list(range(steps)), **{k: (v / count).tolist() for k, v in sums.items()},
              "reviews": count, "length": steps}
    if bidirectional:
        result["norm_backward"] = (backward_sum / count).tolist()
    return result


def ratio(norms: list[float], distance: int) -> float | None:
    """‖∂loss/∂h‖ `distance` steps back ÷ at the output position (None when the reviews are shorter)."""
    if distance >= len(norms) or norms[0] == 0:
        return None
    return norms[distance] / norms[0]


def equal_length_sample(sequences: list[np.ndarray], labels: list[int], length: int, count: int,
                        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` reviews of at least `length` tokens, each cut to its first `length` tokens."""
    long_enough = [i for i, s in enumerate(sequences) if len(s) >= length]
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(long_enough)[:count]
    ids = torch.as_tensor(np.stack([sequences[i][:length] for i in chosen])) if len(chosen) else None
    return ids, torch.as_tensor([labels[i] for i in chosen], dtype=torch.long)


def sample_length(sequences: list[np.ndarray], wanted: int, count: int) -> int:
    """`wanted` when at least a quarter of `count` reviews are that long; else the length that a
    quarter of them reach (a user's short reviews are still measured, over fewer steps)."""
    lengths = np.sort([len(s) for s in sequences])[::-1]
    enough = min(len(lengths) - 1, max(count // 4, 1) - 1)
    return int(min(wanted, lengths[enough]))


# Below this, the words a review starts with (or, in a bidirectional model, its middle) get less
# than a millionth of the gradient its best-placed words get: in practice they are not learned from.
VANISHED = 1e-6


class GradientReach(Callback):
    """A training callback: after the first epoch, how much of the loss's gradient reaches the
    least-reached position of long training reviews, relative to the best-reached one; a warning
    when it has vanished, since that is when a user should switch cell or pooling."""

    def __init__(self, sequences: list[np.ndarray], targets: np.ndarray, reviews: int = 16, seed: int = 0):
        self.sequences, self.targets, self.reviews, self.seed = sequences, targets, reviews, seed
        self.result: dict[str, Any] | None = None

    def on_epoch_end(self, loop, record) -> None:
        if record.epoch != 0 or loop.rank != 0:
            return
        self.result = gradient_reach(loop.model, self.sequences, self.targets, self.reviews, self.seed)
        if self.result and self.result["ratio"] < VANISHED:
            import warnings

            r = self.result
            warnings.warn(f"vanishing gradient: after epoch 1, the word at position {r['weakest_position']} of "
                          f"{r['length']}-token reviews gets {r['ratio']:.0e} of the gradient of the best-reached "
                          f"word ({r['cell']}, {r['pooling']} pooling): the model can hardly learn from it; try "
                          f"model.cell=lstm or gru, model.pooling=max, or a shorter tokenizer.max_length "
                          f"(`sentiment-rnn diagnose` shows the whole curve)", stacklevel=2)


def gradient_reach(network, sequences: list[np.ndarray], targets: np.ndarray, reviews: int = 16,
                   seed: int = 0) -> dict[str, Any] | None:
    """min ÷ max over positions of the mean ‖∂loss/∂x_t‖ on the longest of a sample of reviews, all
    cut to the shortest of them (None when the reviews are too short to say: under 20 tokens)."""
    rng = np.random.default_rng(seed)
    pool = rng.permutation(len(sequences))[:512]
    longest = sorted(pool, key=lambda i: -len(sequences[i]))[:reviews]
    length = min((len(sequences[i]) for i in longest), default=0)
    if length < 20:
        return None
    ids = torch.as_tensor(np.stack([sequences[i][:length] for i in longest]))
    flow = gradient_flow(network, ids, torch.as_tensor(targets[longest]))
    norms = np.asarray(flow["input_norm"])[::-1]  # by position from the start
    weakest = int(norms.argmin())
    return {"ratio": float(norms.min() / norms.max()) if norms.max() > 0 else 0.0, "weakest_position": weakest,
            "length": length, "reviews": len(longest), "cell": _cell_name(network), "pooling": network.pooling.mode}


def _cell_name(network) -> str:
    rnn = network.encoder.layers[0][0]
    return type(rnn).__name__.lower()
