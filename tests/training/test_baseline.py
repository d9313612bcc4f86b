"""The linear baseline fitted beside every training: same training part, same validation part,
recorded in metrics.json and the run, a warning when it beats the network."""

import csv
import json
import subprocess
import sys

import pytest

from conftest import TINY_SETTINGS, tiny_reviews
from sentiment_rnn import SentimentClassifier


def test_the_baseline_is_scored_on_the_network_s_own_validation_part(tiny_data):
    clf = SentimentClassifier(**TINY_SETTINGS).fit(*tiny_data)
    baseline = clf.baseline_
    assert baseline["features"] == "words 1-2" and baseline["C"] in (1.0, 4.0, 16.0)
    assert 0.5 < baseline["val_accuracy"] <= 1.0  # the tiny reviews are separable by their words
    assert baseline["network_val_accuracy"] == clf.history_.epochs[clf.history_.best_epoch].val_accuracy


def test_a_baseline_that_beats_the_network_is_said_in_one_warning(tiny_data):
    weak = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 1, "learning_rate": 1e-6}}
    with pytest.warns(UserWarning, match=r"the linear baseline \(TF-IDF \+ logistic regression, words 1-2\) scores "
                                         r"1\.0000 on validation, above the network's 0\.\d+"):
        SentimentClassifier(**weak).fit(*tiny_data)


def test_unspaced_scripts_get_character_n_grams():
    texts = ["很好吃，味道足" if i % 2 else "太难吃了，不新鲜" for i in range(40)]
    labels = ["1" if i % 2 else "0" for i in range(40)]
    clf = SentimentClassifier(**{**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 2}})
    assert clf.fit(texts, labels).baseline_["features"] == "characters 1-3"


def test_metrics_json_holds_the_baseline_and_training_baseline_false_turns_it_off(tmp_path):
    texts, labels = tiny_reviews()
    path = tmp_path / "train.csv"
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([("review", "sentiment"), *zip(texts, labels)])
    settings = [f"{section}.{key}={json.dumps(value)}" for section, values in TINY_SETTINGS.items()
                for key, value in values.items()]

    def train(out, *extra):
        done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(path), "--out",
                               str(out), "--no-track", "--quiet", *[x for s in settings for x in ("--set", s)], *extra],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout, json.loads((out / "metrics.json").read_text())["training"]

    stdout, training = train(tmp_path / "with")
    assert f"linear baseline (TF-IDF + logistic regression, words 1-2, C {training['baseline']['C']:g}): " \
           f"val accuracy {training['baseline']['val_accuracy']:.4f}" in stdout
    assert training["baseline"]["network_val_accuracy"] == training["val_accuracy"]
    _, training = train(tmp_path / "without", "--set", "training.baseline=false")
    assert "baseline" not in training
