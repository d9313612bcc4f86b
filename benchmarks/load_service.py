#!/usr/bin/env python
"""Issue-4 figures: the real server under load, from an asyncio HTTP client on loopback.

- single-review requests at concurrency 1, 8, 32, 64 (micro-batching on): p50/p90/p99 latency,
  requests/s, errors, server peak RSS;
- 32 clients with micro-batching off (`--max-batch-size 1`), for the on/off throughput ratio;
- a soak of >= 20,000 requests with the server's resident memory sampled along the way;
- an overload run (a small queue, many clients) that must answer 503 quickly instead of timing out,
  followed by a recovery check.
Every request loop is bounded in count and time and targets 127.0.0.1 only.

    .venv/bin/python benchmarks/load_service.py MODEL_DIR --archive ../shared/data/aclImdb_v1.tar.gz
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model: str, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sentiment_rnn", "serve", model, "--host", "127.0.0.1", "--port",
                             str(port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/readyz", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def load(url: str, texts: list[str], clients: int, requests: int, timeout: float = 30.0,
               on_progress=None) -> dict:
    """`clients` concurrent loops, each sending one single-review request at a time (aiohttp: a
    lighter client than httpx, which matters when client and server share two cores).

    Each client first opens its connection with one request that is reported apart
    (`first_request_*`): 32 connections opened in the same instant queue behind each other, which
    is a cost of connecting, not of serving (a load balancer keeps its connections open)."""
    latencies, statuses, first = [], {}, []
    counter = iter(range(requests))
    bodies = [json.dumps({"texts": [t]}).encode() for t in texts]
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(url, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout),
                                     headers={"content-type": "application/json"}) as session:
        async def worker() -> None:
            started = time.perf_counter()
            try:
                async with session.post("/v1/predict", data=bodies[0]) as response:
                    await response.read()
            except (asyncio.TimeoutError, aiohttp.ClientError):
                pass
            first.append(time.perf_counter() - started)
            for i in counter:
                started = time.perf_counter()
                try:
                    async with session.post("/v1/predict", data=bodies[i % len(bodies)]) as response:
                        await response.read()
                        status = str(response.status)
                except asyncio.TimeoutError:
                    status = "timeout"
                except aiohttp.ClientError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if on_progress and i % 1000 == 0:
                    on_progress(i)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    first_ms = np.asarray(first) * 1000
    return {"clients": clients, "requests": requests, "seconds": round(seconds, 2),
            "requests_per_s": round(requests / seconds, 1), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p90_ms": round(float(np.percentile(ms, 90)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1), "first_request_p50_ms": round(float(np.percentile(first_ms, 50)), 1),
            "first_request_max_ms": round(float(first_ms.max()), 1), "statuses": statuses,
            "errors": sum(v for k, v in statuses.items() if k != "200")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--archive", default=str(ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"))
    parser.add_argument("--requests", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--soak", type=int, default=20000)
    parser.add_argument("--serve-args", default="", help="extra `serve` options for every server, e.g. '--engine torch'")
    parser.add_argument("--quick", action="store_true", help="only 32 clients (or --clients) with batching on and off")
    parser.add_argument("--clients", type=int, nargs="+", help="concurrency levels (default 1 8 32 64; 32 in --quick)")
    args = parser.parse_args()
    serve_args = args.serve_args.split()

    from sentiment_rnn.data import load_imdb_split

    texts = load_imdb_split(args.archive, "test").texts[::5]  # 5,000 real reviews, both classes
    # The client's own full garbage collections would stall every request it has in flight and be
    # counted as server latency: freeze what is loaded so far (the server does the same).
    gc.collect()
    gc.freeze()
    out: dict = {"levels": []}

    proc, url = start(args.model, *serve_args)
    asyncio.run(load(url, texts, 8, 200))  # warm-up
    levels = args.clients or ((32,) if args.quick else (1, 8, 32, 64))
    for clients in levels:
        row = asyncio.run(load(url, texts, clients, args.requests if clients > 1 else args.requests // 4))
        row["server_rss_mib"] = round(rss_mib(proc.pid)[0])
        print(json.dumps({"batching": True, **row}), flush=True)
        out["levels"].append(row)

    if args.quick:
        proc.terminate()
        proc.wait(timeout=60)
        proc, url = start(args.model, "--max-batch-size", "1", *serve_args)
        asyncio.run(load(url, texts, 8, 100))
        off = asyncio.run(load(url, texts, 32, args.requests))
        proc.terminate()
        proc.wait(timeout=60)
        on32 = next(r for r in out["levels"] if r["clients"] == 32)
        print("RESULT_JSON " + json.dumps({
            "serve_args": args.serve_args, "on_32": on32, "off_32": off, "levels": out["levels"],
            "throughput_ratio_batching_on_off_32": round(on32["requests_per_s"] / off["requests_per_s"], 2)}))
        return

    samples = []
    soak = asyncio.run(load(url, texts, 32, args.soak, on_progress=lambda i: samples.append((i, rss_mib(proc.pid)[0]))))
    after_warmup = [rss for i, rss in samples if i >= args.soak // 10]
    soak["rss_mib_samples"] = [round(r) for _, r in samples]
    soak["rss_growth_after_warmup_pct"] = round(100 * (max(after_warmup) / min(after_warmup) - 1), 2)
    soak["server_peak_rss_mib"] = round(rss_mib(proc.pid)[1])
    print(json.dumps({"soak": soak}), flush=True)
    out["soak"] = soak
    proc.terminate()
    proc.wait(timeout=60)

    proc, url = start(args.model, "--max-batch-size", "1", *serve_args)
    asyncio.run(load(url, texts, 8, 100))
    off = asyncio.run(load(url, texts, 32, args.requests))
    print(json.dumps({"batching": False, **off}), flush=True)
    out["batching_off_32"] = off
    proc.terminate()
    proc.wait(timeout=60)

    proc, url = start(args.model, "--max-queue", "16", "--timeout-s", "10", *serve_args)
    overload = asyncio.run(load(url, texts, 128, 3000, timeout=15))
    recovery = asyncio.run(load(url, texts, 4, 100))
    print(json.dumps({"overload": overload, "recovery": recovery}), flush=True)
    out.update(overload=overload, recovery=recovery)
    proc.terminate()
    proc.wait(timeout=60)

    on32 = next(r for r in out["levels"] if r["clients"] == 32)
    out["summary"] = {"throughput_ratio_batching_on_off_32": round(on32["requests_per_s"] / off["requests_per_s"], 2),
                      "p99_ms_32_clients": on32["p99_ms"], "errors_32_clients": on32["errors"],
                      "soak_requests": args.soak, "soak_rss_growth_after_warmup_pct": soak["rss_growth_after_warmup_pct"],
                      "overload_503": overload["statuses"].get("503", 0), "overload_timeouts": overload["statuses"].get("timeout", 0),
                      "recovery_errors": recovery["errors"]}
    print("RESULT_JSON " + json.dumps(out["summary"]), flush=True)


if __name__ == "__main__":
    main()
