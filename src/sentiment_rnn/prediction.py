"""One prediction, rendered the same way everywhere (CLI, files, service, explanations, MLflow):
the label with the highest probability, that probability as `score`, and every class's
probability; flat outputs (CSV, DataFrames) name the probability columns `p_<class>`. A
multi-label model also gives `labels`: every label at or above its own threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Decision:
    """A single-label model's decision rule when it is not the plain arg max (`sentiment-rnn
    threshold`): `target` whenever its probability reaches `threshold`, else the most probable of
    the other classes; and with `abstain_below`, the label `uncertain` when the model's confidence
    (its highest class probability) is under it."""

    target: str | None = None
    threshold: float | None = None
    abstain_below: float | None = None

    def choose(self, classes: Sequence[str], row: np.ndarray) -> tuple[str, float]:
        """(label, its probability); `uncertain` keeps the probability of the label it withheld."""
        best = int(row.argmax())
        if self.target is not None:
            k = list(classes).index(self.target)
            if row[k] >= self.threshold:
                best = k
            elif best == k:
                best = int(np.argmax(np.where(np.arange(len(row)) == k, -np.inf, row)))
        label, score = classes[best], float(row[best])
        if self.abstain_below is not None and float(row.max()) < self.abstain_below:
            label = UNCERTAIN
        return label, score

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "threshold": self.threshold, "abstain_below": self.abstain_below}


def describe(classes: Sequence[str], row: np.ndarray, thresholds: dict[str, float] | None = None,
             decision: Decision | None = None) -> dict[str, Any]:
    """`{"label", "score", "probabilities"}` for one row of probabilities; with `thresholds` (a
    multi-label model) also `"labels"`; with `decision`, the label it chooses."""
    label, score = decision.choose(classes, row) if decision is not None else (classes[int(row.argmax())],
                                                                                float(row.max()))
    result = {"label": label, "score": score, "probabilities": {c: float(p) for c, p in zip(classes, row)}}
    if thresholds is not None:
        result["labels"] = chosen_labels(classes, row, thresholds)
    return result


def chosen_labels(classes: Sequence[str], row: np.ndarray, thresholds: dict[str, float]) -> list[str]:
    """A multi-label row's labels: those at or above their threshold, most probable first."""
    order = np.argsort(-row, kind="stable")
    return [classes[k] for k in order if row[k] >= thresholds[classes[k]]]


def labels(classes: Sequence[str], proba: np.ndarray, decision: Decision | None = None) -> np.ndarray:
    """The predicted label of every row (by `decision` when the model has one)."""
    if decision is not None:
        out = np.empty(len(proba), dtype=object)
        out[:] = [decision.choose(classes, row)[0] for row in proba]
        return out
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def probability_columns(classes: Sequence[str]) -> list[str]:
    return [f"p_{c}" for c in classes]
