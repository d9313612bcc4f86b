"""Shared fixtures: tiny literal reviews, a synthetic IMDB-layout archive, one tiny trained model."""

from __future__ import annotations

import io
import os
import random
import shutil
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_ARCHIVE = Path(os.environ.get("SENTIMENT_RNN_TEST_ARCHIVE", ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))


def shared_archive() -> Path:
    """The real IMDB archive: CI must have it; elsewhere, tests that need it are skipped without it."""
    if not SHARED_ARCHIVE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared IMDB archive at {SHARED_ARCHIVE}")
        pytest.skip(f"no IMDB archive at {SHARED_ARCHIVE}")
    return SHARED_ARCHIVE

POSITIVE = ["a great film", "wonderful acting and a great story", "excellent , i loved it", "truly superb movie",
            "the best film of the year", "brilliant and moving", "i loved every minute", "a delightful masterpiece"]
NEGATIVE = ["an awful film", "terrible acting and a boring story", "dreadful , i hated it", "truly bad movie",
            "the worst film of the year", "dull and pointless", "i hated every minute", "a tedious mess"]


# Tiny literal Chinese delivery reviews (no spaces between words), for the any-language tests.
ZH_POS = ["味道很好，送餐很快", "好吃，分量足", "非常好吃，下次还点", "送餐快，态度好", "很新鲜，好评"]
ZH_NEG = ["太难吃了，不会再点", "送餐太慢，菜都凉了", "味道很差，差评", "不好吃，很失望", "分量少，不新鲜"]


def tiny_reviews(n_per_class: int = 40, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n_per_class):
        texts.append(f"{rng.choice(POSITIVE)} . {rng.choice(['the plot', 'it', 'the cast'])} was {rng.choice(['great', 'superb', 'fine'])}")
        labels.append("positive")
        texts.append(f"{rng.choice(NEGATIVE)} . {rng.choice(['the plot', 'it', 'the cast'])} was {rng.choice(['awful', 'boring', 'bad'])}")
        labels.append("negative")
    return texts, labels


TINY_SETTINGS = {
    # the tiny reviews are a few words long: without their stopwords too little is left to learn in 12 epochs
    "text": {"pipeline": ["strip_html", "unescape_html", "normalize_unicode", "lowercase", "separate_punctuation"]},
    "tokenizer": {"min_frequency": 1, "max_length": 32},
    # no wide part: on reviews this separable it answers with certainty alone, and the tests of
    # explanations, thresholds and calibration need probabilities that move (tests/models/test_wide.py)
    "model": {"embedding_dim": 16, "hidden_size": 16, "ngrams": 0},
    "training": {"epochs": 12, "batch_size": 16, "learning_rate": 0.02, "val_fraction": 0.2, "early_stopping_patience": 0},
}


@pytest.fixture(scope="session")
def tiny_data():
    return tiny_reviews()


@pytest.fixture(scope="session")
def _trained_model_dir(tmp_path_factory, tiny_data):
    from sentiment_rnn import SentimentClassifier

    folder = tmp_path_factory.mktemp("tiny-model")
    clf = SentimentClassifier(**TINY_SETTINGS).fit(*tiny_data)
    clf.save(folder)
    return folder


@pytest.fixture
def tiny_model_dir(_trained_model_dir, tmp_path):
    """A copy of the session's tiny trained model for each test to use or damage."""
    copy = tmp_path / "model"
    shutil.copytree(_trained_model_dir, copy)
    return copy


def write_imdb_archive(path: Path, per_class: int = 12, extra: dict[str, bytes] | None = None,
                       skip_dirs: tuple[str, ...] = ()) -> Path:
    """A small archive with the official aclImdb layout and names (ID_RATING.txt)."""
    texts, labels = tiny_reviews(per_class * 2, seed=1)
    members: dict[str, bytes] = {"aclImdb/README": b"synthetic"}
    counters: dict[str, int] = {}
    for text, label in zip(texts, labels):
        for split in ("train", "test"):
            folder = f"{split}/{'pos' if label == 'positive' else 'neg'}"
            n = counters.get(folder, 0)
            if n >= per_class or folder in skip_dirs:
                continue
            counters[folder] = n + 1
            rating = 8 if label == "positive" else 2
            members[f"aclImdb/{folder}/{n}_{rating}.txt"] = f"{text} <br /><br />the end".encode()
    for n in range(4):
        members[f"aclImdb/train/unsup/{n}_0.txt"] = b"an unlabeled review"
    members.update(extra or {})
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def imdb_archive(tmp_path):
    return write_imdb_archive(tmp_path / "aclImdb_v1.tar.gz")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own dataset cache; nothing touches ~/.cache."""
    monkeypatch.setenv("SENTIMENT_RNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SENTIMENT_RNN_IMDB", raising=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc, probe_url: str, what: str, seconds: float = 120, log_path: Path | None = None) -> None:
    """Poll `probe_url` until it answers; fail with the process's log if it exits or takes too long."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(probe_url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log = log_path.read_text()[-3000:] if log_path else ""
                raise RuntimeError(f"{what} did not start (exit code {proc.poll()})\n{log}")
            time.sleep(0.3)


def start_mlflow_server(backend: str, root: Path):
    """A real `mlflow server` on loopback: `backend` its store, artifacts and log under `root`;
    waits for /health. The process and its URI."""
    import subprocess
    import sys

    port = free_port()
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
                             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT)
    uri = f"http://127.0.0.1:{port}"
    wait_until_up(proc, uri + "/health", "mlflow server", log_path=root / "server.log")
    return proc, uri


def start_server(model_dir, *extra: str, log_path=None):
    """`sentiment-rnn serve MODEL --host 127.0.0.1 --port PORT` as users run it; waits for /readyz."""
    import subprocess
    import sys

    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "sentiment_rnn", "serve", str(model_dir), "--host", "127.0.0.1",
                             "--port", str(port), *extra], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(proc, url + "/readyz", "sentiment-rnn serve", seconds=90,
                  log_path=Path(log_path) if log_path else None)
    return proc, url


@pytest.fixture(scope="session")
def live_server(_trained_model_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc, url = start_server(_trained_model_dir, log_path=log)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
