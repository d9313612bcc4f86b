"""`sentiment-rnn threshold`: a threshold chosen for a target on a labelled file, saved as a new
version of the model's decision rule and used by every prediction path."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.errors import ConfigError
from sentiment_rnn.prediction import Decision
from sentiment_rnn.thresholds import choose, parse_objective


def test_choose_meets_each_objective_and_says_when_none_can():
    scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2])
    truth = np.array([1, 1, 0, 1, 0, 1, 0, 0], dtype=bool)
    assert choose(scores, truth, "precision", (1.0,))["threshold"] == 0.9
    assert choose(scores, truth, "precision", (0.75,))["threshold"] == 0.7  # 3 of 4: the lowest that meets it
    assert choose(scores, truth, "recall", (1.0,))["threshold"] == 0.4
    best = choose(scores, truth, "f1", ())
    assert best["f1"] == pytest.approx(max(2 * p * r / (p + r) for p, r in [(1, .5), (2 / 3, .5), (3 / 4, .75),
                                                                            (3 / 5, .75), (4 / 6, 1), (4 / 7, 1)]))
    assert choose(scores, truth, "cost", (1.0, 100.0))["recall"] == 1.0  # misses cost most: take every positive
    with pytest.raises(ConfigError, match="no threshold reaches precision"):
        choose(scores, ~truth, "precision", (1.0,))
    for bad in ("precision", "precision=2", "f2", "cost=1", "cost=-1:2"):
        with pytest.raises(ConfigError, match="--for must be"):
            parse_objective(bad)


def test_a_decision_chooses_the_target_at_its_threshold_and_abstains():
    classes = ["negative", "positive"]
    rule = Decision("negative", 0.3, abstain_below=0.65)
    assert rule.choose(classes, np.array([0.35, 0.65])) == ("negative", pytest.approx(0.35))
    assert rule.choose(classes, np.array([0.2, 0.8])) == ("positive", pytest.approx(0.8))
    assert Decision("negative", 0.3, 0.9).choose(classes, np.array([0.2, 0.8]))[0] == "uncertain"
    assert Decision("a", 0.9).choose(["a", "b", "c"], np.array([0.5, 0.2, 0.3]))[0] == "c"  # a under 0.9: the best other


def test_the_threshold_command_saves_a_new_rule_that_predict_and_the_pyfunc_use(tiny_model_dir, tiny_data, tmp_path):
    texts, labels = tiny_data
    validation = tmp_path / "val.jsonl"
    validation.write_text("".join(json.dumps({"review": t, "sentiment": label}) + "\n"
                                  for t, label in zip(texts, labels)))

    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    chosen = json.loads(cli("threshold", str(tiny_model_dir), "--file", str(validation), "--for", "precision=0.9",
                            "--class", "negative", "--abstain-below", "0.99", "--json"))
    assert chosen["precision"] >= 0.9 and 0 < chosen["threshold"] <= 1
    clf = SentimentClassifier.load(tiny_model_dir)  # the folder is sealed again: it loads
    assert clf.decision_ == Decision("negative", chosen["threshold"], 0.99)
    rule = clf.config_["decision"]
    assert rule["version"] == 1 and rule["chosen_for"] == "precision=0.9" and rule["previous"] == []
    proba = clf.predict_proba(texts)
    expected = [("uncertain" if max(p) < 0.99 else "negative" if p[0] >= chosen["threshold"] else "positive")
                for p in proba]
    assert list(clf.predict(texts)) == expected
    line = json.loads(cli("predict", str(tiny_model_dir), "--json", texts[0]))
    assert line["label"] == expected[0]
    # a second choice is version 2 and keeps the first
    cli("threshold", str(tiny_model_dir), "--file", str(validation), "--for", "f1", "--class", "positive")
    rule = SentimentClassifier.load(tiny_model_dir).config_["decision"]
    assert rule["version"] == 2 and rule["previous"][0]["chosen_for"] == "precision=0.9"
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "threshold", str(tiny_model_dir), "--file",
                           str(validation), "--for", "f1", "--class", "neutral"], capture_output=True, text=True)
    assert done.returncode == 2 and "not a class of this model" in done.stderr
