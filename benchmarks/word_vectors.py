#!/usr/bin/env python
"""Issue-6 figure: word vectors from the unlabeled reviews + the default classifier, end to end.

`sentiment-rnn pretrain-embeddings` (timed), then `train --config configs/word-vectors.toml` per
seed and the official test accuracy (benchmarks/train_imdb.py's measurement). Prints one JSON
object per run and `RESULT_JSON {...}` with the pretraining time and the medians.

    .venv/bin/python benchmarks/word_vectors.py --seeds 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_imdb import ROOT, measure_predict, train  # noqa: E402  (sibling benchmark script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to train")
    parser.add_argument("--keep", help="keep vectors and model folders under this directory")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="word-vectors-"))
    vectors = work / "imdb-w2v128.txt"
    config = ROOT / "configs" / "word-vectors.toml"
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "sentiment_rnn", "pretrain-embeddings", "--config", str(config),
                          "--archive", args.archive, "--out", str(vectors), "--json"],
                         capture_output=True, text=True, check=True)
    pretrain = {**json.loads(out.stdout.strip().splitlines()[-1]), "wall_s": round(time.perf_counter() - started, 1)}
    print(json.dumps({"pretrain_embeddings": pretrain}), flush=True)

    extra = ["--set", f"model.pretrained_embeddings={json.dumps(str(vectors))}",
             *[x for o in args.overrides for x in ("--set", o)]]
    runs = []
    for seed in args.seeds:
        folder = work / f"w2v-seed{seed}"
        run = {"seed": seed, **train(config, args.archive, folder, seed, extra)}
        run.update(measure_predict(folder, args.archive, batch1_reviews=200))
        run["pretrain_plus_train_s"] = round(pretrain["wall_s"] + run["train_wall_s"], 1)
        print(json.dumps(run), flush=True)
        runs.append(run)
    print("RESULT_JSON " + json.dumps({
        "pretrain_s": pretrain["wall_s"], "seeds": args.seeds,
        "test_accuracy_all": [r["test_accuracy"] for r in runs],
        "test_accuracy_median": statistics.median(r["test_accuracy"] for r in runs),
        "val_accuracy_all": [r["val_accuracy"] for r in runs],
        "train_wall_s_median": statistics.median(r["train_wall_s"] for r in runs),
        "pretrain_plus_train_s_median": statistics.median(r["pretrain_plus_train_s"] for r in runs)}), flush=True)


if __name__ == "__main__":
    main()
