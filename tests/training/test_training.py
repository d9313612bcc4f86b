"""Bucketing, early stopping, and resume after an interruption."""

import numpy as np
import pytest
import torch

from conftest import TINY_SETTINGS
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.training.batching import bucketed_batches
from sentiment_rnn.training.callbacks import Callback


def test_bucketing_reduces_padding_and_covers_everything():
    lengths = np.random.default_rng(0).integers(1, 400, size=1000)
    batches = bucketed_batches(lengths, 32, 10, seed=0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    padded = sum(len(b) * lengths[b].max() for b in batches)
    random_padded = sum(len(b) * lengths[b].max() for b in np.array_split(np.arange(1000), len(batches)))
    assert padded < 0.75 * random_padded
    assert [b.tolist() for b in batches] == [b.tolist() for b in bucketed_batches(lengths, 32, 10, seed=0)]


def test_ranks_get_disjoint_equal_shards():
    lengths = np.arange(1, 101)
    a = bucketed_batches(lengths, 8, 4, seed=3, rank=0, world_size=2)
    b = bucketed_batches(lengths, 8, 4, seed=3, rank=1, world_size=2)
    assert len(a) == len(b)
    assert not set(np.concatenate(a)) & set(np.concatenate(b))


def test_early_stopping(tiny_data):
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 60, "early_stopping_patience": 2,
                                               "monitor": "val_loss", "learning_rate": 0.05}}
    history = SentimentClassifier(**settings).fit(*tiny_data).history_
    # It stops `patience` epochs after the best one; *when* that happens depends on the hardware's
    # numerics (cuDNN keeps improving this tiny model far longer than the CPU), so only the rule is checked.
    assert history.stopped_early and len(history.epochs) == history.best_epoch + 2 + 1 < 60
    assert [e.improved for e in history.epochs[-2:]] == [False, False]


class Interrupt(Callback):
    def on_epoch_end(self, loop, record):
        if record.epoch == 1:
            raise KeyboardInterrupt


def test_resume_continues_exactly(tiny_data, tmp_path):
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 4, "early_stopping_patience": 0}}
    straight = SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "b", callbacks=[Interrupt()])
    resumed = SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "b", resume=True)
    assert [e.epoch for e in resumed.history_.epochs] == [0, 1, 2, 3]
    for key, value in straight.network_.state_dict().items():
        torch.testing.assert_close(resumed.network_.state_dict()[key], value, atol=1e-6, rtol=0)


def test_a_checkpoint_is_one_unit_and_is_verified_on_resume(tiny_data, tmp_path):
    from sentiment_rnn import ModelError

    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "epochs": 4, "early_stopping_patience": 0}}
    straight = SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "b", callbacks=[Interrupt()])
    last = tmp_path / "b" / "last"
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["best", "last"]  # no half-written sibling left
    # a crash between the two renames: only the staged new checkpoint is there
    last.rename(tmp_path / "b" / "last.new")
    resumed = SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "b", resume=True)
    for key, value in straight.network_.state_dict().items():
        torch.testing.assert_close(resumed.network_.state_dict()[key], value, atol=1e-6, rtol=0)
    # a weights file from another write does not pass for this checkpoint
    (tmp_path / "a" / "best" / "model.safetensors").replace(last / "model.safetensors")
    with pytest.raises(ModelError, match="does not match its checkpoint's progress.json"):
        SentimentClassifier(**settings).fit(*tiny_data, checkpoint_dir=tmp_path / "b", resume=True)
