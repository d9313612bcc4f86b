#!/usr/bin/env python
"""Issue-17 figure: the registered model scoring 100k reviews from Parquet in Spark local mode
(`mlflow.pyfunc.spark_udf`, `local[N]`), beside `sentiment-rnn predict --input` on the same file,
in one run on one machine; JSON with reviews/s for each and whether they agree.

    .venv/bin/python benchmarks/spark_scoring.py MODEL_DIR [--reviews 100000] [--cores 2]

The reviews are the IMDB archive's 100k (train, test, unsup): scoring reads no labels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    import pyarrow as pa
    import pyarrow.parquet as pq
    from recipe import machine

    from sentiment_rnn.data import load_imdb_split

    texts = [t for split in ("train", "test", "unsup") for t in load_imdb_split(args.archive, split).texts]
    texts = texts[:args.reviews]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        reviews = tmp / "reviews.parquet"
        pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), reviews, row_group_size=10_000)
        uri = f"sqlite:///{tmp / 'mlflow.db'}"
        os.environ["MLFLOW_TRACKING_URI"] = uri
        from sentiment_rnn.tracking.runs import Tracker

        tracker = Tracker(uri, "spark-benchmark", register="imdb")
        with tracker.run({}):
            tracker.log_model(Path(args.model), input_example=["A wonderful film."])

        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "predict", args.model, "--input", str(reviews),
                               "--text-column", "text", "--output", str(tmp / "predicted.jsonl")],
                              capture_output=True, text=True)
        predict_s = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(done.stderr)

        os.environ["PYSPARK_PYTHON"] = sys.executable
        import mlflow
        from pyspark.sql import SparkSession

        started = time.perf_counter()
        spark = (SparkSession.builder.master(f"local[{args.cores}]").config("spark.ui.enabled", "false")
                 .config("spark.driver.memory", "4g").getOrCreate())
        session_s = time.perf_counter() - started
        score = mlflow.pyfunc.spark_udf(spark, "models:/imdb/1", env_manager="local",
                                        result_type="label string, p_negative double, p_positive double")
        frame = spark.read.parquet(str(reviews)).repartition(args.cores * 4)
        frame.withColumn("prediction", score("text")).select("id", "prediction.*").write.parquet(str(tmp / "scored"))
        spark_s = time.perf_counter() - started
        spark.stop()

        scored = pq.read_table(tmp / "scored").to_pandas().sort_values("id")
        # split("\n"), not splitlines(): reviews hold U+2028, which JSON leaves as it is
        expected = [json.loads(line) for line in (tmp / "predicted.jsonl").read_text().split("\n") if line]
        same_labels = scored["label"].tolist() == [e["label"] for e in expected]
        max_difference = max(abs(p - e["probabilities"]["positive"]) for p, e in zip(scored["p_positive"], expected))
    print(json.dumps({
        "reviews": len(texts), "machine": machine(), "spark_cores": args.cores,
        "predict_cli": {"seconds": round(predict_s, 1), "reviews_per_s": round(len(texts) / predict_s, 1)},
        "spark_udf": {"seconds": round(spark_s, 1), "session_start_s": round(session_s, 1),
                      "reviews_per_s": round(len(texts) / spark_s, 1)},
        "same_labels": same_labels, "max_probability_difference": max_difference,
    }, indent=1))


if __name__ == "__main__":
    main()
