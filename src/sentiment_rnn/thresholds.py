"""Choosing a decision threshold for a target, on data the user names (`sentiment-rnn threshold`).

For one class c, the rule "c when p(c) ≥ t" is scored at every distinct probability the data
gives c, and t is chosen for the objective:

- `precision=P`: the lowest t whose precision for c is at least P (the most recall at that
  precision);
- `recall=R`: the highest t whose recall for c is at least R (the most precision at that recall);
- `f1`: the t with the best F1 for c;
- `cost=FP:FN`: the t with the lowest total cost, a false positive for c costing FP and a missed
  c costing FN (a two-by-two cost matrix; the diagonal costs nothing).

An objective no threshold meets is an error that says the best the data allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError


def parse_objective(text: str) -> tuple[str, tuple[float, ...]]:
    """"precision=0.95" → ("precision", (0.95,)); "f1" → ("f1", ()); "cost=1:5" → ("cost", (1, 5))."""
    name, _, value = text.partition("=")
    try:
        if name in ("precision", "recall") and value:
            target = float(value)
            if 0 < target <= 1:
                return name, (target,)
        elif name == "f1" and not value:
            return name, ()
        elif name == "cost" and value.count(":") == 1:
            fp, fn = (float(v) for v in value.split(":"))
            if fp >= 0 and fn >= 0 and fp + fn > 0:
                return name, (fp, fn)
    except ValueError:
        pass
    raise ConfigError(f"--for must be precision=P or recall=R (0 < P, R <= 1), f1, or cost=FP:FN (the costs of a "
                      f"false positive and of a miss, >= 0), got {text!r}")


def choose(scores: np.ndarray, truth: np.ndarray, objective: str, values: tuple[float, ...]) -> dict[str, Any]:
    """The threshold on `scores` (p(c) per row) for `truth` (row is c) and the objective, with the
    precision, recall, F1 and share of rows predicted c at it."""
    if not truth.any():
        raise ConfigError("the file has no row of this class: no threshold can be chosen for it")
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], truth[order].astype(np.float64)
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(ranked) - 1]  # the end of each distinct score
    predicted = last + 1.0
    true_positive = np.cumsum(hits)[last]
    precision = true_positive / predicted
    recall = true_positive / hits.sum()
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    thresholds = ranked[last]
    if objective == "precision":
        ok = np.flatnonzero(precision >= values[0])
        if not len(ok):
            raise ConfigError(f"no threshold reaches precision {values[0]} on this file (the best is "
                              f"{precision.max():.4f})")
        k = ok[-1]  # the lowest threshold that still meets it: the most recall
    elif objective == "recall":
        k = int(np.flatnonzero(recall >= values[0])[0])  # recall reaches 1 at the lowest threshold
    elif objective == "f1":
        k = int(f1.argmax())
    else:
        fp_cost, fn_cost = values
        cost = fp_cost * (predicted - true_positive) + fn_cost * (hits.sum() - true_positive)
        k = int(cost.argmin())
    return {"threshold": float(thresholds[k]), "precision": float(precision[k]), "recall": float(recall[k]),
            "f1": float(f1[k]), "predicted_share": float(predicted[k] / len(scores)), "rows": int(len(scores)),
            "positives": int(hits.sum())}
