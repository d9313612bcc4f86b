"""Training plots as matplotlib figures (learning curves, gradient norm, confusion matrix, ROC,
reliability diagram)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def learning_curves(history: dict[str, Any]):
    plt = _pyplot()
    epochs = history["epochs"]
    x = [e["epoch"] + 1 for e in epochs]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(x, [e["train_loss"] for e in epochs], "o-", label="train")
    acc_ax.plot(x, [e["train_accuracy"] for e in epochs], "o-", label="train")
    if epochs and epochs[0]["val_loss"] is not None:
        loss_ax.plot(x, [e["val_loss"] for e in epochs], "o-", label="validation")
        acc_ax.plot(x, [e["val_accuracy"] for e in epochs], "o-", label="validation")
    for ax, name in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def gradient_norms(history: dict[str, Any], clip_norm: float):
    plt = _pyplot()
    steps = history["steps"]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(steps["step"], steps["grad_norm"], linewidth=0.7, label="pre-clip global norm")
    if clip_norm > 0:
        ax.axhline(clip_norm, color="red", linestyle="--", label=f"clip at {clip_norm}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm")
    ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(matrix: list[list[int]], labels: list[str]):
    plt = _pyplot()
    values = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4 + len(labels) * 0.5, 3.5 + len(labels) * 0.5))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > values.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return fig


def roc_curve(targets: np.ndarray, scores: np.ndarray, auc: float | None):
    from .metrics import roc_points

    plt = _pyplot()
    fpr, tpr = roc_points(targets, scores)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC {auc:.4f}" if auc is not None else None)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    if auc is not None:
        ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def reliability_diagram(bins: dict[str, list[dict[str, Any]]], title: str = ""):
    """Accuracy against mean confidence per bin (calibration.reliability_bins), one line per
    version of the model (e.g. as trained and after temperature scaling); the diagonal is perfect
    calibration, and each point's size follows its bin's share of the reviews."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="perfectly calibrated")
    for name, rows in bins.items():
        used = [r for r in rows if r["count"]]
        total = sum(r["count"] for r in used) or 1
        line, = ax.plot([r["confidence"] for r in used], [r["accuracy"] for r in used], "-", label=name)
        ax.scatter([r["confidence"] for r in used], [r["accuracy"] for r in used],
                   s=[10 + 300 * r["count"] / total for r in used], color=line.get_color())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (mean per bin)")
    ax.set_ylabel("accuracy (share right per bin)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
