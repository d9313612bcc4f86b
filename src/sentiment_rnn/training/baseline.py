"""The linear baseline beside every training: TF-IDF + logistic regression on the same training
part, scored on the same validation part as the network, so that a user sees at once whether the
recurrent model earns its place on their data.

Word 1–2 grams (sublinear tf, min_df 2, scikit-learn's own tokenizer) on the raw texts, the
reference baseline of IMDB sentiment; character 1–3 grams for scripts written without spaces
(Chinese, Japanese, Thai...), where a "word" would be a whole sentence. C is chosen from a small
grid on the validation part, as the network's best epoch is.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

UNSPACED_LANGUAGES = ("zh", "ja", "th", "lo", "my", "km")
C_GRID = (1.0, 4.0, 16.0)


def linear_baseline(train_texts: list[str], train_labels: list[str], val_texts: list[str], val_labels: list[str],
                    classes: list[str], language: str) -> dict[str, Any] | None:
    """The baseline's validation accuracy and macro-F1 at its best C, or None (with a warning) when
    scikit-learn is not installed."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        warnings.warn("scikit-learn is not installed, so no linear baseline is fitted beside the network "
                      "(pip install scikit-learn, a dependency of sentiment-rnn, or set training.baseline = false)", stacklevel=3)
        return None
    from ..metrics import classification_report

    started = time.perf_counter()
    unspaced = language in UNSPACED_LANGUAGES
    vectorizer = (TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2) if unspaced
                  else TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2))
    train, val = vectorizer.fit_transform(train_texts), vectorizer.transform(val_texts)
    index = {c: i for i, c in enumerate(classes)}
    y_train = np.asarray([index[label] for label in train_labels])
    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, solver="liblinear" if len(classes) == 2 else "lbfgs", max_iter=1000)
        model.fit(train, y_train)
        proba = np.zeros((len(val_texts), len(classes)))
        proba[:, model.classes_] = model.predict_proba(val)  # a class absent from the training part: 0
        report = classification_report(val_labels, proba, classes)
        if best is None or report["accuracy"] > best[1]["accuracy"]:
            best = (c, report)
    c, report = best
    return {"model": "tfidf+logistic_regression", "features": "characters 1-3" if unspaced else "words 1-2",
            "C": c, "val_accuracy": report["accuracy"], "val_macro_f1": report["macro_f1"],
            "seconds": round(time.perf_counter() - started, 1)}
