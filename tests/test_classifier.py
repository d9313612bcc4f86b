"""The estimator contract, save/load without pickle, and bit-identical reloads in a fresh process."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import TINY_SETTINGS, tiny_reviews
from sentiment_rnn import DataError, ModelError, SentimentClassifier


def test_fit_returns_self_and_learns(tiny_data):
    texts, labels = tiny_data
    clf = SentimentClassifier(**TINY_SETTINGS)
    assert clf.fit(texts, labels) is clf
    assert clf.classes_ == ["negative", "positive"]
    held_out, held_labels = tiny_reviews(20, seed=99)
    assert clf.score(held_out, held_labels) >= 0.9
    examples = ["a great film . it was superb", "an awful film . it was boring"]
    proba = clf.predict_proba(examples)
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(clf.predict(examples)) == ["positive", "negative"]


def test_multiclass_and_numeric_class_order():
    texts = ["one star awful"] * 12 + ["three stars fine"] * 12 + ["ten stars great"] * 12
    labels = [1] * 12 + [3] * 12 + [10] * 12
    clf = SentimentClassifier(**TINY_SETTINGS).fit(texts, labels)
    assert clf.classes_ == ["1", "3", "10"]
    assert clf.predict_proba(["ten stars great"]).shape == (1, 3)
    assert clf.network_.head[-1].out_features == 3


def test_history_records_pre_clip_gradient_norm(tiny_data):
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "clip_norm": 0.01}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    norms = [s.grad_norm for s in clf.history_.steps]
    assert len(norms) == len(clf.history_.steps) > 0 and all(n > 0 for n in norms)
    assert any(n > clf.training_config_.clip_norm for n in norms)  # recorded before clipping


def test_model_folder_has_no_pickle(tiny_model_dir):
    assert sorted(p.name for p in tiny_model_dir.iterdir() if p.is_file()) == [
        "README.md", "config.json", "manifest.json", "metrics.json", "model.safetensors", "tokenizer.json"]
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["classes"] == ["negative", "positive"] and config["model"]["cell"] == "lstm"
    assert {"torch", "tokenizers", "sentiment_rnn"} <= set(config["versions"])
    for path in tiny_model_dir.rglob("*"):
        if path.is_file():
            assert b"\x80\x04\x95" not in path.read_bytes()[:64]  # no pickle protocol header


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_reload_in_fresh_process_is_bit_identical(tiny_model_dir, engine):
    texts = ["a great film", "dull and pointless . it was bad", "", "unseen words only"]
    here = SentimentClassifier.load(tiny_model_dir, engine).predict_proba(texts)
    code = ("import json,sys; from sentiment_rnn import SentimentClassifier;"
            "p = SentimentClassifier.load(sys.argv[1], sys.argv[3]).predict_proba(json.loads(sys.argv[2]));"
            "print(json.dumps(p.tobytes().hex()))")
    out = subprocess.run([sys.executable, "-c", code, str(tiny_model_dir), json.dumps(texts), engine],
                         capture_output=True, text=True, check=True)
    assert bytes.fromhex(json.loads(out.stdout)) == here.tobytes()


def test_predict_with_different_batch_sizes_agrees(tiny_model_dir):
    clf = SentimentClassifier.load(tiny_model_dir)
    texts, _ = tiny_reviews(10, seed=5)
    np.testing.assert_allclose(clf.predict_proba(texts, batch_size=1), clf.predict_proba(texts, batch_size=7), atol=1e-5)


def test_import_does_not_load_mlflow():
    code = "import sys, sentiment_rnn; sentiment_rnn.SentimentClassifier; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_errors(tmp_path, tiny_model_dir, tiny_data):
    with pytest.raises(ModelError, match="not fitted yet"):
        SentimentClassifier().predict(["x"])
    with pytest.raises(DataError, match="at least two classes"):
        SentimentClassifier().fit(["a", "b"], ["pos", "pos"])
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        SentimentClassifier().fit(["a", "b"], ["pos"])
    clf = SentimentClassifier.load(tiny_model_dir)
    with pytest.raises(DataError, match=r"text #1 is int, not a string"):
        clf.predict(["ok", 3])
    with pytest.raises(ModelError, match="does not exist"):
        SentimentClassifier.load(tmp_path / "nothing")
    (tiny_model_dir / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="missing tokenizer.json"):
        SentimentClassifier.load(tiny_model_dir)


def test_predict_file_over_many_chunks_keeps_order_and_values(tiny_model_dir, tmp_path):
    """Each chunk is sorted by length before batching: rows must still come out in input order with
    the probabilities `predict_proba` gives."""
    from sentiment_rnn.predict_file import CHUNK_BATCHES, predict_file

    clf = SentimentClassifier.load(tiny_model_dir)
    texts = [f"{'great ' * (i % 7)}film {'awful ' * (i % 5)} number {i}" for i in range(CHUNK_BATCHES * 4 * 5 + 3)]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    count = predict_file(clf, str(source), str(tmp_path / "out.jsonl"), batch_size=4)  # 5+ chunks of 64
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = clf.predict_proba(texts)
    assert count == len(texts) == len(rows)
    assert [row["text"] for row in rows] == texts
    for row, probabilities in zip(rows, expected):
        assert [row["probabilities"][c] for c in clf.classes_] == pytest.approx(probabilities.tolist(), abs=1e-6)
