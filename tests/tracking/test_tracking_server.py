"""A team server: a real `mlflow server` on loopback with PostgreSQL as its backend store (started
by .ci/run) and a local artifact root. Train, register, alias, and load by alias from another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import start_mlflow_server, write_imdb_archive

POSTGRES = os.environ.get("SENTIMENT_RNN_TEST_POSTGRES")
TINY = ["--set", "tokenizer.min_frequency=1", "--set", "model.embedding_dim=8", "--set", "model.hidden_size=8",
        "--set", "training.batch_size=8", "--set", "training.val_fraction=0.25"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("CI must export SENTIMENT_RNN_TEST_POSTGRES (see scripts/start-postgres)")
        pytest.skip("set SENTIMENT_RNN_TEST_POSTGRES=postgresql://... (scripts/start-postgres prints it)")
    import psycopg

    database = f"mlflow_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(POSTGRES, autocommit=True)
    admin.execute(f"CREATE DATABASE {database}")
    root = tmp_path_factory.mktemp("server")
    proc, uri = start_mlflow_server(POSTGRES.rsplit("/", 1)[0] + f"/{database}", root)
    yield uri, root
    proc.terminate()
    proc.wait(timeout=30)
    admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin.close()


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_train_register_alias_and_load_by_alias_from_another_process(server, tmp_path):
    uri, root = server
    archive = write_imdb_archive(tmp_path / "a.tar.gz", per_class=16)
    result = run("train", "--archive", str(archive), "--out", str(tmp_path / "m"), "--tracking-uri", uri,
                 "--experiment", "team", "--register", "team-model", "--limit", "24", "--epochs", "2", "--quiet",
                 *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MLflow run" in result.stdout and uri in result.stdout
    assert run("models", "alias", "team-model", "1", "champion", "--tracking-uri", uri, cwd=tmp_path).returncode == 0
    listed = json.loads(run("models", "list", "--tracking-uri", uri, "--json", cwd=tmp_path).stdout)
    assert listed[0]["name"] == "team-model" and listed[0]["aliases"] == ["champion"]
    # A separate process, in another directory, with nothing but the server's URI.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run("predict", "models:/team-model@champion", "--tracking-uri", uri, "--json", "some review", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    prediction = json.loads(result.stdout)
    assert prediction["text"] == "some review" and prediction["label"] in ("negative", "positive")
    # Artifacts went to the server's artifact root, not the client's directory.
    assert any((root / "artifacts").rglob("model.safetensors"))
    assert not (tmp_path / "mlruns").exists()
