#!/usr/bin/env python
"""A recipe start to finish, as a user runs it: one `sentiment-rnn train --evaluate-test` process per
seed from an empty cache (so reading the archive, cleaning, learning word vectors, training and
scoring the official 25k test reviews all count in its wall time). Prints one JSON object per seed
and `RESULT_JSON {...}` with medians and the machine.

    .venv/bin/python benchmarks/recipe.py --config configs/default.toml --seeds 1 2 3
    .venv/bin/python benchmarks/recipe.py --config configs/gpu.toml          # on a GPU machine
    .venv/bin/python benchmarks/recipe.py --config configs/default.toml --ensemble 3 --seeds 1 2 3

With `--ensemble K`, one run of the recipe trains K models (seeds K·(s−1)+1 … K·s for seed s) one after
the other under one cache (the word vectors are learned once), then scores the official test reviews
with their averaged probabilities (`sentiment-rnn evaluate M1 --ensemble M2 ...`); its wall time is
all of that.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# The instruction-set extensions that change our engines' speed (AVX-512 VNNI/BF16 for int8 and bf16,
# AMX on recent Xeons): the reason two "2-core" machines give different ratios.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


def cpu_flags() -> list[str]:
    if not Path("/proc/cpuinfo").exists():
        return []
    flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("flags")), [])
    return [flag for flag in SPEED_FLAGS if flag in flags]


def machine() -> dict:
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    info = {"cpu": cpu, "cpus": os.cpu_count(), "cpu_flags": cpu_flags()}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def run_ensemble(args, seed: int, workdir: Path) -> dict:
    """K members under one cache, then the ensemble's test accuracy; wall time of it all."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=workdir))
    started = time.perf_counter()
    members = [run_seed(args, args.ensemble * (seed - 1) + k, workdir, cache) for k in range(1, args.ensemble + 1)]
    folders = [str(workdir / f"seed{m['seed']}") for m in members]
    cmd = [sys.executable, "-m", "sentiment_rnn", "evaluate", folders[0], *[x for f in folders[1:] for x in ("--ensemble", f)],
           "--archive", args.archive, "--split", "test", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SENTIMENT_RNN_CACHE": str(cache)})
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
    scored = json.loads(done.stdout)
    return {"seed": seed, "test_accuracy": round(scored["accuracy"], 4), "wall_s": round(time.perf_counter() - started, 1),
            "members": members, "word_vectors_s": members[0]["word_vectors_s"]}


def recurrent_only(folder: Path, archive: str) -> float | None:
    """Test accuracy of the same model without its wide part (None: it has none)."""
    from sentiment_rnn import SentimentClassifier
    from sentiment_rnn.data.dataset import load_imdb_split

    clf = SentimentClassifier.load(folder)
    if clf.network_.wide is None or not clf.network_.recurrent:
        return None
    test = load_imdb_split(archive, "test")  # train --evaluate-test scores all of it, whatever --limit
    with clf.network_.without_wide():
        return round(float(clf.use_engine().score(test.texts, test.labels)), 4)


def run_seed(args, seed: int, workdir: Path, cache: Path | None = None) -> dict:
    out, cache = workdir / f"seed{seed}", cache or Path(tempfile.mkdtemp(prefix="cache-", dir=workdir))
    cmd = [sys.executable, "-m", "sentiment_rnn", "train", "--config", args.config, "--archive", args.archive,
           "--out", str(out), "--seed", str(seed), "--quiet", "--no-track", "--evaluate-test", "--overwrite",
           *(["--limit", str(args.limit)] if args.limit else []), *(["--epochs", str(args.epochs)] if args.epochs else []),
           *[x for o in args.overrides for x in ("--set", o)]]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SENTIMENT_RNN_CACHE": str(cache)})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    vectors = config["data"].get("pretrained_embeddings", {}).get("auto", {})
    training = metrics["training"]
    return {"seed": seed, "test_accuracy": round(metrics["test"]["accuracy"], 4),
            "test_accuracy_recurrent_only": recurrent_only(out, args.archive), "wide": config["data"].get("wide"),
            "val_accuracy": training.get("val_accuracy"),
            "baseline_val_accuracy": training.get("baseline", {}).get("val_accuracy"),
            "baseline_seconds": training.get("baseline", {}).get("seconds"), "best_epoch": training.get("best_epoch"),
            "epochs_run": training.get("epochs_run"), "wall_s": round(wall, 1),
            "word_vectors_s": vectors.get("seconds") if vectors.get("used") else None,
            "epoch_s": [round(e["seconds"], 1) for e in metrics["history"]["epochs"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "default.toml"))
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to train")
    parser.add_argument("--limit", type=int, help="train on N reviews (a quick dry run)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--keep", help="keep the model folders under this directory")
    parser.add_argument("--ensemble", type=int, default=1, help="models averaged per run of the recipe")
    args = parser.parse_args()

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="recipe-"))
    workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        runs.append(run_ensemble(args, seed, workdir) if args.ensemble > 1 else run_seed(args, seed, workdir))
        print(json.dumps(runs[-1]), flush=True)
    print("RESULT_JSON " + json.dumps({
        "config": args.config, "overrides": args.overrides, "limit": args.limit, "ensemble": args.ensemble,
        "machine": machine(),
        "seeds": args.seeds, "test_accuracy_all": [r["test_accuracy"] for r in runs],
        "test_accuracy_median": statistics.median(r["test_accuracy"] for r in runs),
        "wall_s_all": [r["wall_s"] for r in runs], "wall_s_median": statistics.median(r["wall_s"] for r in runs),
        "word_vectors_s_all": [r["word_vectors_s"] for r in runs]}), flush=True)


if __name__ == "__main__":
    main()
