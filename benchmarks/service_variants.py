#!/usr/bin/env python
"""The service at 32 clients, several models or settings side by side (issue 17): interleaved rounds,
a fresh server per round, medians. Each variant is NAME=MODEL_DIR, optionally followed by `serve`
options after a colon. Prints one JSON line per round and `RESULT_JSON {...}` with the medians and
the machine.

    .venv/bin/python benchmarks/service_variants.py default=models/default "default-int8=models/default:--engine onnx-int8" \\
        distilled=models/distilled --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_service import load, start  # noqa: E402  (sibling benchmark scripts)
from recipe import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", metavar="NAME=MODEL_DIR[:SERVE OPTIONS]")
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3000, help="per round and variant")
    args = parser.parse_args()
    variants = {}
    for item in args.variants:
        name, _, rest = item.partition("=")
        model, _, options = rest.partition(":")
        variants[name] = (model, options.split())

    from sentiment_rnn.data import load_imdb_split

    texts = load_imdb_split(args.archive, "test").texts[::5]  # 5,000 real reviews, both classes
    gc.collect()
    gc.freeze()  # the client's own collections would stall its requests in flight
    rows: dict[str, list[dict]] = {name: [] for name in variants}
    for round_ in range(1, args.rounds + 1):
        for name, (model, options) in variants.items():
            proc, url = start(model, *options)
            try:
                asyncio.run(load(url, texts, 8, 200))  # warm-up
                row = asyncio.run(load(url, texts, args.clients, args.requests))
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            rows[name].append(row)
            print(json.dumps({"variant": name, "round": round_, **row}), flush=True)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[name])

    print("RESULT_JSON " + json.dumps({
        "clients": args.clients, "requests": args.requests, "rounds": args.rounds, "machine": machine(),
        "medians": {name: {key: median(name, key) for key in ("requests_per_s", "p50_ms", "p99_ms")}
                    | {"p99_ms_all": [r["p99_ms"] for r in rows[name]], "errors": sum(r["errors"] for r in rows[name]),
                       "variant": " ".join([variants[name][0], *variants[name][1]])}
                    for name in variants}}), flush=True)


if __name__ == "__main__":
    main()
