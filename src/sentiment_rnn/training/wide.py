"""Fitting the wide part (models/wide.py) once the recurrent part has trained.

1. Features: each training review's n-gram rows, weighted as the network weighs them (idf from the
   training part, normalised per review), as one sparse matrix.
2. A logistic regression on them for each C of `C_GRID` (scikit-learn: liblinear for one output,
   lbfgs for a softmax over classes, one per label for multi-label targets).
3. The join: logits = β · recurrent + α · wide. C, β and α are those with the lowest validation
   loss (the network's own loss); α = 0 says the wide part does not help on this data, and the
   model is the recurrent part alone. β matters because each part alone is fitted to be confident:
   their plain sum counts the evidence both see twice (on waimai it raised the validation loss at
   every α > 0 although it raised accuracy).

Why fitted apart and joined, rather than trained with the recurrent part in one loop: a linear
model over ~10⁶ n-gram rows fits the training reviews almost perfectly within an epoch, after
which the joint loss leaves the recurrent part little to learn from; fitted apart, each part learns
all it can and validation weighs them (as averaging the two models' answers did, the measurement
that motivated the part: docs/wide.md). The regression is scikit-learn's, not ours: the solvers
are well kept and fast on sparse features.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..models import SentimentNet
from ..models.wide import WideNgrams, ngram_rows
from .classification import Encoded, network_logits

C_GRID = (1.0, 4.0, 16.0, 64.0)
JOIN_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # α; alone (cell "none"), 0 is never the lowest loss
RECURRENT_GRID = (0.25, 0.5, 0.75, 1.0)  # β
DEFAULT_C, DEFAULT_JOIN, DEFAULT_RECURRENT = 4.0, 0.5, 0.5  # without a validation part (waimai's choice)


def features(wide: WideNgrams, sequences: list[np.ndarray]):
    """(reviews, rows) CSR matrix of the network's feature values (wide.idf must be set)."""
    from scipy import sparse

    idf = wide.idf.numpy()
    rows = [ngram_rows(ids, wide.order, wide.vocab_size, wide.buckets) for ids in sequences]
    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    columns = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    values = idf[columns].astype(np.float64)
    review = np.repeat(np.arange(len(rows)), counts)
    norm = np.sqrt(np.bincount(review, weights=values ** 2, minlength=len(rows)))
    values /= np.maximum(norm, 1e-12)[review]
    matrix = sparse.csr_matrix((values, (review, columns)), shape=(len(rows), idf.size))
    matrix.sum_duplicates()
    return matrix


def document_frequency_idf(wide: WideNgrams, sequences: list[np.ndarray]) -> np.ndarray:
    """Smoothed idf, ln((1 + n) / (1 + df)) + 1, for rows the training part shows; 0 for the rest,
    which then count for nothing (as a TF-IDF vocabulary ignores words it never saw)."""
    df = np.zeros(wide.idf.numel(), dtype=np.int64)
    for ids in sequences:
        df[np.unique(ngram_rows(ids, wide.order, wide.vocab_size, wide.buckets))] += 1
    idf = np.log((1 + len(sequences)) / (1 + df)) + 1
    idf[df == 0] = 0.0
    return idf.astype(np.float32)


def fit_wide(network: SentimentNet, train: Encoded, val: Encoded | None, balanced: bool = False) -> dict[str, Any]:
    """Fit `network.wide` in place (see the module's steps) and say what was chosen."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ConfigError("model.ngrams > 0 fits the wide part with scikit-learn: pip install "
                          "scikit-learn (a dependency of sentiment-rnn), or set model.ngrams = 0") from None
    started = time.perf_counter()
    wide = network.wide
    wide.idf.copy_(torch.from_numpy(document_frequency_idf(wide, train.sequences)))
    x_train = features(wide, train.sequences)
    x_val = features(wide, val.sequences) if val is not None else None
    deep_val = _deep_logits(network, val) if val is not None else None
    outputs = wide.weight.shape[1]
    best = None
    for c in (C_GRID if val is not None else (DEFAULT_C,)):
        weight, bias = _regression(LogisticRegression, x_train, train.targets, outputs, network.multilabel, c, balanced)
        if val is None:
            best = (0.0, c, DEFAULT_JOIN, DEFAULT_RECURRENT if network.recurrent else 1.0, weight, bias)
            break
        wide_val = torch.from_numpy((x_val @ weight + bias).astype(np.float32))
        for scale in (RECURRENT_GRID if network.recurrent else (1.0,)):
            for join in JOIN_GRID:
                loss = _loss(network, scale * deep_val + join * wide_val, val.targets)
                if best is None or loss < best[0]:
                    best = (loss, c, join, scale, weight, bias)
    _, c, join, scale, weight, bias = best
    wide.weight.data.copy_(torch.from_numpy((join * weight).astype(np.float32)))
    wide.bias.data.copy_(torch.from_numpy((join * bias).astype(np.float32)))
    network.scale_logits(scale, wide=False)
    info: dict[str, Any] = {"order": wide.order, "buckets": wide.buckets, "C": c, "join": join,
                            "recurrent_scale": scale, "rows_seen": int((wide.idf > 0).sum()), "seconds": 0.0}
    if val is not None:
        wide_val = torch.from_numpy((x_val @ weight + bias).astype(np.float32))
        info.update(val_accuracy_wide=_accuracy(network, wide_val, val.targets),
                    val_accuracy_joined=_accuracy(network, scale * deep_val + join * wide_val, val.targets))
        if network.recurrent:
            info["val_accuracy_recurrent"] = _accuracy(network, deep_val, val.targets)
    info["seconds"] = round(time.perf_counter() - started, 1)
    return info


def _regression(model_class, x, targets: np.ndarray, outputs: int, multilabel: bool, c: float,
                balanced: bool) -> tuple[np.ndarray, np.ndarray]:
    """(rows, outputs) weights and (outputs,) biases of a logistic regression in the network's
    output layout: one logit for two classes, one per class, or one per label."""
    weight = np.zeros((x.shape[1], outputs))
    bias = np.zeros(outputs)
    if multilabel:
        for k in range(outputs):
            y = targets[:, k] > 0.5
            if y.all() or not y.any():  # nothing to tell apart: the recurrent part's bias decides
                continue
            model = model_class(C=c, solver="liblinear", random_state=0,
                                class_weight="balanced" if balanced else None).fit(x, y)
            weight[:, k], bias[k] = model.coef_[0], model.intercept_[0]
        return weight, bias
    model = model_class(C=c, solver="liblinear" if outputs == 1 else "lbfgs", max_iter=1000,
                        random_state=0).fit(x, targets)
    if outputs == 1:
        return model.coef_.T, model.intercept_
    weight[:, model.classes_] = model.coef_.T  # a class absent from the training part keeps 0
    bias[model.classes_] = model.intercept_
    return weight, bias


def _deep_logits(network: SentimentNet, val: Encoded) -> torch.Tensor:
    if not network.recurrent:  # the wide part alone: it is all the logits there are
        return torch.zeros(len(val.sequences), network.wide.weight.shape[1])
    with network.without_wide():
        return network_logits(network, val)


def _loss(network: SentimentNet, logits: torch.Tensor, targets: np.ndarray) -> float:
    return float(network.loss(logits, torch.from_numpy(targets)))


def _accuracy(network: SentimentNet, logits: torch.Tensor, targets: np.ndarray) -> float:
    return float(network.correct(logits, torch.from_numpy(targets))) / len(targets)
