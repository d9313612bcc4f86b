"""The scikit-learn contract: __init__ stores, fit validates, get_params/set_params, clone, GridSearchCV."""

from __future__ import annotations

import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from conftest import TINY_SETTINGS
from sentiment_rnn import ConfigError, ModelConfig, SentimentClassifier


def test_init_stores_arguments_as_given_and_fit_validates():
    model = {"cell": "lstm", "hidden_size": -3}  # invalid, but __init__ does not judge
    clf = SentimentClassifier(model=model)
    assert clf.model is model and clf.text is None
    with pytest.raises(ConfigError, match="model.hidden_size must be >= 1"):
        clf.fit(["a good film", "a bad film"], ["positive", "negative"])


def test_get_params_shallow_and_deep():
    config = ModelConfig(hidden_size=24)
    clf = SentimentClassifier(model=config)
    assert clf.get_params(deep=False) == {"text": None, "tokenizer": None, "model": config, "training": None,
                                          "embeddings": None}
    deep = clf.get_params()
    assert deep["model__hidden_size"] == 24 and deep["training__epochs"] == 8 and deep["model"] is config


def test_set_params_whole_sections_and_single_fields():
    clf = SentimentClassifier(model={"hidden_size": 24})
    assert clf.set_params(model__cell="gru", training__epochs=2) is clf
    assert clf.model.hidden_size == 24 and clf.model.cell == "gru" and clf.training.epochs == 2
    clf.set_params(model=None)
    assert clf.model is None
    with pytest.raises(ConfigError, match="no parameter 'hidden_size'"):
        clf.set_params(hidden_size=3)
    with pytest.raises(ConfigError, match="unknown setting"):
        clf.set_params(model__hidden=3)


def test_clone_gives_an_unfitted_copy_with_the_same_params(tiny_data):
    clf = SentimentClassifier(**TINY_SETTINGS)
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    clone(SentimentClassifier(**TINY_SETTINGS).fit(*tiny_data))  # a fitted one clones too (unfitted)


def test_fit_leaves_the_users_settings_alone(tiny_data):
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 2}}
    clf = SentimentClassifier(**settings)
    before = clf.get_params()
    clf.fit(*tiny_data)
    assert clf.get_params() == before
    assert clf.model_config_.hidden_size == TINY_SETTINGS["model"]["hidden_size"]


def test_grid_search_picks_by_cross_validated_accuracy(tiny_data):
    texts, labels = tiny_data
    search = GridSearchCV(SentimentClassifier(**TINY_SETTINGS), {"model__hidden_size": [8, 16]}, cv=2,
                          error_score="raise")
    search.fit(texts, labels)
    assert search.best_params_["model__hidden_size"] in (8, 16)
    assert search.best_estimator_.model.hidden_size == search.best_params_["model__hidden_size"]
    assert search.best_score_ >= 0.75  # each fold trains on 40 reviews; chance is 0.5
    assert search.score(texts, labels) >= 0.9  # the refit on all 80
