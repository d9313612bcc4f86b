"""Scoring a Spark DataFrame with the registered model through `mlflow.pyfunc.spark_udf`, in Spark
local mode (PySpark from the `spark` extra, Java from Debian: .ci/run installs both): the same
labels as `sentiment-rnn predict`, the same probabilities to 1e-6."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import tiny_reviews, write_imdb_archive


def _pyspark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI installs the spark extra (scripts/setup)")
        pytest.skip("pyspark is not installed (pip install 'sentiment-rnn[spark]')")


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_spark_udf_scores_a_dataframe_like_predict(tmp_path, monkeypatch):
    _pyspark()
    import mlflow
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("SENTIMENT_RNN_CACHE", str(tmp_path / "cache"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    archive = write_imdb_archive(tmp_path / "a.tar.gz", per_class=16)
    done = cli("train", "--archive", str(archive), "--out", str(tmp_path / "m"), "--tracking-uri", uri, "--register",
               "reviews", "--epochs", "2", "--quiet", "--set", "tokenizer.min_frequency=1", "--set",
               "model.embedding_dim=8", "--set", "model.hidden_size=8", "--set", "training.val_fraction=0.25",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert cli("models", "alias", "reviews", "1", "champion", "--tracking-uri", uri, cwd=tmp_path).returncode == 0
    texts = tiny_reviews(150, seed=3)[0] + ["", "ÉNORME film !!!", "a " * 500]  # 303 reviews, odd ones too
    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), tmp_path / "reviews.parquet")

    # As the README shows it.
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the executors' Python: the one with the package
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    try:
        mlflow.set_tracking_uri(uri)
        score = mlflow.pyfunc.spark_udf(spark, "models:/reviews@champion", env_manager="local",
                                        result_type="label string, p_negative double, p_positive double")
        frame = spark.read.parquet(str(tmp_path / "reviews.parquet"))
        scored = frame.withColumn("prediction", score("text")).select("id", "prediction.*").toPandas()
    finally:
        spark.stop()

    done = cli("predict", str(tmp_path / "m"), "--input", str(tmp_path / "reviews.parquet"), "--text-column", "text",
               "--output", str(tmp_path / "predicted.jsonl"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = pd.DataFrame([json.loads(line) for line in (tmp_path / "predicted.jsonl").read_text().splitlines()])
    scored = scored.sort_values("id")  # Spark makes no promise of order
    assert len(scored) == len(texts) == len(expected)
    assert scored["label"].tolist() == expected["label"].tolist()
    for name in ("negative", "positive"):
        probabilities = expected["probabilities"].map(lambda p: p[name]).to_numpy()
        assert abs(scored[f"p_{name}"].to_numpy() - probabilities).max() < 1e-6
