#!/usr/bin/env python
"""This toolkit beside the tools a practitioner reaches for first, on IMDB's official split, one run.

- fastText (its own Python bindings, `pip install fasttext-wheel`): supervised, word bigrams, 10
  epochs, its other settings left at their defaults; text lower-cased with `<br />` and punctuation
  spaced out, as fastText's own examples prepare text.
- TF-IDF (word 1-2 grams, sublinear tf, min_df 2) + logistic regression, C = 8 (the value
  `../shared/bench/tfidf_lr.py --select-c` picks on a hold-out of train).
- the wide-only config (`configs/wide.toml`), trained here from the raw archive;
- `--model NAME=FOLDER` (repeatable): model folders trained before (the default config, the
  distilled one...): scored here, their training time read from their metrics.json;
- `--keras-python PY`: the tutorial's Keras pipeline (`../shared/bench/seed_keras.py --full`, one
  epoch, its own venv), accuracy and training time; its end-to-end speed from keras_pipeline.py.

Each system: test accuracy (all 25,000 test reviews, scored once), training wall time, and
end-to-end reviews/s from raw text to labels in memory on a seeded sample of 5,000 test reviews
(median of `--rounds`, the systems interleaved in each round; ours with the onnx-int8 engine).
Prints `RESULT_JSON {...}`; `--chart PNG` draws accuracy against inference speed and against
training time.

    .venv/bin/pip install fasttext-wheel==0.9.2
    .venv/bin/python benchmarks/peers.py --model default=MODEL_DIR --keras-python /tmp/venv-tf/bin/python \
        --chart docs/peers.png
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipe import machine  # noqa: E402  (sibling benchmark script)

SAMPLE = 5000
_TAG = re.compile(r"<[^>]*>")
_PUNCT = re.compile(r"([.,!?;:()\"])")


def fasttext_text(text: str) -> str:
    return " ".join(_PUNCT.sub(r" \1 ", _TAG.sub(" ", text.lower())).split())


class FastText:
    name = "fastText (bigrams, 10 epochs)"

    def fit(self, texts, labels):
        import fasttext

        rows = list(zip(texts, labels))
        random.Random(0).shuffle(rows)  # its SGD reads the file in order: IMDB's, sorted by label, gave 0.67
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
            for text, label in rows:
                handle.write(f"__label__{label} {fasttext_text(text)}\n")
        self.model = fasttext.train_supervised(handle.name, wordNgrams=2, epoch=10, verbose=0, thread=os.cpu_count())
        os.unlink(handle.name)

    def predict(self, texts):
        labels, _ = self.model.predict([fasttext_text(t) for t in texts])
        return [label[0].removeprefix("__label__") for label in labels]


class TfidfLR:
    name = "TF-IDF + LR"

    def fit(self, texts, labels):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self.model = LogisticRegression(C=8.0, max_iter=2000).fit(self.vectorizer.fit_transform(texts), labels)

    def predict(self, texts):
        return self.model.predict(self.vectorizer.transform(texts))


class Ours:
    def __init__(self, name: str, folder: Path, trained_here_s: float | None = None):
        from sentiment_rnn import SentimentClassifier

        self.name, self.folder = name, folder
        self.clf = SentimentClassifier.load(folder, "onnx-int8")
        metrics = json.loads((folder / "metrics.json").read_text())
        self.train_s = trained_here_s or metrics["training"].get("train_seconds")

    def predict(self, texts):
        return self.clf.predict(texts)


def train_wide(archive: str, workdir: Path) -> tuple[Path, float]:
    out = workdir / "wide"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--config", str(ROOT / "configs" / "wide.toml"),
                    "--archive", archive, "--out", str(out), "--tracking-uri", f"sqlite:///{workdir}/mlflow.db"],
                   check=True, capture_output=True, env={**os.environ, "SENTIMENT_RNN_CACHE": str(workdir / "cache")})
    return out, time.perf_counter() - started


def keras(python: str, archive: str, workdir: Path) -> dict:
    bench = ROOT.parent / "shared" / "bench"
    env = {**os.environ, "IMDB_ARCHIVE": str(Path(archive).resolve())}

    def result(cmd):
        proc = subprocess.run(cmd, cwd=bench, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[1]} failed:\n{proc.stderr[-2000:]}")
        return json.loads(next(x for x in reversed(proc.stdout.splitlines())
                                if x.startswith("RESULT_JSON ")).removeprefix("RESULT_JSON "))

    started = time.perf_counter()
    trained = result([python, str(bench / "seed_keras.py"), "--full"])
    wall = time.perf_counter() - started
    speed = result([python, str(ROOT / "benchmarks" / "keras_pipeline.py"), "--reviews", str(workdir / "reviews.txt"),
                    "--bench", str(bench)])
    return {"test_accuracy": trained.get("test_acc"), "train_s": round(trained.get("epoch_s") or wall, 1),
            "e2e_reviews_per_s": max(v for k, v in speed.items() if k.startswith("end_to_end_reviews_per_s"))}


def chart(results: dict, path: str, cpu: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, key, label in ((axes[0], "e2e_reviews_per_s", "inference, raw text to labels (reviews/s, log)"),
                             (axes[1], "train_s", "training wall time from raw text (s, log)")):
        for name, r in results.items():
            if r.get(key) and r.get("test_accuracy"):
                axis.scatter(r[key], r["test_accuracy"], s=40)
                axis.annotate(name, (r[key], r["test_accuracy"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # minor labels overlap on a log axis
        axis.set_xlabel(label)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("IMDB test accuracy")
    fig.suptitle(f"IMDB, official split, one run on {cpu}, 2 cores (benchmarks/peers.py)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=os.environ.get("SENTIMENT_RNN_IMDB",
                                                            str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz")))
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--keras-python", help="python of a venv with tensorflow-cpu and tf-keras")
    parser.add_argument("--no-wide", action="store_true", help="do not train the wide-only config")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chart", help="write the chart here (PNG)")
    parser.add_argument("--earlier", metavar="RESULT_JSON_FILE",
                        help="systems measured in an earlier run of this script, added to the chart (marked) and the "
                             "output under 'earlier_run' (e.g. the Keras model, whose training takes minutes)")
    args = parser.parse_args()

    from sentiment_rnn.data import load_imdb_split

    train, test = load_imdb_split(args.archive, "train"), load_imdb_split(args.archive, "test")
    sample = [test.texts[i] for i in random.Random(17).sample(range(len(test.texts)), SAMPLE)]
    workdir = Path(tempfile.mkdtemp(prefix="peers-"))
    (workdir / "reviews.txt").write_text("\n".join(" ".join(t.split()) for t in sample) + "\n", encoding="utf-8")

    systems, results = [], {}
    for peer in (FastText(), TfidfLR()):
        started = time.perf_counter()
        peer.fit(train.texts, train.labels)
        results[peer.name] = {"train_s": round(time.perf_counter() - started, 1)}
        systems.append(peer)
    if not args.no_wide:
        folder, seconds = train_wide(args.archive, workdir)
        systems.append(Ours("wide-only (configs/wide.toml)", folder, round(seconds, 1)))
        results[systems[-1].name] = {"train_s": systems[-1].train_s}
    for spec in args.model:
        name, _, folder = spec.partition("=")
        systems.append(Ours(name, Path(folder)))
        results[name] = {"train_s": systems[-1].train_s, "train_s_recorded_at_training": True}

    truth = [str(label) for label in test.labels]
    for system in systems:
        predicted = [str(p) for p in system.predict(test.texts)]
        results[system.name]["test_accuracy"] = round(sum(p == t for p, t in zip(predicted, truth)) / len(truth), 4)
    speeds = {system.name: [] for system in systems}
    for _ in range(args.rounds):
        for system in systems:
            started = time.perf_counter()
            system.predict(sample)
            speeds[system.name].append(len(sample) / (time.perf_counter() - started))
    for name, values in speeds.items():
        results[name]["e2e_reviews_per_s"] = round(statistics.median(values))
    if args.keras_python:
        results["tutorial Keras (1 epoch)"] = keras(args.keras_python, args.archive, workdir)
    info = machine()
    earlier = {}
    if args.earlier:
        text = Path(args.earlier).read_text(encoding="utf-8")
        earlier = json.loads(text[text.index("{"):])["results"]
        earlier = {name: r for name, r in earlier.items() if name not in results}
    if args.chart:
        chart({**results, **{f"{name} (earlier run)": r for name, r in earlier.items()}}, args.chart, info["cpu"])
    print("RESULT_JSON " + json.dumps({"machine": info, "rounds": args.rounds, "sample": SAMPLE, "results": results,
                                       "earlier_run": earlier}))


if __name__ == "__main__":
    main()
