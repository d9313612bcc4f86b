"""`sentiment-rnn data check`: duplicates, conflicting labels, leakage, lengths, balance, scripts,
out-of-vocabulary share and likely mislabelled rows, on files written here."""

from __future__ import annotations

import json
import subprocess
import sys

from sentiment_rnn.data.checks import canonical, check_file, similar_pairs
from sentiment_rnn.data.dataset import Reviews


def test_duplicates_conflicts_and_leakage_are_found_and_located():
    texts = ["A great film.", "a GREAT film!!", "A great film.", "An awful film.", "An awful film", "Fine 2 watch",
             "x" * 500]
    labels = ["pos", "pos", "pos", "neg", "pos", "pos", "neg"]
    test = Reviews(["An awful film.", "brand new text", "a great FILM"], ["neg", "pos", "pos"], "test")
    report = check_file(Reviews(texts, labels, "train"), test)
    d = report["duplicates"]
    assert d["exact_groups"] == 1 and d["exact_examples"] == [[1, 3]]
    assert d["near_groups"] == 2 and d["near_extra_rows"] == 3  # rows 1-3 and 4-5
    assert report["conflicting_labels"]["groups"] == 1 and report["conflicting_labels"]["examples"][0]["rows"] == [4, 5]
    assert report["test"]["in_train_exact"] == 1 and report["test"]["in_train_near"] == 2
    assert report["lengths"]["over_10x_median"] == 1 and report["lengths"]["over_10x_median_rows"] == [7]
    assert report["labels"]["counts"] == {"pos": 5, "neg": 2} and report["scripts"] == {"latin": 1.0}


def test_near_duplicates_by_minhash_find_a_one_word_edit_and_nothing_else():
    base = "the film has a slow start but the second half is moving and the cast is wonderful throughout the whole story"
    edited = base.replace("moving", "touching")
    other = "a completely different review about a boring and badly written comedy that nobody should ever watch again"
    assert similar_pairs([base, other, edited], threshold=0.7) == [(0, 2)]
    assert canonical("It's GREAT, 10/10!") == "it s great"


def test_the_command_checks_a_file_against_a_test_file_and_names_suspects(tmp_path, tiny_data, tiny_model_dir):
    texts, labels = tiny_data
    flipped = list(labels)
    flipped[0] = "negative" if labels[0] == "positive" else "positive"  # one wrong label
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"review": t, "sentiment": label}) + "\n" for t, label in zip(texts, flipped)))
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps({"review": t, "sentiment": label}) + "\n" for t, label in zip(texts[:5], labels)))
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "data", "check", str(train), "--test", str(test),
                           "--model", str(tiny_model_dir), "--suspects", "3", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["test"]["in_train_exact"] == 5 and report["out_of_vocabulary"]["share"] == 0.0
    assert len(report["likely_mislabelled"]["rows"]) == 3
    assert report["likely_mislabelled"]["rows"][0]["row"] == 1  # the flipped label is the first suspect
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "data", "check"], capture_output=True, text=True)
    assert done.returncode == 2 and "give a FILE" in done.stderr
