#!/usr/bin/env python
"""What a time-boxed `sentiment-rnn tune` finds against the default settings (issue 28).

waimai_10k: the seeded 80/20 split of benchmarks/chinese.py; the study runs on the 80 % (its
validation part carved from it, as every training's), with the shipped default space; its first
trial is the default settings. The best trial's model and the default trial's model are then
scored once on the 20 % test part, beside the character TF-IDF baseline. Prints `RESULT_JSON {...}`.

    .venv/bin/python benchmarks/tune_search.py --time-budget 30m
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chinese import DATA, seeded_split, tfidf_baseline  # noqa: E402  (sibling benchmark scripts)
from recipe import machine  # noqa: E402


def test_accuracy(folder: Path, texts: list[str], labels: list[str]) -> float:
    import numpy as np

    from sentiment_rnn import SentimentClassifier

    predicted = SentimentClassifier.load(folder).predict(texts)
    return round(float((np.asarray(predicted) == np.asarray(labels)).mean()), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-budget", default="30m")
    parser.add_argument("--keep", help="work here instead of a temporary folder")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="tune-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    train, texts, labels = seeded_split(DATA, workdir)
    out = workdir / "study"
    started = time.perf_counter()
    command = [sys.executable, "-m", "sentiment_rnn", "tune", "--train-file", str(train), "--set",
               'data.label_column="label"', "--time-budget", args.time_budget, "--out", str(out),
               "--tracking-uri", f"sqlite:///{workdir / 'mlflow.db'}", "--json"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    study = json.loads((out / "study.json").read_text())
    default_trial = study["trials"][0]
    result = {"machine": machine(), "dataset": "waimai_10k", "time_budget": args.time_budget,
              "wall_s": round(time.perf_counter() - started, 1),
              "command": " ".join(command[1:]).replace(str(workdir), "WORKDIR"),
              "trials": {k: summary[k] for k in ("trials_complete", "trials_pruned", "trials_failed")},
              "default_trial_val_accuracy": default_trial["value"], "best": summary["best"],
              "best_test_accuracy": test_accuracy(out / "model", texts, labels),
              "char_tfidf_lr": tfidf_baseline(train, texts, labels)}
    # the default settings, trained once more, scored once on the test part (the study kept only the best model)
    default_dir = workdir / "default"
    subprocess.run([sys.executable, "-m", "sentiment_rnn", "train", "--train-file", str(train), "--set",
                    'data.label_column="label"', "--out", str(default_dir), "--no-track", "--quiet"], check=True,
                   capture_output=True)
    result["default_test_accuracy"] = test_accuracy(default_dir, texts, labels)
    print("RESULT_JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
