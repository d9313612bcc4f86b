"""`sentiment-rnn data`: build (or reuse) the cleaned dataset of a config; show the dataset cache."""

from __future__ import annotations

import json

from .options import ARCHIVE_HELP, add_json, add_settings, experiment

EXAMPLES = """examples:
  sentiment-rnn data prepare --archive ARCHIVE                          # build or reuse the cleaned set
  sentiment-rnn data prepare --archive ARCHIVE --config configs/seed.toml --json
  sentiment-rnn data info
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


def run(args) -> int:
    from ..data.derived import cache_entries

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
