"""Integration: train on a slice of the real IMDB archive and beat a clear floor on held-out reviews."""

import pytest

from conftest import shared_archive
from sentiment_rnn import ExperimentConfig
from sentiment_rnn.pipeline import evaluate, load_reviews, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive():
    return shared_archive()


def test_small_slice_beats_floor_on_official_test_reviews(archive, tmp_path):
    config = ExperimentConfig.load(None, [f"data.archive={str(archive)!r}", "data.limit=5000", "training.epochs=6",
                                          "tokenizer.max_length=256", "data.unlabeled_limit=5000"])
    clf, summary = train(config, tmp_path / "model")
    test = load_reviews(config.data, "test", limit=1000, seed=7)
    report = evaluate(clf, test)
    assert report["n"] == 1000
    assert report["accuracy"] >= 0.75, report  # chance is 0.5; a few thousand reviews reach ~0.8
    assert summary["val_accuracy"] >= 0.7
    vectors = clf.data_info_["pretrained_embeddings"]  # the default start: vectors from unlabeled + train
    assert vectors["auto"]["used"] and vectors["auto"]["reviews"] == 5000 + 5000 and vectors["coverage"] > 0.9
