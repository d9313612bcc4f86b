"""`sentiment-rnn diagnose`: the tutorial's lessons measured on the user's own data and model."""

from __future__ import annotations

import json
from pathlib import Path

from .options import add_json, add_tracking_uri, usage_error

EXAMPLES = """examples:
  sentiment-rnn diagnose --archive ARCHIVE --out diagnose/                  # fresh rnn, lstm, gru
  sentiment-rnn diagnose --archive ARCHIVE --out diagnose/ --model models/default --json
  sentiment-rnn diagnose --archive ARCHIVE --out d/ --cells lstm --text "Slow at first, then wonderful."
"""


def add_parser(command) -> None:
    diagnose = command("diagnose", "Measure the tutorial's lessons on your data: gradient flow through time, "
                                   "clipping, and what a model remembers of a review word by word, with its gates.",
                       EXAMPLES, run)
    diagnose.add_argument("--archive", help="IMDB archive (.tar.gz) or extracted folder (its train reviews)")
    diagnose.add_argument("--train-file", help="a labelled CSV/JSONL/Parquet file instead of IMDB")
    diagnose.add_argument("--out", required=True, help="folder for diagnose.json and the PNG plots")
    diagnose.add_argument("--model", help="measure this trained model (else: fresh small models of each cell)")
    add_tracking_uri(diagnose, "MLflow store for runs:/ and models:/ references, and the run")
    diagnose.add_argument("--cells", default="rnn,lstm,gru", help="fresh models' cells, comma-separated")
    diagnose.add_argument("--text", help="the review to follow word by word (default: the tutorial's sentence)")
    diagnose.add_argument("--limit", type=int, default=2000, help="reviews the fresh models train on")
    diagnose.add_argument("--sample", type=int, default=256, help="reviews whose gradients are averaged")
    diagnose.add_argument("--epochs", type=int, default=2, help="the fresh models' epochs")
    diagnose.add_argument("--no-track", action="store_true", help="write nothing to MLflow")
    add_json(diagnose)


def run(args) -> int:
    from ..config import DataConfig
    from ..diagnose.memory import ARTICLE_SENTENCE
    from ..diagnose.report import CELLS, DiagnoseConfig, diagnose
    from ..pipeline import load_reviews

    cells = tuple(c.strip() for c in args.cells.split(",") if c.strip())
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        return usage_error(f"--cells takes a comma-separated list of {', '.join(CELLS)}; got {args.cells!r}")
    for name in ("limit", "sample", "epochs"):
        if getattr(args, name) < 1:
            return usage_error(f"--{name} must be at least 1")
    if not (args.archive or args.train_file):
        return usage_error("give --archive (IMDB) or --train-file (your labelled reviews)")
    model = None
    if args.model:
        from ..classifier import SentimentClassifier
        from ..tracking.registry import resolve

        model = SentimentClassifier.load(resolve(args.model, args.tracking_uri).folder, "torch")
    config = DiagnoseConfig(cells=cells, limit=args.limit, sample=args.sample, epochs=args.epochs,
                            text=args.text or ARTICLE_SENTENCE)
    reviews = load_reviews(DataConfig(archive=args.archive), "train", args.train_file)
    result = diagnose(reviews.texts, reviews.labels, config, Path(args.out), model,
                      progress=(lambda line: None) if args.json else print)
    if not args.no_track:
        from ..diagnose.report import log_to_mlflow

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
