"""The ONNX Runtime engine computes what the PyTorch network computes, for every architecture."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.config import ModelConfig
from sentiment_rnn.errors import ConfigError
from sentiment_rnn.inference import OnnxEngine, TorchEngine, make_engine
from sentiment_rnn.models import SentimentNet

ARCHITECTURES = [  # cell, bidirectional, merge, pooling, layers, head_hidden, activation
    ("gru", True, "concat", "max", 1, 0, "relu"),
    ("lstm", True, "sum", "concat", 2, 16, "gelu"),
    ("rnn", False, "concat", "attention", 2, 0, "tanh"),
    ("gru", True, "mul", "mean", 1, 8, "tanh"),
    ("lstm", False, "concat", "last", 1, 0, "relu"),
    ("gru", True, "mean", "last", 2, 0, "relu"),
    ("rnn", True, "concat", "concat", 1, 4, "gelu"),
]


def random_batch(lengths: list[int], vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    for row, n in enumerate(lengths):
        tokens[row, :n] = rng.integers(1, vocab, n)
    return tokens, np.asarray(lengths, dtype=np.int64)


@pytest.mark.parametrize("num_classes", [2, 3])
@pytest.mark.parametrize("arch", ARCHITECTURES, ids=lambda a: "-".join(map(str, a)))
def test_onnx_matches_torch_on_variable_length_batches(arch, num_classes):
    cell, bidirectional, merge, pooling, layers, head_hidden, activation = arch
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, bidirectional=bidirectional, merge_mode=merge, pooling=pooling, num_layers=layers,
                         head_hidden=head_hidden, head_activation=activation, hidden_size=12, embedding_dim=10)
    network = SentimentNet(config, 50, num_classes).eval()
    tokens, lengths = random_batch([9, 1, 4, 9, 6], 50, seed=1)
    expected = TorchEngine(network)(tokens, lengths)
    got = OnnxEngine(network)(tokens, lengths)
    assert got.shape == (5, num_classes)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    # Split across workers (each part trimmed to its own longest review) or not: the same results.
    np.testing.assert_allclose(OnnxEngine(network, threads=1)(tokens, lengths), got, atol=2e-6)
    np.testing.assert_allclose(OnnxEngine(network, threads=8)(tokens, lengths), got, atol=2e-6)
    # Each review alone gives the same result as inside the padded batch.
    for row, n in enumerate(lengths):
        alone = OnnxEngine(network)(tokens[row:row + 1, :n], lengths[row:row + 1])
        np.testing.assert_allclose(alone[0], got[row], atol=2e-6)


def test_engines_agree_on_a_trained_model(tiny_model_dir):
    texts = ["a great film , loved it", "dull and pointless . it was bad", "", "unseen words only " * 50]
    with_torch = SentimentClassifier.load(tiny_model_dir, "torch")
    with_onnx = SentimentClassifier.load(tiny_model_dir, "onnx", threads=1)
    assert with_onnx.engine_.name == "onnx" and with_torch.engine_.name == "torch"
    np.testing.assert_allclose(with_onnx.predict_proba(texts), with_torch.predict_proba(texts), atol=2e-6)
    assert SentimentClassifier.load(tiny_model_dir).engine_.name == "onnx"  # auto picks onnx when installed


def test_unknown_engine_and_bad_threads_are_config_errors(tiny_model_dir):
    network = SentimentClassifier.load(tiny_model_dir, "torch").network_
    with pytest.raises(ConfigError, match="engine must be one of auto, torch, onnx, onnx-int8, got 'tensorrt'"):
        make_engine(network, "tensorrt")
    with pytest.raises(ConfigError, match="threads must be ≥ 0"):
        make_engine(network, "onnx", threads=-1)


def test_cli_predict_engines_agree(tiny_model_dir):
    outputs = {}
    for engine in ("torch", "onnx"):
        out = subprocess.run([sys.executable, "-m", "sentiment_rnn", "predict", str(tiny_model_dir), "--json",
                              "--engine", engine, "--threads", "1", "a great film", "dull and bad"],
                             capture_output=True, text=True, check=True)
        outputs[engine] = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["label"] for r in outputs["torch"]] == [r["label"] for r in outputs["onnx"]]
    for a, b in zip(outputs["torch"], outputs["onnx"]):
        assert a["score"] == pytest.approx(b["score"], abs=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_int8_engine_stays_close_to_the_network(cell):
    """int8 weights move probabilities a little; activations are quantized per batch, so a review
    scores slightly differently beside other reviews (the fp32 engines are exact there)."""
    import onnx

    from sentiment_rnn.inference import quantize_int8
    from sentiment_rnn.models.onnx_graph import build_onnx

    torch.manual_seed(0)
    config = ModelConfig(cell=cell, hidden_size=32, embedding_dim=24, pooling="max")
    network = SentimentNet(config, 200, 2).eval()
    ops = {node.op_type for node in onnx.load_from_string(quantize_int8(build_onnx(network))).graph.node}
    assert ("DynamicQuantizeLSTM" in ops) == (cell == "lstm")  # ONNX Runtime quantizes no GRU
    tokens, lengths = random_batch([30, 1, 12, 30, 7, 22], 200, seed=3)
    expected = TorchEngine(network)(tokens, lengths)
    engine = make_engine(network, "onnx-int8", threads=1)
    assert engine.name == "onnx-int8"
    got = engine(tokens, lengths)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=0.02)
    assert not np.allclose(got, expected, atol=1e-7)  # it is really the quantized graph that ran
    for row, n in enumerate(lengths):
        np.testing.assert_allclose(engine(tokens[row:row + 1, :n], lengths[row:row + 1])[0], got[row], atol=0.02)
