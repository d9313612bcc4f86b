#!/usr/bin/env python
"""Issue-5 figures: the tutorial's Keras pipeline and ours, side by side on the same machine.

Each repetition runs, back to back: `../shared/bench/seed_keras.py` (TensorFlow, in its own venv),
then our default config, then our `configs/seed.toml` (the tutorial's architecture). Medians over
the repetitions and the ratios ours / Keras are printed last as `RESULT_JSON {...}`.

- `--mode quick`: Keras times 30 training and 30 inference batches after warm-up
  (`--max-train-batches`); ours trains one epoch on a class-balanced 5,000-review slice of train
  (`--limit`), and times inference on 5,000 test reviews. Speeds only (a few minutes in all).
- `--mode full`: Keras trains its one epoch on all 25k reviews and predicts all 25k test reviews;
  ours trains each config fully and scores the 25k test reviews. Speeds and accuracy (~15 min
  per repetition on 2 cores).

Inference is reported two ways, with the fp32 and the int8 ONNX Runtime engines: model-only (token
ids already made; what Keras' figure measures) and `predict` over a file (raw text → cleaning →
tokens → probabilities → JSON lines).

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
from train_imdb import CONFIGS, measure_predict, train  # noqa: E402  (sibling benchmark script)

QUICK_LIMIT = 5000


def run_keras(python: str, bench: Path, archive: str, full: bool, seed: int) -> dict:
    mode = ["--full"] if full else ["--max-train-batches", "30"]
    env = {**os.environ, "IMDB_ARCHIVE": str(Path(archive).resolve())}
    started = time.perf_counter()
    proc = subprocess.run([python, str(bench / "seed_keras.py"), *mode, "--seed", str(seed)], cwd=bench, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"seed_keras.py failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("RESULT_JSON "))
    result = json.loads(line.removeprefix("RESULT_JSON "))
    return {"train_reviews_per_s": result.get("train_reviews_per_s_epoch", result.get("train_reviews_per_s")),
            "infer_reviews_per_s": result.get("eval_reviews_per_s", result.get("infer_reviews_per_s")),
            "test_accuracy": result.get("test_acc"), "epoch_s": result.get("epoch_s"),
            "peak_rss_mib": result["peak_rss_mib"], "wall_s": round(time.perf_counter() - started, 1)}


def inference_speeds(model_dir: Path, archive: str, n: int = QUICK_LIMIT) -> dict:
    """Reviews/s at batch 256 on the first n test reviews, with the fp32 (`onnx`) and int8 (`onnx-int8`)
    engines: model-only (token ids already made) and `predict` over a file of those reviews (one per
    line; cleaning and tokenizing included). Each engine's timing starts after a warm-up on 2,000 other
    reviews (the engine's first runs, the cleaning caches), as it is in the middle of a long file."""
    out = subprocess.run([sys.executable, "-c", f"""
import json, sys, tempfile, time
from pathlib import Path
from sentiment_rnn import SentimentClassifier
from sentiment_rnn.data import load_imdb_split
from sentiment_rnn.predict_file import predict_file
texts = [" ".join(t.split()) for t in load_imdb_split({archive!r}, "test").texts]
timed, warm_up = texts[:{n}], texts[-2000:]
folder = Path(tempfile.mkdtemp())
(folder / "in.txt").write_text("\\n".join(timed) + "\\n", encoding="utf-8")
result = {{}}
for engine, suffix in (("onnx", ""), ("onnx-int8", "_int8")):
    clf = SentimentClassifier.load({str(model_dir)!r}, engine)
    clf.predict_proba(warm_up)
    t = time.perf_counter(); predict_file(clf, str(folder / "in.txt"), str(folder / "out.jsonl")); file_s = time.perf_counter() - t
    sequences = clf.encode(timed)
    t = time.perf_counter(); clf.probabilities(sequences); model_s = time.perf_counter() - t
    result["infer_reviews_per_s" + suffix] = round({n} / model_s, 1)
    result["predict_file_reviews_per_s" + suffix] = round({n} / file_s, 1)
print(json.dumps(result))
"""], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ours(name: str, archive: str, workdir: Path, full: bool, seed: int) -> dict:
    out = workdir / f"{name}-seed{seed}"
    extra = [] if full else ["--limit", str(QUICK_LIMIT), "--epochs", "1"]
    result = train(CONFIGS[name], archive, out, seed, extra)
    metrics = json.loads((out / "metrics.json").read_text())
    epochs = metrics["history"]["epochs"]
    result["train_reviews_per_s"] = round(statistics.median(e["reviews_per_s"] for e in epochs), 1)
    result.update(inference_speeds(out, archive))
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
    args = parser.parse_args()

    full = args.mode == "full"
    workdir = Path(tempfile.mkdtemp(prefix="compare-seed-"))
    runs: dict[str, list[dict]] = {"keras": [], "default": [], "seed": []}
    for repeat in range(1, args.repeats + 1):
        for system in runs:
            if system == "keras":
                run = run_keras(args.keras_python, Path(args.bench), args.archive, full, seed=repeat)
            else:
                run = run_ours(system, args.archive, workdir, full, seed=repeat)
            print(json.dumps({"system": system, "repeat": repeat, **run}), flush=True)
            runs[system].append(run)

    def median(system: str, key: str):
        values = [r[key] for r in runs[system] if r.get(key) is not None]
        return statistics.median(values) if values else None

    keys = ("train_reviews_per_s", "infer_reviews_per_s", "infer_reviews_per_s_int8", "predict_file_reviews_per_s",
            "predict_file_reviews_per_s_int8", "test_accuracy",
            "train_wall_s", "train_peak_rss_mib", "peak_rss_mib", "predict_latency_ms_batch1_p50",
            "predict_latency_ms_batch1_p99")
    summary: dict = {"mode": args.mode, "repeats": args.repeats, "cpus": os.cpu_count(), "medians": {}, "ratios": {}}
    for system in runs:
        summary["medians"][system] = {k: median(system, k) for k in keys if median(system, k) is not None}
        if full:
            summary["medians"][system]["test_accuracy_all"] = [r.get("test_accuracy") for r in runs[system]]
    keras_train, keras_infer = median("keras", "train_reviews_per_s"), median("keras", "infer_reviews_per_s")
    for system in ("default", "seed"):
        summary["ratios"][system] = {
            "train_reviews_per_s_vs_keras": round(median(system, "train_reviews_per_s") / keras_train, 2),
            **{f"{key}_vs_keras": round(median(system, key) / keras_infer, 2)
               for key in ("infer_reviews_per_s", "infer_reviews_per_s_int8", "predict_file_reviews_per_s",
                           "predict_file_reviews_per_s_int8")}}
    print("RESULT_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
