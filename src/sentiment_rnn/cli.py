"""`sentiment-rnn`: thin over the library — parse, call, print.

Exit codes: 0 success, 2 usage error, 1 failure (one-line message; `--debug` for the traceback),
3 `serve` could not start listening (the address is in use or not available, or a worker failed
to start), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM) during a long-running command.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from pathlib import Path

from .errors import SentimentRNNError

EXAMPLES = {
    "train": """examples:
  sentiment-rnn train --archive ../shared/data/aclImdb_v1.tar.gz --out models/default
  sentiment-rnn train --archive aclImdb_v1.tar.gz --out models/seed --config configs/seed.toml
  sentiment-rnn train --archive aclImdb_v1.tar.gz --out models/quick --limit 2000 --epochs 2 \\
      --set model.cell=lstm --set tokenizer.max_length=256
  sentiment-rnn train --train-file "IMDB Dataset.csv" --out models/kaggle    # review,sentiment columns
""",
    "evaluate": """examples:
  sentiment-rnn evaluate models/default --archive ../shared/data/aclImdb_v1.tar.gz --split test --json
  sentiment-rnn evaluate models/default --file reviews.csv --text-column review --label-column sentiment
""",
    "pretrain-embeddings": """examples:
  sentiment-rnn pretrain-embeddings --archive aclImdb_v1.tar.gz --out vectors/imdb-w2v128.txt
  sentiment-rnn pretrain-embeddings --archive aclImdb_v1.tar.gz --out vectors/ft.txt --set embeddings.algorithm=fasttext
  sentiment-rnn train --config configs/word-vectors.toml --archive aclImdb_v1.tar.gz --out models/w2v
""",
    "pretrain-lm": """examples:
  sentiment-rnn pretrain-lm --config configs/ulmfit-cpu.toml --archive aclImdb_v1.tar.gz --out lm-fwd
  sentiment-rnn pretrain-lm --config configs/ulmfit-cpu.toml --archive aclImdb_v1.tar.gz --direction backward --out lm-bwd
  sentiment-rnn train --config configs/ulmfit-cpu.toml --init-encoder lm-fwd --archive aclImdb_v1.tar.gz --out clf-fwd
  sentiment-rnn evaluate clf-fwd --ensemble clf-bwd --archive aclImdb_v1.tar.gz
""",
    "predict": """examples:
  sentiment-rnn predict models/default "A wonderful film." "Two hours I will never get back."
  sentiment-rnn predict models/default --json "A wonderful film."
  sentiment-rnn predict models/default --input reviews.csv --output scored.jsonl
  cat reviews.txt | sentiment-rnn predict models/default --input - --output scored.csv
  sentiment-rnn predict models:/imdb@champion --tracking-uri http://127.0.0.1:5000 --json "A wonderful film."
""",
    "serve": """examples:
  sentiment-rnn serve models/default --host 127.0.0.1 --port 8000
  sentiment-rnn serve models:/imdb@champion --tracking-uri http://127.0.0.1:5000 --port 8000 --workers 2
  curl -s localhost:8000/v1/predict -H 'content-type: application/json' -d '{"texts": ["A wonderful film."]}'
""",
    "models": """examples:
  sentiment-rnn models list --tracking-uri sqlite:///mlflow.db
  sentiment-rnn models list --tracking-uri http://127.0.0.1:5000 --json
  sentiment-rnn models alias imdb 3 champion --tracking-uri http://127.0.0.1:5000
""",
    "diagnose": """examples:
  sentiment-rnn diagnose --archive ../shared/data/aclImdb_v1.tar.gz --out diagnose/   # fresh rnn, lstm, gru
  sentiment-rnn diagnose --archive aclImdb_v1.tar.gz --out diagnose/ --model models/default --json
  sentiment-rnn diagnose --archive aclImdb_v1.tar.gz --out d/ --cells lstm --text "Slow at first, then wonderful."
""",
    "data": """examples:
  sentiment-rnn data prepare --archive ../shared/data/aclImdb_v1.tar.gz          # build or reuse the cleaned set
  sentiment-rnn data prepare --archive aclImdb_v1.tar.gz --config configs/seed.toml --json
  sentiment-rnn data info
