"""Data checks (`sentiment-rnn data check`): what in a labelled file would mislead a training or
flatter a test figure, before any training.

- duplicates within the file: exact (the same text) and near (the same text once case,
  punctuation, digits and spacing are set aside; or, with `near=True`, word 3-gram sets with a
  Jaccard similarity of at least 0.8, found by MinHash with locality-sensitive hashing);
- the same text under different labels (conflicts);
- across the file and a test file: texts of the test file also in the training file (leakage);
- empty and very long texts (over LONG_FACTOR times the median length), label balance, the mix of scripts;
- with a model: the share of its tokens that the model's vocabulary does not know;
- the rows most likely mislabelled: the highest loss under 5-fold cross-validated predictions of
  the linear baseline (TF-IDF + logistic regression), with `suspects=N`.

MinHash by hand (numpy, 64 hash functions, 16 bands of 4) because it is a few lines and the
well-kept libraries for it (datasketch) would be one more dependency for one function.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from .dataset import Reviews

NEAR_JACCARD = 0.8
PERMUTATIONS, BANDS = 64, 16
EXAMPLES = 5
LONG_FACTOR = 10  # a text this many times the median length is reported as very long
_STRIP = re.compile(r"[\W\d_]+", re.UNICODE)


def canonical(text: str) -> str:
    """The text with case, punctuation, digits and spacing set aside."""
    return _STRIP.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def check_file(reviews: Reviews, test: Reviews | None = None, near: bool = False, model=None,
               suspects: int = 0) -> dict[str, Any]:
    """The report for `reviews` (and, with `test`, what of it leaks into the test file)."""
    texts = reviews.texts
    report: dict[str, Any] = {"source": reviews.source, "rows": len(texts)}
    report["duplicates"] = _duplicates(texts, near)
    report["conflicting_labels"] = _conflicts(reviews)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    median = float(np.median(lengths)) if len(lengths) else 0.0
    long_rows = np.flatnonzero(lengths > LONG_FACTOR * max(median, 1))
    report["lengths"] = {"median_chars": median, "max_chars": int(lengths.max()) if len(lengths) else 0,
                         "empty": int(sum(1 for t in texts if not t.strip())),
                         "over_10x_median": int(len(long_rows)),
                         "over_10x_median_rows": [int(i) + 1 for i in long_rows[:EXAMPLES]]}
    report["labels"] = _balance(reviews)
    report["scripts"] = _scripts(texts)
    if test is not None:
        report["test"] = _leakage(reviews, test, near)
    if model is not None:
        report["out_of_vocabulary"] = _oov(model, texts)
    if suspects and reviews.labels is not None and not reviews.multilabel:
        report["likely_mislabelled"] = _suspects(reviews, suspects)
    return report


def _duplicates(texts: list[str], near: bool) -> dict[str, Any]:
    exact = _groups(texts)
    loose = _groups([canonical(t) for t in texts])
    result = {"exact_groups": len(exact), "exact_extra_rows": sum(len(g) - 1 for g in exact),
              "exact_examples": [[i + 1 for i in g] for g in exact[:EXAMPLES]],
              "near_groups": len(loose), "near_extra_rows": sum(len(g) - 1 for g in loose),
              "near_examples": [[i + 1 for i in g] for g in loose[:EXAMPLES]], "near_method": "canonical text"}
    if near:
        pairs = similar_pairs(texts)
        result.update(near_method=f"canonical text, and word 3-gram Jaccard >= {NEAR_JACCARD} (MinHash)",
                      similar_pairs=len(pairs), similar_examples=[[a + 1, b + 1] for a, b in pairs[:EXAMPLES]])
    return result


def _groups(keys: list[str]) -> list[list[int]]:
    """Rows sharing a key, two or more per group, in order of first appearance (empty keys skipped)."""
    rows: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if key:
            rows[key].append(i)
    return [g for g in rows.values() if len(g) > 1]


def _conflicts(reviews: Reviews) -> dict[str, Any]:
    if reviews.labels is None:
        return {"groups": 0, "examples": []}
    groups = [g for g in _groups([canonical(t) for t in reviews.texts])
              if len({str(reviews.labels[i]) for i in g}) > 1]
    return {"groups": len(groups), "rows": sum(len(g) for g in groups),
            "examples": [{"rows": [i + 1 for i in g], "labels": [reviews.labels[i] for i in g]} for g in groups[:EXAMPLES]]}


def _balance(reviews: Reviews) -> dict[str, Any]:
    counts = reviews.class_counts() if reviews.labels is not None else {}
    total = sum(counts.values()) or 1
    shares = {label: round(n / total, 4) for label, n in sorted(counts.items(), key=lambda kv: -kv[1])}
    ratio = max(counts.values()) / max(min(counts.values()), 1) if counts else None
    return {"counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])), "shares": shares,
            "largest_to_smallest": round(ratio, 2) if ratio else None}


def _scripts(texts: list[str], sample: int = 5000) -> dict[str, float]:
    """The share of texts by their most frequent script (letters only), on a seeded sample."""
    from ..text.scripts import script_of

    rng = np.random.default_rng(0)
    index = rng.choice(len(texts), size=min(sample, len(texts)), replace=False) if texts else []
    found = Counter()
    for i in index:
        letters = Counter(s for s in (script_of(c) for c in texts[i] if c.isalpha()) if s)
        found[letters.most_common(1)[0][0] if letters else "none"] += 1
    total = sum(found.values()) or 1
    return {script: round(n / total, 4) for script, n in found.most_common()}


def _leakage(train: Reviews, test: Reviews, near: bool) -> dict[str, Any]:
    seen_exact = set(train.texts)
    seen_loose = {canonical(t) for t in train.texts}
    exact = [i for i, t in enumerate(test.texts) if t in seen_exact]
    loose = [i for i, t in enumerate(test.texts) if canonical(t) in seen_loose]
    result = {"source": test.source, "rows": len(test), "in_train_exact": len(exact),
              "in_train_exact_share": round(len(exact) / max(len(test), 1), 5),
              "in_train_near": len(loose), "in_train_near_share": round(len(loose) / max(len(test), 1), 5),
              "examples_test_rows": [i + 1 for i in loose[:EXAMPLES]], "duplicates_within": _duplicates(test.texts, False)}
    if near:
        pairs = similar_pairs(train.texts + test.texts)
        cross = [(a, b - len(train)) for a, b in pairs if a < len(train) <= b]
        result["similar_to_train"] = len({b for _, b in cross})
        result["similar_examples"] = [{"train_row": a + 1, "test_row": b + 1} for a, b in cross[:EXAMPLES]]
    return result


def _oov(model, texts: list[str], sample: int = 5000) -> dict[str, Any]:
    from ..text.tokenizer import OOV_ID

    ids = model.encode(texts[:sample])
    tokens = sum(len(x) for x in ids)
    unknown = sum(int((x == OOV_ID).sum()) for x in ids)
    return {"reviews": len(ids), "tokens": tokens, "share": round(unknown / max(tokens, 1), 4)}


def _suspects(reviews: Reviews, n: int) -> dict[str, Any]:
    """The n rows whose label the cross-validated linear baseline finds least likely."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    classes = sorted({str(label) for label in reviews.labels})
    y = np.asarray([classes.index(str(label)) for label in reviews.labels])
    features = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(reviews.texts)
    folds = int(min(5, np.bincount(y).min()))
    if folds < 2:
        return {"rows": [], "why": "a class has fewer than two rows"}
    proba = cross_val_predict(LogisticRegression(C=4.0, max_iter=1000), features, y, cv=folds, method="predict_proba")
    loss = -np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1))
    worst = np.argsort(-loss)[:n]
    return {"method": f"{folds}-fold cross-validated TF-IDF + logistic regression, highest loss",
            "rows": [{"row": int(i) + 1, "label": classes[y[i]], "predicted": classes[int(proba[i].argmax())],
                      "p_label": round(float(proba[i, y[i]]), 4), "text": reviews.texts[i][:200]} for i in worst]}


