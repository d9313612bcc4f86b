#!/usr/bin/env python
"""Issue-5 figure: `sentiment-rnn predict --input BIG --output OUT` over a large file, with the
process's resident memory sampled every second (flat memory is the claim being checked).

The input is built once from the official test reviews, repeated until it reaches --size-mb, as
plain lines (one review per line) or JSONL. Prints `RESULT_JSON {...}`: rows, seconds, reviews/s,
RSS from 10 % to 95 % of the run (its growth from the first of those samples, in percent), and
samples at every tenth of the run.

    .venv/bin/python benchmarks/predict_large_file.py MODEL_DIR --size-mb 1024
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


def build_input(path: Path, archive: str, size_mb: int, fmt: str) -> int:
    from sentiment_rnn.data import load_imdb_split

    texts = [" ".join(t.split()) for t in load_imdb_split(archive, "test").texts]
    lines = [json.dumps({"review": t}) if fmt == "jsonl" else t for t in texts]
    target, written, rows = size_mb * 2**20, 0, 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            for line in lines:
                handle.write(line + "\n")
                written += len(line.encode()) + 1
                rows += 1
                if written >= target:
                    break
    return rows


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--format", choices=["txt", "jsonl"], default="txt")
    parser.add_argument("--workdir", help="where the input and output go (default: a temporary folder)")
    parser.add_argument("--serve-args", default="", help="extra predict options, e.g. '--threads 2'")
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="predict-large-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"input.{args.format}"
    rows = build_input(source, args.archive, args.size_mb, args.format)
    output = work / "predictions.jsonl"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sentiment_rnn", "predict", args.model, "--input", str(source),
                             "--output", str(output), *args.serve_args.split()], stderr=subprocess.PIPE, text=True)
    samples = []
    while proc.poll() is None:
        value = rss_mib(proc.pid)
        if value is not None:
            samples.append((time.perf_counter() - started, value))
        time.sleep(1.0)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.read())
    # Steady state: from 10 % to 95 % of the run (the process frees memory while it finishes).
    after_warmup = [v for t, v in samples if seconds * 0.1 <= t <= seconds * 0.95]
    output_rows = sum(1 for _ in open(output, encoding="utf-8"))
    print("RESULT_JSON " + json.dumps({
        "input_mib": round(source.stat().st_size / 2**20), "rows": rows, "output_rows": output_rows,
        "seconds": round(seconds, 1), "reviews_per_s": round(rows / seconds, 1),
        "rss_mib_after_warmup_min": round(min(after_warmup)), "rss_mib_max": round(max(v for _, v in samples)),
        "rss_growth_after_warmup_pct": round(100 * (max(after_warmup) / after_warmup[0] - 1), 2),
        "rss_mib_samples_every_10pct": [round(samples[int(i * (len(samples) - 1) / 10)][1]) for i in range(11)]}))
    if not args.workdir:
        source.unlink()
        output.unlink()


if __name__ == "__main__":
    main()
