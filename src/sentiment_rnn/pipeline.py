"""What `sentiment-rnn train` and `evaluate` do, as library functions the CLI (and tracking, and
distributed launchers) call: load the configured data, fit, save, evaluate."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from .classifier import SentimentClassifier
from .config import DataConfig, ExperimentConfig
from .data.dataset import Reviews, load_imdb_split, load_labeled_file, load_text_file
from .data.imdb import Progress, resolve_archive
from .errors import ConfigError, DataError, OutputError
from .io import free_space, out_of_space
from .metrics import classification_report, multilabel_report
from .training.callbacks import Callback
from .training.distributed import current


def load_reviews(data: DataConfig, split: str = "train", file: str | None = None, limit: int | None = None,
                 seed: int = 42, progress: Progress | None = None) -> Reviews:
    """IMDB `split` from the archive, or a user's labelled file; then the class-balanced `limit`."""
    if file:
        reviews = load_labeled_file(file, data.text_column, data.label_column, data.skip_empty, data.min_class_rows,
                                    data.label_names, data.label_separator, data.label_columns)
    else:
        reviews = load_imdb_split(data.archive, split, progress=progress)
    return reviews.limit_balanced(limit, seed)


def train(config: ExperimentConfig, out: str | Path, callbacks: list[Callback] | None = None,
          resume: bool = False, progress: Progress | None = None, tracker: Any = None,
          evaluate_test: bool = False, overwrite: bool = False) -> tuple[SentimentClassifier, dict[str, Any]]:
    """Train on the configured data's train split and save the model folder to `out`. Under
    torchrun every rank trains its shard and rank 0 writes.

    With a `tracking.runs.Tracker`, the run records parameters, metrics, the raw and derived
    datasets, plots and the model; it ends FINISHED, FAILED (an exception) or KILLED (an interrupt).
    """
    if not str(out).strip():
        raise ConfigError("--out is empty: name the model folder to write")
    out = Path(out)
    created = not out.exists()
    try:
        with writer_lock(out) if current().rank == 0 else contextlib.nullcontext():
            if (out / "config.json").exists() and not (overwrite or resume):
                raise DataError("already holds a trained model: pass --overwrite to replace it, --resume to continue "
                                "its training, or choose another --out", source=str(out))
            with tracker.run(config.flat()) if tracker is not None else contextlib.nullcontext():
                return _train(config, out, callbacks, resume, progress, tracker, evaluate_test)
    except BaseException as exc:
        if created:
            _remove_if_empty(out)
        if isinstance(exc, Exception) and not isinstance(exc, OutputError) and out_of_space(exc):
            where = getattr(exc, "filename", None) or out
            raise OutputError(f"{where}: no space left on the device ({free_space(Path(where).parent)} free); "
                              f"training stopped, earlier checkpoints are kept") from exc
        raise


def _remove_if_empty(folder: Path) -> None:
    """A training that failed before writing anything leaves no folder behind it (checkpoints stay)."""
    import shutil

    if folder.is_dir() and not any(path.is_file() for path in folder.rglob("*")):
        shutil.rmtree(folder, ignore_errors=True)


def _train(config, out, callbacks, resume, progress, tracker, evaluate_test):
    """Read the data, plan, fit, save; score the test split and record the run when asked."""
    from .training import recipe

    started = time.perf_counter()
    data = config.data
    raw = load_reviews(data, "train", data.train_file, data.limit, config.training.seed, progress)
    # The training data's classes decide; a class with few rows in a dev split is no typo.
    validation = (load_reviews(dataclasses.replace(data, min_class_rows=0), file=data.validation_file)
                  if data.validation_file else None)
    wants_unlabeled = recipe.unlabeled_uses(config.model, config.training)
    unlabeled = load_unlabeled(data, progress) if wants_unlabeled else None
    plan = recipe.plan(config.classifier, raw, validation=validation, unlabeled=unlabeled, cache=True)
    plan.info["limit"] = data.limit
    clf = SentimentClassifier(config.text, config.tokenizer, config.model, config.training, config.embeddings)
    clf.fit_plan(plan, callbacks=[*(callbacks or []), *([tracker] if tracker is not None else [])],
                 checkpoint_dir=out / "checkpoints", resume=resume)
    summary = {"train_seconds": round(time.perf_counter() - started, 2), "dropped": dict(raw.dropped),
               **_best_epoch_summary(clf), **({"baseline": clf.baseline_} if clf.baseline_ else {})}
    if current().rank != 0:
        return clf, summary
    test_report = None
    if evaluate_test:
        test_report = evaluate(clf, load_reviews(data, "test", limit=None, seed=config.training.seed))
        summary["test_accuracy"] = test_report["accuracy"]
    clf.save(out, metrics={"training": summary, **({"test": test_report} if test_report else {})})
    if tracker is not None:
        from .tracking.record import TrainingRecord

        location = data.train_file or str(resolve_archive(data.archive))
        summary.update(tracker.record(TrainingRecord(clf, out, plan, location, test_report)))
    return clf, summary


