"""A tracking store that is down, never answers, or dies while a training runs: fail fast naming the
URI (password hidden) before any work, or, once training has started, finish it and keep the model."""

from __future__ import annotations

import csv
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import start_mlflow_server, tiny_reviews


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.csv"
    texts, labels = tiny_reviews(40)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([("review", "sentiment"), *zip(texts, labels)])
    return path


TINY = ["--set", "tokenizer.min_frequency=1", "--set", "model.embedding_dim=8", "--set", "model.hidden_size=8",
        "--set", "model.pretrained_embeddings=", "--epochs", "1", "--quiet"]


def serve_in_thread(server) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


class SilentListener:
    """Accepts TCP connections and never says a word (a stuck server, or the wrong service on a port)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


class HealthyButStuck(http.server.BaseHTTPRequestHandler):
    """An MLflow server whose web process answers /health while its store hangs every API call."""

    def do_GET(self):
        if self.path.startswith("/health"):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
        else:
            time.sleep(60)

    do_POST = do_GET

    def log_message(self, *args):
        pass


# (a refused connection, for http and database URIs: tests/tracking/test_tracking.py)
@pytest.mark.parametrize("kind", ["http-silent", "http-stuck-store", "postgresql-silent"])
def test_a_store_that_does_not_answer_fails_fast_before_training(kind, train_file, tmp_path):
    listener = server = None
    if kind == "http-stuck-store":
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthyButStuck)
        serve_in_thread(server)
        uri = f"http://127.0.0.1:{server.server_address[1]}"
    else:
        listener = SilentListener()
        uri = (f"http://127.0.0.1:{listener.port}" if kind.startswith("http")
               else f"postgresql+psycopg://user:hunter2@127.0.0.1:{listener.port}/mlflow")
    try:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(train_file),
                               "--out", str(tmp_path / "m"), "--tracking-uri", uri, *TINY],
                              capture_output=True, text=True, timeout=120)
        seconds = time.monotonic() - started
    finally:
        if server:
            server.shutdown()
        if listener:
            listener.close()
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: tracking "), done.stderr
    assert uri.replace("hunter2", "***") in lines[0] and "hunter2" not in done.stderr  # the URI as given
    assert seconds < 30, seconds  # seconds, not MLflow's minutes of retries (or forever, for a silent database)
    assert not (tmp_path / "m" / "config.json").exists()  # nothing started


def test_a_store_that_dies_during_training_costs_the_run_not_the_model(tmp_path, train_file):
    """A real `mlflow server`, stopped after the first epoch: training goes on, the model is saved, and
    the command fails saying so."""
    from sentiment_rnn import SentimentClassifier, pipeline
    from sentiment_rnn.config import ExperimentConfig
    from sentiment_rnn.errors import TrackingError
    from sentiment_rnn.tracking.runs import Tracker
    from sentiment_rnn.training.callbacks import Callback

    server, uri = start_mlflow_server(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    try:
        class StopTheStore(Callback):  # runs just before the tracker records the epoch
            def on_epoch_end(self, loop, record):
                if record.epoch == 1:
                    server.terminate()
                    server.wait(timeout=30)

        config = ExperimentConfig.load(None, [f"data.train_file={json.dumps(str(train_file))}", "tokenizer.min_frequency=1",
                                              "model.embedding_dim=8", "model.hidden_size=8", 'model.pretrained_embeddings=""',
                                              "training.epochs=3", "training.early_stopping_patience=0"])
        tracker = Tracker(uri, "faults")
        with pytest.warns(UserWarning, match=r"tracking store http://127\.0\.0\.1:\d+: logging epoch 1 failed"):
            with pytest.raises(TrackingError, match=rf"the model is saved in {tmp_path / 'm'}, but MLflow run \w+ at "
                                                    rf"{uri} is incomplete: logging epoch 1 failed: connection refused"):
                pipeline.train(config, tmp_path / "m", callbacks=[StopTheStore()], tracker=tracker)
        SentimentClassifier.load(tmp_path / "m").predict(["a great film"])  # the model is whole
        assert json.loads((tmp_path / "m" / "metrics.json").read_text())["training"]["epochs_run"] == 3
    finally:
        server.kill()
