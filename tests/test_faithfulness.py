"""How faithful the occlusion explanations are: comprehensiveness and sufficiency beside random
words, per explanation and averaged by `evaluate --explanations N`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.explain import FRACTIONS, explain


def test_comprehensiveness_is_the_drop_without_the_top_words(tiny_model_dir):
    clf = SentimentClassifier.load(tiny_model_dir, engine="torch")
    text = "a great film , wonderful acting and a superb story but the plot was boring"
    result = explain(clf, text)
    ids = clf.encode([text])[0]
    predicted = clf.classes_.index(result["label"])
    contribution = np.array([t["contributions"][result["label"]] for t in result["tokens"]])
    full = clf.probabilities([ids])[0, predicted]
    drops = []
    for fraction in FRACTIONS:
        k = max(1, int(round(fraction * len(ids))))
        keep = np.ones(len(ids), dtype=bool)
        keep[np.argsort(-contribution, kind="stable")[:k]] = False
        drops.append(full - clf.probabilities([ids[keep]])[0, predicted])
    assert result["faithfulness"]["comprehensiveness"] == pytest.approx(float(np.mean(drops)), abs=1e-6)
    assert result["faithfulness"]["comprehensiveness"] >= result["faithfulness"]["random_comprehensiveness"]


def test_evaluate_averages_them_over_a_sample(tiny_model_dir, tiny_data, tmp_path):
    texts, labels = tiny_data
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"review": t, "sentiment": label}) + "\n" for t, label in zip(texts, labels)))
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "evaluate", str(tiny_model_dir), "--file", str(data),
                           "--explanations", "6", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)["explanations"]
    assert figures["reviews"] == 6 and set(figures) >= {"comprehensiveness", "random_sufficiency"}
