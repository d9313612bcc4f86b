"""The int8 quality gate: measured on validation at the end of training, saved with the model, and
enforced where the int8 engine is asked for (load, predict, serve falls back to fp32 saying why)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
import torch

from conftest import TINY_SETTINGS, start_server
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.inference import Int8Refused
from sentiment_rnn.training.classification import Encoded
from sentiment_rnn.training.int8_gate import int8_gate
from sentiment_rnn.training.recipe import targets


@pytest.fixture(scope="module")
def fitted(tiny_data):
    # The recurrent part alone: on the tiny reviews a wide part decides every answer by itself.
    return SentimentClassifier(**{**TINY_SETTINGS, "model": {**TINY_SETTINGS["model"], "ngrams": 0}}).fit(*tiny_data)


def test_training_records_the_gate_on_validation(fitted):
    gate = fitted.data_info_["int8"]
    assert gate["fitted_on"] == "validation" and gate["reviews"] == 16 and gate["max_accuracy_drop"] == 0.003
    assert gate["passed"] and gate["label_agreement"] >= 0.9 and set(gate) >= {"accuracy_fp32", "ece_int8"}


def test_an_outlier_weight_ruins_int8_and_the_gate_refuses_it(fitted, tiny_data, tmp_path):
    texts, labels = tiny_data
    val = Encoded(fitted.encode(texts), targets(labels, fitted.classes_))
    with torch.no_grad():  # one huge embedding row: the per-tensor int8 step swallows every other row
        fitted.network_.embedding.weight[0, 0] = 1e4  # the padding row: fp32 never reads it
    gate = int8_gate(fitted.network_, val, None, 0.003)
    assert not gate["passed"] and gate["accuracy_drop"] > 0.003
    fitted.data_info_["int8"] = gate
    fitted.save(tmp_path / "m")
    with pytest.raises(Int8Refused, match=r"lost .* points of accuracy .* validation reviews"):
        SentimentClassifier.load(tmp_path / "m", engine="onnx-int8")
    SentimentClassifier.load(tmp_path / "m", engine="onnx")  # fp32 is not affected
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "predict", str(tmp_path / "m"), "--engine",
                           "onnx-int8", "a fine film"], capture_output=True, text=True)
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "int8 engine is refused" in done.stderr
    log = tmp_path / "serve.log"
    proc, url = start_server(tmp_path / "m", "--engine", "onnx-int8", log_path=log)
    try:
        info = json.loads(urllib.request.urlopen(url + "/v1/model-info", timeout=10).read())
        assert info["engine"] == "onnx"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "serving with the onnx engine (fp32) instead" in log.read_text()
