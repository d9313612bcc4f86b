"""The classifier network: Embedding → RecurrentEncoder → Pooling → head.

Two classes get one logit (sigmoid, as in the tutorial); more classes get one logit each (softmax);
a multi-label model gets one logit per label, each its own sigmoid. `forward` returns logits;
`probabilities` returns (B, C) probabilities in every case (rows sum to 1 except for multi-label).

With `model.ngrams` > 0 a wide part (wide.py: a linear model over the review's token n-grams) adds
its logits to the head's. It is fitted after the recurrent part has trained (training/wide.py), so
the training loop runs on the network without it (`without_wide`).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ..config import ModelConfig
from .dropout import Dropout
from .encoder import RecurrentEncoder, reverse_within_length
from .pooling import Pooling
from .wide import WideNgrams

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


class SentimentNet(nn.Module):
    def __init__(self, config: ModelConfig, vocab_size: int, num_classes: int, padding_idx: int = 0,
                 multilabel: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.multilabel = multilabel
        outputs = 1 if num_classes == 2 and not multilabel else num_classes
        self.wide = (WideNgrams(config.ngram_order, config.ngram_buckets, vocab_size, outputs) if config.ngram_order
                     else None)
        self.recurrent = config.cell != "none"  # "none": the wide part alone
        if not self.recurrent:
            return
        # A unidirectional backward model (e.g. from a backward language model) reads each review reversed.
        self.reverse_input = not config.bidirectional and config.direction == "backward"
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=padding_idx)
        self.embedding_dropout = Dropout(config.embedding_dropout)
        self.encoder = RecurrentEncoder(config.embedding_dim, config.cell, config.hidden_size, config.num_layers,
                                        config.bidirectional, config.merge_mode, config.dropout)
        self.pooling = Pooling(config.pooling, self.encoder.output_size)
        layers: list[nn.Module] = [Dropout(config.head_dropout)]
        width = self.pooling.output_size
        if config.head_hidden:
            layers += [nn.Linear(width, config.head_hidden), ACTIVATIONS[config.head_activation]()]
            width = config.head_hidden
        layers.append(nn.Linear(width, outputs))
        self.head = nn.Sequential(*layers)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """token_ids (B, T) right-padded, lengths (B,) → logits (B, 1) or (B, C)."""
        if not self.recurrent:
            return self.wide(token_ids, lengths)
        x, mask = self.embed(token_ids, lengths)
        logits = self.forward_embedded(x, lengths, mask)
        return logits if self.wide is None else logits + self.wide(token_ids, lengths)

    @torch.no_grad()
    def scale_logits(self, factor: float, recurrent: bool = True, wide: bool = True) -> None:
        """Multiply the logits of the recurrent part and/or the wide part by `factor`, in the weights
        of their output layers (the join's weights; temperature scaling), so every engine applies it."""
        if recurrent and self.recurrent:
            self.head[-1].weight.mul_(factor)
            self.head[-1].bias.mul_(factor)
        if wide and self.wide is not None:
            self.wide.weight.mul_(factor)
            self.wide.bias.mul_(factor)

    @contextlib.contextmanager
    def without_wide(self):
        """The recurrent part alone, for the training loop (its optimizer never sees the wide part)."""
        wide, self.wide = self.wide, None
        try:
            yield self
        finally:
            self.wide = wide

    def embed(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedded input (B, T, E), after embedding dropout, and the (B, T) mask of real
        positions. Adversarial training perturbs this tensor (training/objectives.py)."""
        mask = torch.arange(token_ids.size(1), device=token_ids.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
        if self.reverse_input:
            token_ids = token_ids.gather(1, reverse_within_length(lengths, token_ids.size(1)))
        return self.embedding_dropout(self.embedding(token_ids)), mask

    def forward_embedded(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from an embedded input (B, T, E) such as `embed` gives."""
        outputs, final = self.encoder(x, lengths)  # (B, T, D), (B, D)
        return self.head(self.pooling(outputs, final, mask))

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameters from the bottom up: embedding, each recurrent layer, then pooling + head (for
        discriminative learning rates and gradual unfreezing)."""
        groups = [list(self.embedding.parameters())]
        groups += [list(layer.parameters()) for layer in self.encoder.layers]
        groups.append(list(self.pooling.parameters()) + list(self.head.parameters()))
        return groups

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        if self.multilabel:
            return torch.sigmoid(logits)
        if self.num_classes == 2:
            positive = torch.sigmoid(logits.squeeze(-1))
            return torch.stack([1 - positive, positive], dim=-1)
        return torch.softmax(logits, dim=-1)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Cross-entropy for class indices; binary cross-entropy per label for multi-hot targets
        (`pos_weight`: each label's weight on its positive rows)."""
        if self.multilabel:
            return nn.functional.binary_cross_entropy_with_logits(logits, targets.float(), pos_weight=pos_weight)
        if self.num_classes == 2:
            return nn.functional.binary_cross_entropy_with_logits(logits.squeeze(-1), targets.float())
        return nn.functional.cross_entropy(logits, targets)

    def correct(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """How many rows are predicted right: the top class, or every label at 0.5 (exact match)."""
        proba = self.probabilities(logits)
        if self.multilabel:
            return ((proba >= 0.5) == (targets > 0.5)).all(dim=-1).sum()
        return (proba.argmax(dim=-1) == targets).sum()
