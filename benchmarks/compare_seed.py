#!/usr/bin/env python
"""The tutorial's Keras pipeline and ours, side by side on the same machine, like for like (issues 5, 17).

Each round runs, back to back, on the same file of raw test reviews (one per line, a seeded sample):
- Keras training: `../shared/bench/seed_keras.py` (TensorFlow, in its own venv);
- Keras inference: `benchmarks/keras_pipeline.py`, end to end from raw text (the tutorial's NLTK
  stopword removal, its Tokenizer's texts_to_sequences, padding, predict, JSON lines written) and
  model only (padded ids made beforehand), at its batch of 32 and at 256; the faster is the reference;
- ours: our default config trained (and the tutorial's architecture, `configs/seed.toml`), then
  `predict` over the same file (reading, cleaning, tokenizing, scoring, writing) and the model alone
  on ids made beforehand, with the fp32 and int8 ONNX Runtime engines;
- `--model NAME=FOLDER` (repeatable): an already trained model folder (e.g. a distilled one), whose
  inference is measured the same way (no training).

Medians over the rounds and the ratios ours / Keras are printed last as `RESULT_JSON {...}`, with the
CPU model and its speed-relevant flags (the ratios differ between CPUs).

- `--mode quick`: Keras times 30 training batches after warm-up (`--max-train-batches`); ours
  trains one epoch on a class-balanced 5,000-review slice of train (`--limit`). Inference on 5,000
  test reviews. Speeds only (a few minutes a round).
- `--mode full`: Keras trains its one epoch on all 25k reviews and predicts all 25k test reviews;
  ours trains each config fully and scores the 25k test reviews. Speeds and accuracy (~15 min
  per round on 2 cores).

    python3 -m venv /tmp/venv-tf && /tmp/venv-tf/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 numpy scikit-learn
    .venv/bin/python benchmarks/compare_seed.py --mode quick --repeats 3
    .venv/bin/python benchmarks/compare_seed.py --mode full --repeats 1
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipe import machine  # noqa: E402  (sibling benchmark scripts)
from train_imdb import CONFIGS, measure_predict, train  # noqa: E402

QUICK_LIMIT = 5000
INFERENCE_REVIEWS = 5000
INFERENCE_KEYS = ("infer_reviews_per_s", "infer_reviews_per_s_int8", "predict_file_reviews_per_s",
                  "predict_file_reviews_per_s_int8")


def reviews_file(archive: str, folder: Path, n: int = INFERENCE_REVIEWS) -> Path:
    """A seeded sample of n test reviews (both classes, every length), one per line: both sides read it."""
    import random

    from sentiment_rnn.data import load_imdb_split

    texts = load_imdb_split(archive, "test").texts
    sample = random.Random(17).sample(range(len(texts)), n)
    path = folder / "reviews.txt"
    path.write_text("\n".join(" ".join(texts[i].split()) for i in sample) + "\n", encoding="utf-8")
    return path


def keras_json(cmd: list[str], cwd: Path, archive: str, what: str) -> dict:
    env = {**os.environ, "IMDB_ARCHIVE": str(Path(archive).resolve())}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("RESULT_JSON "))
    return json.loads(line.removeprefix("RESULT_JSON "))


def run_keras(python: str, bench: Path, archive: str, full: bool, seed: int, reviews: Path) -> dict:
    mode = ["--full"] if full else ["--max-train-batches", "30"]
    started = time.perf_counter()
    trained = keras_json([python, str(bench / "seed_keras.py"), *mode, "--seed", str(seed)], bench, archive,
                         "seed_keras.py")
    inference = keras_json([python, str(ROOT / "benchmarks" / "keras_pipeline.py"), "--reviews", str(reviews),
                            "--bench", str(bench)], bench, archive, "keras_pipeline.py")
    batches = (32, 256)
    return {"train_reviews_per_s": trained.get("train_reviews_per_s_epoch", trained.get("train_reviews_per_s")),
            # The reference is Keras at its faster batch size, so that no ratio leans on the tutorial's batch of 32.
            "infer_reviews_per_s": max(inference[f"model_only_reviews_per_s_batch{b}"] for b in batches),
            "predict_file_reviews_per_s": max(inference[f"end_to_end_reviews_per_s_batch{b}"] for b in batches),
            **{k: v for k, v in inference.items() if k.endswith(tuple(f"batch{b}" for b in batches))},
            "test_accuracy": trained.get("test_acc"), "epoch_s": trained.get("epoch_s"),
            "peak_rss_mib": trained["peak_rss_mib"], "wall_s": round(time.perf_counter() - started, 1)}


def inference_speeds(model_dir: Path, archive: str, reviews: Path) -> dict:
    """Reviews/s at batch 256 on the reviews file, with the fp32 (`onnx`) and int8 (`onnx-int8`)
    engines: model-only (token ids already made) and `predict` over the file (cleaning and tokenizing
    included, JSON lines written). Each engine's timing starts after a warm-up on 2,000 other
    reviews (the engine's first runs, the cleaning caches), as it is in the middle of a long file."""
    out = subprocess.run([sys.executable, "-c", f"""
import json, tempfile, time
from pathlib import Path
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.data import load_imdb_split
from sentiment_rnn.predict_file import predict_file
warm_up = [" ".join(t.split()) for t in load_imdb_split({archive!r}, "train").texts[:2000]]
path = Path({str(reviews)!r})
timed = path.read_text(encoding="utf-8").splitlines()
out = Path(tempfile.mkdtemp()) / "out.jsonl"
result = {{}}
for engine, suffix in (("onnx", ""), ("onnx-int8", "_int8")):
    clf = SentimentClassifier.load({str(model_dir)!r}, engine)
    clf.predict_proba(warm_up)
    t = time.perf_counter(); predict_file(clf, str(path), str(out)); file_s = time.perf_counter() - t
    sequences = clf.encode(timed)
    t = time.perf_counter(); clf.probabilities(sequences); model_s = time.perf_counter() - t
    result["infer_reviews_per_s" + suffix] = round(len(timed) / model_s, 1)
    result["predict_file_reviews_per_s" + suffix] = round(len(timed) / file_s, 1)
print(json.dumps(result))
"""], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ours(name: str, archive: str, workdir: Path, full: bool, seed: int, reviews: Path) -> dict:
    out = workdir / f"{name}-seed{seed}"
    extra = [] if full else ["--limit", str(QUICK_LIMIT), "--epochs", "1"]
    result = train(CONFIGS[name], archive, out, seed, extra)
    metrics = json.loads((out / "metrics.json").read_text())
    epochs = metrics["history"]["epochs"]
    result["train_reviews_per_s"] = round(statistics.median(e["reviews_per_s"] for e in epochs), 1)
    result.update(inference_speeds(out, archive, reviews))
    if full:
        measured = measure_predict(out, archive, batch1_reviews=300)
        result.update(test_accuracy=measured["test_accuracy"],
                      predict_latency_ms_batch1_p50=measured["predict_latency_ms_batch1_p50"],
                      predict_latency_ms_batch1_p99=measured["predict_latency_ms_batch1_p99"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"), help="folder of seed_keras.py")
    parser.add_argument("--keras-python", default="/tmp/venv-tf/bin/python", help="a Python with tensorflow-cpu")
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--systems", default="default,seed", help="our configs to train: default, seed (comma-separated)")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=FOLDER",
                        help="also measure the inference of a trained model folder (repeatable)")
    args = parser.parse_args()

    full = args.mode == "full"
    workdir = Path(tempfile.mkdtemp(prefix="compare-seed-"))
    reviews = reviews_file(args.archive, workdir)
    folders = dict(item.split("=", 1) for item in args.model)
    systems = [s for s in args.systems.split(",") if s]
    runs: dict[str, list[dict]] = {name: [] for name in ["keras", *systems, *folders]}
    for repeat in range(1, args.repeats + 1):
        for system in runs:
            if system == "keras":
                run = run_keras(args.keras_python, Path(args.bench), args.archive, full, repeat, reviews)
            elif system in folders:
                run = inference_speeds(Path(folders[system]), args.archive, reviews)
            else:
                run = run_ours(system, args.archive, workdir, full, repeat, reviews)
            print(json.dumps({"system": system, "repeat": repeat, **run}), flush=True)
            runs[system].append(run)

    def median(system: str, key: str):
        values = [r[key] for r in runs[system] if r.get(key) is not None]
        return statistics.median(values) if values else None

    keys = ("train_reviews_per_s", *INFERENCE_KEYS, "test_accuracy",
            "train_wall_s", "train_peak_rss_mib", "peak_rss_mib", "predict_latency_ms_batch1_p50",
            "predict_latency_ms_batch1_p99", *(f"{kind}_reviews_per_s_batch{b}" for kind in ("model_only", "end_to_end")
                                               for b in (32, 256)))
    summary: dict = {"mode": args.mode, "repeats": args.repeats, "machine": machine(), "reviews": INFERENCE_REVIEWS,
                     "medians": {}, "ratios": {}}
    for system in runs:
        summary["medians"][system] = {k: median(system, k) for k in keys if median(system, k) is not None}
        if full:
            summary["medians"][system]["test_accuracy_all"] = [r.get("test_accuracy") for r in runs[system]]
    keras_train = median("keras", "train_reviews_per_s")
    keras_model, keras_file = median("keras", "infer_reviews_per_s"), median("keras", "predict_file_reviews_per_s")
    for system in runs:
        if system == "keras":
            continue
        ratios = {f"{key}_vs_keras": round(median(system, key) / (keras_file if "file" in key else keras_model), 2)
                  for key in INFERENCE_KEYS}
        if median(system, "train_reviews_per_s") is not None:
            ratios["train_reviews_per_s_vs_keras"] = round(median(system, "train_reviews_per_s") / keras_train, 2)
        summary["ratios"][system] = ratios
    print("RESULT_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
