"""`sentiment-rnn evaluate`: score a saved model on the IMDB test split or on a labelled file."""

from __future__ import annotations

import json

from .options import (LABEL_COLUMNS_HELP, LABEL_NAMES_HELP, LABEL_SEPARATOR_HELP, add_engine, add_json, add_model,
                      column_list, load_models, update_card)

EXAMPLES = """examples:
  sentiment-rnn evaluate models/default --archive ARCHIVE --split test --json
  sentiment-rnn evaluate models/default --file reviews.csv --text-column review --label-column sentiment
"""


def add_parser(command) -> None:
    evaluate = command("evaluate", "Score a saved model on the IMDB test split or on a labelled file.", EXAMPLES, run)
    add_model(evaluate)
    evaluate.add_argument("--archive", help="IMDB archive (.tar.gz) or extracted folder")
    evaluate.add_argument("--split", default="test", choices=["test", "train"], help="IMDB split (default: test)")
    evaluate.add_argument("--file", help="evaluate on a CSV/JSONL/Parquet file instead of IMDB")
    evaluate.add_argument("--text-column", default="review")
    evaluate.add_argument("--label-column", default="sentiment")
    evaluate.add_argument("--label-names", metavar="FILE", help=LABEL_NAMES_HELP)
    evaluate.add_argument("--label-separator", metavar="SEP", help=LABEL_SEPARATOR_HELP)
    evaluate.add_argument("--label-columns", metavar="NAMES", type=column_list, help=LABEL_COLUMNS_HELP)
    evaluate.add_argument("--limit", type=int, help="N reviews, class-balanced and seeded")
    evaluate.add_argument("--seed", type=int, default=42, help="seed for --limit")
    evaluate.add_argument("--batch-size", type=int, default=256)
    evaluate.add_argument("--explanations", type=int, default=0, metavar="N",
                          help="also measure how faithful the occlusion explanations are (comprehensiveness, "
                               "sufficiency, against random words) on N reviews drawn with --seed")
    evaluate.add_argument("--reliability-diagram", metavar="PNG", help="draw the reliability diagram (confidence "
                                                                        "against accuracy) to this PNG file")
    add_engine(evaluate)
    add_json(evaluate)


def run(args) -> int:
    from ..config import DataConfig
    from ..pipeline import evaluate, load_reviews

    clf = load_models(args)
    data = DataConfig(archive=args.archive, text_column=args.text_column, label_column=args.label_column,
                      label_names=args.label_names or "", label_separator=args.label_separator or "",
                      label_columns=args.label_columns or [],
                      min_class_rows=0)  # the model's classes decide; a rare one in a test file is no typo
    reviews = load_reviews(data, args.split, args.file, args.limit, args.seed)
    report = evaluate(clf, reviews, args.batch_size)
    report["split"] = "file" if args.file else args.split
    if args.explanations:
        from ..explain import sample_faithfulness

        report["explanations"] = sample_faithfulness(clf, reviews.texts, args.explanations, args.seed)
    if not args.ensemble:
        update_card(args.model, evaluation=report)
    if args.reliability_diagram:
        _draw(report, args.reliability_diagram)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['source']}: {report['n']} reviews")
    print(_calibration_line(report["calibration"]))
    if report.get("explanations", {}).get("reviews"):
        e = report["explanations"]
        print(f"explanations on {e['reviews']} reviews: comprehensiveness {e['comprehensiveness']:.4f} (random words "
              f"{e['random_comprehensiveness']:.4f}), sufficiency {e['sufficiency']:.4f} (random words "
              f"{e['random_sufficiency']:.4f})")
    if report.get("multilabel"):
        print(f"micro F1 {report['micro_f1']:.4f}   macro F1 {report['macro_f1']:.4f}   subset accuracy "
              f"{report['subset_accuracy']:.4f}   Hamming loss {report['hamming_loss']:.4f}")
        for name, m in report["per_class"].items():
            print(f"  {name:>14}  precision {m['precision']:.4f}  recall {m['recall']:.4f}  f1 {m['f1']:.4f}  "
                  f"support {m['support']}  threshold {m['threshold']:.2f}")
        return 0
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


def _calibration_line(figures: dict) -> str:
    line = "calibration: " + _figures(figures["model"])
    if figures.get("uncalibrated"):
        line += f" (temperature {figures['temperature']:g}; before it {_figures(figures['uncalibrated'])})"
    return line


def _figures(f: dict) -> str:
    return f"ECE {f['ece']:.4f}  Brier {f['brier']:.4f}  NLL {f['nll']:.4f}"


def _draw(report: dict, path: str) -> None:
    import io

    from ..io import atomic_write, bytes_writer
    from ..plots import reliability_diagram

    figure = reliability_diagram(report["calibration"]["bins"], f"{report['source']} ({report['n']} reviews)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write(path, bytes_writer(buffer.getvalue()))
