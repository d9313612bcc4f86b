"""Classification metrics: accuracy, per-class precision/recall/F1, ROC-AUC, confusion matrix.

Written with NumPy rather than imported from scikit-learn: these are a few lines each, and
importing scikit-learn costs over a second in every `evaluate` and every tracked run.
`tests/test_metrics.py` checks them against scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: rows true class, columns predicted class."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def binary_roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve = probability that a random positive outranks a random negative
    (Mann–Whitney U), with tied scores counted half."""
    ranks = _average_ranks(scores)
    positives = y_true.astype(bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    # Tied values share the mean of their ranks.
    _, start, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    for s, c in zip(start[counts > 1], counts[counts > 1]):
        ranks[order[s:s + c]] = s + (c + 1) / 2
    return ranks


def roc_points(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) at every distinct threshold, for plotting."""
    order = np.argsort(-scores, kind="mergesort")
    hits = y_true[order].astype(bool)
    tpr = np.concatenate([[0.0], np.cumsum(hits) / max(1, hits.sum())])
    fpr = np.concatenate([[0.0], np.cumsum(~hits) / max(1, (~hits).sum())])
    return fpr, tpr


def classification_report(labels: list[str], proba: np.ndarray, classes: list[str]) -> dict[str, Any]:
    index = {c: i for i, c in enumerate(classes)}
    y_true = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    y_pred = proba.argmax(axis=1)
    matrix = confusion(y_true, y_pred, len(classes))
    true_positives = np.diag(matrix).astype(np.float64)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positives / predicted, 0.0)
        recall = np.where(support > 0, true_positives / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    report: dict[str, Any] = {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(support[i])} for i, c in enumerate(classes)},
        "confusion_matrix": {"labels": classes, "matrix": matrix.tolist()},
        "roc_auc": None,  # undefined when a class is absent from the labels
    }
    if all(support > 0):
        # Binary: the positive (second) class's score; more classes: the mean of one-vs-rest AUCs.
        aucs = [binary_roc_auc((y_true == k).astype(np.int64), proba[:, k])
                for k in ([1] if len(classes) == 2 else range(len(classes)))]
        report["roc_auc"] = float(np.mean(aucs))
    return report


def multilabel_report(label_sets: list[list[str]], proba: np.ndarray, classes: list[str],
                      thresholds: dict[str, float]) -> dict[str, Any]:
    """Several labels per row, each predicted at its own threshold: micro and macro F1, per-label
    precision/recall/F1, subset accuracy (every label of a row right; also `accuracy`), Hamming
    loss (the share of wrong row-label decisions), and the mean per-label ROC-AUC where a label is
    both present and absent."""
    index = {c: i for i, c in enumerate(classes)}
    truth = np.zeros((len(label_sets), len(classes)), dtype=bool)
    for row, names in enumerate(label_sets):
        truth[row, [index[name] for name in names]] = True
    predicted = proba >= np.asarray([thresholds[c] for c in classes])[None, :]
    hits, chosen, support = (predicted & truth).sum(axis=0), predicted.sum(axis=0), truth.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(chosen > 0, hits / chosen, 0.0)
        recall = np.where(support > 0, hits / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    micro_p = hits.sum() / max(chosen.sum(), 1)
    micro_r = hits.sum() / max(support.sum(), 1)
    subset = float((predicted == truth).all(axis=1).mean())
    aucs = [binary_roc_auc(truth[:, k].astype(np.int64), proba[:, k]) for k in range(len(classes))
            if 0 < support[k] < len(truth)]
    return {
        "n": int(len(truth)), "multilabel": True, "accuracy": subset, "subset_accuracy": subset,
        "micro_f1": float(2 * micro_p * micro_r / (micro_p + micro_r)) if micro_p + micro_r else 0.0,
        "macro_f1": float(f1.mean()), "hamming_loss": float((predicted != truth).mean()),
        "roc_auc": float(np.mean(aucs)) if aucs else None,
        "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(support[i]), "threshold": float(thresholds[c])}
                      for i, c in enumerate(classes)},
    }
