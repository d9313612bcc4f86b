"""Calibration: the figures, temperature scaling fitted on validation and carried by every engine,
and `evaluate` reporting both versions."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import TINY_SETTINGS
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.calibration import expected_calibration_error, fit_temperature, report, uncalibrated


def test_ece_of_a_perfectly_calibrated_forecast_is_near_zero_and_of_an_overconfident_one_is_not():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = (rng.uniform(size=confidence.size) < confidence).astype(float)
    assert expected_calibration_error(confidence, correct) < 0.02
    assert expected_calibration_error(np.full(1000, 0.99), np.r_[np.ones(700), np.zeros(300)]) == pytest.approx(0.29)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_temperature_scaling_recovers_the_temperature_that_made_logits_overconfident(kind):
    rng = np.random.default_rng(1)
    n, outputs = 4000, {"binary": 1, "multiclass": 4, "multilabel": 3}[kind]
    true_logits = rng.normal(0, 2, (n, outputs))
    if kind == "multiclass":
        proba = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
        targets = np.array([rng.choice(outputs, p=p) for p in proba])
    else:
        targets = (rng.uniform(size=(n, outputs)) < 1 / (1 + np.exp(-true_logits))).astype(float)
        if kind == "binary":
            targets = targets[:, 0].astype(np.int64)
    assert fit_temperature(true_logits * 3.0, targets, kind) == pytest.approx(3.0, rel=0.15)


@pytest.mark.parametrize("shape", ["binary", "multiclass", "multilabel"])
def test_uncalibrated_undoes_the_temperature(shape):
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, (50, 1 if shape == "binary" else 4))
    t = 1.7

    def proba(z):
        if shape == "binary":
            p = 1 / (1 + np.exp(-z[:, 0]))
            return np.stack([1 - p, p], axis=1)
        if shape == "multilabel":
            return 1 / (1 + np.exp(-z))
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    np.testing.assert_allclose(uncalibrated(proba(logits / t), t, shape == "multilabel"), proba(logits), atol=1e-5)


def test_a_trained_model_is_calibrated_on_validation_and_evaluate_reports_both(tmp_path, tiny_data):
    clf = SentimentClassifier(**TINY_SETTINGS).fit(*tiny_data)
    calibration = clf.data_info_["calibration"]
    assert calibration["temperature"] > 0 and calibration["fitted_on"] == "validation"
    assert calibration["validation_after"]["nll"] <= calibration["validation_before"]["nll"] + 1e-6
    clf.save(tmp_path / "m")
    texts, labels = tiny_data
    (tmp_path / "test.jsonl").write_text("".join(json.dumps({"review": t, "sentiment": label}) + "\n"
                                                 for t, label in zip(texts, labels)))
    # every engine carries the temperature: the same probabilities in torch and ONNX
    torch_proba = SentimentClassifier.load(tmp_path / "m", engine="torch").predict_proba(texts)
    np.testing.assert_allclose(SentimentClassifier.load(tmp_path / "m", engine="onnx").predict_proba(texts),
                               torch_proba, atol=2e-6)
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "evaluate", str(tmp_path / "m"), "--file",
                           str(tmp_path / "test.jsonl"), "--json", "--reliability-diagram", str(tmp_path / "r.png")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)["calibration"]
    assert figures["temperature"] == calibration["temperature"]
    assert set(figures["model"]) == {"ece", "brier", "nll"} and set(figures["uncalibrated"]) == {"ece", "brier", "nll"}
    truth = np.array([clf.classes_.index(label) for label in labels])
    assert figures["model"]["nll"] == pytest.approx(report(torch_proba, truth, False)["nll"], rel=1e-3)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
