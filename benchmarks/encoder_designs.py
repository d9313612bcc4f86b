#!/usr/bin/env python
"""Why the encoder is built the way it is: training throughput of the tutorial's model
(Embedding 64 → BiLSTM 64 → BiLSTM 64 → Dense 32 → 1) on the same real IMDB reviews, three ways:

- `ours`: length-bucketed batches, right-padded to the batch's longest review, exact
  (forward direction gathers each review's last step; backward runs on each review reversed
  within its own length);
- `packed`: the same bucketed batches through `pack_padded_sequence` (exact, the usual fix);
- `padded512`: every review post-padded to 512 and fed whole to a bidirectional LSTM (the
  tutorial's engine: not exact, the final state comes after the padding).

Interleaved repetitions; prints medians of reviews/s as `RESULT_JSON {...}`.

    .venv/bin/python benchmarks/encoder_designs.py --archive ../shared/data/aclImdb_v1.tar.gz
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from sentiment_rnn import ExperimentConfig
from sentiment_rnn.data import load_imdb_split
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.text.cleaning import Cleaner
from sentiment_rnn.text.tokenizer import TextTokenizer
from sentiment_rnn.training.batching import collate
from sentiment_rnn.training.batching import bucketed_batches

ROOT = Path(__file__).resolve().parents[1]


class TorchBiLSTM(nn.Module):
    """The tutorial's model on torch's own bidirectional LSTM, packed or plainly padded."""

    def __init__(self, vocab: int, packed: bool):
        super().__init__()
        self.packed = packed
        self.embedding = nn.Embedding(vocab, 64, padding_idx=0)
        self.lstm = nn.LSTM(64, 64, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Sequential(nn.Linear(128, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, tokens, lengths):
        x = self.embedding(tokens)
        if self.packed:
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(x)  # h: (layers * 2, B, 64)
        return self.head(torch.cat([h[-2], h[-1]], dim=-1))


def run(model, batches, sequences, targets, pad_to, steps):
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    reviews, started = 0, None
    for i, index in enumerate(batches[: steps + 3]):
        if i == 3:
            reviews, started = 0, time.perf_counter()  # after warm-up
        tokens, lengths = collate(sequences, index, pad_to)
        if pad_to:
            tokens, lengths = tokens[:, :pad_to], lengths.clamp(max=pad_to)
        loss = loss_fn(model(tokens, lengths).squeeze(-1), torch.from_numpy(targets[index]).float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        reviews += len(index)
    return reviews / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    config = ExperimentConfig.load(ROOT / "configs" / "seed.toml")
    train = load_imdb_split(args.archive, "train").limit_balanced(args.reviews, 0)
    cleaned = Cleaner.from_config(config.text).many(train.texts)
    tokenizer = TextTokenizer.train(cleaned, config.tokenizer)
    sequences = tokenizer.encode(cleaned)
    targets = np.asarray([label == "positive" for label in train.labels], dtype=np.int64)
    lengths = np.asarray([len(s) for s in sequences])
    bucketed = bucketed_batches(lengths, 32, 50, seed=0)
    shuffled = [np.random.default_rng(0).permutation(len(sequences))[i:i + 32] for i in range(0, len(sequences), 32)]

    results = {"ours": [], "packed": [], "padded512": []}
    for _ in range(args.repeats):
        torch.manual_seed(0)
        results["ours"].append(run(SentimentNet(config.model, tokenizer.vocab_size, 2), bucketed, sequences, targets,
                                   None, args.steps))
        results["packed"].append(run(TorchBiLSTM(tokenizer.vocab_size, packed=True), bucketed, sequences, targets,
                                     None, args.steps))
        results["padded512"].append(run(TorchBiLSTM(tokenizer.vocab_size, packed=False), shuffled, sequences, targets,
                                        512, args.steps))
        print(json.dumps({k: round(v[-1], 1) for k, v in results.items()}), flush=True)
    medians = {k: round(statistics.median(v), 1) for k, v in results.items()}
    print("RESULT_JSON " + json.dumps({"train_reviews_per_s_median": medians,
                                       "ours_vs_packed": round(medians["ours"] / medians["packed"], 2),
                                       "ours_vs_padded512": round(medians["ours"] / medians["padded512"], 2)}))


if __name__ == "__main__":
    main()
