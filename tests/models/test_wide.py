"""The wide n-gram part: the same features in torch, numpy (its fitting) and ONNX; exact under
padding; fitted to the logistic regression's answers; saved and reloaded bit-identically."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.config import ModelConfig
from sentiment_rnn.inference import OnnxEngine, TorchEngine
from sentiment_rnn.models import SentimentNet
from sentiment_rnn.models.wide import ngram_positions, ngram_rows
from sentiment_rnn.training.classification import Encoded
from sentiment_rnn.training.wide import document_frequency_idf, features, fit_wide

from conftest import TINY_SETTINGS
from test_inference import random_batch

VOCAB = 40


def wide_network(order: int = 3, classes: int = 2, multilabel: bool = False, seed: int = 0) -> SentimentNet:
    torch.manual_seed(seed)
    config = ModelConfig(embedding_dim=8, hidden_size=8, ngrams=order, ngram_buckets=97)
    network = SentimentNet(config, VOCAB, classes, multilabel=multilabel).eval()
    with torch.no_grad():
        network.wide.weight.normal_()
        network.wide.bias.normal_()
        network.wide.idf.uniform_(0.5, 3.0)
    return network


def test_ngram_ids_are_the_same_in_torch_and_numpy():
    tokens, lengths = random_batch([7, 2, 1, 5], VOCAB, seed=3)
    ids, valid = ngram_positions(torch.from_numpy(tokens), torch.from_numpy(lengths), 3, VOCAB, 97)
    for row, n in enumerate(lengths):
        assert sorted(ids[row][valid[row]].tolist()) == sorted(ngram_rows(tokens[row, :n], 3, VOCAB, 97).tolist())
    assert ngram_rows(np.array([5, 6, 7]), 3, VOCAB, 97).size == 3 + 2 + 1
    # order matters: (5, 6) and (6, 5) are different pairs (hashed into the rows after the vocabulary)
    pairs = ngram_rows(np.array([5, 6, 5]), 2, VOCAB, 97)[3:]
    assert pairs[0] != pairs[1] and (pairs >= VOCAB).all()


@pytest.mark.parametrize("classes,multilabel", [(2, False), (3, False), (4, True)])
def test_wide_logits_are_exact_under_padding_and_equal_the_fitted_features(classes, multilabel):
    network = wide_network(classes=classes, multilabel=multilabel)
    tokens, lengths = random_batch([9, 1, 4, 9, 2], VOCAB, seed=1)
    batch = network.wide(torch.from_numpy(tokens), torch.from_numpy(lengths))
    for row, n in enumerate(lengths):
        alone = network.wide(torch.from_numpy(tokens[row:row + 1, :n]), torch.from_numpy(lengths[row:row + 1]))
        torch.testing.assert_close(alone[0], batch[row], atol=1e-6, rtol=1e-6)
    # The sparse features the regression is fitted on give the same logits as the network.
    matrix = features(network.wide, [tokens[row, :n] for row, n in enumerate(lengths)])
    expected = matrix @ network.wide.weight.detach().double().numpy() + network.wide.bias.detach().double().numpy()
    np.testing.assert_allclose(batch.detach().numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("classes,multilabel", [(2, False), (3, False), (4, True)])
def test_onnx_computes_the_wide_part_as_torch_does(classes, multilabel):
    network = wide_network(order=3, classes=classes, multilabel=multilabel)
    tokens, lengths = random_batch([9, 1, 4, 9, 2], VOCAB, seed=2)
    expected = TorchEngine(network)(tokens, lengths)
    np.testing.assert_allclose(OnnxEngine(network, threads=1)(tokens, lengths), expected, atol=2e-6)
    np.testing.assert_allclose(OnnxEngine(network, threads=3)(tokens, lengths), expected, atol=2e-6)
    # A batch narrower than the highest order (one- and two-token reviews only) has no trigrams at all.
    np.testing.assert_allclose(OnnxEngine(network, threads=1)(tokens[[1, 4], :2], lengths[[1, 4]]),
                               expected[[1, 4]], atol=2e-6)


def test_unseen_ngrams_count_for_nothing():
    network = wide_network(order=2)
    sequences = [np.array([3, 4, 5]), np.array([3, 4])]
    idf = document_frequency_idf(network.wide, sequences)
    assert idf[3] < idf[5] and idf[0] == 0 and idf[9] == 0  # 3 in both reviews; 9 in none
    assert (idf > 0).sum() == 3 + 2  # unigrams 3 4 5; pairs (3,4) (4,5)


def test_fit_wide_joins_the_regression_chosen_on_validation():
    rng = np.random.default_rng(0)
    # Token 7 means positive, 8 negative; the recurrent part is left untrained (zero head), so only
    # the wide part can tell them apart and the join must give it weight.
    def reviews(n):
        labels = rng.integers(0, 2, n)
        return [np.concatenate([rng.integers(10, VOCAB, 5), [7 if y else 8]]) for y in labels], labels
    network = wide_network(order=2)
    with torch.no_grad():
        network.head[-1].weight.zero_()
        network.head[-1].bias.zero_()
    train, val = Encoded(*reviews(200), None), Encoded(*reviews(100), None)
    info = fit_wide(network, train, val)
    assert info["join"] > 0 and info["val_accuracy_joined"] == 1.0 and info["val_accuracy_recurrent"] <= 0.6
    tokens, lengths = random_batch([6, 6], VOCAB, seed=4)
    tokens[:, 5] = [7, 8]
    proba = TorchEngine(network)(tokens, lengths)
    assert proba[0, 1] > 0.5 > proba[1, 1]


def test_a_trained_wide_model_reloads_identically_and_explains_exactly(tmp_path, tiny_data):
    from sentiment_rnn.explain import explain

    clf = SentimentClassifier(**{**TINY_SETTINGS, "model": {**TINY_SETTINGS["model"], "ngrams": 2,
                                                            "ngram_buckets": 4096}}).fit(*tiny_data)
    assert clf.model_config_.ngrams == 2 and clf.network_.wide is not None
    texts = tiny_data[0][:20]
    clf.save(tmp_path / "m")
    again = SentimentClassifier.load(tmp_path / "m", engine="torch")
    np.testing.assert_array_equal(again.predict_proba(texts), clf.use_engine("torch").predict_proba(texts))
    for name, tensor in clf.network_.state_dict().items():
        assert torch.equal(tensor, again.network_.state_dict()[name]), name
    # occlusion: each token's contribution is the model's own answer without it
    result = explain(again, texts[0])
    ids = again.encode([texts[0]])[0]
    without_first = again.probabilities([ids[1:]])[0]
    full = again.probabilities([ids])[0]
    first = result["tokens"][0]["contributions"]
    assert first[again.classes_[1]] == pytest.approx(float(full[1] - without_first[1]), abs=1e-6)


def test_auto_order_follows_the_script():
    from sentiment_rnn.config import ClassifierSettings, ModelConfig
    from sentiment_rnn.data.dataset import Reviews
    from sentiment_rnn.training import recipe

    english = Reviews(["a fine film"] * 10 + ["a bad film"] * 10, ["p"] * 10 + ["n"] * 10, "en")
    chinese = Reviews(["很好吃的菜"] * 10 + ["太难吃了吧"] * 10, ["p"] * 10 + ["n"] * 10, "zh")
    settings = ClassifierSettings(model=ModelConfig(pretrained_embeddings=""))
    assert recipe.plan(settings, english).model.ngrams == 2
    assert recipe.plan(settings, chinese).model.ngrams == 3


def test_the_wide_part_alone_trains_saves_and_serves(tmp_path, tiny_data):
    """model.cell = "none": no recurrent part, no epochs; the regression is the model, in every engine."""
    settings = {**TINY_SETTINGS, "model": {"cell": "none", "ngram_buckets": 4096}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    assert not clf.network_.recurrent and clf.history_.epochs == []
    assert set(dict(clf.network_.named_parameters())) == {"wide.weight", "wide.bias"}
    assert clf.data_info_["wide"]["val_accuracy_joined"] == 1.0
    texts = tiny_data[0][:20]
    assert clf.score(texts, tiny_data[1][:20]) == 1.0
    clf.save(tmp_path / "m")
    torch_proba = SentimentClassifier.load(tmp_path / "m", engine="torch").predict_proba(texts)
    np.testing.assert_allclose(SentimentClassifier.load(tmp_path / "m", engine="onnx").predict_proba(texts),
                               torch_proba, atol=2e-6)


def test_the_wide_part_alone_needs_ngrams():
    from sentiment_rnn.errors import ConfigError

    with pytest.raises(ConfigError, match="model.ngrams"):
        ModelConfig(cell="none", ngrams=0)
