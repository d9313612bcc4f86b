#!/usr/bin/env python
"""Issue-3 figures: what tracking costs, and how fast a registered model loads by alias.

1. The same short training with `--no-track` and with tracking to a local SQLite store,
   interleaved, several repetitions. Reported separately:
   - training-loop time (sum of epoch seconds in metrics.json): the per-step/per-epoch logging
     overhead, which is what scales with training length (target: <= 3 %);
   - whole-process wall time, which also includes importing MLflow and logging the model, plots
     and datasets once at the end (a fixed cost, independent of training length).
2. Cold process: `sentiment-rnn predict models:/NAME@ALIAS --json "review"` (download + load +
   predict), against the same prediction from the model folder.

    .venv/bin/python benchmarks/tracking_overhead.py --archive ../shared/data/aclImdb_v1.tar.gz
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
REVIEW = ("The movie was quite slow and some of the characters were rather boring, but overall it was a very "
          "interesting movie.")


def cli(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "sentiment_rnn", *args], capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise SystemExit(f"failed: {args}\n{result.stderr}")
    return time.perf_counter() - started


def loop_seconds(model: Path) -> float:
    return sum(e["seconds"] for e in json.loads((model / "metrics.json").read_text())["history"]["epochs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--limit", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-loads", type=int, default=5)
    args = parser.parse_args()
    args.archive = str(Path(args.archive).resolve())  # the trainings run in a scratch directory

    work = Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    uri = f"sqlite:///{work / 'mlflow.db'}"
    common = ["train", "--archive", args.archive, "--limit", str(args.limit), "--epochs", str(args.epochs), "--quiet"]
    rows = {"no_track": [], "tracked": []}
    for i in range(args.repeats):
        for mode in ("no_track", "tracked"):
            out = work / f"{mode}-{i}"
            extra = ["--no-track"] if mode == "no_track" else ["--tracking-uri", uri, "--register", "bench"]
            wall = cli(*common, "--out", str(out), "--overwrite", *extra, cwd=work)
            rows[mode].append({"wall_s": wall, "loop_s": loop_seconds(out)})
            print(json.dumps({"mode": mode, "repeat": i, **rows[mode][-1]}), flush=True)

    cli("models", "alias", "bench", "1", "champion", "--tracking-uri", uri, cwd=work)
    by_alias = [cli("predict", "models:/bench@champion", "--tracking-uri", uri, "--json", REVIEW, cwd=work)
                for _ in range(args.cold_loads)]
    from_folder = [cli("predict", str(work / "no_track-0"), "--json", REVIEW, cwd=work) for _ in range(args.cold_loads)]

    med = lambda mode, key: statistics.median(r[key] for r in rows[mode])  # noqa: E731
    summary = {
        "limit": args.limit, "epochs": args.epochs, "repeats": args.repeats,
        "loop_s_no_track": round(med("no_track", "loop_s"), 2), "loop_s_tracked": round(med("tracked", "loop_s"), 2),
        "loop_overhead_pct": round(100 * (med("tracked", "loop_s") / med("no_track", "loop_s") - 1), 2),
        "wall_s_no_track": round(med("no_track", "wall_s"), 2), "wall_s_tracked": round(med("tracked", "wall_s"), 2),
        "wall_overhead_pct": round(100 * (med("tracked", "wall_s") / med("no_track", "wall_s") - 1), 2),
        "cold_predict_by_alias_s_median": round(statistics.median(by_alias), 2),
        "cold_predict_from_folder_s_median": round(statistics.median(from_folder), 2),
    }
    print("RESULT_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
