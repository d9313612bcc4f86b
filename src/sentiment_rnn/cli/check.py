"""`sentiment-rnn check`: behavioural tests of a model (negation, contrast, intensifiers, names,
numbers, typos, punctuation), from templates, with each test's failure rate and examples."""

from __future__ import annotations

import json

from .options import add_engine, add_json, add_model, load_models, update_card

EXAMPLES = """examples:
  sentiment-rnn check models/default
  sentiment-rnn check models/default --json --out checks.json
  sentiment-rnn check models/mine --templates my_tests.json --positive good --negative bad
  sentiment-rnn check models:/sentiment@champion --tracking-uri sqlite:///mlflow.db   # also logged on its run

The built-in tests (English; Chinese for models of that language) are CheckList-style templates
and lexicons written for this project (src/sentiment_rnn/checks/); --templates takes your own in
the same layout (docs/checks.md).
"""


def add_parser(command) -> None:
    parser = command("check", "Behavioural tests of a model: negation, contrast, intensifiers, and invariance to "
                              "names, numbers, typos, punctuation and case.", EXAMPLES, run)
    add_model(parser)
    parser.add_argument("--templates", metavar="FILE", help="your own tests (JSON, the built-in files' layout)")
    parser.add_argument("--positive", metavar="CLASS", help="the model's positive class (default: found by name)")
    parser.add_argument("--negative", metavar="CLASS", help="the model's negative class (default: found by name)")
    parser.add_argument("--max-cases", type=int, default=100, help="cases per test, sampled with a fixed seed")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON report to this file")
    add_engine(parser)
    add_json(parser)


def run(args) -> int:
    from ..behaviour import load_suite, polarity_classes, run_suite
    from ..io import atomic_write_json

    clf = load_models(args)
    first = clf.members[0] if hasattr(clf, "members") else clf  # an ensemble's members share a language
    suite = load_suite(args.templates, first.text_config_.language)
    report = run_suite(clf, suite, polarity_classes(list(clf.classes_), args.positive, args.negative), args.max_cases)
    if args.out:
        atomic_write_json(args.out, report)
    if not args.ensemble:
        update_card(args.model, checks=report)
        if args.model.startswith(("runs:/", "models:/")):  # on the run that made the model
            import re

            from ..tracking.registry import record_on_model_run

            rates = {"check_" + re.sub(r"[^a-z0-9]+", "_", t["name"].lower()).strip("_"): t["failure_rate"]
                     for t in report["tests"]}
            record_on_model_run(args.model, args.tracking_uri, report, "checks/behaviour.json", rates)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['summary']['tests']} tests ({report['suite']}), {report['summary']['cases']} cases: "
          f"{report['summary']['tests_with_failures']} tests with failures")
    for test in report["tests"]:
        print(f"  {test['failure_rate'] * 100:5.1f} % of {test['cases']:>4}  {test['kind']}  {test['name']}")
        for example in test["examples"][:1]:
            print(f"           e.g. {json.dumps(example, ensure_ascii=False)}")
    return 0
