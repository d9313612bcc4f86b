"""Which words drove a prediction: occlusion.

For each token the model sees, the review is scored again without that token; the token's
contribution toward a class is how much the class probability drops when it is removed
(p(class | review) − p(class | review without the token)). All variants run as one batch.

Why occlusion rather than integrated gradients: it needs no gradients and no baseline choice, it is
exact about what it measures (the model's own output with and without the word), and with our
length-exact encoder a variant is simply a shorter review. Its cost is one batch of n reviews for
n tokens, which is small at our review lengths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .classifier import SentimentClassifier
from .prediction import describe


def explain(clf: SentimentClassifier, text: str, batch_size: int = 128, engine=None) -> dict[str, Any]:
    """The prediction for `text` and each token's contribution, scored on `engine` (default: the
    classifier's own)."""
    clf.encode([text])  # validates the input like every other prediction path
    ids, tokens = clf.tokenizer_.encode_with_surface(clf.cleaner(text))
    variants = [ids] + [np.delete(ids, i) if len(ids) > 1 else ids for i in range(len(ids))]
    proba = clf.probabilities(variants, batch_size, engine)
    full = proba[0]
    contributions = full[None, :] - proba[1:]  # (n_tokens, n_classes)
    return {
        **describe(clf.classes_, full),
        "method": "occlusion",
        "tokens": [{"token": tok, "contributions": {c: float(v) for c, v in zip(clf.classes_, row)}}
                   for tok, row in zip(tokens, contributions)],
    }
