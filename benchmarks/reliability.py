#!/usr/bin/env python
"""Issue-14 figures, as JSON: what the service holds and what faults and bad inputs cost.

- load: 200 predict clients on the real server, alone and then with 10 explain clients running
  beside them (long real reviews): requests/s, p99 and errors of predict, and the ratio of the two
  p99s (target: within 2x); the explanations' own statuses.
- faults: a real training killed with SIGKILL at every file-system step it takes (each tensors
  file half-written, each rename; tests/reliability/faults.py), and sent SIGKILL, SIGTERM and
  SIGINT at random moments, each then resumed: how many ended with exactly the uninterrupted model,
  and the exit codes (143 / 130: handled by `train`, the run marked KILLED; -15 / -2: the signal
  came while Python was still starting, before `train` could handle it).
- bad-inputs: the catalogue of tests/reliability/bad_inputs.py through the real CLI and app: how
  many were refused in one line naming the file/field, and how many answers were 500.
- memory: the real server fed an adversarial stream that targets its caches (issue 23): requests
  alternate between unique long chunks (48 texts of one 20,000-character chunk each) and texts made
  of unique 64-character chunks (the longest the text cache keeps); its resident memory sampled
  throughout, against the configured bound (service.text_cache_bytes).

    .venv/bin/python benchmarks/reliability.py --part load --model MODEL_DIR
    .venv/bin/python benchmarks/reliability.py --part faults --moments 10
    .venv/bin/python benchmarks/reliability.py --part bad-inputs --model MODEL_DIR
    .venv/bin/python benchmarks/reliability.py --part memory --model MODEL_DIR --requests 10000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "reliability"), str(ROOT / "benchmarks")]


def part_load(model: str, archive: str, requests: int, clients: int, explainers: int) -> dict:
    import aiohttp
    from load_service import load, start

    from sentiment_rnn.data import load_imdb_split

    texts = load_imdb_split(archive, "test").texts[::5]
    long_texts = sorted(texts, key=len)[-200:]  # the longest real reviews: the costliest explanations
    gc.collect()
    gc.freeze()
    proc, url = start(model)
    try:
        asyncio.run(load(url, texts, 8, 200))  # warm-up
        alone = asyncio.run(load(url, texts, clients, requests))
        explained: dict[str, int] = {}

        async def explain_loop(stop: asyncio.Event) -> None:
            async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=30)) as session:
                i = 0
                while not stop.is_set():
                    body = json.dumps({"text": long_texts[i % len(long_texts)][:5000]})
                    i += 1
                    try:
                        async with session.post("/v1/explain", data=body,
                                                headers={"content-type": "application/json"}) as response:
                            await response.read()
                            status = str(response.status)
                    except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                        status = type(exc).__name__
                    explained[status] = explained.get(status, 0) + 1
                    if status == "503":
                        await asyncio.sleep(0.05)  # a polite client honours Retry-After, briefly

        async def both() -> dict:
            stop = asyncio.Event()
            loops = [asyncio.create_task(explain_loop(stop)) for _ in range(explainers)]
            await asyncio.sleep(1.0)  # the explanations are running before the predictions start
            result = await load(url, texts, clients, requests)
            stop.set()
            await asyncio.gather(*loops)
            return result

        beside = asyncio.run(both())
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    keep = ("requests_per_s", "p50_ms", "p99_ms", "errors", "statuses")
    return {"clients": clients, "explain_clients": explainers, "requests": requests,
            "predict_alone": {k: alone[k] for k in keep}, "predict_with_explain": {k: beside[k] for k in keep},
            "p99_ratio_with_explain": round(beside["p99_ms"] / alone["p99_ms"], 2), "explain_statuses": explained}


def part_faults(moments: int, seed: int) -> dict:
    from faults import TrainingUnderFire, model_digest

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        fire = TrainingUnderFire(Path(tmp))
        digest, steps, seconds = fire.reference()
        kinds: dict[str, dict] = {}

        def record(kind: str, where: str, killed, out: Path) -> None:
            resumed = fire.resume(out)
            exact = resumed.returncode == 0 and model_digest(out) == digest
            row = kinds.setdefault(kind, {"tried": 0, "resumed_exactly": 0, "failures": []})
            row["tried"] += 1
            row["resumed_exactly"] += exact
            if not exact:
                row["failures"].append({"where": where, "killed_exit": killed.returncode, "resume": resumed.stderr[-300:]})

        for step in range(1, len(steps) + 1):
            out = Path(tmp) / f"step{step}"
            killed = fire.killed_at_step(out, step)
            kind = ("SIGKILL in a checkpoint write" if "/checkpoints/" in steps[step - 1] else
                    "SIGKILL in the model folder write" if "/reference/" in steps[step - 1] else
                    "SIGKILL in a dataset cache write")
            record(kind, steps[step - 1].split("\t", 1)[1].replace(tmp, ""), killed, out)
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            for i in range(moments):
                moment = rng.uniform(0.3, seconds)
                out = Path(tmp) / f"{sig.name}-{i}"
                killed = fire.signalled_after(out, sig, moment)
                kind = f"{sig.name} at a random moment"
                record(kind, f"{moment:.2f} s", killed, out)
                kinds[kind].setdefault("exits", {})
                code = str(killed.returncode)
                kinds[kind]["exits"][code] = kinds[kind]["exits"].get(code, 0) + 1
    return {"uninterrupted_seconds": round(seconds, 2), "file_system_steps": len(steps), "seed": seed,
            "processes_run": fire.runs, "kinds": kinds,
            "total": {"tried": sum(k["tried"] for k in kinds.values()),
                      "resumed_exactly": sum(k["resumed_exactly"] for k in kinds.values())}}


def part_bad_inputs(model: str) -> dict:
    import os

    from bad_inputs import CLI_CASES, REQUEST_CASES, cli_verdict, request_verdict, run_cli_case
    from fastapi.testclient import TestClient

    from sentiment_rnn.service.app import create_app

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SENTIMENT_RNN_CACHE"] = str(Path(tmp) / "cache")
        for i, case in enumerate(CLI_CASES):
            code, stderr = run_cli_case(case, Path(tmp) / f"case{i}", Path(model))
            verdict = cli_verdict(case, code, stderr, case.command)
            if verdict:
                failures.append({"case": case.name, "why": verdict})
    statuses: dict[str, int] = {}
    with TestClient(create_app(model), raise_server_exceptions=False) as client:
        for case in REQUEST_CASES:
            headers = {**({"content-type": case.content_type} if case.content_type else {}), **(case.headers or {})}
            status = client.request(case.method, case.path, content=case.body, headers=headers).status_code
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            verdict = request_verdict(case, status)
            if verdict:
                failures.append({"case": case.name, "why": verdict})
    return {"cli_cases": len(CLI_CASES), "request_cases": len(REQUEST_CASES), "request_statuses": statuses,
            "answers_500": sum(v for k, v in statuses.items() if k.startswith("5")),
            "refused_as_expected": len(CLI_CASES) + len(REQUEST_CASES) - len(failures), "failures": failures}


def part_memory(model: str, requests: int, clients: int, text_cache_mb: int) -> dict:
    """Resident memory of the real server under requests that each bring new chunks to cache."""
    import aiohttp
    import numpy as np
    from load_service import rss_mib, start

    bound = text_cache_mb * 2**20
    proc, url = start(model, "--text-cache-bytes", str(bound))
    rng = np.random.default_rng(23)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    long_chunks = ["".join(rng.choice(letters, 19_990)) for _ in range(48)]
    short_chunks = [["".join(rng.choice(letters, 57)) for _ in range(300)] for _ in range(16)]

    def body(i: int) -> bytes:
        tag = f"{i:07d}"  # every chunk of the stream is new
        if i % 2:  # 48 unique chunks of 20,000 characters: what an entry-count bound let pile up
            texts = [tag + chunk for chunk in long_chunks]
        else:  # 16 texts of 300 unique 64-character chunks: each one cacheable
            texts = [" ".join(tag + chunk for chunk in chunks) for chunks in short_chunks]
        return json.dumps({"texts": texts}).encode()

    samples, statuses = [], {}
    try:
        before = rss_mib(proc.pid)[0]
        counter = iter(range(requests))

        async def run() -> None:
            async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=120),
                                             headers={"content-type": "application/json"}) as session:
                async def worker() -> None:
                    for i in counter:
                        async with session.post("/v1/predict", data=body(i)) as response:
                            await response.read()
                            statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
                        if i % 100 == 0:
                            samples.append(round(rss_mib(proc.pid)[0], 1))

                await asyncio.gather(*(worker() for _ in range(clients)))

        started = time.perf_counter()
        asyncio.run(run())
        seconds = time.perf_counter() - started
        after, peak = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"requests": requests, "clients": clients, "statuses": statuses, "text_cache_bytes": bound,
            "rss_mib_before": round(before, 1), "rss_mib_after": round(after, 1), "rss_mib_peak": round(peak, 1),
            "rss_mib_growth": round(after - before, 1), "rss_mib_samples": samples[:: max(1, len(samples) // 20)],
            "requests_per_s": round(requests / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["load", "faults", "bad-inputs", "memory"], required=True)
    parser.add_argument("--model", help="a model folder (load, bad-inputs)")
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--explain-clients", type=int, default=10)
    parser.add_argument("--moments", type=int, default=10, help="random moments per signal (faults)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--text-cache-mb", type=int, default=64, help="the server's text cache bound (memory)")
    args = parser.parse_args()
    import platform

    from recipe import machine

    started = time.perf_counter()
    if args.part == "load":
        result = part_load(args.model, args.archive, args.requests, args.clients, args.explain_clients)
    elif args.part == "faults":
        result = part_faults(args.moments, args.seed)
    elif args.part == "memory":
        result = part_memory(args.model, args.requests, min(args.clients, 8), args.text_cache_mb)
    else:
        result = part_bad_inputs(args.model)
    result.update(part=args.part, seconds=round(time.perf_counter() - started, 1), machine=machine(),
                  python=platform.python_version())
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
