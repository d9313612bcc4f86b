#!/usr/bin/env python
"""Issue-25 figures: a labelled file with no unlabeled text beside it, as most users bring one.

For one dataset, per seed: `sentiment-rnn train --train-file` with the default settings (its "auto"
word vectors now learned from the labelled reviews alone) and with a random start
(`model.pretrained_embeddings = ""`), each scored once on the dataset's test split; beside them the
linear baseline that `train` fits on the same training part (its validation accuracy, from
metrics.json) and the same TF-IDF + logistic regression refitted on the whole training file and
scored on the same test split. Prints one JSON object per run and `RESULT_JSON {...}` with medians.

Datasets (made from ../shared/data; test reviews are never trained on):
- `goemotions-single`: GoEmotions' official train/test, the rows with exactly one label (27
  emotions + neutral, named by labels.txt): a 28-class single-label task until multi-label lands;
- `imdb-labelled`: IMDB's 25k training reviews as a CSV (no train/unsup), the official test split.

    .venv/bin/python benchmarks/labelled_only.py goemotions-single --seeds 1 2 3
    .venv/bin/python benchmarks/labelled_only.py imdb-labelled --seeds 1
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

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipe import machine  # noqa: E402


def goemotions_single(workdir: Path) -> tuple[Path, list[str], list[str]]:
    names = (SHARED / "goemotions" / "labels.txt").read_text().split()

    def rows(split: str) -> list[tuple[str, str]]:
        with open(SHARED / "goemotions" / f"{split}.tsv", encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            return [(text, names[int(label)]) for text, label, _ in reader if "," not in label]

    train = workdir / "train.tsv"
    with open(train, "w", encoding="utf-8") as handle:
        handle.write("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows("train")))
    test = rows("test")
    return train, [t for t, _ in test], [y for _, y in test]


def imdb_labelled(workdir: Path) -> tuple[Path, list[str], list[str]]:
    from sentiment_rnn.data import load_imdb_split

    archive = SHARED / "aclImdb_v1.tar.gz"
    train_reviews, test = load_imdb_split(archive, "train"), load_imdb_split(archive, "test")
    train = workdir / "train.csv"
    with open(train, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(train_reviews.texts, train_reviews.labels))
    return train, test.texts, test.labels


DATASETS = {"goemotions-single": goemotions_single, "imdb-labelled": imdb_labelled}


def linear_on_test(train: Path, texts: list[str], labels: list[str], features: str, c: float) -> float:
    """The train command's baseline (same features, same C), refitted on the whole training file."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from sentiment_rnn.data import load_labeled_file

    reviews = load_labeled_file(train, "text", "label", min_class_rows=0)
    vectorizer = (TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
                  if features.startswith("characters") else
                  TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2))
    model = LogisticRegression(C=c, max_iter=1000).fit(vectorizer.fit_transform(reviews.texts), reviews.labels)
    return float((model.predict(vectorizer.transform(texts)) == labels).mean())


def run(train: Path, texts: list[str], labels, out: Path, seed: int, start: str, extra: list[str]) -> dict:
    overrides = ["--set", 'model.pretrained_embeddings=""'] if start == "random" else []
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(train),
                           "--text-column", "text", "--label-column", "label", "--set", "data.min_class_rows=0",
                           "--out", str(out), "--seed", str(seed), "--quiet", "--no-track", "--overwrite",
                           *overrides, *extra], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    wall = time.perf_counter() - started
    from sentiment_rnn import SentimentClassifier

    predicted = SentimentClassifier.load(out).predict(texts, batch_size=256)
    training = json.loads((out / "metrics.json").read_text())["training"]
    vectors = json.loads((out / "config.json").read_text())["data"].get("pretrained_embeddings", {}).get("auto", {})
    return {"seed": seed, "start": start, "test_accuracy": round(float((predicted == labels).mean()), 4),
            "val_accuracy": training.get("val_accuracy"), "baseline": training.get("baseline"),
            "vectors_from_reviews": vectors.get("reviews") if vectors.get("used") else None,
            "train_wall_s": round(wall, 1), "epochs_run": training.get("epochs_run")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to train")
    parser.add_argument("--keep", help="keep the data and model folders under this directory")
    args = parser.parse_args()

    import numpy as np

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="labelled-"))
    workdir.mkdir(parents=True, exist_ok=True)
    train, texts, labels = DATASETS[args.dataset](workdir)
    labels = np.asarray(labels, dtype=object)
    extra = [x for o in args.overrides for x in ("--set", o)]
    runs = []
    for seed in args.seeds:
        for start in ("auto", "random"):
            result = run(train, texts, labels, workdir / f"{start}-seed{seed}", seed, start, extra)
            print(json.dumps(result), flush=True)
            runs.append(result)
    baseline = runs[0]["baseline"] or {}
    linear_test = (round(linear_on_test(train, texts, labels, baseline["features"], baseline["C"]), 4)
                   if baseline else None)

    def median(start: str, key: str):
        values = [r[key] for r in runs if r["start"] == start and r[key] is not None]
        return round(statistics.median(values), 4) if values else None

    print("RESULT_JSON " + json.dumps({
        "dataset": args.dataset, "seeds": args.seeds, "overrides": args.overrides, "n_test": len(texts),
        "test_accuracy_auto_vectors": median("auto", "test_accuracy"),
        "test_accuracy_random_start": median("random", "test_accuracy"),
        "test_accuracy_all": {start: [r["test_accuracy"] for r in runs if r["start"] == start]
                              for start in ("auto", "random")},
        "val_accuracy_auto_vectors": median("auto", "val_accuracy"),
        "baseline_val_accuracy": baseline.get("val_accuracy"), "baseline_C": baseline.get("C"),
        "baseline_test_accuracy": linear_test, "train_wall_s_auto": median("auto", "train_wall_s"),
        "machine": machine()}), flush=True)


if __name__ == "__main__":
    main()
