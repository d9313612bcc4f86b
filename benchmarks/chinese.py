#!/usr/bin/env python
"""Issue-15 figure: Chinese reviews (waimai_10k) with the default settings, beside a character
TF-IDF baseline measured in the same run.

The split is the one ../shared/data/zh/README.md fixes: the CSV's rows shuffled by
`random.Random(0)`, the first 80 % for training (validation is carved from them by the classifier),
the rest scored once. Per seed: `sentiment-rnn train --train-file` (wall time of the whole process),
then test accuracy and prediction speed (raw text in, batch 256). Prints one JSON object per run and
`RESULT_JSON {...}` with medians.

    .venv/bin/python benchmarks/chinese.py --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "zh" / "waimai_10k.csv"


def seeded_split(path: Path, workdir: Path) -> tuple[Path, list[str], list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    random.Random(0).shuffle(rows)
    cut = int(len(rows) * 0.8)
    train = workdir / "train.csv"
    with open(train, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["label", "review"])
        writer.writeheader()
        writer.writerows(rows[:cut])
    test = rows[cut:]
    return train, [r["review"] for r in test], [r["label"] for r in test]


def tfidf_baseline(train: Path, texts: list[str], labels: list[str]) -> dict:
    """Character 1-3 grams, sublinear tf, min_df 2, logistic regression C = 8 (the README's recipe)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    with open(train, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    features = vectorizer.fit_transform([r["review"] for r in rows])
    model = LogisticRegression(C=8, max_iter=2000).fit(features, [r["label"] for r in rows])
    accuracy = float((model.predict(vectorizer.transform(texts)) == labels).mean())
    return {"test_accuracy": round(accuracy, 4), "seconds": round(time.perf_counter() - started, 2)}


def run_seed(train: Path, texts: list[str], labels: list[str], out: Path, seed: int, extra: list[str]) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(train),
                           "--set", 'data.label_column="label"', "--out", str(out), "--seed", str(seed),
                           "--quiet", "--no-track", "--overwrite", *extra], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    wall = time.perf_counter() - started
    from sentiment_rnn import SentimentClassifier

    clf = SentimentClassifier.load(out)
    started = time.perf_counter()
    predicted = clf.predict(texts, batch_size=256)
    seconds = time.perf_counter() - started
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    recurrent = None
    if clf.network_.wide is not None and clf.network_.recurrent:  # the same model without its wide part, on the same reviews
        with clf.network_.without_wide():
            recurrent = round(float((clf.use_engine().predict(texts, batch_size=256) == labels).mean()), 4)
    return {"seed": seed, "test_accuracy": round(float((predicted == labels).mean()), 4),
            "test_accuracy_recurrent_only": recurrent, "wide": config["data"].get("wide"),
            "val_accuracy": metrics["training"].get("val_accuracy"), "train_wall_s": round(wall, 1),
            "epochs_run": metrics["training"].get("epochs_run"), "language": config["text"]["language"],
            "vocab_size": clf.tokenizer_.vocab_size, "predict_reviews_per_s_batch256": round(len(texts) / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to train")
    parser.add_argument("--keep", help="keep the split and model folders under this directory")
    args = parser.parse_args()

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="zh-"))
    workdir.mkdir(parents=True, exist_ok=True)
    train, texts, labels = seeded_split(Path(args.data), workdir)
    import numpy as np

    labels = np.asarray(labels, dtype=object)
    baseline = tfidf_baseline(train, texts, labels)
    print(json.dumps({"char_tfidf_lr": baseline}), flush=True)
    extra = [x for o in args.overrides for x in ("--set", o)]
    runs = []
    for seed in args.seeds:
        run = run_seed(train, texts, labels, workdir / f"seed{seed}", seed, extra)
        print(json.dumps(run), flush=True)
        runs.append(run)
    print("RESULT_JSON " + json.dumps({
        "data": args.data, "overrides": args.overrides, "seeds": args.seeds, "char_tfidf_lr": baseline,
        "test_accuracy_all": [r["test_accuracy"] for r in runs],
        "test_accuracy_median": statistics.median(r["test_accuracy"] for r in runs),
        "test_accuracy_recurrent_only_all": [r["test_accuracy_recurrent_only"] for r in runs],
        "train_wall_s_median": statistics.median(r["train_wall_s"] for r in runs),
        "predict_reviews_per_s_batch256_median": statistics.median(r["predict_reviews_per_s_batch256"] for r in runs),
    }), flush=True)


if __name__ == "__main__":
    main()
