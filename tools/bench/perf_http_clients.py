#!/usr/bin/env python
"""Which HTTP client for evs perf: CPU per 256-token SSE stream, measured.

Against `evs perf mock-server` (zero latency, own process), concurrency 64, N requests: the
client process's CPU time per request for evs perf's own asyncio-protocol client, httpx
(`aiter_lines`) and aiohttp (`content` line iteration) when installed. Each client does the
minimum a perf tool needs: find the first content chunk, time every chunk, read usage.

  python tools/bench/perf_http_clients.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time

BODY = json.dumps({"model": "mock", "messages": [{"role": "user", "content": "hi " * 128}], "max_tokens": 256,
                   "stream": True, "stream_options": {"include_usage": True}}).encode()


def per_event(line: bytes, state):
    if not line.startswith(b"data: "):
        return
    payload = line[6:]
    if payload == b"[DONE]":
        return
    obj = json.loads(payload)
    for c in obj.get("choices") or ():
        if (c.get("delta") or {}).get("content"):
            state.append(time.perf_counter())
    if obj.get("usage"):
        state.append(obj["usage"]["completion_tokens"])


async def run_httpx(url, n, conc):
    import httpx

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=conc), timeout=60) as client:
        async def one():
            state = []
            async with client.stream("POST", url, content=BODY, headers={"content-type": "application/json"}) as r:
                async for line in r.aiter_lines():
                    if line:
                        per_event(line.encode(), state)
        await _drive(one, n, conc)


async def run_aiohttp(url, n, conc):
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as s:
        async def one():
            state = []
            async with s.post(url, data=BODY, headers={"content-type": "application/json"}) as r:
                async for line in r.content:
                    line = line.strip()
                    if line:
                        per_event(line, state)
        await _drive(one, n, conc)


async def run_evs(url, n, conc):
    from evs_perf.apis import ChatAPI
    from evs_perf.engine import Worker
    from evs_perf.http import Endpoint

    ep = Endpoint(url)
    payload = ep.request_bytes("POST", ep.path, BODY, {"Content-Type": "application/json"})
    spec = {"url": url, "api": ChatAPI({"model": "mock"}), "stream": True, "payloads": [payload],
            "planned": [(None, None)], "timeout": 60, "read_timeout": None, "connect_timeout": 5,
            "concurrency": conc, "requests": n, "duration": None, "ramp_up": 0, "rate": None, "arrivals": None,
            "warmup": 0, "t0": 0.0}
    rep = await Worker(spec).run()
    assert sum(r.ok for r in rep["results"]) == n


async def _drive(one, n, conc):
    left = [n]

    async def slot():
        while left[0] > 0:
            left[0] -= 1
            await one()

    await asyncio.gather(*(slot() for _ in range(conc)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    srv = subprocess.Popen([sys.executable, "-m", "evs_perf.mock_server", "--port", "0", "--output-tokens", "256"],
                           stdout=subprocess.PIPE, text=True)
    port = re.search(r":(\d+)$", srv.stdout.readline().strip()).group(1)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        for name, fn in (("evs (asyncio protocol)", run_evs), ("httpx", run_httpx), ("aiohttp", run_aiohttp)):
            try:
                asyncio.run(fn(url, 20, 4))  # warm imports and connections
            except ImportError:
                print(f"{name:24s}: not installed")
                continue
            c0, w0 = time.process_time(), time.perf_counter()
            asyncio.run(fn(url, args.requests, args.concurrency))
            cpu = (time.process_time() - c0) * 1000 / args.requests
            wall = time.perf_counter() - w0
            print(f"{name:24s}: {cpu:6.2f} ms CPU per request, {args.requests / wall:7.1f} req/s", flush=True)
    finally:
        srv.terminate()


if __name__ == "__main__":
    main()
