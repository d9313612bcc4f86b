"""One prediction, rendered the same way everywhere (CLI, files, service, explanations, MLflow):
the label with the highest probability, that probability as `score`, and every class's
probability; flat outputs (CSV, DataFrames) name the probability columns `p_<class>`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def describe(classes: Sequence[str], row: np.ndarray) -> dict[str, Any]:
    """`{"label", "score", "probabilities"}` for one row of class probabilities."""
    best = int(row.argmax())
    return {"label": classes[best], "score": float(row[best]),
            "probabilities": {c: float(p) for c, p in zip(classes, row)}}


def labels(classes: Sequence[str], proba: np.ndarray) -> np.ndarray:
    """The predicted label of every row."""
    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def probability_columns(classes: Sequence[str]) -> list[str]:
    return [f"p_{c}" for c in classes]
