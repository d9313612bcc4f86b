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
from .text.tokenizer import OOV_ID


def explain(clf: SentimentClassifier, text: str, batch_size: int = 128, engine=None) -> dict[str, Any]:
    """The prediction for `text` and each token's contribution, scored on `engine` (default: the
    classifier's own). Each token also says where it lies in `text` as given (`start`, `end`:
    character offsets, None where cleaning made it from something it does not literally contain)
    and whether the vocabulary knows it (`known`), so that a page can shade the user's own text."""
    clf.encode([text])  # validates the input like every other prediction path
    ids, tokens = clf.tokenizer_.encode_with_surface(clf.cleaner(text))
    variants = [ids] + [np.delete(ids, i) if len(ids) > 1 else ids for i in range(len(ids))]
    proba = clf.probabilities(variants, batch_size, engine)
    full = proba[0]
    contributions = full[None, :] - proba[1:]  # (n_tokens, n_classes)
    spans = locate(text, tokens)
    predicted = int(full.argmax())
    return {
        **describe(clf.classes_, full, clf.thresholds_, getattr(clf, "decision_", None)),
        "faithfulness": faithfulness(clf, ids, full, contributions[:, predicted], predicted, batch_size, engine),
        "method": "occlusion",
        "tokens": [{"token": tok, "start": start, "end": end, "known": int(i) != OOV_ID,
                    "contributions": {c: float(v) for c, v in zip(clf.classes_, row)}}
                   for tok, i, (start, end), row in zip(tokens, ids, spans, contributions)],
    }


FRACTIONS = (0.05, 0.1, 0.2, 0.5)  # of the review's tokens, at least one (ERASER's bins, DeYoung et al. 2020)


def faithfulness(clf, ids: np.ndarray, full: np.ndarray, contribution: np.ndarray, predicted: int,
                 batch_size: int = 128, engine=None, seed: int = 0) -> dict[str, float]:
    """Do the words the explanation ranks first carry the prediction? (DeYoung et al. 2020.)
    comprehensiveness: the drop in the predicted class's probability when the top-k words are
    removed; sufficiency: its drop when only they are kept (in order); each averaged over k = 5, 10,
    20 and 50 % of the tokens. The same with k words drawn at random (seeded) is the control: a
    faithful explanation removes more than random words (higher comprehensiveness) and keeps
    more with fewer (lower sufficiency)."""
    n = len(ids)
    rng = np.random.default_rng(seed)
    ranked = np.argsort(-contribution, kind="stable")
    variants = []
    for fraction in FRACTIONS:
        k = max(1, int(round(fraction * n)))
        for chosen in (ranked[:k], rng.permutation(n)[:k]):
            keep = np.ones(n, dtype=bool)
            keep[chosen] = False
            variants.append(ids[keep] if keep.any() else ids[:0])  # without them
            variants.append(ids[np.sort(chosen)])  # only them
    safe = [v if len(v) else np.asarray([OOV_ID], dtype=ids.dtype) for v in variants]  # nothing left: one unknown word
    drop = full[predicted] - clf.probabilities(safe, batch_size, engine)[:, predicted]
    drop = drop.reshape(len(FRACTIONS), 2, 2)  # fraction, (top, random), (removed, kept only)
    return {"comprehensiveness": float(drop[:, 0, 0].mean()), "sufficiency": float(drop[:, 0, 1].mean()),
            "random_comprehensiveness": float(drop[:, 1, 0].mean()), "random_sufficiency": float(drop[:, 1, 1].mean())}


def sample_faithfulness(clf, texts: list[str], n: int, seed: int = 0) -> dict[str, Any]:
    """`faithfulness` averaged over n reviews drawn from `texts` (seeded): `evaluate --explanations N`."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
    rows = [explain(clf, texts[i])["faithfulness"] for i in chosen]
    return {"reviews": len(rows), "fractions": list(FRACTIONS),
            **{key: float(np.mean([r[key] for r in rows])) for key in rows[0]}} if rows else {"reviews": 0}


def locate(raw: str, tokens: list[str]) -> list[tuple[int | None, int | None]]:
    """Where each cleaned token lies in the raw text, searching forward in order.

    Cleaning lowercases, applies NFKC and folds typographic quotes, strips tags and drops stopwords,
    so the raw text is compared through the same character folding, each folded character keeping
    the index of the raw character it came from. A token not found ahead (one that cleaning built,
    like an entity's replacement) gets no span, and the search goes on from where it was."""
    from .text.cleaning import lowercase, normalize_unicode

    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        for piece in lowercase(normalize_unicode(char)):
            folded.append(piece)
            origin.append(index)
    haystack = "".join(folded)
    spans: list[tuple[int | None, int | None]] = []
    cursor = 0
    for token in tokens:
        found = haystack.find(token, cursor) if token else -1
        if found < 0:
            spans.append((None, None))
            continue
        last = found + len(token) - 1
        spans.append((origin[found], origin[last] + 1))
        cursor = found + len(token)
    return spans
