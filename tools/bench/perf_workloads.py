"""Benchmarks of evs perf's workloads against `evs perf mock-server` (each in its own process).

  python tools/bench/perf_workloads.py [--requests 64] [--concurrency 16] [--trace-rows 200]
                                       [--trace-rate 50] [--repeats 3] [--out results.json]

Figures (medians over --repeats runs):

* client CPU per request (the client's own in-window CPU / measured requests, from the summary)
  and median TTFT error (client median TTFT - the server's own median TTFT, /mock/stats, kernel
  arrival time) for single-turn (closed loop), multi-turn (same concurrency, 4 turns per
  conversation, whole history per turn) and trace replay, on one stream shape (TTFT 50 ms,
  ITL 5 ms, 32 tokens);
* trace replay send offsets against the schedule, measured on the server's side: the mock's
  kernel arrival time of each request minus its trace offset, aligned by the median of these
  differences (the client's start instant is not in the server's log); median, p99 and max of
  the absolute deviation (ms) and the share within 1 ms, at
  --trace-rate requests/s with Poisson gaps.

Figures are printed and optionally written as JSON; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from perf_bench import EVS, Mock, run_client  # noqa: E402


def _detail(srv):
    return json.loads(urllib.request.urlopen(srv.url + "/mock/stats/detail", timeout=10).read())


def run_case(srv, work, args, name):
    srv.reset()
    cmd = EVS + ["perf", "--url", srv.url, "--model", "mock", "--output-dir", work, "--name", name, "--no-progress",
                 "--no-html", "--max-tokens", "32", *args]
    wall, cpu, _ = run_client(cmd, work)
    files = sorted((Path(work) / name).glob("summary*.json"))
    s = json.loads(files[0].read_text())
    server = srv.stats()
    return {"requests": s["completed"], "cpu_ms_per_request": s["client"]["cpu_ms_per_request"],
            "ttft_error_ms": s["median_ttft_ms"] - server["median_ttft_ms"], "client_bound": s["client_bound"],
            "summary": s}


def trace_file(d, rows, rate, seed=0):
    rng = random.Random(seed)
    t = 0.0
    lines = []
    for i in range(rows):
        lines.append(json.dumps({"timestamp": round(t * 1000, 3), "input_length": 128, "output_length": 32,
                                 "hash_ids": [i % 4]}))
        t += rng.expovariate(rate)
    p = Path(d) / "trace.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p, [json.loads(x)["timestamp"] / 1000 for x in lines]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--trace-rows", type=int, default=200)
    ap.add_argument("--trace-rate", type=float, default=50.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    srv = Mock("--ttft-ms", "50", "--itl-ms", "5")
    results = {}
    try:
        with tempfile.TemporaryDirectory() as work:
            tpath, sched = trace_file(work, a.trace_rows, a.trace_rate)
            conv = max(1, a.requests // 4)
            cases = {
                "single-turn": ["-c", str(a.concurrency), "-n", str(a.requests), "--warmup", "0"],
                "multi-turn": ["--multi-turn", "--min-turns", "4", "-c", str(a.concurrency), "-n", str(conv),
                               "--input-tokens", "32"],
                "trace": ["--dataset", "workload_trace", "--dataset-path", str(tpath)],
            }
            for name, args in cases.items():
                runs, offsets = [], []
                for k in range(a.repeats):
                    r = run_case(srv, work, args, f"{name}_{k}_{time.time_ns()}")
                    runs.append(r)
                    if name == "trace":
                        arr = sorted(_detail(srv)["arrivals"])[1:]  # the first is the unmeasured probe
                        n = min(len(arr), len(sched))
                        # the client's start instant is not on the server's log: align the two by the
                        # median of (arrival - schedule), then take each request's deviation
                        d = [arr[i] - sched[i] for i in range(n)]
                        mid = statistics.median(d)
                        errs = [abs(x - mid) * 1000 for x in d]
                        offsets.append(errs)
                res = {"cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in runs),
                       "ttft_error_ms": statistics.median(r["ttft_error_ms"] for r in runs),
                       "requests": runs[0]["requests"], "client_bound": [r["client_bound"] for r in runs]}
                if offsets:
                    allerr = sorted(x for errs in offsets for x in errs)
                    res["send_offset_error_ms"] = {
                        "median": statistics.median(allerr), "p99": allerr[int(0.99 * (len(allerr) - 1))],
                        "max": allerr[-1], "within_1ms": sum(x <= 1.0 for x in allerr) / len(allerr)}
                    res["client_send_lag_median_ms"] = statistics.median(
                        r["summary"]["trace"]["send_lag_median_ms"] for r in runs)
                results[name] = res
                line = (f"{name:12s}: {res['requests']} requests, client CPU {res['cpu_ms_per_request']:.3f} ms/request, "
                        f"median TTFT error {res['ttft_error_ms']:.2f} ms vs the server's own")
                if "send_offset_error_ms" in res:
                    o = res["send_offset_error_ms"]
                    line += (f"; send offset vs schedule (server arrival log): median {o['median']:.3f} ms, "
                             f"p99 {o['p99']:.3f} ms, max {o['max']:.3f} ms, {o['within_1ms']:.0%} within 1 ms")
                print(line + f" [client-bound: {res['client_bound']}]")
    finally:
        srv.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
