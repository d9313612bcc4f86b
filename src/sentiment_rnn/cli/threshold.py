"""`sentiment-rnn threshold`: choose a class's decision threshold for a target on a labelled file
and save it into the model folder as a new version of its decision rule."""

from __future__ import annotations

import json

from .options import (LABEL_COLUMNS_HELP, LABEL_NAMES_HELP, LABEL_SEPARATOR_HELP, add_json, column_list,
                      usage_error)

EXAMPLES = """examples:
  sentiment-rnn threshold models/default --file validation.csv --for precision=0.95 --class negative
  sentiment-rnn threshold models/default --file validation.csv --for cost=1:5 --class negative --abstain-below 0.6
  sentiment-rnn threshold models/emotions --file dev.tsv --text-column text --label-column label --label-separator , --for f1 --class grief

The file should be validation data, never the test split: the threshold is a choice, and a choice
made on test data makes the test figure optimistic. predict, the service and the MLflow pyfunc use
the saved rule; /v1/model-info reports it.
"""


def add_parser(command) -> None:
    parser = command("threshold", "Choose a decision threshold for a target (precision, recall, F1, cost) on a "
                                  "labelled file and save it with the model.", EXAMPLES, run)
    parser.add_argument("model", help="model folder (it is updated: a new version of its decision rule)")
    parser.add_argument("--file", required=True, help="labelled CSV/TSV/JSONL/Parquet file to choose on "
                                                      "(validation data, not the test split)")
    parser.add_argument("--for", dest="objective", required=True, metavar="OBJECTIVE",
                        help="precision=P, recall=R, f1, or cost=FP:FN (a false positive's cost : a miss's cost)")
    parser.add_argument("--class", dest="target", required=True, help="the class (or label) the threshold is for")
    parser.add_argument("--abstain-below", type=float, metavar="P",
                        help="answer 'uncertain' when the model's highest class probability is under P (single-label models)")
    parser.add_argument("--text-column", default="review")
    parser.add_argument("--label-column", default="sentiment")
    parser.add_argument("--label-names", metavar="FILE", help=LABEL_NAMES_HELP)
    parser.add_argument("--label-separator", metavar="SEP", help=LABEL_SEPARATOR_HELP)
    parser.add_argument("--label-columns", metavar="NAMES", type=column_list, help=LABEL_COLUMNS_HELP)
    add_json(parser)


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from ..classifier import SentimentClassifier
    from ..config import DataConfig
    from ..folder import write_decision
    from ..pipeline import load_reviews
    from ..thresholds import choose, parse_objective

    objective, values = parse_objective(args.objective)
    if args.abstain_below is not None and not 0 < args.abstain_below <= 1:
        return usage_error(f"--abstain-below must be a probability in (0, 1], got {args.abstain_below}")
    clf = SentimentClassifier.load(args.model)
    if args.target not in clf.classes_:
        return usage_error(f"--class {args.target!r} is not a class of this model; its classes are {list(clf.classes_)}")
    multilabel = clf.thresholds_ is not None
    if multilabel and args.abstain_below is not None:
        return usage_error("--abstain-below is for single-label models; a multi-label model abstains by giving no label")
    data = DataConfig(text_column=args.text_column, label_column=args.label_column,
                      label_names=args.label_names or "", label_separator=args.label_separator or "",
                      label_columns=args.label_columns or [], min_class_rows=0)
    reviews = load_reviews(data, file=args.file)
    k = list(clf.classes_).index(args.target)
    proba = clf.predict_proba(reviews.texts)
    truth = np.asarray([args.target in (row if isinstance(row, list) else [row]) for row in reviews.labels])
    chosen = choose(proba[:, k], truth, objective, values)
    record = {"chosen_for": args.objective, "file": str(Path(args.file).resolve()), "file_digest": reviews.digest,
              "figures": chosen}
    if multilabel:
        thresholds = {**clf.thresholds_, args.target: chosen["threshold"]}
        record.update(target=None, threshold=None, abstain_below=None, label=args.target)
    else:
        thresholds = None
        record.update(target=args.target, threshold=chosen["threshold"], abstain_below=args.abstain_below)
    write_decision(Path(args.model), thresholds, record)
    if args.json:
        print(json.dumps({"class": args.target, "for": args.objective, **chosen}))
        return 0
    print(f"{args.target}: threshold {chosen['threshold']:.4f} for {args.objective} on {reviews.source} "
          f"({chosen['rows']} rows): precision {chosen['precision']:.4f}, recall {chosen['recall']:.4f}, "
          f"F1 {chosen['f1']:.4f}; saved in {args.model}")
    return 0
