"""A recurrent language model whose `embedding` and `encoder` have exactly the classifier's names
and shapes (SentimentNet), so they transfer one to one.

- Regularisation that makes LSTM LMs work (AWD-LSTM): whole-word dropout on the embedding matrix,
  dropout on the embedded input, between layers and before the output, and DropConnect on the
  recurrent weights (models/weight_drop.py, added by the training loop).
- The output layer is tied to the embedding (a projection maps the last hidden size to the
  embedding size when they differ) and, on a CPU budget, trained with a sampled softmax: every
  position scores its true next word against one shared set of sampled words, with the sampling
  probability subtracted from the logits (log-Q correction) so the estimate stays unbiased enough
  to train well; validation uses the full softmax.
- A backward model is this same network fed reversed reviews (the training loop reverses them).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import LanguageModelConfig
from ..models.dropout import Dropout
from ..models.encoder import RecurrentEncoder


class LanguageModel(nn.Module):
    def __init__(self, config: LanguageModelConfig, vocab_size: int, padding_idx: int = 0):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=padding_idx)
        self.encoder = RecurrentEncoder(config.embedding_dim, config.cell, config.hidden_size, config.num_layers,
                                        bidirectional=False, dropout=config.hidden_dropout)
        self.input_dropout = Dropout(config.input_dropout)
        self.output_dropout = Dropout(config.output_dropout)
        size = self.encoder.output_size
        self.projection = nn.Linear(size, config.embedding_dim) if size != config.embedding_dim else None
        self.output_bias = nn.Parameter(torch.zeros(vocab_size))

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        weight = self.embedding.weight
        p = self.config.embedding_dropout
        if self.training and p > 0:  # drop whole words: the same word vanishes everywhere in the batch
            keep = torch.empty(weight.size(0), 1, device=weight.device).bernoulli_(1 - p) / (1 - p)
            weight = weight * keep
        return nn.functional.embedding(token_ids, weight, self.embedding.padding_idx)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) right-padded ids → (B, T, E) states that predict the next token at each position."""
        outputs, _ = self.encoder(self.input_dropout(self.embed(token_ids)), lengths)
        outputs = self.output_dropout(outputs)
        return self.projection(outputs) if self.projection is not None else outputs

    def full_logits(self, states: torch.Tensor) -> torch.Tensor:
        return states @ self.embedding.weight.t() + self.output_bias

    def sampled_loss(self, states: torch.Tensor, targets: torch.Tensor, log_q: torch.Tensor,
                     num_sampled: int) -> torch.Tensor:
        """Sampled-softmax cross-entropy. states (N, E), targets (N,), log_q (V,) log sampling probs."""
        samples = torch.multinomial(log_q.exp(), num_sampled, replacement=True)  # (S,)
        correction = math.log(num_sampled)
        weight, bias = self.embedding.weight, self.output_bias
        true_logits = (states * weight[targets]).sum(-1) + bias[targets] - (log_q[targets] + correction)
        sample_logits = states @ weight[samples].t() + bias[samples] - (log_q[samples] + correction)  # (N, S)
        sample_logits = sample_logits.masked_fill(samples.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
        logits = torch.cat([true_logits.unsqueeze(1), sample_logits], dim=1).float()
        return nn.functional.cross_entropy(logits, torch.zeros_like(targets))

    def full_loss(self, states: torch.Tensor, targets: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
        """Exact cross-entropy (summed), computed in chunks of positions to bound memory."""
        total = states.new_zeros((), dtype=torch.float64)
        for start in range(0, states.size(0), chunk):
            logits = self.full_logits(states[start:start + chunk]).float()
            total += nn.functional.cross_entropy(logits, targets[start:start + chunk], reduction="sum")
        return total
