#!/usr/bin/env python
"""Issue-25 design check: which weighting of the hashed token n-grams should the wide part use?

On a trained IMDB model folder (its cleaning, vocabulary and truncation; its training seed's
validation split), fits a logistic regression on the n-gram rows the wide part reads (unigrams
= vocabulary ids, word pairs hashed into 2^20 rows) under several weightings, for C in 1, 4, 16,
64, and reports validation and test accuracy of each alone. The weightings:

- tfidf: raw count × idf, exact L2 norm (scikit-learn's TfidfVectorizer default)
- tfidf_sublinear: (1 + log count) × idf, exact L2 norm (the linear baseline's)
- tfidf_per_occurrence: count × idf over √(Σ per occurrence idf²): what the network computes
- binary: 1 per n-gram present, L2 norm;  mean: count / number of n-grams

    .venv/bin/python benchmarks/wide_features.py MODEL_DIR --archive ARCHIVE
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--archive", default=os.environ.get("SENTIMENT_RNN_IMDB"))
    args = parser.parse_args()
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    from sentiment_rnn import SentimentClassifier
    from sentiment_rnn.data.dataset import load_imdb_split
    from sentiment_rnn.models.wide import ngram_rows

    clf = SentimentClassifier.load(args.model)
    train = load_imdb_split(args.archive, "train")
    test = load_imdb_split(args.archive, "test")
    part, val = train.split_stratified(clf.training_config_.val_fraction, clf.training_config_.seed)
    vocab, buckets = clf.tokenizer_.vocab_size, 2 ** 20

    def counts(texts):
        rows = [ngram_rows(ids, 2, vocab, buckets) for ids in clf.encode(texts)]
        review = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        matrix = sparse.csr_matrix((np.ones(len(review)), (review, np.concatenate(rows))),
                                   shape=(len(rows), vocab + buckets))
        matrix.sum_duplicates()
        return matrix

    x = {"train": counts(part.texts), "val": counts(val.texts), "test": counts(test.texts)}
    y = {name: np.asarray([label == clf.classes_[1] for label in r.labels], dtype=int)
         for name, r in (("train", part), ("val", val), ("test", test))}
    df = np.asarray((x["train"] > 0).sum(axis=0)).ravel()
    idf = np.log((1 + x["train"].shape[0]) / (1 + df)) + 1

    def l2(matrix):
        norm = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        return sparse.diags(1 / np.maximum(norm, 1e-12)) @ matrix

    def weigh(matrix, mode):
        if mode == "tfidf":
            return l2(matrix.multiply(idf[None, :]).tocsr())
        if mode == "tfidf_sublinear":
            sub = matrix.copy()
            sub.data = 1 + np.log(sub.data)
            return l2(sub.multiply(idf[None, :]).tocsr())
        if mode == "tfidf_per_occurrence":
            norm = np.sqrt(np.asarray(matrix.multiply((idf ** 2)[None, :]).sum(axis=1)).ravel())
            return sparse.diags(1 / np.maximum(norm, 1e-12)) @ matrix.multiply(idf[None, :]).tocsr()
        if mode == "binary":
            binary = matrix.copy()
            binary.data[:] = 1
            return l2(binary)
        return sparse.diags(1 / np.maximum(np.asarray(matrix.sum(axis=1)).ravel(), 1)) @ matrix

    results = {}
    for mode in ("tfidf", "tfidf_sublinear", "tfidf_per_occurrence", "binary", "mean"):
        weighted = {name: weigh(m, mode) for name, m in x.items()}
        for c in (1, 4, 16, 64):
            model = LogisticRegression(C=c, solver="liblinear").fit(weighted["train"], y["train"])
            results[f"{mode}/C={c:g}"] = {name: round(float((model.predict(weighted[name]) == y[name]).mean()), 4)
                                          for name in ("val", "test")}
            print(json.dumps({mode: c, **results[f"{mode}/C={c:g}"]}), file=sys.stderr, flush=True)
    best = {mode: max((r["val"], key) for key, r in results.items() if key.startswith(mode + "/"))
            for mode in ("tfidf", "tfidf_sublinear", "tfidf_per_occurrence", "binary", "mean")}
    print("RESULT_JSON " + json.dumps({"model": args.model, "results": results,
                                       "best_by_val": {m: {"C": k.split("=")[1], **results[k]} for m, (_, k) in best.items()}}))


if __name__ == "__main__":
    main()