""",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentiment-rnn", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Run `sentiment-rnn COMMAND --help` for each command's options and examples.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = {}

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES.get(name),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--debug", action="store_true", help="show the full traceback on failure")
        parser.commands[name] = sub
        return sub

    train = command("train", "Train a classifier and save it as a model folder.")
    train.add_argument("--out", required=True, help="model folder to write (checkpoints go to OUT/checkpoints)")
    train.add_argument("--config", help="TOML config file (see configs/); defaults apply to what it leaves out")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override one setting, e.g. --set model.cell=lstm (repeatable)")
    train.add_argument("--archive", help="IMDB archive (.tar.gz) or extracted folder (= data.archive)")
    train.add_argument("--train-file", help="train on a CSV/JSONL/Parquet file instead of IMDB (= data.train_file)")
    train.add_argument("--text-column", help="text column of --train-file (= data.text_column; default review)")
    train.add_argument("--label-column", help="label column of --train-file (= data.label_column; default sentiment)")
    train.add_argument("--unlabeled-file", help="unlabeled reviews (CSV/JSONL/Parquet/lines) for the objectives that "
                                                "use them (= data.unlabeled_file; default: the archive's train/unsup)")
    train.add_argument("--limit", type=int, help="use N training reviews, class-balanced and seeded (= data.limit)")
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
    tracking.add_argument("--tracking-uri", help="MLflow store or server (default: $MLFLOW_TRACKING_URI, else "
                                                 "sqlite:///mlflow.db in the working directory)")
    tracking.add_argument("--experiment", default="sentiment-rnn", help="MLflow experiment name")
    tracking.add_argument("--register", metavar="MODEL_NAME", help="register the model under this name (new version)")
    tracking.add_argument("--no-track", action="store_true", help="train fully offline: write nothing to MLflow")

    vectors = command("pretrain-embeddings", "Train word vectors (word2vec or fastText) on the unlabeled and "
                                             "training reviews, for model.pretrained_embeddings.")
    vectors.add_argument("--out", required=True, help="vectors file to write (word2vec text format)")
    _config_arguments(vectors, "[text] cleaning and [embeddings]", "embeddings.dim=100")
    vectors.add_argument("--limit", type=int, help="the first N reviews only (quick trials)")
    vectors.add_argument("--seed", type=int, help="= embeddings.seed")
    vectors.add_argument("--unlabeled-file", help="learn from this file (CSV/JSONL/Parquet `review` column, or plain "
                                                  "lines; any language) instead of the archive (= data.unlabeled_file)")

    lm = command("pretrain-lm", "Train a recurrent language model on the unlabeled and training reviews "
                                "(ULMFiT-style); train --init-encoder then fine-tunes it as a classifier.")
    lm.add_argument("--out", required=True, help="encoder folder to write")
    _config_arguments(lm, "[lm], [text] and [tokenizer]", "lm.direction=backward")
    lm.add_argument("--direction", choices=["forward", "backward"], help="= lm.direction")
    lm.add_argument("--epochs", type=int, help="= lm.epochs")
    lm.add_argument("--limit", type=int, help="= lm.limit (the first N reviews; quick trials)")
    lm.add_argument("--unlabeled-file", help="learn from this file (CSV/JSONL/Parquet `review` column, or plain "
                                             "lines; any language) instead of the archive (= data.unlabeled_file)")

    evaluate = command("evaluate", "Score a saved model on the IMDB test split or on a labelled file.")
    evaluate.add_argument("model", help=MODEL_HELP)
    evaluate.add_argument("--tracking-uri", help="MLflow store for runs:/ and models:/ references")
    evaluate.add_argument("--archive", help="IMDB archive (.tar.gz) or extracted folder")
    evaluate.add_argument("--split", default="test", choices=["test", "train"], help="IMDB split (default: test)")
    evaluate.add_argument("--file", help="evaluate on a CSV/JSONL/Parquet file instead of IMDB")
    evaluate.add_argument("--text-column", default="review")
    evaluate.add_argument("--label-column", default="sentiment")
    evaluate.add_argument("--limit", type=int, help="N reviews, class-balanced and seeded")
    evaluate.add_argument("--seed", type=int, default=42, help="seed for --limit")
    evaluate.add_argument("--batch-size", type=int, default=256)
    _engine_arguments(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    diagnose = command("diagnose", "Measure the tutorial's lessons on your data: gradient flow through time, "
                                   "clipping, and what a model remembers of a review word by word, with its gates.")
    diagnose.add_argument("--archive", help="IMDB archive (.tar.gz) or extracted folder (its train reviews)")
    diagnose.add_argument("--train-file", help="a labelled CSV/JSONL/Parquet file instead of IMDB")
    diagnose.add_argument("--out", required=True, help="folder for diagnose.json and the PNG plots")
    diagnose.add_argument("--model", help="measure this trained model (else: fresh small models of each cell)")
    diagnose.add_argument("--tracking-uri", help="MLflow store for runs:/ and models:/ references, and the run")
    diagnose.add_argument("--cells", default="rnn,lstm,gru", help="fresh models' cells, comma-separated")
    diagnose.add_argument("--text", help="the review to follow word by word (default: the tutorial's sentence)")
    diagnose.add_argument("--limit", type=int, default=2000, help="reviews the fresh models train on")
    diagnose.add_argument("--sample", type=int, default=256, help="reviews whose gradients are averaged")
    diagnose.add_argument("--epochs", type=int, default=2, help="the fresh models' epochs")
    diagnose.add_argument("--no-track", action="store_true", help="write nothing to MLflow")
    diagnose.add_argument("--json", action="store_true", help="print one JSON object")

    predict = command("predict", "Predict the sentiment of texts given inline, or of a file streamed in batches.")
    predict.add_argument("model", help=MODEL_HELP)
    predict.add_argument("--tracking-uri", help="MLflow store for runs:/ and models:/ references")
    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--input", help="CSV/JSONL/Parquet/plain-lines file, or - for stdin (plain lines)")
    predict.add_argument("--output", help="write results here (.jsonl or .csv; default: stdout as JSON lines)")
    predict.add_argument("--text-column", help="text column of a CSV/JSONL/Parquet input (default: review, else text)")
    predict.add_argument("--batch-size", type=int, default=256)
    _engine_arguments(predict)
    predict.add_argument("--json", action="store_true", help="one JSON object per line")

    serve = command("serve", "Serve predictions, explanations and the web page over HTTP (FastAPI on uvicorn).")
    serve.add_argument("model", help=MODEL_HELP)
    serve.add_argument("--tracking-uri", help="MLflow store for runs:/ and models:/ references")
    from .config import ENGINES, ServiceConfig

    defaults = ServiceConfig()
    for field_name, help_text in (
            ("host", "address to bind (default 127.0.0.1: this machine only)"), ("port", None),
            ("workers", "uvicorn worker processes"), ("max_batch_size", "texts per forward pass; 1 disables micro-batching"),
            ("max_wait_ms", "how long a batch waits for more requests"), ("max_queue", "texts waiting before 503"),
            ("max_body_bytes", "413 above this"), ("max_texts", "texts per request (422 above)"),
            ("max_chars", "characters per text (422 above)"),
            ("max_explain_chars", "characters per text to explain (422 above)"),
            ("max_explain_queue", "explanations running or waiting before 503"),
            ("timeout_s", "per-request limit (504 after)"),
            ("read_timeout_s", "a request's headers, then its body, must arrive within this (408 after)"),
            ("max_headers", "request headers per request (431 above)"),
            ("max_header_bytes", "bytes of request line and headers (431 above)"),
            ("text_cache_bytes", "bound of the raw-text → ids cache, in bytes (0: no cache)"),
            ("engine", ENGINE_HELP), ("threads", THREADS_HELP)):
        value = getattr(defaults, field_name)
        serve.add_argument("--" + field_name.replace("_", "-"), dest=field_name, type=type(value), default=value,
                           help=f"{help_text + '; ' if help_text else ''}default {value}",
                           choices=ENGINES if field_name == "engine" else None)

    models = command("models", "List registered models, or set an alias on a version.")
    models_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_commands.add_parser("list", help="names, versions, aliases and headline metrics")
    listing.add_argument("--tracking-uri")
    listing.add_argument("--json", action="store_true")
    alias = models_commands.add_parser("alias", help="point ALIAS (e.g. champion) at VERSION of MODEL_NAME")
    alias.add_argument("name", metavar="MODEL_NAME")
    alias.add_argument("version", metavar="VERSION")
    alias.add_argument("alias", metavar="ALIAS")
    alias.add_argument("--tracking-uri")

    data = command("data", "Prepare (or reuse) the cleaned dataset for a config, or show the dataset cache.")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    prepare = data_commands.add_parser("prepare", help="build or reuse the cleaned dataset, keyed by digest")
    prepare.add_argument("--config")
    prepare.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    prepare.add_argument("--archive")
    prepare.add_argument("--train-file")
    prepare.add_argument("--limit", type=int)
    prepare.add_argument("--json", action="store_true")
    info = data_commands.add_parser("info", help="what the dataset cache holds")
    info.add_argument("--json", action="store_true")
    return parser


ENGINE_HELP = "inference engine: torch, onnx (ONNX Runtime), onnx-int8 (ONNX Runtime, int8 weights), or auto (onnx when installed)"
THREADS_HELP = "inference threads (0: one per core)"


def _config_arguments(parser: argparse.ArgumentParser, sections: str, example: str) -> None:
    """--config, --set, --archive and --json, for the pretraining commands."""
    parser.add_argument("--config", help=f"TOML config; its {sections} settings are used")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help=f"override one setting, e.g. --set {example} (repeatable)")
    parser.add_argument("--archive", help="IMDB archive (.tar.gz) or extracted folder (= data.archive)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    from .config import ENGINES

    parser.add_argument("--ensemble", action="append", default=[], metavar="MODEL",
                        help="average with this model's probabilities (e.g. the backward model of a forward one; "
                             "repeatable)")
    parser.add_argument("--engine", choices=ENGINES, default="auto", help=ENGINE_HELP + "; default auto")
    parser.add_argument("--threads", type=int, default=0, help=THREADS_HELP)


MODEL_HELP = "model folder, runs:/RUN_ID/model, models:/NAME/VERSION or models:/NAME@ALIAS"


def _version() -> str:
    from .version import __version__

    return __version__


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "predict":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "predict":
        # Texts may follow options (`predict DIR --json "text"`): plain parse_args cannot do that.
        args = parser.commands["predict"].parse_intermixed_args(argv[argv.index("predict") + 1:])
        args.command = "predict"
    return args


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `timeout`, Docker, Kubernetes and Slurm send), raised in the main thread like
    Ctrl-C's KeyboardInterrupt, so that a training run ends KILLED and its checkpoints stay whole."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


LONG_RUNNING = ("train", "pretrain-lm", "pretrain-embeddings")


_PYTHON_SHOW_WARNING = warnings.showwarning
_PACKAGE = str(Path(__file__).resolve().parent)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Our own warnings as one line a user reads ("warning: ..."); others keep Python's format."""
    if category is UserWarning and str(Path(filename).resolve()).startswith(_PACKAGE):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        _PYTHON_SHOW_WARNING(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    args = parse(argv)
    if args.command in LONG_RUNNING:
        import signal

        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        handler = {"train": cmd_train, "evaluate": cmd_evaluate, "diagnose": cmd_diagnose, "predict": cmd_predict, "models": cmd_models,
                   "data": cmd_data, "serve": cmd_serve, "pretrain-embeddings": cmd_pretrain_embeddings,
                   "pretrain-lm": cmd_pretrain_lm}[args.command]
        return handler(args) or 0
    except SentimentRNNError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        return 143 if terminated else 130
    except Exception as exc:  # an unexpected failure: still one line, unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


# Shortcut flags and the setting each one sets (the flag wins over --config, like --set).
FLAG_SETTINGS = (("init_encoder", "model.init_encoder"), ("teacher", "training.teacher"), ("archive", "data.archive"),
                 ("train_file", "data.train_file"), ("unlabeled_file", "data.unlabeled_file"),
                 ("text_column", "data.text_column"), ("label_column", "data.label_column"), ("limit", "data.limit"),
                 ("epochs", "training.epochs"), ("seed", "training.seed"), ("threads", "training.threads"))


def _overrides(args, flag_settings=FLAG_SETTINGS) -> list[str]:
    """`--set` values, then the shortcut flags this command has, as SECTION.KEY=VALUE."""
    overrides = list(args.overrides)
    for flag, setting in flag_settings:
        value = getattr(args, flag, None)
        if value is not None:
            overrides.append(f"{setting}={json.dumps(value)}")
    return overrides


# ---- train ------------------------------------------------------------------------------------

def cmd_train(args) -> int:
    from .config import ExperimentConfig
    from .pipeline import train

    config = ExperimentConfig.load(args.config, _overrides(args))
    if args.no_track and (args.tracking_uri or args.register):
        return _usage_error("--no-track cannot be combined with --tracking-uri or --register")
    from .training import distributed

    context = distributed.setup()  # torchrun: one process per rank; otherwise a no-op
    tracker = None
    if not args.no_track and context.is_main:
        from .tracking.runs import Tracker

        tracker = Tracker(args.tracking_uri, args.experiment, args.register, config.training.log_every_steps)
    progress = None if args.quiet or not context.is_main else TrainingProgress()
    if progress is not None:
        _show_library_notes()
    download = None if args.quiet or not context.is_main else DownloadProgress()
    try:
        clf, summary = train(config, args.out, callbacks=[progress] if progress else [], resume=args.resume,
                             progress=download, tracker=tracker, evaluate_test=args.evaluate_test,
                             overwrite=args.overwrite)
    finally:
        distributed.teardown(context)
    if not context.is_main:
        return 0
    for reason, count in summary.get("dropped", {}).items():
        print(f"dropped {count} row(s) on purpose ({reason.replace('_', ' ')}; data.skip_empty = true)")
    print(f"saved model to {args.out}: best epoch {summary.get('best_epoch', 0) + 1}, "
          f"val accuracy {summary.get('val_accuracy') or float('nan'):.4f}, {summary['train_seconds']:.0f} s")
    if "test_accuracy" in summary:
        print(f"test accuracy {summary['test_accuracy']:.4f}")
    if tracker is not None:
        from .tracking.store import ui_hint

        print(f"MLflow run {summary['run_id']} in experiment {args.experiment!r}: {ui_hint(tracker.uri)}")
        if "registered_version" in summary:
            print(f"registered {args.register} version {summary['registered_version']}")
    return 0


def _show_library_notes() -> None:
    """The library's INFO messages (e.g. "training word vectors ...") as plain lines on stderr."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("sentiment_rnn")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


class TrainingProgress:
    """tqdm bar over all steps, with loss and reviews/s; one summary line per epoch."""

    def __init__(self):
        self.bar = None

    def on_train_start(self, loop):
        from tqdm import tqdm

        self.bar = tqdm(total=loop.total_steps, initial=loop.start_epoch * loop.steps_per_epoch, unit="step",
                        dynamic_ncols=True, file=sys.stderr)
        self.reviews = 0

    def on_epoch_start(self, loop, epoch):
        pass

    def on_step(self, loop, record):
        self.bar.update(1)
        self.reviews += record.reviews
        if record.step % 10 == 0:
            rate = self.reviews / max(self.bar.format_dict["elapsed"], 1e-9)
            self.bar.set_postfix(epoch=record.epoch + 1, loss=f"{record.loss:.3f}", reviews_s=f"{rate:.0f}")

    def on_epoch_end(self, loop, r):
        val = f"val loss {r.val_loss:.4f}  val acc {r.val_accuracy:.4f}" if r.val_loss is not None else "no validation"
        self.bar.write(f"epoch {r.epoch + 1}: train loss {r.train_loss:.4f}  train acc {r.train_accuracy:.4f}  "
                       f"{val}  {r.seconds:.0f} s  {r.reviews_per_s:.0f} reviews/s{'  *best' if r.improved else ''}")

    def on_train_end(self, loop):
        self.bar.close()


class DownloadProgress:
    def __init__(self):
        self.bar = None

    def __call__(self, done, total):
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc="download", file=sys.stderr)
        self.bar.n = done
        self.bar.refresh()


# ---- pretrain-embeddings -----------------------------------------------------------------------

def cmd_pretrain_embeddings(args) -> int:
    from .config import ExperimentConfig
    from .pipeline import pretrain_embeddings

    config = ExperimentConfig.load(args.config, _overrides(args, (("archive", "data.archive"),
                                                                  ("seed", "embeddings.seed"),
                                                                  ("unlabeled_file", "data.unlabeled_file"))))
    summary = pretrain_embeddings(config, args.out, args.limit, progress=None if args.json else DownloadProgress())
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {summary['words']} {summary['dim']}-d {summary['algorithm']} vectors to {summary['out']} "
              f"({summary['reviews']} reviews, {summary['tokens']} tokens, {summary['seconds']:.0f} s); train with "
              f"--set model.pretrained_embeddings={summary['out']}")
    return 0


# ---- pretrain-lm -------------------------------------------------------------------------------

def cmd_pretrain_lm(args) -> int:
    from .config import ExperimentConfig
    from .lm.pretrain import pretrain_lm

    config = ExperimentConfig.load(args.config, _overrides(args, (
        ("archive", "data.archive"), ("direction", "lm.direction"), ("epochs", "lm.epochs"), ("limit", "lm.limit"),
        ("unlabeled_file", "data.unlabeled_file"))))

    def report(event: dict) -> None:  # progress on stderr (also with --json, which keeps stdout for the summary)
        if "val_perplexity" in event:
            print(f"epoch {event['epoch']}: train loss {event['train_loss']:.3f} ({event['train_loss_kind']})  "
                  f"val perplexity {event['val_perplexity']:.1f}  {event['seconds']:.0f} s  "
                  f"{event['tokens_per_s']} tokens/s", file=sys.stderr)
        else:
            print(f"epoch {event['epoch']} step {event['step']}/{event['steps']}: loss {event['train_loss']:.3f}  "
                  f"{event['tokens_per_s']} tokens/s", file=sys.stderr)

    summary = pretrain_lm(config, args.out, report)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote the {summary['direction']} encoder to {summary['out']} ({summary['reviews']} reviews, "
              f"{summary['seconds']:.0f} s); fine-tune with: sentiment-rnn train --init-encoder {summary['out']} ...")
    return 0


# ---- evaluate ---------------------------------------------------------------------------------

def cmd_evaluate(args) -> int:
    from .config import DataConfig
    from .pipeline import evaluate, load_reviews

    clf = _load_models(args)
    data = DataConfig(archive=args.archive, text_column=args.text_column, label_column=args.label_column)
    reviews = load_reviews(data, args.split, args.file, args.limit, args.seed)
    report = evaluate(clf, reviews, args.batch_size)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['source']}: {report['n']} reviews")
    print(f"accuracy {report['accuracy']:.4f}   macro F1 {report['macro_f1']:.4f}   "
          f"ROC-AUC {report['roc_auc'] if report['roc_auc'] is None else round(report['roc_auc'], 4)}")
    for name, m in report["per_class"].items():
        print(f"  {name:>12}  precision {m['precision']:.4f}  recall {m['recall']:.4f}  f1 {m['f1']:.4f}  "
              f"support {m['support']}")
    labels = report["confusion_matrix"]["labels"]
    print("confusion matrix (rows: true, columns: predicted) " + " ".join(labels))
    for name, row in zip(labels, report["confusion_matrix"]["matrix"]):
        print(f"  {name:>12}  " + " ".join(f"{v:>8}" for v in row))
    return 0


# ---- diagnose ---------------------------------------------------------------------------------

def cmd_diagnose(args) -> int:
    from .config import DataConfig
    from .diagnose.memory import ARTICLE_SENTENCE
    from .diagnose.report import CELLS, DiagnoseConfig, diagnose
    from .pipeline import load_reviews

    cells = tuple(c.strip() for c in args.cells.split(",") if c.strip())
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        return _usage_error(f"--cells takes a comma-separated list of {', '.join(CELLS)}; got {args.cells!r}")
    for name in ("limit", "sample", "epochs"):
        if getattr(args, name) < 1:
            return _usage_error(f"--{name} must be at least 1")
    if not (args.archive or args.train_file):
        return _usage_error("give --archive (IMDB) or --train-file (your labelled reviews)")
    model = None
    if args.model:
        from .classifier import SentimentClassifier
        from .tracking.registry import resolve

        model = SentimentClassifier.load(resolve(args.model, args.tracking_uri).folder, "torch")
    config = DiagnoseConfig(cells=cells, limit=args.limit, sample=args.sample, epochs=args.epochs,
                            text=args.text or ARTICLE_SENTENCE)
    reviews = load_reviews(DataConfig(archive=args.archive), "train", args.train_file)
    quiet = args.json
    result = diagnose(reviews.texts, reviews.labels, config, Path(args.out), model,
                      progress=(lambda line: None) if quiet else print)
    if not args.no_track:
        from .diagnose.report import log_to_mlflow

        result["run_id"] = log_to_mlflow(result, Path(args.out), args.tracking_uri)
    if args.json:
        print(json.dumps(result))
        return 0
    for cell, ratios in result["ratios"].items():
        shown = ", ".join(f"{k.split('_')[0]} back {v:.2g}" for k, v in ratios.items() if v is not None)
        print(f"{cell}: gradient norm relative to the output position: {shown}")
    mem = result["memory"]
    print(f"memory of {mem['text']!r}: p({mem['class']}) word by word "
          + " ".join(f"{t}:{p:.2f}" for t, p in zip(mem["tokens"], mem["probability"])))
    print(f"wrote {Path(args.out) / 'diagnose.json'} and {', '.join(result['plots'].values())} in {result['seconds']} s")
    return 0


# ---- predict ----------------------------------------------------------------------------------

def cmd_predict(args) -> int:

    if bool(args.texts) == bool(args.input):
        return _usage_error("give either texts to classify or --input FILE, not both and not neither")
    if args.output and not args.input:
        return _usage_error("--output needs --input")
    clf = _load_models(args)
    if args.texts:
        from .prediction import describe

        proba = clf.predict_proba(args.texts, args.batch_size)
        for text, row in zip(args.texts, proba):
            result = {"text": text, **describe(clf.classes_, row)}
            if args.json:
                print(json.dumps(result, ensure_ascii=False))
            else:
                print(f"{result['label']}\t{result['score']:.4f}\t{text}")
        return 0
    from .predict_file import TEXT_COLUMNS, predict_file

    count = predict_file(clf, args.input, args.output, args.text_column or TEXT_COLUMNS, args.batch_size)
    if args.output:
        print(f"wrote {count} predictions to {args.output}", file=sys.stderr)
    return 0


def _load_models(args):
    """The model, or the ensemble of it and every --ensemble model."""
    from .classifier import SentimentClassifier
    from .tracking.registry import resolve

    models = [SentimentClassifier.load(resolve(ref, args.tracking_uri).folder, args.engine, args.threads)
              for ref in [args.model, *args.ensemble]]
    if len(models) == 1:
        return models[0]
    from .ensemble import Ensemble

    return Ensemble(models)


# ---- serve ------------------------------------------------------------------------------------

def cmd_serve(args) -> int:
    import dataclasses

    from .classifier import SentimentClassifier
    from .config import ServiceConfig
    from .service.app import model_info, serve
    from .tracking.registry import resolve

    config = ServiceConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServiceConfig)})
    model = resolve(args.model, args.tracking_uri)
    SentimentClassifier.load(model.folder, config.engine)  # fail here, with a one-line error, not inside a worker
    info = model_info(model.folder, model.name, model.version)
    problem = _cannot_listen(config.host, config.port)
    if problem:
        print(f"error: cannot listen on {config.host}:{config.port} ({problem}); choose another --port or --host, "
              f"or stop what holds it", file=sys.stderr)
        return SERVE_CANNOT_LISTEN
    print(f"serving {info['name']} (digest {info['digest']}) on http://{config.host}:{config.port}/", file=sys.stderr)
    serve(model.folder, config, info)
    return 0


SERVE_CANNOT_LISTEN = 3  # uvicorn's own exit code when its start-up fails


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the service could not bind host:port, tried as uvicorn will (SO_REUSEADDR), or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return exc.strerror
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror
    return None


# ---- models, data -------------------------------------------------------------------------------

def cmd_models(args) -> int:
    from .tracking import registry

    if args.models_command == "alias":
        registry.set_alias(args.name, args.version, args.alias, args.tracking_uri)
        print(f"{args.name}@{args.alias} → version {args.version}")
        return 0
    rows = registry.list_models(args.tracking_uri)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no registered models")
    for r in rows:
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items())
        aliases = f" @{',@'.join(r['aliases'])}" if r["aliases"] else ""
        print(f"{r['name']}  v{r['version']}{aliases}  run {r['run_id']}  {metrics}")
    return 0


def cmd_data(args) -> int:
    from .data.derived import cache_entries

    if args.data_command == "info":
        rows = cache_entries()
        if args.json:
            print(json.dumps(rows))
        else:
            for r in rows or []:
                print(f"{r['kind']:>8}  {r['rows']:>7} rows  {r['bytes'] / 1e6:8.1f} MB  {r['source']}  {r['file']}")
            if not rows:
                print("the dataset cache is empty")
        return 0
    from .config import ExperimentConfig
    from .pipeline import prepare_data

    result = prepare_data(ExperimentConfig.load(args.config, _overrides(args)))
    print(json.dumps(result) if args.json else
          f"{'reused' if result['reused'] else 'built'} cleaned dataset {result['cleaned_digest'][:12]} "
          f"({result['rows']} rows) at {result['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
