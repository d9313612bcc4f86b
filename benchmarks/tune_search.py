#!/usr/bin/env python
"""What a time-boxed `sentiment-rnn tune` finds against the default settings (issue 28).

- waimai_10k: the seeded 80/20 split of benchmarks/chinese.py; the study runs on the 80 % (its
  validation part carved from it, as every training's); test accuracy on the 20 %, beside the
  character TF-IDF baseline.
- GoEmotions: the study on train.tsv, validated on dev.tsv (macro-F1 at per-label thresholds); test
  macro-F1 on test.tsv, beside TF-IDF + one-vs-rest LR (benchmarks/goemotions.py).

The shipped default space; the study's first trial is the default settings. The best trial's model
is scored once on test, and so is the default settings' model, trained once more (the study keeps
only the best). Prints `RESULT_JSON {...}`.

    .venv/bin/python benchmarks/tune_search.py --dataset waimai --time-budget 30m
    .venv/bin/python benchmarks/tune_search.py --dataset goemotions --time-budget 30m
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
import chinese  # noqa: E402  (sibling benchmark scripts)
import goemotions  # noqa: E402
from recipe import machine  # noqa: E402

CLI = [sys.executable, "-m", "sentiment_rnn"]


def waimai(workdir: Path):
    """(data flags, test scorer, baseline)"""
    import numpy as np

    from sentiment_rnn import SentimentClassifier

    train, texts, labels = chinese.seeded_split(chinese.DATA, workdir)

    def score(folder: Path) -> dict:
        predicted = SentimentClassifier.load(folder).predict(texts)
        return {"test_accuracy": round(float((np.asarray(predicted) == np.asarray(labels)).mean()), 4)}

    return (["--train-file", str(train), "--set", 'data.label_column="label"'], score,
            lambda: chinese.tfidf_baseline(train, texts, labels))


def goemotions_data(workdir: Path):
    data = goemotions.DATA
    common = ["--text-column", "text", "--label-column", "label", "--label-separator", ",",
              "--label-names", str(data / "labels.txt")]

    def score(folder: Path) -> dict:
        done = subprocess.run([*CLI, "evaluate", str(folder), "--file", str(data / "test.tsv"), *common, "--json"],
                              capture_output=True, text=True, check=True)
        report = json.loads(done.stdout)
        return {"test_macro_f1": round(report["macro_f1"], 4), "test_micro_f1": round(report["micro_f1"], 4)}

    return (["--train-file", str(data / "train.tsv"), "--validation-file", str(data / "dev.tsv"), *common], score,
            goemotions.linear_baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["waimai", "goemotions"], default="waimai")
    parser.add_argument("--time-budget", default="30m")
    parser.add_argument("--keep", help="work here instead of a temporary folder")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="tune-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    flags, score, baseline = (waimai if args.dataset == "waimai" else goemotions_data)(workdir)
    out = workdir / "study"
    started = time.perf_counter()
    command = [*CLI, "tune", *flags, "--time-budget", args.time_budget, "--out", str(out),
               "--tracking-uri", f"sqlite:///{workdir / 'mlflow.db'}", "--json"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    study = json.loads((out / "study.json").read_text())
    result = {"machine": machine(), "dataset": args.dataset, "time_budget": args.time_budget,
              "study_wall_s": round(time.perf_counter() - started, 1),
              "command": " ".join(command[2:]).replace(str(workdir), "WORKDIR").replace(str(ROOT.parent), ".."),
              "objective": summary["monitor"],
              "trials": {k: summary[k] for k in ("trials_complete", "trials_pruned", "trials_failed")},
              "default_trial_validation": study["trials"][0]["value"], "best": summary["best"],
              "best_test": score(out / "model"), "baseline": baseline()}
    default_dir = workdir / "default"
    subprocess.run([*CLI, "train", *flags, "--out", str(default_dir), "--no-track", "--quiet", "--overwrite"],
                   check=True, capture_output=True)
    result["default_test"] = score(default_dir)
    print("RESULT_JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
