#!/usr/bin/env python
"""Issue-25 figure: GoEmotions (28 labels, several per comment) on its official split, beside the
linear baseline measured in the same run.

Ours: `sentiment-rnn train` on train.tsv with dev.tsv as validation (thresholds and the best epoch
are chosen there), `--label-separator ,`, the label names of labels.txt, then `evaluate` on
test.tsv once; per seed, with the default settings and with any `--variant NAME=KEY=VALUE,...`.
The baseline: TF-IDF (word 1-2 grams, sublinear tf, min_df 2) + one-vs-rest logistic regression
with balanced class weights, one threshold for all labels chosen on dev by macro-F1 (the issue's
reference, 0.457 macro-F1), and per-label thresholds chosen on dev. Prints JSON lines and
`RESULT_JSON {...}`.

    .venv/bin/python benchmarks/goemotions.py --seeds 1 --variant balanced=training.class_weights=balanced
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "goemotions"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipe import machine  # noqa: E402

GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def read(split: str, n_labels: int) -> tuple[list[str], np.ndarray]:
    texts, hot = [], []
    with open(DATA / f"{split}.tsv", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for text, labels, _ in reader:
            row = np.zeros(n_labels, dtype=bool)
            row[[int(x) for x in labels.split(",")]] = True
            texts.append(text)
            hot.append(row)
    return texts, np.asarray(hot)


def f1s(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """(macro-F1, micro-F1)."""
    hits, chosen, support = (truth & predicted).sum(0), predicted.sum(0), truth.sum(0)
    per_label = np.where(chosen + support > 0, 2 * hits / np.maximum(chosen + support, 1), 0.0)
    micro = 2 * hits.sum() / max(chosen.sum() + support.sum(), 1)
    return float(per_label.mean()), float(micro)


def linear_baseline() -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    n = len((DATA / "labels.txt").read_text().split())
    (train, y_train), (dev, y_dev), (test, y_test) = (read(s, n) for s in ("train", "dev", "test"))
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = OneVsRestClassifier(LogisticRegression(class_weight="balanced", max_iter=1000), n_jobs=1)
    model.fit(vectorizer.fit_transform(train), y_train)
    p_dev, p_test = model.predict_proba(vectorizer.transform(dev)), model.predict_proba(vectorizer.transform(test))
    one = max(GRID, key=lambda t: f1s(y_dev, p_dev >= t)[0])
    per_label = np.asarray([max(GRID, key=lambda t: f1s(y_dev[:, [k]], p_dev[:, [k]] >= t)[0]) for k in range(n)])
    macro_one, micro_one = f1s(y_test, p_test >= one)
    macro_per, micro_per = f1s(y_test, p_test >= per_label[None, :])
    return {"system": "tfidf_ovr_lr_balanced", "threshold_one": float(one), "test_macro_f1_one_threshold":
            round(macro_one, 4), "test_micro_f1_one_threshold": round(micro_one, 4),
            "test_macro_f1_per_label": round(macro_per, 4), "test_micro_f1_per_label": round(micro_per, 4),
            "seconds": round(time.perf_counter() - started, 1)}


def ours(workdir: Path, name: str, seed: int, overrides: list[str]) -> dict:
    common = ["--text-column", "text", "--label-column", "label", "--label-separator", ",",
              "--label-names", str(DATA / "labels.txt")]
    out = workdir / f"{name}-seed{seed}"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(DATA / "train.tsv"),
                           "--validation-file", str(DATA / "dev.tsv"), *common, "--out", str(out), "--seed", str(seed),
                           "--quiet", "--no-track", "--overwrite", *[x for o in overrides for x in ("--set", o)]],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    wall = time.perf_counter() - started
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "evaluate", str(out), "--file",
                           str(DATA / "test.tsv"), *common, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    report = json.loads(done.stdout)
    training = json.loads((out / "metrics.json").read_text())["training"]
    wide = json.loads((out / "config.json").read_text())["data"].get("wide")
    return {"variant": name, "seed": seed, "overrides": overrides, "test_macro_f1": round(report["macro_f1"], 4),
            "test_micro_f1": round(report["micro_f1"], 4), "test_subset_accuracy": round(report["subset_accuracy"], 4),
            "best_epoch": training.get("best_epoch"), "epochs_run": training.get("epochs_run"),
            "train_wall_s": round(wall, 1), "wide": wide}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE]")
    parser.add_argument("--keep", help="keep the model folders under this directory")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="goemotions-"))
    workdir.mkdir(parents=True, exist_ok=True)
    baseline = linear_baseline()
    print(json.dumps(baseline), flush=True)
    variants = {"default": []} | {v.split("=", 1)[0]: v.split("=", 1)[1].split(",") for v in args.variant}
    runs = []
    for name, overrides in variants.items():
        for seed in args.seeds:
            runs.append(ours(workdir, name, seed, overrides))
            print(json.dumps(runs[-1]), flush=True)
    summary = {name: {key: statistics.median(r[key] for r in runs if r["variant"] == name)
                      for key in ("test_macro_f1", "test_micro_f1", "test_subset_accuracy", "train_wall_s")}
               for name in variants}
    print("RESULT_JSON " + json.dumps({"seeds": args.seeds, "ours": summary, "baseline": baseline,
                                       "machine": machine()}), flush=True)


if __name__ == "__main__":
    main()
