"""What `sentiment-rnn train` and `evaluate` do, as library functions the CLI (and tracking, and
distributed launchers) call: load the configured data, fit, save, evaluate."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Any

from .classifier import SentimentClassifier
from .config import DataConfig, ExperimentConfig
from .data.dataset import Reviews, load_imdb_split, load_labeled_file, load_text_file
from .data.imdb import Progress, resolve_archive
from .errors import ConfigError, DataError, OutputError, TrackingError
from .io import free_space, out_of_space
from .metrics import classification_report
from .training.callbacks import Callback
from .training.distributed import current


def load_reviews(data: DataConfig, split: str = "train", file: str | None = None, limit: int | None = None,
                 seed: int = 42, progress: Progress | None = None) -> Reviews:
    """IMDB `split` from the archive, or a user's labelled file; then the class-balanced `limit`."""
    if file:
        reviews = load_labeled_file(file, data.text_column, data.label_column, data.skip_empty, data.min_class_rows)
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
    config = with_encoder_settings(config)
    out = Path(out)
    created = not out.exists()
    try:
        with writer_lock(out) if current().rank == 0 else contextlib.nullcontext():
            if (out / "config.json").exists() and not (overwrite or resume):
                raise DataError("already holds a trained model: pass --overwrite to replace it, --resume to continue "
                                "its training, or choose another --out", source=str(out))
            return _tracked(config, out, callbacks, resume, progress, tracker, evaluate_test)
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


def _tracked(config, out, callbacks, resume, progress, tracker, evaluate_test):
    """The training, as one MLflow run when there is a tracker."""
    if tracker is not None:
        tracker.start(config.flat())
    try:
        clf, summary = _train(config, out, callbacks, resume, progress, tracker, evaluate_test)
    except KeyboardInterrupt:
        if tracker is not None:
            tracker.end("KILLED")
        raise
    except BaseException:
        if tracker is not None:
            tracker.end("FAILED")
        raise
    if tracker is not None:
        tracker.end("FINISHED")
    return clf, summary


def with_encoder_settings(config: ExperimentConfig) -> ExperimentConfig:
    """With `model.init_encoder`, the encoder's cleaning, vocabulary and recurrent layers apply (read
    from its config.json; the classifier reads its weights when it fits)."""
    if not config.model.init_encoder:
        return config
    import dataclasses

    from .folder import encoder_settings, read_encoder_settings

    lm, encoder_text, vocabulary, _ = read_encoder_settings(config.model.init_encoder)
    tokenizer, model = encoder_settings(lm, vocabulary, config.tokenizer, config.model)
    return dataclasses.replace(config, text=encoder_text, tokenizer=tokenizer, model=model)


def _train(config, out, callbacks, resume, progress, tracker, evaluate_test):
    from .data.derived import prepare_cleaned

    started = time.perf_counter()
    raw = load_reviews(config.data, "train", config.data.train_file, config.data.limit, config.training.seed, progress)
    config = dataclasses.replace(config, text=config.text.for_texts(raw.texts))
    cleaned, cleaned_file, reused = prepare_cleaned(raw, config.text)
    train_part, val_part = cleaned.split_stratified(config.training.val_fraction, config.training.seed)
    data_info = {"source": raw.source, "digest": raw.digest, "cleaned_digest": cleaned.digest,
                 "class_counts": raw.class_counts(), "dropped": raw.dropped, "limit": config.data.limit}
    unlabeled = load_unlabeled(config, progress) if uses_unlabeled(config) else None
    if unlabeled is not None:
        data_info["unlabeled"] = {"source": unlabeled.source, "digest": unlabeled.digest, "rows": len(unlabeled)}
        unlabeled, _, _ = prepare_cleaned(unlabeled, config.text)
    clf = SentimentClassifier(config.text, config.tokenizer, config.model, config.training, config.embeddings)
    clf.fit_cleaned(train_part.texts, train_part.labels,
                    validation=(val_part.texts, val_part.labels) if config.training.val_fraction > 0 else None,
                    unlabeled=unlabeled.texts if unlabeled is not None else None,
                    callbacks=[*(callbacks or []), *([tracker] if tracker is not None else [])],
                    checkpoint_dir=out / "checkpoints", resume=resume)
    clf.data_info_.update(data_info)
    rank = current().rank
    summary = {"train_seconds": round(time.perf_counter() - started, 2), "dropped": dict(raw.dropped),
               **_best_epoch_summary(clf)}
    test_report = None
    if evaluate_test and rank == 0:
        test_report = evaluate(clf, load_reviews(config.data, "test", limit=None, seed=config.training.seed))
        summary["test_accuracy"] = test_report["accuracy"]
    if rank == 0:
        clf.save(out, metrics={"training": summary, **({"test": test_report} if test_report else {})})
    if tracker is not None and rank == 0:
        if not tracker.lost:
            try:
                summary.update(_log_run(tracker, config, clf, out, raw, cleaned, cleaned_file, reused, train_part,
                                        val_part, test_report))
            except Exception as exc:  # noqa: BLE001 - any failure of the store; the model is already saved
                from .tracking.runs import describe_failure

                tracker.lost = f"recording the datasets, plots and model failed: {describe_failure(exc)}"
        if tracker.lost:
            from .tracking.store import redacted

            run_id = tracker.run.info.run_id if tracker.run else "?"
            raise TrackingError(f"the model is saved in {out}, but MLflow run {run_id} at {redacted(tracker.uri)} is "
                                f"incomplete: {tracker.lost}")
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


