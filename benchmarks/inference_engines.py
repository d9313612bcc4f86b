#!/usr/bin/env python
"""Issue-5 figures for the CPU inference fast paths: PyTorch vs ONNX Runtime (fp32 and int8), at 1 and 2 threads.

For a trained model and the official IMDB test reviews:
- accuracy on all 25k test reviews with each engine (the accuracy change of the fast path);
- model-only throughput at batch 256 (reviews already tokenized) and end-to-end `predict_proba`
  throughput (cleaning + tokenizing + model), on the first --n test reviews;
- single-review latency p50/p99 (one review per call, end to end) and batch-of-32 time.
Every (engine, threads) setting runs in its own subprocess (thread pools are per process), and the
settings are interleaved over --repeats rounds; medians are reported. Last line: `RESULT_JSON {...}`.

    .venv/bin/python benchmarks/inference_engines.py MODEL_DIR --archive ../shared/data/aclImdb_v1.tar.gz
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

SETTINGS = [("torch", 1), ("onnx", 1), ("onnx-int8", 1), ("torch", 2), ("onnx", 2), ("onnx-int8", 2)]


def measure(model: str, archive: str, engine: str, threads: int, n: int, accuracy: bool) -> dict:
    import torch

    from sentiment_rnn import SentimentClassifier
    from sentiment_rnn.config import DataConfig
    from sentiment_rnn.pipeline import load_reviews

    torch.set_num_threads(threads)  # the tokenizer's and torch's pools, for both engines alike
    reviews = load_reviews(DataConfig(archive=archive), "test")
    clf = SentimentClassifier.load(model, engine, threads)
    texts = reviews.texts[:n]
    result: dict = {"engine": engine, "threads": threads}
    started = time.perf_counter()
    clf.predict_proba(texts)
    result["end_to_end_reviews_per_s"] = round(n / (time.perf_counter() - started), 1)
    sequences = clf.encode(texts)
    started = time.perf_counter()
    clf.probabilities(sequences)
    result["model_only_reviews_per_s"] = round(n / (time.perf_counter() - started), 1)
    batch32 = []
    for start in range(0, 32 * 20, 32):
        t = time.perf_counter()
        clf.probabilities(sequences[start:start + 32])
        batch32.append((time.perf_counter() - t) * 1000)
    result["batch32_ms_p50"] = round(statistics.median(batch32), 2)
    single = []
    for text in texts[:300]:
        t = time.perf_counter()
        clf.predict_proba([text])
        single.append((time.perf_counter() - t) * 1000)
    result["single_ms_p50"] = round(float(np.percentile(single, 50)), 2)
    result["single_ms_p99"] = round(float(np.percentile(single, 99)), 2)
    if accuracy:
        predicted = clf.predict(reviews.texts)
        result["test_accuracy"] = round(float(np.mean(predicted == np.asarray(reviews.labels, dtype=object))), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--archive", required=True)
    parser.add_argument("--n", type=int, default=5000, help="test reviews for the throughput figures")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "THREADS", "ACCURACY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, threads, accuracy = args.worker
        print(json.dumps(measure(args.model, args.archive, engine, int(threads), args.n, accuracy == "1")))
        return

    runs: dict[tuple[str, int], list[dict]] = {s: [] for s in SETTINGS}
    for repeat in range(args.repeats):
        for engine, threads in SETTINGS:
            accuracy = repeat == 0 and threads == 2  # once per engine: it does not depend on threads
            out = subprocess.run([sys.executable, __file__, args.model, "--archive", args.archive, "--n", str(args.n),
                                  "--worker", engine, str(threads), "1" if accuracy else "0"],
                                 capture_output=True, text=True, check=True)
            run = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(run), flush=True)
            runs[(engine, threads)].append(run)

    summary: dict = {"n": args.n, "repeats": args.repeats, "settings": {}}
    for (engine, threads), results in runs.items():
        row = {key: statistics.median(r[key] for r in results)
               for key in results[0] if key not in ("engine", "threads", "test_accuracy")}
        accuracies = [r["test_accuracy"] for r in results if "test_accuracy" in r]
        if accuracies:
            row["test_accuracy"] = accuracies[0]
        summary["settings"][f"{engine}@{threads}"] = row
    s = summary["settings"]
    for engine in ("onnx", "onnx-int8"):
        for threads in (1, 2):
            summary[f"{engine}_vs_torch_speedup@{threads}"] = {
                key: round(s[f"{engine}@{threads}"][key] / s[f"torch@{threads}"][key], 2)
                for key in ("end_to_end_reviews_per_s", "model_only_reviews_per_s")}
            summary[f"{engine}_vs_torch_single_p50@{threads}"] = round(
                s[f"torch@{threads}"]["single_ms_p50"] / s[f"{engine}@{threads}"]["single_ms_p50"], 2)
        summary[f"{engine}_accuracy_change_points"] = round(
            100 * (s[f"{engine}@2"]["test_accuracy"] - s["torch@2"]["test_accuracy"]), 3)
    print("RESULT_JSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
