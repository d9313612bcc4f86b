"""`sentiment-rnn train`: train a classifier and save it as a model folder (pipeline.train)."""

from __future__ import annotations

from .options import DATA_FLAGS, add_data_flags, add_settings, add_tracking_uri, experiment, usage_error
from .progress import DownloadProgress, TrainingProgress, show_library_notes

HELP = "Train a classifier and save it as a model folder."
EXAMPLES = """examples:
  sentiment-rnn train --archive ARCHIVE --out models/default
  sentiment-rnn train --archive ARCHIVE --out models/seed --config configs/seed.toml
  sentiment-rnn train --archive ARCHIVE --out models/quick --limit 2000 --epochs 2 \\
      --set model.cell=lstm --set tokenizer.max_length=256
  sentiment-rnn train --train-file "IMDB Dataset.csv" --out models/kaggle    # review,sentiment columns
"""
# Shortcut flags and the setting each one sets.
FLAGS = (*DATA_FLAGS, ("init_encoder", "model.init_encoder"), ("teacher", "training.teacher"),
         ("unlabeled_file", "data.unlabeled_file"), ("epochs", "training.epochs"), ("seed", "training.seed"),
         ("threads", "training.threads"))


def add_parser(command) -> None:
    train = command("train", HELP, EXAMPLES, run)
    train.add_argument("--out", required=True, help="model folder to write (checkpoints go to OUT/checkpoints)")
    add_settings(train, "[data], [text], [tokenizer], [model], [training] and [embeddings]", "model.cell=lstm")
    add_data_flags(train)
    train.add_argument("--unlabeled-file", help="unlabeled reviews (CSV/JSONL/Parquet/lines) for the word vectors and "
                                                "the objectives that use them (= data.unlabeled_file; default: the "
                                                "archive's train/unsup)")
    train.add_argument("--epochs", type=int, help="= training.epochs")
    train.add_argument("--seed", type=int, help="= training.seed")
    train.add_argument("--threads", type=int, help="= training.threads")
    train.add_argument("--init-encoder", metavar="FOLDER", help="start from a pretrain-lm encoder (= model.init_encoder)")
    train.add_argument("--teacher", metavar="FOLDER", action="append",
                       help="distil from this trained model folder: also learn its answers on labelled and "
                            "unlabeled reviews; repeat it to learn an ensemble's averaged answers (= training.teacher)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last if present")
    train.add_argument("--overwrite", action="store_true", help="replace the model OUT already holds")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--evaluate-test", action="store_true",
                       help="score the IMDB test split after training (recorded in metrics.json and the run)")
    tracking = train.add_argument_group("tracking (MLflow)")
    add_tracking_uri(tracking, "MLflow store or server (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in "
                               "the working directory)")
    tracking.add_argument("--experiment", default="sentiment-rnn", help="MLflow experiment name")
    tracking.add_argument("--register", metavar="MODEL_NAME", help="register the model under this name (new version)")
    tracking.add_argument("--no-track", action="store_true", help="train fully offline: write nothing to MLflow")


def run(args) -> int:
    from ..pipeline import train
    from ..training import distributed

    config = experiment(args, FLAGS)
    if args.no_track and (args.tracking_uri or args.register):
        return usage_error("--no-track cannot be combined with --tracking-uri or --register")
    context = distributed.setup()  # torchrun: one process per rank; otherwise a no-op
    tracker = None
    if not args.no_track and context.is_main:
        from ..tracking.runs import Tracker

        tracker = Tracker(args.tracking_uri, args.experiment, args.register, config.training.log_every_steps)
    progress = None if args.quiet or not context.is_main else TrainingProgress()
    if progress is not None:
        show_library_notes()
    download = None if args.quiet or not context.is_main else DownloadProgress()
    try:
        _, summary = train(config, args.out, callbacks=[progress] if progress else [], resume=args.resume,
                           progress=download, tracker=tracker, evaluate_test=args.evaluate_test,
                           overwrite=args.overwrite)
    finally:
        distributed.teardown(context)
    if context.is_main:
        _report(args, summary, tracker)
    return 0


def _report(args, summary: dict, tracker) -> None:
    for reason, count in summary.get("dropped", {}).items():
        print(f"dropped {count} row(s) on purpose ({reason.replace('_', ' ')}; data.skip_empty = true)")
    epoch = f"best epoch {summary['best_epoch'] + 1}, " if "best_epoch" in summary else ""
    print(f"saved model to {args.out}: {epoch}val accuracy {summary.get('val_accuracy') or float('nan'):.4f}, "
          f"{summary['train_seconds']:.0f} s")
    wide = summary.get("wide")
    if wide and "val_accuracy_recurrent" in wide:
        print(f"wide n-gram part (order {wide['order']}, C {wide['C']:g}, weights {wide['join']:g} wide + "
              f"{wide['recurrent_scale']:g} recurrent): val accuracy "
              f"{wide['val_accuracy_wide']:.4f} alone; recurrent part {wide['val_accuracy_recurrent']:.4f} alone")
    baseline = summary.get("baseline")
    if baseline:
        print(f"linear baseline (TF-IDF + logistic regression, {baseline['features']}, C {baseline['C']:g}): "
              f"val accuracy {baseline['val_accuracy']:.4f}")
    if "test_accuracy" in summary:
        print(f"test accuracy {summary['test_accuracy']:.4f}")
    if tracker is not None:
        from ..tracking.store import ui_hint

        print(f"MLflow run {summary['run_id']} in experiment {args.experiment!r}: {ui_hint(tracker.uri)}")
        if "registered_version" in summary:
            print(f"registered {args.register} version {summary['registered_version']}")
