"""`sentiment-rnn data`: build (or reuse) the cleaned dataset of a config; show the dataset cache;
check a labelled file (duplicates, conflicting labels, leakage into a test file, balance...)."""

from __future__ import annotations

import json

from .options import (ARCHIVE_HELP, LABEL_COLUMNS_HELP, LABEL_SEPARATOR_HELP, add_json, add_settings, column_list,
                      experiment, usage_error)

EXAMPLES = """examples:
  sentiment-rnn data prepare --archive ARCHIVE                          # build or reuse the cleaned set
  sentiment-rnn data prepare --archive ARCHIVE --config configs/seed.toml --json
  sentiment-rnn data info
  sentiment-rnn data check reviews.csv --test test.csv --json
  sentiment-rnn data check --archive ARCHIVE --near                     # IMDB: train against test
  sentiment-rnn data check reviews.csv --model models/default --suspects 20
"""


def add_parser(command) -> None:
    data = command("data", "Prepare (or reuse) the cleaned dataset for a config, or show the dataset cache.",
                   EXAMPLES, run)
    actions = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    prepare = actions.add_parser("prepare", help="build or reuse the cleaned dataset, keyed by digest")
    add_settings(prepare, "[data] and [text]", "text.stopwords=nltk")
    prepare.add_argument("--archive", help=ARCHIVE_HELP)
    prepare.add_argument("--train-file", help="a labelled CSV/JSONL/Parquet file instead of IMDB (= data.train_file)")
    prepare.add_argument("--limit", type=int, help="= data.limit")
    add_json(prepare)
    info = actions.add_parser("info", help="what the dataset cache holds")
    add_json(info)
    check = actions.add_parser("check", help="duplicates, conflicting labels, leakage into a test file, lengths, "
                                             "balance, scripts, out-of-vocabulary share, likely mislabelled rows")
    check.add_argument("file", nargs="?", help="labelled CSV/TSV/JSONL/Parquet file (or --archive: IMDB's train split)")
    check.add_argument("--test", metavar="FILE2", help="a test file: its texts found in FILE are leakage")
    check.add_argument("--archive", help=ARCHIVE_HELP + "; without FILE, IMDB's train split against its test split")
    check.add_argument("--text-column", default="review")
    check.add_argument("--label-column", default="sentiment")
    check.add_argument("--label-separator", metavar="SEP", help=LABEL_SEPARATOR_HELP)
    check.add_argument("--label-columns", metavar="NAMES", type=column_list, help=LABEL_COLUMNS_HELP)
    check.add_argument("--near", action="store_true", help="also near duplicates by word 3-gram overlap (MinHash)")
    check.add_argument("--model", help="a model folder: the share of the file's tokens its vocabulary does not know")
    check.add_argument("--suspects", type=int, default=0, metavar="N",
                       help="the N rows most likely mislabelled (cross-validated linear baseline; needs scikit-learn)")
    add_json(check)


def run(args) -> int:
    from ..data.derived import cache_entries

    if args.data_command == "check":
        return _check(args)

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
    from ..pipeline import prepare_data

    config = experiment(args, (("archive", "data.archive"), ("train_file", "data.train_file"), ("limit", "data.limit")))
    result = prepare_data(config)
    print(json.dumps(result) if args.json else
          f"{'reused' if result['reused'] else 'built'} cleaned dataset {result['cleaned_digest'][:12]} "
          f"({result['rows']} rows) at {result['file']}")
    return 0


def _check(args) -> int:
    from ..config import DataConfig
    from ..data.checks import check_file
    from ..pipeline import load_reviews

    data = DataConfig(archive=args.archive, text_column=args.text_column, label_column=args.label_column,
                      label_separator=args.label_separator or "", label_columns=args.label_columns or [],
                      min_class_rows=0)  # a data check reports rare classes, it does not refuse them
    if not args.file and not args.archive:
        return usage_error("give a FILE to check, or --archive for IMDB's train split")
    reviews = load_reviews(data, "train", args.file)
    test = (load_reviews(data, "test", args.test) if args.test else
            load_reviews(data, "test") if not args.file else None)
    model = None
    if args.model:
        from ..classifier import SentimentClassifier

        model = SentimentClassifier.load(args.model)
    report = check_file(reviews, test, args.near, model, args.suspects)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    d = report["duplicates"]
    print(f"{report['source']}: {report['rows']} rows")
    print(f"  duplicates: {d['exact_extra_rows']} extra rows in {d['exact_groups']} groups of identical texts; "
          f"{d['near_extra_rows']} in {d['near_groups']} groups once case, punctuation and digits are set aside"
          + (f"; {d['similar_pairs']} pairs with word 3-gram overlap >= 0.8" if "similar_pairs" in d else ""))
    print(f"  the same text under different labels: {report['conflicting_labels']['groups']} groups")
    lengths = report["lengths"]
    print(f"  lengths: median {lengths['median_chars']:.0f} characters, longest {lengths['max_chars']}, "
          f"{lengths['empty']} empty, {lengths['over_10x_median']} over 10x the median")
    print(f"  labels: {report['labels']['counts']} (largest / smallest {report['labels']['largest_to_smallest']})")
    print(f"  scripts: {report['scripts']}")
    if "test" in report:
        t = report["test"]
        print(f"  test file {t['source']}: {t['in_train_exact']} of {t['rows']} texts also in the training file "
              f"({t['in_train_near']} once case and punctuation are set aside)"
              + (f"; {t['similar_to_train']} with word 3-gram overlap >= 0.8" if "similar_to_train" in t else ""))
    if "out_of_vocabulary" in report:
        print(f"  out of the model's vocabulary: {report['out_of_vocabulary']['share'] * 100:.2f} % of tokens")
    for row in report.get("likely_mislabelled", {}).get("rows", []):
        print(f"  likely mislabelled: row {row['row']} labelled {row['label']!r}, p = {row['p_label']:.3f}: "
              f"{row['text'][:80]!r}")
    return 0
