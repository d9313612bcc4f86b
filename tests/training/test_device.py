"""Device and precision settings, exercised on the CPU (the GPU path is the same code with cuda)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, TINY_SETTINGS, write_imdb_archive
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.config import TrainingConfig
from sentiment_rnn.errors import ConfigError
from sentiment_rnn.training.device import autocast_dtype, cpu_has_native_bf16, resolve_device


def test_device_settings_are_validated():
    with pytest.raises(ConfigError, match="training.device must be auto, cpu, cuda or cuda:N, got 'gpu'"):
        TrainingConfig(device="gpu")
    with pytest.raises(ConfigError, match="training.precision"):
        TrainingConfig(precision="fp8")
    assert TrainingConfig(device="cuda:1").device == "cuda:1"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
    # on a CPU, auto is bf16 exactly where oneDNN runs it natively
    expected = torch.bfloat16 if cpu_has_native_bf16() else None
    assert autocast_dtype("auto", torch.device("cpu")) is expected
    assert autocast_dtype("fp32", torch.device("cpu")) is None


def test_bf16_autocast_trains_and_the_model_comes_back_to_cpu(tiny_data):
    settings = {**TINY_SETTINGS, "training": {**TINY_SETTINGS["training"], "precision": "bf16", "log_every_steps": 3}}
    clf = SentimentClassifier(**settings).fit(*tiny_data)
    assert next(clf.network_.parameters()).device.type == "cpu"
    assert next(clf.network_.parameters()).dtype == torch.float32  # autocast never changes the weights
    assert clf.score(*tiny_data) > 0.9
    steps = [s.step for s in clf.history_.steps]
    assert steps == list(range(len(steps)))  # step records arrive in groups, complete and in order


def test_gpu_epoch_benchmark_runs_on_cpu(tmp_path):
    archive = write_imdb_archive(tmp_path / "a.tar.gz", per_class=20)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_epoch.py"), "--device", "cpu",
                          "--archive", str(archive), "--epochs", "4", "--set", "tokenizer.min_frequency=1",
                          "--set", "training.batch_size=8", "--set", "training.learning_rate=0.01",
                          "--set", "training.early_stopping_patience=0"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["device"] == "cpu" and result["test_reviews"] == 40 and result["epochs"] == 4
    assert result["test_accuracy"] >= 0.9  # the synthetic reviews are easy: a model that learned scores them
    assert result["train_reviews_per_s"] > 0
