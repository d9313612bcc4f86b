"""Classification metrics: accuracy, per-class precision/recall/F1, ROC-AUC, confusion matrix."""

from __future__ import annotations

from typing import Any

import numpy as np


def classification_report(labels: list[str], proba: np.ndarray, classes: list[str]) -> dict[str, Any]:
    from sklearn import metrics  # heavy; only evaluation needs it

    index = {c: i for i, c in enumerate(classes)}
    y_true = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    y_pred = proba.argmax(axis=1)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(len(classes)), zero_division=0)
    report: dict[str, Any] = {
        "n": int(len(y_true)),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(support[i])} for i, c in enumerate(classes)},
        "confusion_matrix": {"labels": classes,
                             "matrix": metrics.confusion_matrix(y_true, y_pred, labels=range(len(classes))).tolist()},
    }
    present = np.unique(y_true)
    if len(present) == len(classes):
        if len(classes) == 2:
            report["roc_auc"] = float(metrics.roc_auc_score(y_true, proba[:, 1]))
        else:
            report["roc_auc"] = float(metrics.roc_auc_score(y_true, proba, multi_class="ovr"))
    else:
        report["roc_auc"] = None  # undefined when a class is absent from the labels
    return report