@contextlib.contextmanager
def writer_lock(folder: Path):
    """One training at a time per model folder: a second one is refused at once, naming the first."""
    import fcntl
    import os

    _check_writable(folder)  # before any data is read, not after an epoch
    path = folder / ".training.lock"
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise DataError(f"another training is writing this model folder (process {holder}); wait for it or choose "
                        f"another --out", source=str(folder)) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()


def _check_writable(folder: Path) -> None:
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise DataError(f"cannot write the model folder here ({exc.strerror})", source=str(folder)) from None


def load_unlabeled(data: DataConfig, progress: Progress | None = None) -> Reviews | None:
    """Unlabeled reviews for word vectors, VAT, entropy minimisation and distillation:
    `data.unlabeled_file`, else the IMDB archive's train/unsup when training on the archive, else
    None (the recipe then says what is left out). Never the test split."""
    if data.unlabeled_file:
        reviews = load_text_file(data.unlabeled_file, data.text_column)
    elif not data.train_file:
        reviews = load_imdb_split(data.archive, "unsup", progress=progress)
    else:
        return None
    if data.unlabeled_limit:
        reviews = reviews.subset(range(min(data.unlabeled_limit, len(reviews))))
    return reviews


def _best_epoch_summary(clf: SentimentClassifier) -> dict[str, Any]:
    """The best epoch's figures; with a wide part, `val_accuracy` is the joined model's (the model
    that was saved) and `val_accuracy_recurrent` the best epoch's."""
    history, wide = clf.history_, clf.data_info_.get("wide")
    summary: dict[str, Any] = {}
    if history and history.epochs:
        best = next((e for e in history.epochs if e.epoch == history.best_epoch), history.epochs[-1])
        summary = {"epochs_run": len(history.epochs), "best_epoch": best.epoch, "val_accuracy": best.val_accuracy,
                   "val_loss": best.val_loss, "stopped_early": history.stopped_early,
                   "train_reviews_per_s": round(sum(e.reviews_per_s for e in history.epochs) / len(history.epochs), 1)}
    if wide:
        summary["wide"] = wide
        if "val_accuracy_joined" in wide:  # the recurrent part alone, where there is one
            summary["val_accuracy_recurrent"] = summary.get("val_accuracy")
            summary["val_accuracy"] = wide["val_accuracy_joined"]
    if clf.data_info_.get("val_macro_f1") is not None:  # multi-label: at the thresholds chosen on validation
        summary["val_macro_f1"] = round(clf.data_info_["val_macro_f1"], 4)
    return summary


