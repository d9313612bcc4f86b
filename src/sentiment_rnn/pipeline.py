"""What `sentiment-rnn train` and `evaluate` do, as library functions the CLI (and tracking, and
distributed launchers) call: load the configured data, fit, save, evaluate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .classifier import SentimentClassifier
from .config import DataConfig, ExperimentConfig
from .data.dataset import Reviews, load_imdb_split, load_labeled_file
from .data.imdb import Progress
from .training.metrics import classification_report
from .training.trainer import Callback


def load_reviews(data: DataConfig, split: str = "train", file: str | None = None, limit: int | None = None,
                 seed: int = 42, progress: Progress | None = None) -> Reviews:
    """IMDB `split` from the archive, or a user's labelled file; then the class-balanced `limit`."""
    if file:
        reviews = load_labeled_file(file, data.text_column, data.label_column, data.skip_empty)
    else:
        reviews = load_imdb_split(data.archive, split, progress=progress)
    return reviews.limit_balanced(limit, seed)


def train(config: ExperimentConfig, out: str | Path, callbacks: list[Callback] | None = None,
          resume: bool = False, progress: Progress | None = None, rank: int = 0,
          world_size: int = 1) -> tuple[SentimentClassifier, dict[str, Any]]:
    """Train on the configured data's train split and save the model folder to `out`."""
    started = time.perf_counter()
    reviews = load_reviews(config.data, "train", config.data.train_file, config.data.limit, config.training.seed,
                           progress)
    train_part, val_part = reviews.split_stratified(config.training.val_fraction, config.training.seed)
    data_info = {"source": reviews.source, "digest": reviews.digest, "class_counts": reviews.class_counts(),
                 "dropped": reviews.dropped, "limit": config.data.limit}
    clf = SentimentClassifier(config.text, config.tokenizer, config.model, config.training)
    out = Path(out)
    clf.fit(train_part.texts, train_part.labels,
            validation=(val_part.texts, val_part.labels) if len(val_part) else None,
            callbacks=callbacks, checkpoint_dir=out / "checkpoints", resume=resume, data_info=data_info,
            rank=rank, world_size=world_size)
    summary = {"train_seconds": round(time.perf_counter() - started, 2), **_best_epoch_summary(clf)}
    if rank == 0:
        clf.save(out, metrics={"training": summary})
    return clf, summary


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
        from .errors import DataError

        raise DataError(f"labels {unknown} are not classes of this model ({clf.classes_})", source=reviews.source)
    report = classification_report(reviews.labels, proba, clf.classes_)
    report.update(source=reviews.source, seconds=round(seconds, 2), reviews_per_s=round(len(reviews) / seconds, 1))
    return report
