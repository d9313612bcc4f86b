"""Sequence → vector pooling that never looks at padding."""

from __future__ import annotations

import torch
from torch import nn


class Pooling(nn.Module):
    """`last` | `mean` | `max` | `attention` | `concat` (last, max and mean side by side)."""

    def __init__(self, mode: str, size: int):
        super().__init__()
        self.mode = mode
        self.output_size = size * 3 if mode == "concat" else size
        self.attention = nn.Linear(size, 1) if mode == "attention" else None

    def forward(self, outputs: torch.Tensor, final: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """outputs (B, T, D), final (B, D), mask (B, T) true on real tokens → (B, D')."""
        if self.mode == "last":
            return final
        if self.mode == "mean":
            return masked_mean(outputs, mask)
        if self.mode == "max":
            return masked_max(outputs, mask)
        if self.mode == "attention":
            scores = self.attention(outputs).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
            weights = torch.softmax(scores, dim=1).unsqueeze(-1)  # (B, T, 1)
            return (weights * outputs).sum(dim=1)
        return torch.cat([final, masked_max(outputs, mask), masked_mean(outputs, mask)], dim=-1)


def masked_mean(outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(outputs.dtype)
    return (outputs * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def masked_max(outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