def similar_pairs(texts: list[str], threshold: float = NEAR_JACCARD) -> list[tuple[int, int]]:
    """Pairs (i < j) whose word 3-gram sets have Jaccard ≥ threshold: MinHash signatures, bands
    as LSH buckets, every candidate verified exactly."""
    rng = np.random.default_rng(0)
    prime = np.uint64((1 << 61) - 1)
    a = rng.integers(1, 1 << 31, PERMUTATIONS, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, PERMUTATIONS, dtype=np.uint64)
    shingles, signatures = [], np.full((len(texts), PERMUTATIONS), np.iinfo(np.uint64).max, dtype=np.uint64)
    for i, text in enumerate(texts):
        words = canonical(text).split()
        grams = {zlib.crc32(" ".join(words[k:k + 3]).encode()) for k in range(max(len(words) - 2, 1))} if words else set()
        shingles.append(grams)
        if grams:
            values = np.fromiter(grams, dtype=np.uint64)
            signatures[i] = ((values[:, None] * a[None, :] + b[None, :]) % prime).min(axis=0)
    rows = PERMUTATIONS // BANDS
    candidates = set()
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i in range(len(texts)):
            if shingles[i]:
                buckets[signatures[i, band * rows:(band + 1) * rows].tobytes()].append(i)
        for members in buckets.values():
            if 1 < len(members) <= 200:  # a huge bucket is a degenerate signature, not 200 near-copies
                candidates.update((x, y) for k, x in enumerate(members) for y in members[k + 1:])
    pairs = []
    for i, j in sorted(candidates):
        union = len(shingles[i] | shingles[j])
        if union and len(shingles[i] & shingles[j]) / union >= threshold:
            pairs.append((i, j))
    return pairs
