"""Adversarial, virtual adversarial and entropy-minimisation objectives (training/objectives.py)."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from conftest import TINY_SETTINGS, tiny_reviews, write_imdb_archive
from sentiment_rnn import ConfigError, ExperimentConfig, ModelConfig, SentimentClassifier
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.training.callbacks import Callback
from sentiment_rnn.training.objectives import (adversarial_loss, entropy, kl_divergence, per_review_unit,
                                               virtual_adversarial_loss)

OBJECTIVES = {"adversarial_weight": 1.0, "adversarial_epsilon": 1.0, "virtual_adversarial_weight": 1.0,
              "virtual_adversarial_epsilon": 1.0, "entropy_weight": 0.2}
UNLABELED = ["a great movie", "an awful story", "it was fine", "truly dull", "wonderful acting"] * 6


def _batch():
    torch.manual_seed(0)
    net = SentimentNet(ModelConfig(embedding_dim=8, hidden_size=8, embedding_dropout=0, head_dropout=0), 30, 2).eval()
    ids, lengths = torch.randint(2, 30, (3, 6)), torch.tensor([6, 3, 1])
    ids[1, 3:] = 0
    ids[2, 1:] = 0
    return net, ids, lengths


def test_perturbations_leave_padding_alone_and_have_one_norm_per_review():
    net, ids, lengths = _batch()
    x, mask = net.embed(ids, lengths)
    unit = per_review_unit(torch.randn_like(x), mask)
    assert torch.all(unit[~mask] == 0)
    torch.testing.assert_close(unit.flatten(1).norm(dim=1), torch.ones(3))


def test_the_adversarial_direction_hurts_more_than_a_random_one():
    net, ids, lengths = _batch()
    targets = torch.tensor([1, 0, 1])
    x, mask = net.embed(ids, lengths)
    x.requires_grad_()
    loss = net.loss(net.forward_embedded(x, lengths, mask), targets)
    adversarial = adversarial_loss(net, x, lengths, mask, loss, targets, epsilon=0.5)
    torch.manual_seed(1)
    random = net.loss(net.forward_embedded(x + 0.5 * per_review_unit(torch.randn_like(x), mask), lengths, mask), targets)
    assert adversarial > random and adversarial > loss


def test_virtual_adversarial_direction_moves_the_prediction_more_than_a_random_one():
    net, ids, lengths = _batch()
    x, mask = net.embed(ids, lengths)
    clean = net.probabilities(net.forward_embedded(x, lengths, mask)).detach()
    assert float(virtual_adversarial_loss(net, x, lengths, mask, clean, epsilon=0.0, xi=0.1).detach()) == 0
    torch.manual_seed(2)
    found = float(virtual_adversarial_loss(net, x, lengths, mask, clean, epsilon=2.0, xi=0.1).detach())
    random = kl_divergence(clean, net.probabilities(
        net.forward_embedded(x + 2.0 * per_review_unit(torch.randn_like(x), mask), lengths, mask)))
    assert found > float(random.detach()) > 0
    assert float(entropy(torch.tensor([[0.5, 0.5]]))) == pytest.approx(0.6931, abs=1e-4)


def test_settings_have_one_name_in_toml_set_and_python(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[training]\nadversarial_weight = 1\nentropy_weight = 0.1\n")
    config = ExperimentConfig.load(path, ["training.virtual_adversarial_weight=0.5"])
    assert config.training.adversarial_weight == 1.0 and config.training.uses_unlabeled
    clf = SentimentClassifier(training={"virtual_adversarial_weight": 0.5})
    assert clf.get_params()["training__virtual_adversarial_weight"] == 0.5
    with pytest.raises(ConfigError, match="training.entropy_weight must be >= 0"):
        ExperimentConfig.load(None, ["training.entropy_weight=-1"])


def _settings(**training):
    return {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], **OBJECTIVES, **training}}


def test_training_with_every_objective_learns_and_records_each_part(tiny_data):
    clf = SentimentClassifier(**_settings()).fit(*tiny_data, unlabeled=UNLABELED)
    assert clf.score(*tiny_data) > 0.9
    parts = clf.history_.steps[-1].components
    assert set(parts) == {"cross_entropy", "adversarial", "virtual_adversarial", "virtual_adversarial_unlabeled",
                          "entropy"}
    assert clf.data_info_["n_unlabeled"] == len(UNLABELED)
    steps = clf.history_.to_dict()["steps"]
    assert len(steps["components"]) == len(clf.history_.steps)


class Interrupt(Callback):
    def on_epoch_end(self, loop, record):
        if record.epoch == 1:
            raise KeyboardInterrupt


def test_resume_is_exact_with_the_objectives_on(tiny_data, tmp_path):
    settings = _settings(epochs=4, early_stopping_patience=0)
    straight = SentimentClassifier(**settings).fit(*tiny_data, unlabeled=UNLABELED, checkpoint_dir=tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        SentimentClassifier(**settings).fit(*tiny_data, unlabeled=UNLABELED, checkpoint_dir=tmp_path / "b",
                                            callbacks=[Interrupt()])
    resumed = SentimentClassifier(**settings).fit(*tiny_data, unlabeled=UNLABELED, checkpoint_dir=tmp_path / "b",
                                                  resume=True)
    for key, value in straight.network_.state_dict().items():
        torch.testing.assert_close(resumed.network_.state_dict()[key], value, atol=1e-6, rtol=0)


def test_the_archive_s_unlabeled_reviews_are_used_and_the_test_split_never_is(tmp_path, monkeypatch):
    from sentiment_rnn import pipeline

    archive = write_imdb_archive(tmp_path / "a.tar.gz")
    asked = []
    real = pipeline.load_imdb_split
    monkeypatch.setattr(pipeline, "load_imdb_split", lambda a, split, **kw: asked.append(split) or real(a, split, **kw))
    config = ExperimentConfig.load(None, [f"data.archive={json.dumps(str(archive))}", "tokenizer.min_frequency=1",
                                          "training.epochs=1", "training.virtual_adversarial_weight=1",
                                          "training.entropy_weight=0.1"])
    clf, _ = pipeline.train(config, tmp_path / "m")
    assert "test" not in asked and "unsup" in asked
    assert clf.data_info_["n_unlabeled"] == 4 and clf.data_info_["unlabeled"]["source"] == "imdb:unsup"


def test_an_unlabeled_file_is_read_and_a_labelled_file_alone_falls_back_with_a_warning(tmp_path):
    from sentiment_rnn import pipeline

    texts, labels = tiny_reviews(10)
    labelled = tmp_path / "train.csv"
    with open(labelled, "w", newline="") as handle:
        csv.writer(handle).writerows([("review", "sentiment"), *zip(texts, labels)])
    lines = tmp_path / "unlabeled.txt"
    lines.write_text("\n".join(UNLABELED[:7]) + "\n\n")
    base = [f"data.train_file={json.dumps(str(labelled))}", "tokenizer.min_frequency=1", "training.epochs=1",
            "training.virtual_adversarial_weight=1"]
    clf, _ = pipeline.train(ExperimentConfig.load(None, [*base, f"data.unlabeled_file={json.dumps(str(lines))}"]),
                            tmp_path / "m1")
    assert clf.data_info_["n_unlabeled"] == 7
    with pytest.warns(UserWarning, match="no unlabeled reviews"):
        clf, _ = pipeline.train(ExperimentConfig.load(None, base), tmp_path / "m2")
    assert "n_unlabeled" not in clf.data_info_
