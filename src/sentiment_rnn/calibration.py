"""Is 0.9 really 90 %? Calibration figures, and temperature scaling (Guo et al. 2017).

Temperature scaling divides the logits by one scalar T, fitted on the validation part at the end
of training by minimising the negative log-likelihood. It changes no decision of a single-label
model (the arg max stays) and only the confidence. The trained network carries it in its output
layer (the head's last linear layer and the wide part are divided by T), so every engine (torch,
ONNX fp32 and int8, the pyfunc, the service) applies it with no code of its own; config.json
records T and the validation figures before and after.

Figures: expected calibration error (15 equal-width bins of the predicted class's confidence; for
multi-label models, of each label's probability), Brier score and negative log-likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BINS = 15
T_RANGE = (0.05, 20.0)


def fit_temperature(logits: np.ndarray, targets: np.ndarray, kind: str) -> float:
    """The T in `T_RANGE` with the lowest NLL of logits / T (a bounded 1-D search on log T).
    kind: "binary" (logits (n, 1), targets 0/1), "multiclass" (targets class indices) or
    "multilabel" (targets multi-hot)."""
    from scipy.optimize import minimize_scalar

    logits = logits.astype(np.float64)
    result = minimize_scalar(lambda log_t: _nll(logits / np.exp(log_t), targets, kind),
                             bounds=tuple(np.log(T_RANGE)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def _nll(logits: np.ndarray, targets: np.ndarray, kind: str) -> float:
    if kind == "multiclass":
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_proba = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(-log_proba[np.arange(len(targets)), targets].mean())
    z = logits.reshape(len(targets), -1)
    y = targets.reshape(len(targets), -1).astype(np.float64)
    # log σ(z) = -softplus(-z); log(1 - σ(z)) = -softplus(z)
    return float((y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)).mean())


def report(proba: np.ndarray, truth: np.ndarray, multilabel: bool) -> dict[str, float]:
    """ECE, Brier score and NLL of probabilities (n, C); `truth` (n,) class indices, or (n, C)
    0/1 for multi-label (each label a binary forecast)."""
    eps = 1e-7
    if multilabel:
        p, y = proba.ravel().astype(np.float64), truth.ravel().astype(np.float64)
        brier = float(((p - y) ** 2).mean())
        nll = float(-(y * np.log(np.clip(p, eps, 1)) + (1 - y) * np.log(np.clip(1 - p, eps, 1))).mean())
    else:
        onehot = np.zeros_like(proba, dtype=np.float64)
        onehot[np.arange(len(truth)), truth] = 1
        brier = float(((proba - onehot) ** 2).sum(axis=1).mean())
        nll = float(-np.log(np.clip(proba[np.arange(len(truth)), truth], eps, 1)).mean())
    return {"ece": expected_calibration_error(*forecasts(proba, truth, multilabel)), "brier": brier, "nll": nll}


def forecasts(proba: np.ndarray, truth: np.ndarray, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) pairs that ECE and the reliability diagram bin: the predicted class's
    probability and whether it was right; for multi-label, each label's probability and whether
    the label holds."""
    if multilabel:
        return proba.ravel().astype(np.float64), truth.ravel().astype(np.float64)
    return proba.max(axis=1), (proba.argmax(axis=1) == truth).astype(np.float64)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    """Σ_bins (n_bin / n) · |accuracy_bin − mean confidence_bin| over equal-width bins of [0, 1]."""
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def reliability_bins(proba: np.ndarray, truth: np.ndarray, multilabel: bool, bins: int = BINS) -> list[dict[str, Any]]:
    """Per bin: its range, count, mean confidence and accuracy (for the reliability diagram)."""
    confidence, correct = forecasts(proba, truth, multilabel)
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        rows.append({"low": b / bins, "high": (b + 1) / bins, "count": int(inside.sum()),
                     "confidence": float(confidence[inside].mean()) if inside.any() else None,
                     "accuracy": float(correct[inside].mean()) if inside.any() else None})
    return rows


def uncalibrated(proba: np.ndarray, temperature: float, multilabel: bool) -> np.ndarray:
    """The probabilities the model gave before temperature scaling: logits recovered from `proba`
    and multiplied back by T (softmax is shift-invariant, so log p serves as logits)."""
    eps = 1e-12
    if multilabel or proba.shape[1] == 2:
        if not multilabel:  # binary: one logit, p(positive)
            positive = np.clip(proba[:, 1].astype(np.float64), eps, 1 - eps)
            back = 1 / (1 + np.exp(-np.log(positive / (1 - positive)) * temperature))
            return np.stack([1 - back, back], axis=1).astype(np.float32)
        p = np.clip(proba.astype(np.float64), eps, 1 - eps)
        return (1 / (1 + np.exp(-np.log(p / (1 - p)) * temperature))).astype(np.float32)
    logits = np.log(np.clip(proba.astype(np.float64), eps, 1)) * temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)
