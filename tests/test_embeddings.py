"""Word vectors: reading word2vec/GloVe text, mapping onto a vocabulary, training them, using them."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import TINY_SETTINGS, write_imdb_archive
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.embeddings import embedding_matrix, read_vectors, write_vectors
from sentiment_rnn.errors import ConfigError, DataError


def test_word2vec_and_glove_text_formats_read_alike(tmp_path):
    words, vectors = ["good", "bad", "film"], np.arange(9, dtype=np.float32).reshape(3, 3) / 10
    w2v = write_vectors(tmp_path / "v.txt", words, vectors)
    assert w2v.read_text().splitlines()[0] == "3 3"
    glove = tmp_path / "glove.txt"
    glove.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in zip(words, vectors)))
    gz = tmp_path / "glove.txt.gz"
    gz.write_bytes(gzip.compress(glove.read_bytes()))
    for path in (w2v, glove, gz):
        dim, found = read_vectors(path, wanted={"good", "film", "absent"})
        assert dim == 3 and sorted(found) == ["film", "good"]
        np.testing.assert_allclose(found["film"], vectors[2], atol=1e-6)


@pytest.mark.parametrize("content, message", [
    ("2 3\ngood 0.1 0.2 0.3\nbad 0.1 0.2\n", r"line 3: expected a word and 3 numbers, got 2 values"),
    ("good 0.1 0.2\nbad 0.1 x\n", r"line 2: the vector of 'bad' has a value that is not a number"),
    ("", r"no word vectors"),
])
def test_malformed_vector_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_vectors(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_vectors(tmp_path / "nope.txt")


def test_embedding_matrix_copies_known_words_and_zeroes_padding(tmp_path):
    path = write_vectors(tmp_path / "v.txt", ["good", "bad"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    vocab = {"<pad>": 0, "<oov>": 1, "good": 2, "bad": 3, "film": 4}
    matrix, info = embedding_matrix(vocab, path, dim=2, seed=0)
    np.testing.assert_array_equal(matrix[2], [1, 2])
    np.testing.assert_array_equal(matrix[3], [3, 4])
    np.testing.assert_array_equal(matrix[0], [0, 0])
    assert np.all(np.isfinite(matrix[4])) and info["words_found"] == 2 and info["coverage"] == 0.4
    with pytest.raises(DataError, match="holds 2-dimensional vectors but model.embedding_dim is 8"):
        embedding_matrix(vocab, path, dim=8, seed=0)
    with pytest.raises(DataError, match="none of the tokenizer's 2 words has a vector"):
        embedding_matrix({"<pad>": 0, "x": 1}, path, dim=2, seed=0)


@pytest.mark.parametrize("freeze", [True, False])
def test_fit_starts_from_pretrained_vectors(tmp_path, tiny_data, freeze):
    rng = np.random.default_rng(0)
    words = ["great", "awful", "film", "loved", "hated"]
    vectors = rng.normal(size=(len(words), 16)).astype(np.float32)
    path = write_vectors(tmp_path / "v.txt", words, vectors)
    settings = {**TINY_SETTINGS, "model": {**TINY_SETTINGS["model"], "pretrained_embeddings": str(path),
                                           "freeze_embeddings": freeze}, "training": {**TINY_SETTINGS["training"],
                                                                                      "epochs": 2}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    vocab = clf.tokenizer_.backend.get_vocab()
    weight = clf.network_.embedding.weight.detach()
    still_pretrained = torch.allclose(weight[vocab["great"]], torch.from_numpy(vectors[0]))
    assert still_pretrained is freeze
    info = clf.data_info_["pretrained_embeddings"]
    assert info["words_found"] == 5 and len(info["sha256"]) == 64
    clf.save(tmp_path / "model")  # the recorded provenance travels with the model
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["model"]["pretrained_embeddings"] == str(path)
    assert saved["data"]["pretrained_embeddings"]["coverage"] == info["coverage"]


def test_pretrain_embeddings_cli_reads_unlabeled_and_train_never_test(tmp_path):
    archive = write_imdb_archive(tmp_path / "a.tar.gz", extra={
        "aclImdb/test/pos/99_9.txt": b"onlyintestword appears here",
        "aclImdb/train/unsup/99_0.txt": b"onlyinunlabeled words " * 3})
    out = tmp_path / "vectors" / "w2v.txt"
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "pretrain-embeddings", "--archive", str(archive),
                           "--out", str(out), "--json", "--set", "embeddings.dim=8", "--set", "embeddings.min_count=1",
                           "--set", "embeddings.epochs=2", "--set", "embeddings.workers=1"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    dim, vectors = read_vectors(out)
    assert dim == 8 == summary["dim"] and len(vectors) == summary["words"]
    assert "onlyinunlabeled" in vectors and "great" in vectors  # unlabeled and train reviews
    assert "onlyintestword" not in vectors  # never the test split
    assert "<br" not in " ".join(vectors)  # cleaned like the classifier's input


AUTO_SETTINGS = {**TINY_SETTINGS, "embeddings": {"min_count": 1, "epochs": 2, "workers": 1, "min_reviews": 1}}
UNLABELED = ["onlyinunlabeled words about a film", "another onlyinunlabeled review of a film"] * 4


def test_auto_vectors_come_from_unlabeled_and_training_reviews_and_are_reused_across_seeds(tiny_data, tmp_path):
    first = SentimentClassifier(**AUTO_SETTINGS).fit(*tiny_data, unlabeled=UNLABELED)
    auto = first.data_info_["pretrained_embeddings"]["auto"]
    assert auto["used"] and not auto["reused"] and auto["reviews"] == len(UNLABELED) + len(tiny_data[0])
    path = first.model_config_.pretrained_embeddings
    assert path == auto["cache_file"] and str(tmp_path / "cache" / "vectors") in path
    dim, vectors = read_vectors(path)
    assert dim == TINY_SETTINGS["model"]["embedding_dim"]
    assert {"onlyinunlabeled", "great", "awful"} <= set(vectors)  # unlabeled and labelled reviews
    vocab = first.tokenizer_.backend.get_vocab()  # the embedding started from them (then trained)
    assert first.data_info_["pretrained_embeddings"]["words_found"] >= len(vocab) - 2

    other_seed = {**AUTO_SETTINGS, "training": {**AUTO_SETTINGS["training"], "seed": 7}}
    second = SentimentClassifier(**other_seed).fit(*tiny_data, unlabeled=UNLABELED)
    assert second.data_info_["pretrained_embeddings"]["auto"]["reused"]  # another split, the same corpus
    assert second.model_config_.pretrained_embeddings == path
    second.save(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["model"]["pretrained_embeddings"] == path
    assert saved["data"]["pretrained_embeddings"]["sha256"] == first.data_info_["pretrained_embeddings"]["sha256"]


def test_auto_without_unlabeled_reviews_learns_vectors_from_the_labelled_ones(tiny_data):
    clf = SentimentClassifier(**AUTO_SETTINGS).fit(*tiny_data)
    auto = clf.data_info_["pretrained_embeddings"]["auto"]
    assert auto["used"] and auto["reviews"] == len(tiny_data[0])  # training and validation parts, no test
    assert clf.model_config_.pretrained_embeddings == auto["cache_file"]


def test_auto_with_too_few_labelled_reviews_and_no_unlabeled_ones_starts_random_and_says_why(tiny_data):
    settings = {**AUTO_SETTINGS, "embeddings": {**AUTO_SETTINGS["embeddings"], "min_reviews": 1000}}
    with pytest.warns(UserWarning, match=rf"the embedding starts random: {len(tiny_data[0])} training reviews \(and "
                                         r"no unlabeled ones\) are too few to learn word vectors from"):
        clf = SentimentClassifier(**settings).fit(*tiny_data)
    assert clf.model_config_.pretrained_embeddings == ""
    assert clf.data_info_["pretrained_embeddings"]["auto"]["used"] is False


def test_auto_vectors_take_the_model_s_embedding_size(tiny_data):
    settings = {**AUTO_SETTINGS, "embeddings": {**AUTO_SETTINGS["embeddings"], "dim": 32}}
    with pytest.raises(ConfigError, match="embeddings.dim = 32 but model.embedding_dim = 16"):
        SentimentClassifier(**settings).fit(*tiny_data, unlabeled=UNLABELED)


def test_train_cli_uses_the_archive_s_unlabeled_reviews_for_vectors_never_the_test_split(tmp_path):
    archive = write_imdb_archive(tmp_path / "a.tar.gz", extra={
        "aclImdb/test/pos/99_9.txt": b"onlyintestword appears here",
        "aclImdb/train/unsup/99_0.txt": b"onlyinunlabeled words " * 3})
    settings = [f"{section}.{key}={json.dumps(value)}" for section, values in AUTO_SETTINGS.items()
                for key, value in values.items()]
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--archive", str(archive), "--out",
                           str(tmp_path / "m"), "--no-track", *[x for s in settings for x in ("--set", s)]],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "training 16-d word2vec vectors on" in done.stderr  # said while it happens
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    auto = saved["data"]["pretrained_embeddings"]["auto"]
    assert auto["used"] and auto["reviews"] == 5 + 24  # train/unsup + train (test never)
    _, vectors = read_vectors(saved["model"]["pretrained_embeddings"])
    assert "onlyinunlabeled" in vectors and "onlyintestword" not in vectors


def test_train_cli_on_a_labelled_file_alone_learns_vectors_from_it(tmp_path, tiny_data):
    import csv

    path = tmp_path / "train.csv"
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([("review", "sentiment"), *zip(*tiny_data)])
    settings = [f"{section}.{key}={json.dumps(value)}" for section, values in AUTO_SETTINGS.items()
                for key, value in values.items()]
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(path), "--out",
                           str(tmp_path / "m"), "--no-track", "--quiet", *[x for s in settings for x in ("--set", s)]],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr and "UserWarning" not in done.stderr
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    auto = saved["data"]["pretrained_embeddings"]["auto"]
    assert auto["used"] and auto["reviews"] == len(tiny_data[0])
    assert saved["model"]["pretrained_embeddings"] == auto["cache_file"]


def test_auto_with_too_little_unlabeled_text_warns_and_starts_random(tiny_data):
    settings = {**AUTO_SETTINGS, "embeddings": {**AUTO_SETTINGS["embeddings"], "min_count": 1000}}
    with pytest.warns(UserWarning, match="the embedding starts random: no word occurs embeddings.min_count = 1000"):
        clf = SentimentClassifier(**settings).fit(*tiny_data, unlabeled=UNLABELED)
    assert clf.model_config_.pretrained_embeddings == ""
    assert clf.data_info_["pretrained_embeddings"]["auto"]["used"] is False


def test_pretrain_embeddings_learns_from_a_user_s_chinese_file(tmp_path):
    lines = tmp_path / "unlabeled.txt"
    lines.write_text("\n".join(["味道很好，送餐很快", "太难吃了，送餐太慢", "好吃，下次还点", "不好吃，很失望"] * 5) + "\n",
                     encoding="utf-8")
    out = tmp_path / "zh.txt"
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "pretrain-embeddings", "--unlabeled-file",
                           str(lines), "--out", str(out), "--json", "--set", "embeddings.dim=8",
                           "--set", "embeddings.epochs=2", "--set", "embeddings.workers=1"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reviews"] == 20
    _, vectors = read_vectors(out)
    assert {"味", "好", "吃", "送", "不"} <= set(vectors)  # one vector per character; 不 is no stopword
    assert "味道很好" not in vectors  # never a whole unspaced phrase


def test_auto_from_too_few_reviews_warns_and_starts_random(tiny_data):
    settings = {**AUTO_SETTINGS, "embeddings": {**AUTO_SETTINGS["embeddings"], "min_reviews": 1000}}
    with pytest.warns(UserWarning, match=r"the embedding starts random: 88 unlabeled \+ training reviews are too "
                                         r"few to learn word vectors from \(embeddings.min_reviews = 1000\)"):
        clf = SentimentClassifier(**settings).fit(*tiny_data, unlabeled=UNLABELED)
    assert clf.model_config_.pretrained_embeddings == ""


def test_freeze_auto_fixes_vectors_learned_with_unlabeled_text_and_tunes_those_from_the_labelled_alone(tiny_data):
    with_unlabeled = SentimentClassifier(**AUTO_SETTINGS).fit(*tiny_data, unlabeled=UNLABELED)
    assert with_unlabeled.model_config_.freeze_embeddings is True
    labelled_alone = SentimentClassifier(**AUTO_SETTINGS).fit(*tiny_data)
    assert labelled_alone.model_config_.freeze_embeddings is False
    random_start = {**AUTO_SETTINGS, "model": {**AUTO_SETTINGS["model"], "pretrained_embeddings": ""}}
    assert SentimentClassifier(**random_start).fit(*tiny_data).model_config_.freeze_embeddings is False
    explicit = {**AUTO_SETTINGS, "model": {**AUTO_SETTINGS["model"], "freeze_embeddings": True}}
    assert SentimentClassifier(**explicit).fit(*tiny_data).model_config_.freeze_embeddings is True
