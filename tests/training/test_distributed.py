"""Data-parallel training on CPU: 2 processes over gloo, launched by torchrun, against 1 process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_ARCHIVE, shared_archive

pytestmark = pytest.mark.slow
SETTINGS = ["--limit", "4000", "--epochs", "4", "--seed", "5", "--quiet", "--set", "tokenizer.max_length=128",
            "--set", "training.early_stopping_patience=0",
            "--set", "data.unlabeled_limit=2000"]  # word vectors (the default start) from a few reviews: quick
TOLERANCE = 0.06  # validation accuracy, 2 processes vs 1, on 400 validation reviews


def train(launcher: list[str], out: Path, uri: str, cwd: Path) -> subprocess.CompletedProcess:
    # each run its own cache: under torchrun too, the word vectors are trained (by rank 0, once)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SENTIMENT_RNN_CACHE": str(cwd / f"cache-{out.name}")}
    return subprocess.run([*launcher, "-m", "sentiment_rnn", "train", "--archive", str(SHARED_ARCHIVE), "--out", str(out),
                           "--tracking-uri", uri, "--experiment", "ddp", *SETTINGS], capture_output=True, text=True,
                          cwd=cwd, timeout=900, env=env)


def test_two_processes_match_one_and_write_one_model_and_one_run(tmp_path):
    shared_archive()
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    one = train([sys.executable], tmp_path / "one", f"sqlite:///{tmp_path / 'one.db'}", tmp_path)
    assert one.returncode == 0, one.stderr
    # The parsed archive is shared (parsing 100k reviews twice costs a quarter of this test); the word
    # vectors are not: under torchrun they are learned again, by rank 0.
    import shutil

    shutil.copytree(tmp_path / "cache-one" / "datasets", tmp_path / "cache-two" / "datasets")
    two = train([torchrun, "--standalone", "--nproc-per-node", "2"], tmp_path / "two",
                f"sqlite:///{tmp_path / 'two.db'}", tmp_path)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("saved model to") == 1  # only rank 0 reports and writes

    metrics = {name: json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("one", "two")}
    acc = {name: m["training"]["val_accuracy"] for name, m in metrics.items()}
    assert acc["one"] > 0.65 and abs(acc["one"] - acc["two"]) <= TOLERANCE, acc
    # training.batch_size is the global batch: 2 ranks of 32 make as many updates as 1 process of 64.
    steps = {name: len(m["history"]["steps"]["step"]) for name, m in metrics.items()}
    assert abs(steps["two"] - steps["one"]) <= 8, steps

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'two.db'}")
    runs = mlflow.search_runs(experiment_names=["ddp"])
    assert len(runs) == 1 and runs.iloc[0]["status"] == "FINISHED"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["cache-one", "cache-two", "mlruns", "one",
                                                                       "two"]
    vectors = json.loads((tmp_path / "two" / "config.json").read_text())["data"]["pretrained_embeddings"]["auto"]
    assert vectors["used"] and not vectors["reused"]  # trained once under torchrun (rank 0), then shared
    assert len(list((tmp_path / "cache-two" / "vectors").iterdir())) == 1
