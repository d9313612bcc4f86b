"""Our NumPy metrics agree with scikit-learn's."""

import numpy as np
import pytest
from sklearn import metrics

from sentiment_rnn.metrics import binary_roc_auc, classification_report, roc_points


@pytest.mark.parametrize("n_classes", [2, 3])
def test_report_matches_sklearn(n_classes):
    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, n_classes, 500)
    proba = rng.dirichlet(np.ones(n_classes), 500)
    proba[np.arange(500), y] += rng.random(500) * 0.5  # some signal
    proba = proba.round(2)  # ties, which AUC must count half
    proba /= proba.sum(axis=1, keepdims=True)
    classes = [f"c{k}" for k in range(n_classes)]
    report = classification_report([classes[k] for k in y], proba, classes)
    pred = proba.argmax(axis=1)
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    p, r, f, s = metrics.precision_recall_fscore_support(y, pred, zero_division=0)
    for k, c in enumerate(classes):
        assert report["per_class"][c] == pytest.approx({"precision": p[k], "recall": r[k], "f1": f[k], "support": s[k]})
    assert report["confusion_matrix"]["matrix"] == metrics.confusion_matrix(y, pred).tolist()
    expected_auc = (metrics.roc_auc_score(y, proba[:, 1]) if n_classes == 2
                    else metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert report["roc_auc"] == pytest.approx(expected_auc)


def test_roc_points_and_missing_class():
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    assert binary_roc_auc(y, scores) == pytest.approx(metrics.roc_auc_score(y, scores))
    fpr, tpr = roc_points(y, scores)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    report = classification_report(["a", "a"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
    assert report["roc_auc"] is None and report["per_class"]["b"]["support"] == 0
