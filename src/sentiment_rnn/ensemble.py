"""Several trained classifiers as one: class probabilities averaged (ULMFiT's forward + backward
ensemble). Duck-types the parts of `SentimentClassifier` that evaluate, predict and batch scoring
use (`classes_`, `thresholds_`, `predict_proba`, `predict`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .classifier import PREDICT_BATCH, SentimentClassifier
from .errors import ModelError


class Ensemble:
    def __init__(self, members: Sequence[SentimentClassifier]):
        if not members:
            raise ModelError("an ensemble needs at least one model")
        self.members = list(members)
        self.classes_ = list(members[0].classes_)
        for member in members[1:]:
            if list(member.classes_) != self.classes_:
                raise ModelError(f"cannot ensemble models with different classes: {self.classes_} and {member.classes_}")
        if any(member.thresholds_ is not None for member in self.members):
            raise ModelError("multi-label models cannot be ensembled yet (each has thresholds of its own)")
        self.thresholds_ = None  # single-label members only

    def predict_proba(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        return np.mean([m.predict_proba(texts, batch_size) for m in self.members], axis=0).astype(np.float32)

    def predict(self, texts: Sequence[str], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        return np.asarray(self.classes_, dtype=object)[self.predict_proba(texts, batch_size).argmax(axis=1)]
