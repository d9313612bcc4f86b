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

    .venv/bin/python benchmarks/reliability.py --part load --model MODEL_DIR
    .venv/bin/python benchmarks/reliability.py --part faults --moments 10
    .venv/bin/python benchmarks/reliability.py --part bad-inputs --model MODEL_DIR
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
            verdict = cli_verdict(case, code, stderr)
            if verdict:
                failures.append({"case": case.name, "why": verdict})
    statuses: dict[str, int] = {}
    with TestClient(create_app(model), raise_server_exceptions=False) as client:
        for case in REQUEST_CASES:
            headers = {"content-type": case.content_type} if case.content_type else {}
            status = client.request(case.method, case.path, content=case.body, headers=headers).status_code
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            verdict = request_verdict(case, status)
            if verdict:
                failures.append({"case": case.name, "why": verdict})
    return {"cli_cases": len(CLI_CASES), "request_cases": len(REQUEST_CASES), "request_statuses": statuses,
            "answers_500": sum(v for k, v in statuses.items() if k.startswith("5")),
            "refused_as_expected": len(CLI_CASES) + len(REQUEST_CASES) - len(failures), "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["load", "faults", "bad-inputs"], required=True)
    parser.add_argument("--model", help="a model folder (load, bad-inputs)")
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--explain-clients", type=int, default=10)
    parser.add_argument("--moments", type=int, default=10, help="random moments per signal (faults)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    import platform

    from recipe import machine

    started = time.perf_counter()
    if args.part == "load":
        result = part_load(args.model, args.archive, args.requests, args.clients, args.explain_clients)
    elif args.part == "faults":
        result = part_faults(args.moments, args.seed)
    else:
        result = part_bad_inputs(args.model)
    result.update(part=args.part, seconds=round(time.perf_counter() - started, 1), machine=machine(),
                  python=platform.python_version())
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
