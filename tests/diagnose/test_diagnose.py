"""The unrolled encoder is the network (every cell, direction, depth, pooling), its gradients are
the network's, and `sentiment-rnn diagnose` runs as the issue writes it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from conftest import write_imdb_archive
from sentiment_rnn.config import ModelConfig
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.models.unrolled import unrolled_forward
from sentiment_rnn.training.gradient_flow import gradient_flow


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional,layers,pooling,merge", [(False, 1, "last", "concat"), (True, 2, "max", "concat"),
                                                                (True, 1, "attention", "sum")])
def test_the_unrolled_encoder_gives_the_networks_logits(cell, bidirectional, layers, pooling, merge):
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, bidirectional=bidirectional, num_layers=layers, pooling=pooling, merge_mode=merge,
                         embedding_dim=8, hidden_size=6, pretrained_embeddings="")
    network = SentimentNet(config, vocab_size=30, num_classes=3).eval()
    ids = torch.randint(2, 30, (4, 11))
    with torch.no_grad():
        expected = network(ids, torch.full((4,), 11))
        run = unrolled_forward(network, ids)
    torch.testing.assert_close(run.logits, expected, atol=1e-5, rtol=1e-5)
    assert len(run.layers) == layers and len(run.layers[0]) == (2 if bidirectional else 1)
    for gate in run.layers[0][0].gates.values():
        assert gate.shape == (4, 11, 6) and 0 <= gate.min() and gate.max() <= 1
    assert set(run.layers[0][0].gates) == {"rnn": set(), "lstm": {"input", "forget", "output"},
                                           "gru": {"update", "reset"}}[cell]


def test_input_gradients_match_autograd_through_the_fused_network():
    torch.manual_seed(0)
    config = ModelConfig(cell="lstm", bidirectional=False, pooling="last", embedding_dim=8, hidden_size=6,
                         pretrained_embeddings="")
    network = SentimentNet(config, vocab_size=30, num_classes=2).eval()
    ids, targets = torch.randint(2, 30, (3, 9)), torch.tensor([0, 1, 1])
    flow = gradient_flow(network, ids, targets)
    embedded = network.embedding(ids).detach().double().requires_grad_(True)
    net64 = SentimentNet(config, vocab_size=30, num_classes=2).double().eval()
    net64.load_state_dict({k: v.double() for k, v in network.state_dict().items()})
    logits = net64.forward_embedded(embedded, torch.full((3,), 9), torch.ones(3, 9, dtype=torch.bool))
    torch.nn.functional.binary_cross_entropy_with_logits(logits.squeeze(-1), targets.double(), reduction="sum").backward()
    expected = embedded.grad.norm(dim=-1).flip(1).mean(0)  # by distance from the last position
    torch.testing.assert_close(torch.tensor(flow["input_norm"], dtype=torch.float64), expected)
    # With last-state pooling the only way back is through time: the gradient reaching the first
    # state is smaller than at the output position for this untrained LSTM.
    assert flow["distance"][0] == 0 and flow["norm"][-1] < flow["norm"][0]


def test_diagnose_runs_as_written(tmp_path):
    archive = write_imdb_archive(tmp_path / "aclImdb_v1.tar.gz", per_class=40)
    out = tmp_path / "diag"
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "diagnose", "--archive", str(archive), "--out", str(out),
                           "--json", "--cells", "gru,rnn", "--limit", "60", "--sample", "8", "--epochs", "1",
                           "--text", "a great film , but the ending was awful",
                           "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"],
                          capture_output=True, text=True, timeout=600, env={"SENTIMENT_RNN_CACHE": str(tmp_path / "c"),
                                                                            **__import__("os").environ})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["gradient_flow"]) == {"rnn", "gru"}
    for flow in result["gradient_flow"].values():
        assert flow["distance"][0] == 0 and len(flow["norm"]) == len(flow["distance"]) == flow["length"]
        assert len(flow["max_pooling"]["norm"]) == flow["length"]
    memory = result["memory"]
    assert len(memory["tokens"]) == len(memory["probability"]) == len(memory["probability_backward"]) > 3
    assert "awful" in memory["tokens"] and set(memory["gates"]) == {"update", "reset"}  # the GRU's
    assert json.loads((out / "diagnose.json").read_text())["memory"] == memory
    for name in ("gradient_flow.png", "memory.png", "clipping.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    clipped = result["clipping"]["clipped"]
    assert len(clipped["grad_norm"]) == len(clipped["loss"]) > 0
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "diagnose")} >= {
        "diagnose/diagnose.json", "diagnose/gradient_flow.png", "diagnose/memory.png", "diagnose/clipping.png"}


def _long_reviews(n: int = 200) -> tuple[list[str], list[str]]:
    import random

    rng = random.Random(0)
    filler = "cinema scene actor camera screen ticket popcorn sequel studio script director audience".split()
    texts, labels = [], []
    for i in range(n):
        head = rng.choice(["great wonderful", "superb lovely"] if i % 2 == 0 else ["awful terrible", "boring dull"])
        texts.append(head + " " + " ".join(rng.choice(filler) for _ in range(60)))
        labels.append("positive" if i % 2 == 0 else "negative")
    return texts, labels


@pytest.mark.parametrize("cell,pooling,bidirectional,warned", [("rnn", "last", False, True), ("lstm", "max", True, False)])
def test_training_warns_when_the_gradient_vanishes_before_the_first_words(cell, pooling, bidirectional, warned):
    import warnings

    from sentiment_rnn import SentimentClassifier

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = SentimentClassifier(model={"cell": cell, "pooling": pooling, "bidirectional": bidirectional,
                                         "embedding_dim": 16, "hidden_size": 16, "pretrained_embeddings": ""},
                                  tokenizer={"min_frequency": 1}, training={"epochs": 1}).fit(*_long_reviews())
    reach = clf.data_info_["gradient_reach_after_epoch_1"]
    assert reach["length"] >= 60 and reach["cell"] == cell
    messages = [str(w.message) for w in caught if "vanishing gradient" in str(w.message)]
    assert bool(messages) == warned == (reach["ratio"] < 1e-6), (reach, messages)
    if warned:
        assert f"({cell}, {pooling} pooling)" in messages[0] and "model.pooling=max" in messages[0]