def evaluate(clf: SentimentClassifier, reviews: Reviews, batch_size: int = 256) -> dict[str, Any]:
    """The model's report on labelled `reviews`: accuracy, F1, ROC-AUC, the confusion matrix; for a
    multi-label model micro/macro F1, subset accuracy and Hamming loss at its thresholds."""
    started = time.perf_counter()
    proba = clf.predict_proba(reviews.texts, batch_size)
    seconds = time.perf_counter() - started
    unknown = sorted(set(reviews.class_counts()) - set(clf.classes_))
    if unknown:
        raise DataError(f"labels {unknown} are not classes of this model ({clf.classes_})", source=reviews.source)
    if clf.thresholds_ is not None:
        label_sets = reviews.labels if reviews.multilabel else [[label] for label in reviews.labels]
        report = multilabel_report(label_sets, proba, clf.classes_, clf.thresholds_)
    else:
        if reviews.multilabel:
            raise DataError("rows hold several labels but this model predicts one: evaluate it without "
                            "--label-separator", source=reviews.source)
        report = classification_report(reviews.labels, proba, clf.classes_)
    report["calibration"] = calibration_figures(clf, reviews, proba)
    report.update(source=reviews.source, seconds=round(seconds, 2), reviews_per_s=round(len(reviews) / seconds, 1))
    return report


def calibration_figures(clf, reviews: Reviews, proba: np.ndarray) -> dict[str, Any]:
    """ECE (15 bins), Brier score and NLL of the model as it is (`model`) and, for a temperature-scaled
    model, as it was before the scaling (`uncalibrated`: its probabilities unscaled)."""
    from .calibration import reliability_bins, report, uncalibrated
    from .training.recipe import targets

    multilabel = clf.thresholds_ is not None
    labels = (reviews.labels if reviews.multilabel else [[label] for label in reviews.labels]) if multilabel \
        else reviews.labels
    truth = targets(labels, list(clf.classes_))
    temperature = _temperature(clf)
    versions = {"model": proba}
    if temperature:
        versions["uncalibrated"] = uncalibrated(proba, temperature, multilabel)
    figures: dict[str, Any] = {"temperature": temperature, "bins": {}}
    for name, p in versions.items():
        figures[name] = report(p, truth, multilabel)
        figures["bins"][name] = reliability_bins(p, truth, multilabel)
    return figures


def _temperature(clf) -> float | None:
    return (getattr(clf, "data_info_", None) or {}).get("calibration", {}).get("temperature")


def pretrain_embeddings(config: ExperimentConfig, out: str | Path, limit: int | None = None,
                        progress: Progress | None = None) -> dict[str, Any]:
    """Word vectors (config.embeddings) from `data.unlabeled_file` (any language: text.language
    "auto" is read from its script), else IMDB's 50k unlabeled and 25k training reviews, cleaned by
    config.text exactly as the classifier cleans them; written to `out` in word2vec text format.
    The test split is never read. `limit`: the first N reviews only (for quick trials)."""
    from .data.derived import prepare_cleaned
    from .embeddings import train_vectors, write_vectors

    started = time.perf_counter()
    texts: list[str] = []
    if config.data.unlabeled_file:
        raw = load_text_file(config.data.unlabeled_file, config.data.text_column)
        sources = [(raw, config.text.for_texts(raw.texts))]
    else:
        sources = [(load_imdb_split(config.data.archive, split, progress=progress), config.text)
                   for split in ("unsup", "train")]
    for raw, text in sources:
        cleaned, _, _ = prepare_cleaned(raw, text)
        texts.extend(cleaned.texts)
    sentences = [text.split() for text in texts[:limit]]
    settings = config.embeddings
    if not settings.dim:  # a file for the configured classifier
        settings = settings.for_model(config.model)
    words, vectors = train_vectors(sentences, settings)
    write_vectors(out, words, vectors)
    return {"out": str(out), "reviews": len(sentences), "tokens": sum(map(len, sentences)), "words": len(words),
            "dim": int(vectors.shape[1]), "algorithm": config.embeddings.algorithm,
            "seconds": round(time.perf_counter() - started, 1)}


def prepare_data(config: ExperimentConfig) -> dict[str, Any]:
    """`sentiment-rnn data prepare`: build (or reuse from the cache) the cleaned training set."""
    from .data.derived import prepare_cleaned

    raw = load_reviews(config.data, "train", config.data.train_file, config.data.limit, config.training.seed)
    cleaned, path, reused = prepare_cleaned(raw, config.text)
    return {"raw_digest": raw.digest, "cleaned_digest": cleaned.digest, "rows": len(cleaned), "file": str(path),
            "reused": reused, "dropped": raw.dropped}
