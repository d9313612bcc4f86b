"""Language-model pretraining, transfer into a classifier, ULMFiT's fine-tuning tools, ensembles."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import TINY_SETTINGS, write_imdb_archive
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.config import ExperimentConfig, ModelConfig, TrainingConfig
from sentiment_rnn.data import load_imdb_split
from sentiment_rnn.ensemble import Ensemble
from sentiment_rnn.errors import ModelError
from sentiment_rnn.folder import read_encoder_folder
from sentiment_rnn.inference import OnnxEngine, TorchEngine
from sentiment_rnn.lm.pretrain import pretrain_lm
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.models.weight_drop import add_weight_dropout, plain_state_dict, remove_weight_dropout
from sentiment_rnn.pipeline import evaluate
from sentiment_rnn.training.optim import learning_rate_factor, make_optimizer

LM_SETTINGS = ["lm.embedding_dim=16", "lm.hidden_size=16", "lm.num_layers=2", "lm.val_reviews=12",
               "lm.learning_rate=0.02", "lm.warmup_fraction=0.0", "lm.batch_size=8", "tokenizer.min_frequency=1",
               f"text.pipeline={json.dumps(TINY_SETTINGS['text']['pipeline'])}"]  # as the tiny classifiers read


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_imdb_archive(tmp_path_factory.mktemp("lm") / "a.tar.gz", per_class=30)


@pytest.fixture(scope="module")
def forward_encoder(archive, tmp_path_factory):
    config = ExperimentConfig.load(None, [f"data.archive={json.dumps(str(archive))}", "lm.epochs=4",
                                          "lm.sampled_softmax=16", *LM_SETTINGS])
    out = tmp_path_factory.mktemp("encoder") / "fwd"
    return out, pretrain_lm(config, out)


def test_pretrain_lm_learns_and_writes_an_encoder_folder(forward_encoder):
    out, summary = forward_encoder
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "encoder.safetensors", "manifest.json", "tokenizer.json"]
    perplexities = [e["val_perplexity"] for e in summary["epochs"]]
    assert perplexities[-1] < perplexities[0] and perplexities[-1] < summary["vocab_size"] / 2
    encoder = read_encoder_folder(out)
    assert encoder.lm.direction == "forward" and len(encoder.history) == 4
    assert not any("parametrizations" in k for k in encoder.weights)  # weight dropout left no trace
    assert {"embedding.weight", "encoder.layers.1.0.weight_hh_l0", "output_bias"} <= set(encoder.weights)


def test_a_classifier_folder_is_not_an_encoder(tiny_model_dir):
    with pytest.raises(ModelError, match="is not a pretrained encoder"):
        read_encoder_folder(tiny_model_dir)


def test_classifier_starts_from_the_encoder_and_gradual_unfreezing_trains_the_head_first(forward_encoder, tiny_data):
    out, _ = forward_encoder
    settings = {"model": {"init_encoder": str(out), "pooling": "concat", "hidden_size": 99},
                "training": {**TINY_SETTINGS["training"], "epochs": 1, "gradual_unfreezing": True}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    encoder = read_encoder_folder(out)
    assert clf.model_config_.hidden_size == 16 and clf.model_config_.bidirectional is False  # the encoder's architecture
    assert clf.model["hidden_size"] == 99  # what the user asked for stays as given
    assert clf.tokenizer_.backend.get_vocab() == encoder.tokenizer.backend.get_vocab()
    state = clf.network_.state_dict()
    for name in ("embedding.weight", "encoder.layers.0.0.weight_ih_l0", "encoder.layers.1.0.weight_hh_l0"):
        torch.testing.assert_close(state[name], encoder.weights[name], rtol=0, atol=0)  # frozen in epoch 1
    assert clf.data_info_["init_encoder"]["direction"] == "forward"


def test_fine_tuning_from_a_backward_encoder_learns_and_ensembles(archive, tmp_path, tiny_data):
    config = ExperimentConfig.load(None, [f"data.archive={json.dumps(str(archive))}", "lm.epochs=2",
                                          "lm.direction=backward", "lm.sampled_softmax=0", *LM_SETTINGS])
    pretrain_lm(config, tmp_path / "bwd")
    settings = {"model": {"init_encoder": str(tmp_path / "bwd"), "pooling": "concat", "weight_dropout": 0.2},
                "training": {**TINY_SETTINGS["training"], "schedule": "stlr", "lr_decay_per_layer": 2.6}}
    backward = SentimentClassifier(**settings).fit(*tiny_data)
    assert backward.model_config_.direction == "backward" and backward.score(*tiny_data) > 0.9
    backward.save(tmp_path / "bwd-model")
    reloaded = SentimentClassifier.load(tmp_path / "bwd-model")  # plain weight names: loads and agrees
    np.testing.assert_allclose(reloaded.predict_proba(tiny_data[0]), backward.predict_proba(tiny_data[0]), atol=2e-6)

    forward = SentimentClassifier(**TINY_SETTINGS).fit(*tiny_data)
    both = Ensemble([forward, backward])
    expected = (forward.predict_proba(tiny_data[0]) + backward.predict_proba(tiny_data[0])) / 2
    np.testing.assert_allclose(both.predict_proba(tiny_data[0]), expected, atol=1e-6)
    forward.save(tmp_path / "fwd-model")
    out = subprocess.run([sys.executable, "-m", "sentiment_rnn", "evaluate", str(tmp_path / "fwd-model"), "--archive",
                          str(archive), "--ensemble", str(tmp_path / "bwd-model"), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["n"] == 60


def test_ensemble_refuses_models_with_different_classes(tiny_model_dir, tiny_data):
    texts, labels = tiny_data
    other = SentimentClassifier(**TINY_SETTINGS).fit(texts, ["good" if v == "positive" else "bad" for v in labels])
    with pytest.raises(ModelError, match="different classes"):
        Ensemble([SentimentClassifier.load(tiny_model_dir), other])


def test_backward_network_reads_reviews_reversed_and_onnx_agrees():
    torch.manual_seed(0)
    config = ModelConfig(cell="lstm", bidirectional=False, direction="backward", embedding_dim=8, hidden_size=8,
                         pooling="concat")
    backward = SentimentNet(config, 30, 2).eval()
    forward = SentimentNet(dataclasses.replace(config, direction="forward"), 30, 2).eval()
    forward.load_state_dict(backward.state_dict())
    tokens = np.array([[3, 4, 5, 6], [7, 8, 0, 0]], dtype=np.int64)
    lengths = np.array([4, 2], dtype=np.int64)
    reversed_tokens = np.array([[6, 5, 4, 3], [8, 7, 0, 0]], dtype=np.int64)
    np.testing.assert_allclose(TorchEngine(backward)(tokens, lengths), TorchEngine(forward)(reversed_tokens, lengths),
                               atol=1e-6)
    np.testing.assert_allclose(OnnxEngine(backward)(tokens, lengths), TorchEngine(backward)(tokens, lengths), atol=2e-6)


def test_weight_dropout_thins_recurrent_weights_in_training_only():
    net = SentimentNet(ModelConfig(cell="lstm", embedding_dim=8, hidden_size=8), 30, 2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    add_weight_dropout(net.encoder, 0.5)
    tokens, lengths = torch.tensor([[3, 4, 5, 6]]), torch.tensor([4])
    net.train()
    net.embedding_dropout.p = net.head[0].p = 0.0
    assert not torch.allclose(net(tokens, lengths), net(tokens, lengths))
    net.eval()
    assert torch.equal(net(tokens, lengths), net(tokens, lengths))
    assert set(plain_state_dict(net)) == set(before)
    remove_weight_dropout(net.encoder)
    assert net.state_dict().keys() == before.keys()
    for k in before:
        assert torch.equal(net.state_dict()[k], before[k])


def test_discriminative_rates_and_slanted_triangle():
    net = SentimentNet(ModelConfig(num_layers=2), 30, 2)
    optimizer = make_optimizer(net, TrainingConfig(lr_decay_per_layer=2.0))
    scales = sorted({round(g["lr_scale"], 4) for g in optimizer.param_groups})
    assert scales == [0.125, 0.25, 0.5, 1.0]  # embedding, layer 0, layer 1, head
    config = TrainingConfig(schedule="stlr", warmup_fraction=0.1)
    factors = [learning_rate_factor(step, 100, config) for step in range(100)]
    assert factors[0] == pytest.approx(1 / 32) and max(factors) == pytest.approx(1.0)
    assert int(np.argmax(factors)) == 10 and factors[-1] < 0.05


def test_lm_pipeline_benchmark_runs_end_to_end(archive, tmp_path):
    from conftest import ROOT

    tiny = ["lm.embedding_dim=16", "lm.hidden_size=16", "lm.val_reviews=12", "lm.sampled_softmax=16",
            "tokenizer.min_frequency=1", "training.epochs=3"]
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lm_pipeline.py"), "--config",
                          str(ROOT / "configs" / "ulmfit-cpu.toml"), "--archive", str(archive), "--workdir",
                          str(tmp_path / "runs"), *[x for o in tiny for x in ("--set", o)]],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1].removeprefix("RESULT_JSON "))
    assert set(result["directions"]) == {"forward", "backward"}
    # the reported ensemble figure is the two classifiers' averaged probabilities on the test split
    members = [SentimentClassifier.load(tmp_path / "runs" / f"clf-{d}") for d in ("forward", "backward")]
    test = load_imdb_split(archive, "test")
    assert result["ensemble_test_accuracy"] == round(evaluate(Ensemble(members), test)["accuracy"], 4)
    assert (tmp_path / "runs" / "clf-backward" / "model.safetensors").is_file()


def test_pretrain_lm_on_a_user_s_chinese_file_saves_the_detected_language(tmp_path):
    from conftest import ZH_NEG, ZH_POS

    lines = tmp_path / "unlabeled.txt"
    lines.write_text("\n".join((ZH_POS + ZH_NEG) * 4) + "\n", encoding="utf-8")
    config = ExperimentConfig.load(None, [f"data.unlabeled_file={json.dumps(str(lines))}", "lm.epochs=1",
                                          "lm.sampled_softmax=8", *LM_SETTINGS[:-1], "lm.val_reviews=8"])
    pretrain_lm(config, tmp_path / "zh-lm")
    encoder = read_encoder_folder(tmp_path / "zh-lm")
    assert encoder.text.language == "zh"  # read from the file's script, saved with the encoder
    vocab = encoder.tokenizer.backend.get_vocab()
    assert {"好", "吃", "送", "不"} <= set(vocab) and "味道很好" not in vocab  # one token per character
