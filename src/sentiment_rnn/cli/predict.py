"""`sentiment-rnn predict`: texts given inline, or a file streamed in batches."""

from __future__ import annotations

import json
import sys

from .options import add_engine, add_json, add_model, load_models, usage_error

EXAMPLES = """examples:
  sentiment-rnn predict models/default "A wonderful film." "Two hours I will never get back."
  sentiment-rnn predict models/default --json "A wonderful film."
  sentiment-rnn predict models/default --input reviews.csv --output scored.jsonl
  cat reviews.txt | sentiment-rnn predict models/default --input - --output scored.csv
  sentiment-rnn predict models:/imdb@champion --tracking-uri http://127.0.0.1:5000 --json "A wonderful film."
"""


def add_parser(command) -> None:
    predict = command("predict", "Predict the sentiment of texts given inline, or of a file streamed in batches.",
                      EXAMPLES, run)
    add_model(predict)
    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--input", help="CSV/JSONL/Parquet/plain-lines file, or - for stdin (plain lines)")
    predict.add_argument("--output", help="write results here (.jsonl or .csv; default: stdout as JSON lines)")
    predict.add_argument("--text-column", help="text column of a CSV/JSONL/Parquet input (default: review, else text)")
    predict.add_argument("--batch-size", type=int, default=256)
    add_engine(predict)
    add_json(predict, "one JSON object per line")


def run(args) -> int:
    if bool(args.texts) == bool(args.input):
        return usage_error("give either texts to classify or --input FILE, not both and not neither")
    if args.output and not args.input:
        return usage_error("--output needs --input")
    clf = load_models(args)
    if args.texts:
        from ..prediction import describe

        proba = clf.predict_proba(args.texts, args.batch_size)
        for text, row in zip(args.texts, proba):
            result = {"text": text, **describe(clf.classes_, row, clf.thresholds_, getattr(clf, "decision_", None))}
            if args.json:
                print(json.dumps(result, ensure_ascii=False))
            elif "labels" in result:  # multi-label: every label at or above its threshold
                print(f"{','.join(result['labels']) or '-'}\t{result['score']:.4f}\t{text}")
            else:
                print(f"{result['label']}\t{result['score']:.4f}\t{text}")
        return 0
    from ..predict_file import TEXT_COLUMNS, predict_file

    count = predict_file(clf, args.input, args.output, args.text_column or TEXT_COLUMNS, args.batch_size)
    if args.output:
        print(f"wrote {count} predictions to {args.output}", file=sys.stderr)
    return 0
