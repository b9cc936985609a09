"""Eval engine wall time against a local server with a fixed latency, versus the physical limit.

A fake OpenAI-compatible server on 127.0.0.1 answers every request after exactly L seconds.
N samples at concurrency C cannot finish faster than N·L/C; the ratio wall/limit shows the
engine's own overhead (request building, scoring, JSONL writes, progress). Runs each setting
``--repeat`` times and prints the median.

    python tools/bench/eval_concurrency.py --n 200 --latency 0.1 --concurrency 1 8 32
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evs_native.engine import run_task

SERVER = """
import sys, time
from evs_core.testing import FakeOpenAIServer
srv = FakeOpenAIServer(lambda body: "The answer is \\\\boxed{18}.", latency=float(sys.argv[1])).start()
print(srv.url, flush=True)
time.sleep(1e9)
"""

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset-dir", default=str(DATA))
    args = ap.parse_args()
    print(f"N={args.n} samples of gsm8k (4-shot prompts), server latency L={args.latency * 1000:.0f} ms")
    print("server in its own process; wall = whole run_task call (data loading, requests, scoring, reports)")
    print(f"{'C':>4} {'limit N*L/C (s)':>16} {'median wall (s)':>16} {'wall/limit':>11} {'wall-limit (s)':>15}")
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(args.latency)], stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().strip()
    try:
        for c in args.concurrency:
            walls = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as work:
                    t0 = time.perf_counter()
                    run_task({"model": "m", "api_url": url, "api_key": "EMPTY", "datasets": ["gsm8k"],
                              "limit": args.n, "dataset_dir": args.dataset_dir, "work_dir": work,
                              "concurrency": c, "no_progress": True, "retries": 0})
                    walls.append(time.perf_counter() - t0)
            wall = statistics.median(walls)
            limit = args.n * args.latency / c
            print(f"{c:>4} {limit:>16.2f} {wall:>16.2f} {wall / limit:>11.3f} {wall - limit:>15.2f}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
