"""A stacked, optionally bidirectional RNN/LSTM/GRU that is exact on right-padded batches.

Why not `pack_padded_sequence`: on CPU it trains a BiLSTM several times slower than a plain
padded batch. Why not a plain bidirectional RNN on padded input: its backward direction starts
on the padding, so a review's state depends on how long its batch-mates are.

The design here: every direction is a unidirectional cuDNN/MKL-friendly `nn.RNN/LSTM/GRU` call on
a right-padded batch (batches are length-bucketed, so padding is short).
- Forward: position t only depends on positions <= t, so every real position is exact whatever
  padding follows it; the "last" state is gathered at each review's own last position.
- Backward: each review is reversed *within its own length* (padding stays at the end), run
  forward, then reversed back. Real positions again never see padding.
Stacked layers keep this property, so the whole encoder is exact for every real position.
No recurrent state is kept on the module.
"""

from __future__ import annotations

import torch
from torch import nn

from .dropout import Dropout

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def reverse_within_length(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, T) index that reverses positions [0, len) of each row and leaves the padding in place.

    It is its own inverse: applying it twice restores the original order.
    """
    positions = torch.arange(max_len, device=lengths.device).unsqueeze(0)  # (1, T)
    lengths = lengths.unsqueeze(1)  # (B, 1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)  # (B, T)


def gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (B, T, D) reordered along time by index (B, T)."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(-1)))


def merge(forward: torch.Tensor, backward: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "concat":
        return torch.cat([forward, backward], dim=-1)
    if mode == "sum":
        return forward + backward
    if mode == "mean":
        return (forward + backward) / 2
    return forward * backward  # mul


class RecurrentEncoder(nn.Module):
    def __init__(self, input_size: int, cell: str, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = True, merge_mode: str = "concat", dropout: float = 0.0):
        super().__init__()
        self.bidirectional = bidirectional
        self.merge_mode = merge_mode
        directions = 2 if bidirectional else 1
        layer_output = hidden_size * (2 if bidirectional and merge_mode == "concat" else 1)
        self.output_size = layer_output
        rnn = CELLS[cell]
        sizes = [input_size] + [layer_output] * (num_layers - 1)
        self.layers = nn.ModuleList(
            nn.ModuleList(rnn(size, hidden_size, batch_first=True) for _ in range(directions)) for size in sizes
        )
        self.dropout = Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, E), lengths (B,) ≥ 1 → (outputs (B, T, D), final (B, D)).

        outputs at positions ≥ length are undefined and must be masked by the caller.
        """
        batch, max_len, _ = x.shape
        last_index = (lengths - 1).view(batch, 1, 1)
        reverse = reverse_within_length(lengths, max_len) if self.bidirectional else None
        for depth, directions in enumerate(self.layers):
            if depth > 0:
                x = self.dropout(x)
            forward_out, _ = directions[0](x)  # (B, T, H)
            final_forward = forward_out.gather(1, last_index.expand(-1, 1, forward_out.size(-1))).squeeze(1)
            if not self.bidirectional:
                x, final = forward_out, final_forward
                continue
            backward_rev, _ = directions[1](gather_time(x, reverse))  # (B, T, H), reversed time
            # The backward direction's final state has read the whole review: it sits at the
            # review's last reversed position.
            final_backward = backward_rev.gather(1, last_index.expand(-1, 1, backward_rev.size(-1))).squeeze(1)
            x = merge(forward_out, gather_time(backward_rev, reverse), self.merge_mode)
            final = merge(final_forward, final_backward, self.merge_mode)
        return x, final
