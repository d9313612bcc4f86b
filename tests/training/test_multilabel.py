"""Several labels per review: files with a label separator, sigmoid outputs and binary
cross-entropy, a threshold per label chosen on validation and saved, and every interface that
renders a prediction (predict, files, the service, the pyfunc, ONNX) giving the labels."""

import json
import random
import subprocess
import sys

import numpy as np
import pytest

from conftest import TINY_SETTINGS
from sentiment_rnn import ConfigError, SentimentClassifier
from sentiment_rnn.data import load_labeled_file
from sentiment_rnn.metrics import multilabel_report

NAMES = ["joy", "grief", "neutral"]


def tiny_multilabel(n: int = 120, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """'funny' words make joy, 'sad' words grief, both make both, neither makes neutral."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        funny, sad = i % 4 in (0, 2), i % 4 in (1, 2)
        words = [rng.choice(["the", "a", "this"]), rng.choice(["film", "story", "day"])]
        if funny:
            words.append(rng.choice(["hilarious", "funny", "lol"]))
        if sad:
            words.append(rng.choice(["tragic", "sad", "tears"]))
        texts.append(" ".join(words + [rng.choice(["today", "again", "really"])]))
        labels.append([name for name, on in (("joy", funny), ("grief", sad)) if on] or ["neutral"])
    return texts, labels


SETTINGS = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 15}}


@pytest.fixture(scope="module")
def fitted():
    return SentimentClassifier(**SETTINGS).fit(*tiny_multilabel())


def test_a_label_separator_reads_several_labels_per_row_named_by_label_names(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("text\tlabel\tid\nso funny and sad\t0,1\tx1\njust funny\t0\tx2\nnothing\t2\tx3\n")
    reviews = load_labeled_file(path, "text", "label", min_class_rows=0, label_names=NAMES, label_separator=",")
    assert reviews.multilabel and reviews.labels == [["grief", "joy"], ["joy"], ["neutral"]]
    assert reviews.class_counts() == {"grief": 1, "joy": 2, "neutral": 1}


def test_thresholds_are_chosen_per_label_and_predictions_are_label_lists(fitted):
    assert fitted.network_.multilabel and set(fitted.thresholds_) == {"grief", "joy", "neutral"}
    assert all(0.05 <= t <= 0.95 for t in fitted.thresholds_.values())
    predicted = fitted.predict(["a film hilarious and tragic today", "the day again", "this story sad really"])
    assert [sorted(p) for p in predicted] == [["grief", "joy"], ["neutral"], ["grief"]]
    proba = fitted.predict_proba(["a film hilarious and tragic today"])
    assert proba.shape == (1, 3) and not np.isclose(proba.sum(), 1.0)  # independent sigmoids


def test_saved_multilabel_model_reloads_in_a_fresh_process_and_onnx_agrees(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    texts = ["a film hilarious and tragic today", "the day again"]
    code = ("import sys, json; from sentiment_rnn import SentimentClassifier as C; m = C.load(sys.argv[1], 'torch');"
            "print(json.dumps([m.predict_proba(json.loads(sys.argv[2])).tolist(), m.thresholds_]))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m"), json.dumps(texts)], capture_output=True,
                          text=True, check=True)
    proba, thresholds = json.loads(done.stdout)
    np.testing.assert_array_equal(np.asarray(proba, dtype=np.float32), fitted.predict_proba(texts))
    assert thresholds == fitted.thresholds_
    onnx = SentimentClassifier.load(tmp_path / "m", "onnx").predict_proba(texts)
    np.testing.assert_allclose(onnx, fitted.predict_proba(texts), atol=1e-5)


def test_the_report_gives_micro_and_macro_f1_subset_accuracy_and_hamming_loss():
    from sklearn.metrics import f1_score, hamming_loss

    classes, thresholds = ["a", "b", "c"], {"a": 0.5, "b": 0.3, "c": 0.7}
    truth = [["a"], ["a", "b"], ["c"], ["b"]]
    proba = np.array([[0.9, 0.2, 0.1], [0.6, 0.4, 0.8], [0.1, 0.1, 0.75], [0.2, 0.25, 0.1]])
    report = multilabel_report(truth, proba, classes, thresholds)
    y = np.array([[c in row for c in classes] for row in truth])
    predicted = proba >= np.array([0.5, 0.3, 0.7])
    assert report["micro_f1"] == pytest.approx(f1_score(y, predicted, average="micro"))
    assert report["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro", zero_division=0))
    assert report["hamming_loss"] == pytest.approx(hamming_loss(y, predicted))
    assert report["subset_accuracy"] == report["accuracy"] == 0.5


def test_objectives_that_need_one_label_per_review_are_refused():
    settings = {**SETTINGS, "training": {**SETTINGS["training"], "virtual_adversarial_weight": 1.0}}
    with pytest.raises(ConfigError, match="multi-label targets .* train with binary cross-entropy only"):
        SentimentClassifier(**settings).fit(*tiny_multilabel())


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_label_columns_read_one_0_or_1_column_per_label(tmp_path, fmt):
    rows = [("so funny and sad", 1, 1), ("just funny", 1, 0), ("nothing at all", 0, 0)]
    path = tmp_path / f"d.{fmt}"
    if fmt == "csv":
        path.write_text("text,joy,grief\n" + "".join(f"{t},{a},{b}\n" for t, a, b in rows))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "joy": bool(a), "grief": b}) + "\n" for t, a, b in rows))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"text": [r[0] for r in rows], "joy": [r[1] for r in rows],
                                 "grief": [float(r[2]) for r in rows]}), path)
    reviews = load_labeled_file(path, "text", "unused", min_class_rows=0, label_columns=["joy", "grief"])
    assert reviews.multilabel and reviews.labels == [["grief", "joy"], ["joy"], []]


def test_label_columns_errors_name_the_column_and_the_line(tmp_path):
    from sentiment_rnn.errors import DataError

    path = tmp_path / "d.csv"
    path.write_text("text,joy,grief\nfine,1,0\nodd,1,maybe\n")
    with pytest.raises(DataError, match=r"line 3.*'grief' must hold 0 or 1, got 'maybe'"):
        load_labeled_file(path, "text", "x", min_class_rows=0, label_columns=["joy", "grief"])
    with pytest.raises(DataError, match=r"missing label column 'anger'.*--label-columns"):
        load_labeled_file(path, "text", "x", min_class_rows=0, label_columns=["joy", "anger"])
    with pytest.raises(ConfigError, match="label_separator"):
        from sentiment_rnn.config import DataConfig

        DataConfig(label_columns=["joy"], label_separator=",")


def test_train_evaluate_and_predict_on_a_multilabel_tsv_from_the_command_line(tmp_path):
    texts, labels = tiny_multilabel(200)
    names = tmp_path / "labels.txt"
    names.write_text("\n".join(NAMES) + "\n")
    for name, rows in (("train.tsv", range(0, 160)), ("test.tsv", range(160, 200))):
        (tmp_path / name).write_text("text\tlabel\n" + "".join(
            f"{texts[i]}\t{','.join(str(NAMES.index(x)) for x in labels[i])}\n" for i in rows))
    settings = [f"{section}.{key}={json.dumps(value)}" for section, values in SETTINGS.items()
                for key, value in values.items()]
    common = ["--text-column", "text", "--label-column", "label", "--label-separator", ",", "--label-names", str(names)]

    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("train", "--train-file", str(tmp_path / "train.tsv"), *common, "--out", str(tmp_path / "m"), "--no-track",
        "--quiet", *[x for s in settings for x in ("--set", s)])
    report = json.loads(cli("evaluate", str(tmp_path / "m"), "--file", str(tmp_path / "test.tsv"), *common, "--json"))
    assert report["multilabel"] and report["micro_f1"] > 0.8 and set(report["per_class"]) == set(NAMES)
    line = json.loads(cli("predict", str(tmp_path / "m"), "--json", "a film hilarious and tragic today"))
    assert sorted(line["labels"]) == ["grief", "joy"]
    # The same test rows as one 0/1 column per label, evaluated with --label-columns.
    (tmp_path / "test.csv").write_text("text," + ",".join(NAMES) + "\n" + "".join(
        f"{texts[i]}," + ",".join(str(int(x in labels[i])) for x in NAMES) + "\n" for i in range(160, 200)))
    again = json.loads(cli("evaluate", str(tmp_path / "m"), "--file", str(tmp_path / "test.csv"), "--text-column",
                           "text", "--label-columns", ",".join(NAMES), "--json"))
    assert again["micro_f1"] == report["micro_f1"] and again["macro_f1"] == report["macro_f1"]


def test_the_service_and_the_pyfunc_give_the_labels(fitted, tmp_path):
    import pandas as pd
    from fastapi.testclient import TestClient

    from sentiment_rnn.service.app import create_app
    from sentiment_rnn.tracking.pyfunc import SentimentPyfunc

    fitted.save(tmp_path / "m")
    text = "a film hilarious and tragic today"
    with TestClient(create_app(tmp_path / "m")) as client:
        result = client.post("/v1/predict", json={"texts": [text]}).json()["results"][0]
        explained = client.post("/v1/explain", json={"text": text}).json()
    assert sorted(result["labels"]) == ["grief", "joy"] and sorted(explained["labels"]) == ["grief", "joy"]
    pyfunc = SentimentPyfunc()
    pyfunc.classifier = SentimentClassifier.load(tmp_path / "m")
    frame = pyfunc.predict(None, pd.DataFrame({"text": [text]}))
    assert sorted(frame["labels"][0].split(",")) == ["grief", "joy"] and "p_joy" in frame


def test_the_gradient_reach_check_runs_on_long_multilabel_reviews():
    texts, labels = tiny_multilabel(60)
    long_texts = [" ".join([text] * 6) for text in texts]  # 30 tokens or more: long enough to measure
    settings = {**SETTINGS, "training": {**SETTINGS["training"], "epochs": 1}}
    clf = SentimentClassifier(**settings).fit(long_texts, labels)
    assert clf.data_info_["gradient_reach_after_epoch_1"]["length"] >= 20
