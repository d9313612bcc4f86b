"""One prediction, rendered the same way everywhere (CLI, files, service, explanations, MLflow):
the label with the highest probability, that probability as `score`, and every class's
probability; flat outputs (CSV, DataFrames) name the probability columns `p_<class>`. A
multi-label model also gives `labels`: every label at or above its own threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def describe(classes: Sequence[str], row: np.ndarray, thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """`{"label", "score", "probabilities"}` for one row of probabilities; with `thresholds` (a
    multi-label model) also `"labels"`."""
    best = int(row.argmax())
    result = {"label": classes[best], "score": float(row[best]),
              "probabilities": {c: float(p) for c, p in zip(classes, row)}}
    if thresholds is not None:
        result["labels"] = chosen_labels(classes, row, thresholds)
    return result


def chosen_labels(classes: Sequence[str], row: np.ndarray, thresholds: dict[str, float]) -> list[str]:
    """A multi-label row's labels: those at or above their threshold, most probable first."""
    order = np.argsort(-row, kind="stable")
    return [classes[k] for k in order if row[k] >= thresholds[classes[k]]]


def labels(classes: Sequence[str], proba: np.ndarray) -> np.ndarray:
    """The predicted label of every row."""
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def probability_columns(classes: Sequence[str]) -> list[str]:
    return [f"p_{c}" for c in classes]
