#!/usr/bin/env python
"""Issue-2 figures: train the default and the tutorial (seed) configs on the 25k IMDB training
reviews, score the official 25k test reviews, and measure speed and memory.

Runs are interleaved (default seed 1, tutorial seed 1, default seed 2, ...) so that machine noise
hits both configs alike. Each training is a separate `sentiment-rnn train` process, whose peak
resident memory is read from the kernel (wait4). Prints one JSON object per run, then a summary
with medians, as the last line `RESULT_JSON {...}`.

    .venv/bin/python benchmarks/train_imdb.py --archive ../shared/data/aclImdb_v1.tar.gz --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"default": ROOT / "configs" / "default.toml", "seed": ROOT / "configs" / "seed.toml"}


ARTICLE = ("The movie was quite slow and some of the characters were rather boring, but overall it was a very "
           "interesting movie.")  # the tutorial's own example of long-range memory: positive


def train(config: Path, archive: str, out: Path, seed: int, extra: list[str], cache: Path | None = None) -> dict:
    """One `sentiment-rnn train` process; with `cache`, under that (empty) $SENTIMENT_RNN_CACHE, so
    that parsing the archive and learning the word vectors count in its wall time."""
    cmd = [sys.executable, "-m", "sentiment_rnn", "train", "--archive", archive, "--out", str(out), "--overwrite", "--config",
           str(config), "--seed", str(seed), "--quiet", "--no-track", *extra]
    env = {**os.environ, **({"SENTIMENT_RNN_CACHE": str(cache)} if cache else {})}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"training failed: {' '.join(cmd)}\n{stderr}")
    run = {"train_wall_s": round(wall, 1), "train_peak_rss_mib": round(usage.ru_maxrss / 1024)}
    vectors = json.loads((out / "config.json").read_text())["data"].get("pretrained_embeddings", {}).get("auto", {})
    if vectors.get("used"):
        run["word_vectors_s"] = vectors.get("seconds", 0.0)  # 0: reused from the cache
    return run


def measure_predict(model_dir: Path, archive: str, batch1_reviews: int) -> dict:
    """Official test accuracy, and prediction throughput at batch 256 and batch 1."""
    import resource

    import numpy as np

    from sentiment_rnn import SentimentClassifier
    from sentiment_rnn.data import load_imdb_split
    from sentiment_rnn.pipeline import evaluate

    clf = SentimentClassifier.load(model_dir)
    test = load_imdb_split(archive, "test")
    report = evaluate(clf, test, batch_size=256)
    article = clf.predict_proba([ARTICLE])[0]
    sample = test.texts[:batch1_reviews]
    latencies = []
    for text in sample:
        t0 = time.perf_counter()
        clf.predict_proba([text], batch_size=1)
        latencies.append(time.perf_counter() - t0)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    epochs = metrics["history"]["epochs"]
    return {
        "test_accuracy": round(report["accuracy"], 4),
        "test_roc_auc": round(report["roc_auc"], 4),
        "article_sentence": {label: round(float(p), 4) for label, p in zip(clf.classes_, article)},
        "val_accuracy": metrics["training"].get("val_accuracy"),
        "epochs_run": len(epochs),
        "train_reviews_per_s": round(statistics.median(e["reviews_per_s"] for e in epochs), 1),
        "epoch_s": [e["seconds"] for e in epochs],
        "predict_reviews_per_s_batch256": report["reviews_per_s"],
        "predict_reviews_per_s_batch1": round(len(sample) / sum(latencies), 1),
        "predict_latency_ms_batch1_p50": round(1000 * float(np.percentile(latencies, 50)), 2),
        "predict_latency_ms_batch1_p99": round(1000 * float(np.percentile(latencies, 99)), 2),
        "predict_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--batch1-reviews", type=int, default=500)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to train")
    parser.add_argument("--keep", help="keep model folders under this directory")
    parser.add_argument("--fresh-cache", action="store_true",
                        help="each training from an empty $SENTIMENT_RNN_CACHE (archive parsed, vectors learned)")
    args = parser.parse_args()

    extra = [x for o in args.overrides for x in ("--set", o)]
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="bench-"))
    runs = []
    for seed in args.seeds:
        for name in args.configs:
            out = workdir / f"{name}-seed{seed}"
            cache = Path(tempfile.mkdtemp(prefix="cache-", dir=workdir)) if args.fresh_cache else None
            run = {"config": name, "seed": seed, **train(CONFIGS[name], args.archive, out, seed, extra, cache)}
            run.update(measure_predict(out, args.archive, args.batch1_reviews))
            print(json.dumps(run), flush=True)
            runs.append(run)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from recipe import machine  # sibling benchmark script: CPU model, cores, GPU

    summary = {"machine": machine(), "seeds": args.seeds, "configs": {}}
    for name in args.configs:
        mine = [r for r in runs if r["config"] == name]
        summary["configs"][name] = {
            key: statistics.median(r[key] for r in mine)
            for key in ("test_accuracy", "train_wall_s", "train_reviews_per_s", "train_peak_rss_mib",
                        "predict_reviews_per_s_batch256", "predict_reviews_per_s_batch1",
                        "predict_latency_ms_batch1_p50", "predict_latency_ms_batch1_p99")
        } | {"test_accuracy_all": [r["test_accuracy"] for r in mine],
             "train_wall_s_all": [r["train_wall_s"] for r in mine],
             "word_vectors_s_all": [r.get("word_vectors_s") for r in mine],
             "article_sentence_all": [r["article_sentence"] for r in mine],
             "fresh_cache": args.fresh_cache, "overrides": args.overrides}
    print("RESULT_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