def uses_unlabeled(config: ExperimentConfig) -> bool:
    """Whether training reads unlabeled reviews: for word vectors (`model.pretrained_embeddings =
    "auto"`, unless an encoder brings its embedding) or for the objectives that use them."""
    auto_vectors = config.model.pretrained_embeddings == "auto" and not config.model.init_encoder
    return auto_vectors or config.training.uses_unlabeled


def load_unlabeled(config: ExperimentConfig, progress: Progress | None = None) -> Reviews | None:
    """Unlabeled reviews for word vectors, VAT and entropy minimisation: `data.unlabeled_file`, else
    the IMDB archive's train/unsup when training on the archive. Never the test split. None (with a
    warning that says what is left out) when there are none."""
    import warnings

    data = config.data
    if data.unlabeled_file:
        reviews = load_text_file(data.unlabeled_file, data.text_column)
    elif not data.train_file:
        reviews = load_imdb_split(data.archive, "unsup", progress=progress)
    else:
        missing = []
        if config.model.pretrained_embeddings == "auto" and not config.model.init_encoder:
            missing.append("the embedding starts random instead of from word vectors trained on them")
        if config.training.uses_unlabeled:
            missing.append("virtual adversarial training runs on the labelled batches only, and entropy "
                           "minimisation not at all")
        warnings.warn(f"no unlabeled reviews (give --unlabeled-file, = data.unlabeled_file): {'; '.join(missing)}",
                      stacklevel=2)
        return None
    if data.unlabeled_limit:
        reviews = reviews.subset(range(min(data.unlabeled_limit, len(reviews))))
    return reviews


def _log_run(tracker, config, clf, out, raw, cleaned, cleaned_file, reused, train_part, val_part, test_report):
    """Datasets with digests, plots, reports and the model, on the tracker's run."""
    import numpy as np

    from . import plots

    location = config.data.train_file or str(resolve_archive(config.data.archive))
    tracker.log_dataset(f"raw ({raw.source})", raw.digest, location, len(raw), "raw")
    tracker.log_dataset("cleaned", cleaned.digest, str(cleaned_file), len(cleaned), "cleaned")
    tracker.log_dataset("tokenized", clf.data_info_["tokenized_digest"], str(out / "tokenizer.json"),
                        len(train_part), "training", columns={"token_ids": "string", "label": "string"})
    tracker.log_dict({"cleaned_dataset_reused": reused, "cleaned_file": str(cleaned_file)}, "data/lineage.json")

    history = clf.history_.to_dict()
    tracker.log_figure(plots.learning_curves(history), "plots/learning_curves.png")
    tracker.log_figure(plots.gradient_norms(history, clf.training_config_.clip_norm), "plots/gradient_norm.png")
    if len(val_part):
        proba = clf.predict_proba(val_part.texts)
        report = classification_report(val_part.labels, proba, clf.classes_)
        tracker.log_dict(report, "reports/classification_report_validation.json")
        tracker.log_metrics({"validation_accuracy": report["accuracy"], "validation_roc_auc": report["roc_auc"],
                             "validation_macro_f1": report["macro_f1"]})
        tracker.log_figure(plots.confusion_matrix(report["confusion_matrix"]["matrix"], clf.classes_),
                           "plots/confusion_matrix_validation.png")
        if len(clf.classes_) == 2 and report["roc_auc"] is not None:
            targets = np.asarray([clf.classes_.index(label) for label in val_part.labels])
            tracker.log_figure(plots.roc_curve(targets, proba[:, 1], report["roc_auc"]), "plots/roc_curve_validation.png")
    if test_report is not None:
        tracker.log_dict(test_report, "reports/classification_report_test.json")
        tracker.log_metrics({"test_accuracy": test_report["accuracy"], "test_roc_auc": test_report["roc_auc"],
                             "test_macro_f1": test_report["macro_f1"]})
    return tracker.log_model(out, input_example=[
        "The movie was quite slow and some of the characters were rather boring, but overall it was a very "
        "interesting movie."])


def _best_epoch_summary(clf: SentimentClassifier) -> dict[str, Any]:
    history = clf.history_
    if not history or not history.epochs:
        return {}
    best = next((e for e in history.epochs if e.epoch == history.best_epoch), history.epochs[-1])
    return {"epochs_run": len(history.epochs), "best_epoch": best.epoch, "val_accuracy": best.val_accuracy,
            "val_loss": best.val_loss, "stopped_early": history.stopped_early,
            "train_reviews_per_s": round(sum(e.reviews_per_s for e in history.epochs) / len(history.epochs), 1)}


def evaluate(clf: SentimentClassifier, reviews: Reviews, batch_size: int = 256) -> dict[str, Any]:
    started = time.perf_counter()
    proba = clf.predict_proba(reviews.texts, batch_size)
    seconds = time.perf_counter() - started
    unknown = sorted(set(reviews.labels or []) - set(clf.classes_))
    if unknown:
        raise DataError(f"labels {unknown} are not classes of this model ({clf.classes_})", source=reviews.source)
    report = classification_report(reviews.labels, proba, clf.classes_)
    report.update(source=reviews.source, seconds=round(seconds, 2), reviews_per_s=round(len(reviews) / seconds, 1))
    return report


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
