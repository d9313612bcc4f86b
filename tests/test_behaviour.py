"""`sentiment-rnn check`: behavioural tests from templates (built in and the user's), each with
its failure rate and examples."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.behaviour import fills, load_suite, polarity_classes, run_suite
from sentiment_rnn.errors import ConfigError, DataError

# The tiny model (conftest) learned "great/superb/fine" as positive and "awful/boring/bad" as negative.
SUITE = {
    "lexicons": {"good": ["great", "superb"], "bad": ["awful", "boring"], "who": ["the plot", "the cast"],
                 "num": ["2", "3", "4"]},
    "tests": [
        {"name": "right", "kind": "mft", "expect": "positive", "templates": ["{who} was {good}"]},
        {"name": "wrong on purpose", "kind": "mft", "expect": "negative", "templates": ["{who} was {good}"]},
        {"name": "not negative", "kind": "mft", "expect": "not negative", "templates": ["{who} was {good}"]},
        {"name": "swap", "kind": "inv", "swap": "num", "templates": ["{who} was {bad} {num}"]},
        {"name": "dir", "kind": "dir", "expect": "positive not lower", "tolerance": 1.0,
         "pairs": [["{who} was {bad}", "{who} was {good}"]]},
    ],
}


def test_a_suite_reports_failure_rates_and_examples(tiny_model_dir):
    clf = SentimentClassifier.load(tiny_model_dir)
    report = run_suite(clf, SUITE, polarity_classes(list(clf.classes_)))
    by_name = {t["name"]: t for t in report["tests"]}
    assert by_name["right"]["cases"] == 4 and by_name["right"]["failure_rate"] == 0.0
    assert by_name["wrong on purpose"]["failure_rate"] == 1.0
    assert by_name["wrong on purpose"]["examples"][0]["expected"] == "negative"
    assert by_name["not negative"]["failures"] == 0
    assert by_name["swap"]["cases"] >= 1 and all(len(e["texts"]) == 3 for e in by_name["swap"]["examples"])
    assert by_name["dir"]["failures"] == 0  # tolerance 1: nothing can fail
    assert report["summary"]["tests_with_failures"] >= 1
    assert run_suite(clf, SUITE, polarity_classes(list(clf.classes_))) == report  # seeded: the same cases


def test_templates_fill_every_slot_and_a_second_slot_of_one_lexicon():
    import random

    out = fills("{who} and {who2} liked it", {"who": ["a", "b", "c"]}, random.Random(0), 100)
    assert len(out) == 9 and all("{" not in text for text, _ in out)


def test_bad_template_files_and_unknown_classes_are_named(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"lexicons": {}, "tests": [{"name": "x", "kind": "mft", "expect": "positive",
                                                          "templates": ["the {thing} was good"]}]}))
    with pytest.raises(DataError, match=r"tests\[0\].*slot \{thing\} has no lexicon"):
        load_suite(bad, "en")
    with pytest.raises(ConfigError, match="no built-in behavioural tests for language 'fi'"):
        load_suite(None, "fi")
    with pytest.raises(ConfigError, match="--positive CLASS"):
        polarity_classes(["sport", "politics"])
    assert polarity_classes(["0", "1"]) == {"positive": "1", "negative": "0"}


def test_the_built_in_suites_load_and_the_command_runs_them(tiny_model_dir, tmp_path):
    assert {t["kind"] for t in load_suite(None, "en")["tests"]} == {"mft", "inv", "dir"}
    assert any("negation" in t["name"] for t in load_suite(None, "zh")["tests"])
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "check", str(tiny_model_dir), "--json", "--max-cases",
                           "10", "--out", str(tmp_path / "c.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["suite"] == "en" and any(t["capability"] == "negation" for t in report["tests"])
    assert json.loads((tmp_path / "c.json").read_text()) == report
