"""What a finished training leaves on its MLflow run: its datasets with their digests (raw,
cleaned, tokenized), plots, validation and test reports, and the model (a pyfunc, registered when
asked). The store may have failed while training ran (`Tracker.lost`): the model is saved
by then, and the command fails naming the run and the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..classifier import SentimentClassifier
from ..errors import TrackingError
from ..metrics import classification_report, multilabel_report
from ..training.recipe import Plan

INPUT_EXAMPLE = ["The movie was quite slow and some of the characters were rather boring, but overall it was a very "
                 "interesting movie."]


@dataclass
class TrainingRecord:
    """One training, as the run records it."""

    classifier: SentimentClassifier
    folder: Path  # the saved model folder
    plan: Plan  # its data: the raw and cleaned datasets (lineage) and the training/validation parts
    location: str  # where the raw data came from (a file, the archive)
    test_report: dict[str, Any] | None = None


def record_training(tracker, training: TrainingRecord) -> dict[str, Any]:
    """Record `training` on the tracker's run; the run id, model URI and registered version."""
    from .store import describe_failure, redacted

    result: dict[str, Any] = {}
    if not tracker.lost:
        try:
            result = _record(tracker, training)
        except Exception as exc:  # noqa: BLE001 - any failure of the store; the model is already saved
            tracker.lost = f"recording the datasets, plots and model failed: {describe_failure(exc)}"
    if tracker.lost:
        run_id = tracker.active_run.info.run_id if tracker.active_run else "?"
        raise TrackingError(f"the model is saved in {training.folder}, but MLflow run {run_id} at "
                            f"{redacted(tracker.uri)} is incomplete: {tracker.lost}")
    return result


def _record(tracker, training: TrainingRecord) -> dict[str, Any]:
    from .. import plots

    clf, plan, lineage = training.classifier, training.plan, training.plan.lineage
    raw, cleaned = lineage["raw"], lineage["cleaned"]
    tracker.log_dataset(f"raw ({raw.source})", raw.digest, training.location, len(raw), "raw")
    tracker.log_dataset("cleaned", cleaned["reviews"].digest, str(cleaned["file"]), len(cleaned["reviews"]), "cleaned")
    tracker.log_dataset("tokenized", clf.data_info_["tokenized_digest"], str(training.folder / "tokenizer.json"),
                        len(plan.train), "training", columns={"token_ids": "string", "label": "string"})
    tracker.log_dict({"cleaned_dataset_reused": cleaned["reused"], "cleaned_file": str(cleaned["file"])},
                     "data/lineage.json")

    history = clf.history_.to_dict()
    tracker.log_figure(plots.learning_curves(history), "plots/learning_curves.png")
    tracker.log_figure(plots.gradient_norms(history, clf.training_config_.clip_norm), "plots/gradient_norm.png")
    validation = plan.validation
    if validation is not None and len(validation):
        # The validation part is cleaned already: scored as the model's own pipeline would encode it.
        proba = clf.probabilities(clf.tokenizer_.encode(validation.texts))
        multilabel = clf.thresholds_ is not None  # label lists, each label at its own threshold
        report = (multilabel_report(validation.labels, proba, clf.classes_, clf.thresholds_) if multilabel
                  else classification_report(validation.labels, proba, clf.classes_))
        tracker.log_dict(report, "reports/classification_report_validation.json")
        tracker.log_metrics({"validation_accuracy": report["accuracy"], "validation_macro_f1": report["macro_f1"],
                             **({"validation_roc_auc": report["roc_auc"]} if report["roc_auc"] is not None else {}),
                             **({"validation_micro_f1": report["micro_f1"]} if multilabel else {})})
        if not multilabel:  # a confusion matrix of label sets would have a row per combination
            tracker.log_figure(plots.confusion_matrix(report["confusion_matrix"]["matrix"], clf.classes_),
                               "plots/confusion_matrix_validation.png")
        if len(clf.classes_) == 2 and report["roc_auc"] is not None:
            targets = np.asarray([clf.classes_.index(label) for label in validation.labels])
            tracker.log_figure(plots.roc_curve(targets, proba[:, 1], report["roc_auc"]),
                               "plots/roc_curve_validation.png")
    calibration = clf.data_info_.get("calibration")
    if calibration:
        tracker.log_figure(plots.reliability_diagram(
            {"as trained": calibration["bins"]["before"],
             f"temperature {calibration['temperature']:g}": calibration["bins"]["after"]}, "validation"),
            "plots/reliability_validation.png")
        tracker.log_metrics({"temperature": calibration["temperature"],
                             "validation_ece_before_calibration": calibration["validation_before"]["ece"],
                             "validation_ece": calibration["validation_after"]["ece"],
                             "validation_nll": calibration["validation_after"]["nll"]})
    baseline = clf.baseline_
    if baseline:
        tracker.log_dict(baseline, "reports/baseline_validation.json")
        tracker.log_metrics({"baseline_val_accuracy": baseline["val_accuracy"],
                             "baseline_val_macro_f1": baseline["val_macro_f1"]})
    if training.test_report is not None:
        test = training.test_report
        tracker.log_dict(test, "reports/classification_report_test.json")
        tracker.log_metrics({"test_accuracy": test["accuracy"], "test_roc_auc": test["roc_auc"],
                             "test_macro_f1": test["macro_f1"]})
    return tracker.log_model(training.folder, input_example=INPUT_EXAMPLE)
