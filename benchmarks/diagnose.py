#!/usr/bin/env python
"""Issue-16 figures, as JSON.

- time: `sentiment-rnn diagnose --model MODEL` (gradient flow of the trained model and of a fresh
  one over 256 sampled reviews, and the memory of the tutorial's sentence), run `--rounds` times in
  fresh processes: wall time per round and the median (target: under a minute on 2 cores).
- table: `sentiment-rnn diagnose` on fresh RNN, LSTM and GRU models (last-state and max pooling)
  trained on `--limit` IMDB training reviews: the ratio of ‖∂loss/∂h‖ 10, 50, 100 and 300 steps back
  to its value at the output position, trained and at initialisation, and each model's validation
  accuracy on 400-token reviews.

    .venv/bin/python benchmarks/diagnose.py time --model MODEL_DIR --rounds 3
    .venv/bin/python benchmarks/diagnose.py table --limit 2000 --epochs 2 --out diagnose-imdb
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def run_diagnose(archive: str, out: Path, *extra: str) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sentiment_rnn", "diagnose", "--archive", archive, "--out", str(out),
                           "--json", "--no-track", *extra], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout), seconds


def ratios(flow: dict, key: str) -> dict:
    from sentiment_rnn.diagnose.report import RATIO_DISTANCES
    from sentiment_rnn.training.gradient_flow import ratio

    return {f"{d}_back": ratio(flow[key], d) for d in RATIO_DISTANCES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["time", "table"])
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--model", help="a trained model folder (time)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", help="keep diagnose.json and the plots here (table)")
    args = parser.parse_args()
    from recipe import machine

    result: dict = {"what": args.what, "machine": machine()}
    if args.what == "time":
        rounds = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                report, seconds = run_diagnose(args.archive, Path(tmp), "--model", args.model, "--sample", "256")
            rounds.append({"wall_s": round(seconds, 1), "diagnose_s": report["seconds"],
                           "reviews": next(iter(report["gradient_flow"].values()))["reviews"],
                           "length": next(iter(report["gradient_flow"].values()))["length"]})
        result.update(rounds=rounds, median_wall_s=statistics.median(r["wall_s"] for r in rounds))
    else:
        out = Path(args.out or tempfile.mkdtemp())
        report, seconds = run_diagnose(args.archive, out, "--limit", str(args.limit), "--epochs", str(args.epochs))
        table = {}
        for cell, flow in report["gradient_flow"].items():
            for pooling, f in (("last", flow), ("max", flow["max_pooling"])):
                name = f"{cell} ({pooling} pooling)"
                table[name] = {"trained": ratios(f, "norm"), "at_init": ratios(f, "norm_at_init"),
                               "val_accuracy": report["accuracy"][name], "length": f["length"], "reviews": f["reviews"]}
        result.update(table=table, limit=args.limit, epochs=args.epochs, wall_s=round(seconds, 1), out=str(out),
                      memory={k: {"final": m["final_probability"], "tokens": m["tokens"],
                                  "probability": [round(p, 3) for p in m["probability"]]}
                              for k, m in report["memory_by_model"].items()},
                      clipping={k: {"max_grad_norm": max(v["grad_norm"]), "final_loss": v["loss"][-1]}
                                for k, v in report["clipping"].items() if isinstance(v, dict)})
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
