#!/usr/bin/env python
"""Benchmarks of evs perf, side by side with `evalscope perf` when one is given.

Every figure comes from a fresh run against `evs perf mock-server` in its own process, so the
client's CPU (wait4 rusage of the client process tree) is separate from the server's.

  python tools/bench/perf_bench.py all [--evalscope PATH] [--out results.json]
  python tools/bench/perf_bench.py capacity|ttft|startup [--evalscope PATH]

`--evalscope` (or EVALSCOPE=...) is the `evalscope` executable of a separate venv. The figures:

* capacity: concurrency 256, 256-token streams from a zero-latency server; request throughput
  (the tool's own figure), SSE events/s, client CPU per request = (CPU of an N-request run -
  CPU of a 1-request run) / (N - 1), so start-up cost is excluded for both tools;
* ttft: median TTFT reported by the tool minus the server's own median TTFT (first content
  write - request arrival, from /mock/stats), at concurrency 16, 64, 256 (TTFT 100 ms,
  ITL 10 ms, 64 tokens), plus the error against the configured 100 ms. The arrival is the
  kernel's receive time of the request (SO_TIMESTAMPNS): the mock server's own lag in reading
  a request is the server's, not the client's; the error against the time the server read
  the request (the old definition) is printed beside it, with the server's median read lag;
* client CPU at concurrency 16 on the same stream, in cores: (CPU of the c16 run - CPU of a
  one-request run) / (wall of the c16 run - wall of the one-request run), for both tools;
* startup: wall time of `evs perf --help` and of a one-request run (median of several).

When uvloop is installed, `evs` runs on it (`--loop auto`) and `evs-asyncio` (`--loop asyncio`)
is measured beside it.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PY = sys.executable
EVS = [PY, "-c", "from evs_cli.main import main; main()"]


class Mock:
    def __init__(self, *args):
        self.proc = subprocess.Popen([PY, "-m", "evs_perf.mock_server", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.search(r":(\d+)$", self.proc.stdout.readline().strip())
        self.url = f"http://127.0.0.1:{m.group(1)}"

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/mock/reset", method="POST"), timeout=5).read()

    def stats(self):
        return json.loads(urllib.request.urlopen(self.url + "/mock/stats", timeout=5).read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def run_client(cmd, cwd):
    """Run a client; return (wall seconds, CPU seconds of its process tree, output)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:4]}... failed ({p.returncode}):\n{out[-3000:]}")
    return wall, ru.ru_utime + ru.ru_stime, out


def prompts_file(d):
    import random

    words = "the of and to in is was for on as with by he at from his an were are which this".split()
    r = random.Random(0)
    p = Path(d) / "prompts.txt"
    p.write_text("\n".join(" ".join(r.choice(words) for _ in range(128)) for _ in range(1000)))
    return str(p)


# -- one run per tool ----------------------------------------------------------------------------
def evs_run(url, conc, n, max_tokens, work, prompts, extra=(), loop="auto"):
    name = f"evs_{conc}_{n}_{time.time_ns()}"
    cmd = EVS + ["perf", "--url", url, "--model", "mock", "-c", str(conc), "-n", str(n), "--max-tokens",
                 str(max_tokens), "--dataset", "line_by_line", "--dataset-path", prompts, "--output-dir", work,
                 "--name", name, "--no-progress", "--no-html", "--loop", loop, *extra]
    wall, cpu, out = run_client(cmd, work)
    s = json.loads((Path(work) / name / "summary.json").read_text())
    return {"wall_s": wall, "cpu_s": cpu, "rps": s["request_throughput"], "median_ttft_ms": s["median_ttft_ms"],
            "completed": s["completed"], "failed": s["failed"], "client_bound": s["client_bound"],
            "in_window_cpu_ms_per_req": s["client"]["cpu_ms_per_request"], "workers": s["client"]["workers"],
            "in_window_cpu_cores": s["client"]["cpu_cores"], "loop": s["client"].get("loop"),
            "loop_lag_p90_ms": s["client"]["loop_lag_p90_ms"]}


def es_run(es, url, conc, n, max_tokens, work, prompts):
    name = f"es_{conc}_{n}_{time.time_ns()}"
    cmd = [es, "perf", "--url", url + "/v1/chat/completions", "--api", "openai", "--model", "mock", "--parallel",
           str(conc), "--number", str(n), "--dataset", "line_by_line", "--dataset-path", prompts, "--max-tokens",
           str(max_tokens), "--min-tokens", str(max_tokens), "--stream", "--outputs-dir", work, "--no-timestamp",
           "--name", name]
    wall, cpu, out = run_client(cmd, work)
    d = glob.glob(str(Path(work) / name / "parallel_*"))[0]
    s = json.loads(Path(d, "benchmark_summary.json").read_text())
    pct = json.loads(Path(d, "benchmark_percentile.json").read_text())
    p50 = next(row for row in pct if row["Percentiles"] in ("50%", "p50"))
    return {"wall_s": wall, "cpu_s": cpu, "rps": s["Req Throughput (req/s)"], "median_ttft_ms": p50["TTFT (ms)"],
            "completed": s["Success Requests"], "failed": s["Failed Requests"]}


def _has_uvloop():
    return subprocess.run([PY, "-c", "import uvloop"], capture_output=True).returncode == 0


def tools(args):
    """(name, evalscope executable or None, evs loop)."""
    out = [("evs", None, "auto")]
    if args.uvloop:
        out.append(("evs-asyncio", None, "asyncio"))
    if args.evalscope:
        out.append(("evalscope", args.evalscope, None))
    return out


def one_run(tool, es, loop, url, conc, n, max_tokens, work, prompts, extra=()):
    if es is None:
        return evs_run(url, conc, n, max_tokens, work, prompts, extra, loop=loop)
    return es_run(es, url, conc, n, max_tokens, work, prompts)


def _evs_note(r):
    return (f" [{r['loop']}, {r['workers']} worker(s), loop lag p90 {r['loop_lag_p90_ms']:.2f} ms"
            f"{', CLIENT-BOUND' if r['client_bound'] else ''}]" if "loop" in r else "")


# -- benchmarks ----------------------------------------------------------------------------------
def bench_capacity(args, work, prompts):
    mock = Mock("--ttft-ms", "0", "--itl-ms", "0", "--output-tokens", "256")
    res = {}
    try:
        for tool, es, loop in tools(args):
            n = args.capacity_requests
            one = one_run(tool, es, loop, mock.url, 1, 1, 256, work, prompts, ["--warmup", "0"])
            full = one_run(tool, es, loop, mock.url, 256, n, 256, work, prompts)
            cpu_per = (full["cpu_s"] - one["cpu_s"]) / (n - 1) * 1000
            res[tool] = {"requests": n, "completed": full["completed"], "failed": full["failed"],
                         "req_per_s": full["rps"], "sse_events_per_s": full["rps"] * (256 + 3),
                         "client_cpu_ms_per_request": cpu_per, "client_cpu_s_total": full["cpu_s"],
                         "wall_s": full["wall_s"], **({k: full[k] for k in ("workers", "client_bound", "loop",
                                                     "in_window_cpu_ms_per_req")} if es is None else {})}
            print(f"capacity {tool:11s} c256 n={n}: {full['rps']:.0f} req/s, {full['rps'] * 259:.0f} SSE events/s, "
                  f"{cpu_per:.2f} ms client CPU/request{_evs_note(full)}", flush=True)
    finally:
        mock.stop()
    return res


def bench_ttft(args, work, prompts):
    mock = Mock("--ttft-ms", "100", "--itl-ms", "10", "--output-tokens", "64", "--no-precise-timers")
    res = {}
    try:
        base = {}
        for tool, es, loop in tools(args):  # one-request runs: the start-up CPU to subtract at c16
            b = one_run(tool, es, loop, mock.url, 1, 1, 64, work, prompts, ["--warmup", "0"])
            base[tool] = (b["wall_s"], b["cpu_s"])
        for conc in (16, 64, 256):
            for tool, es, loop in tools(args):
                errs, errs_cfg, errs_read, read_lags, cores, last = [], [], [], [], [], None
                for _ in range(args.repeats):
                    mock.reset()
                    n = max(4 * conc, 160)
                    r = last = one_run(tool, es, loop, mock.url, conc, n, 64, work, prompts)
                    st = mock.stats()
                    errs.append(r["median_ttft_ms"] - st["median_ttft_ms"])
                    errs_read.append(r["median_ttft_ms"] - st["median_ttft_from_read_ms"])
                    read_lags.append(st["median_read_lag_ms"])
                    errs_cfg.append(r["median_ttft_ms"] - 100.0)
                    cores.append((r["cpu_s"] - base[tool][1]) / max(r["wall_s"] - base[tool][0], 1e-9))
                row = {"median_ttft_error_vs_server_ms": statistics.median(errs), "runs": errs,
                       "server_arrival_clock": st.get("arrival_clock"),
                       "median_ttft_error_vs_server_read_ms": statistics.median(errs_read),
                       "server_median_read_lag_ms": statistics.median(read_lags),
                       "median_ttft_error_vs_configured_ms": statistics.median(errs_cfg),
                       "client_cpu_cores": statistics.median(cores), "load": os.getloadavg()[0]}
                if es is None:
                    row.update({k: last[k] for k in ("workers", "loop", "client_bound", "loop_lag_p90_ms",
                                                     "in_window_cpu_cores")})
                res.setdefault(str(conc), {})[tool] = row
                print(f"ttft c{conc:<3d} {tool:11s}: median TTFT error {row['median_ttft_error_vs_server_ms']:7.2f} ms "
                      f"vs the server's own TTFT (arrival: {row['server_arrival_clock']}); "
                      f"{row['median_ttft_error_vs_server_read_ms']:7.2f} ms vs its read time (server read lag "
                      f"{row['server_median_read_lag_ms']:.2f} ms); {row['median_ttft_error_vs_configured_ms']:7.2f} ms "
                      f"vs configured 100 ms; client CPU {row['client_cpu_cores']:.3f} cores; "
                      f"runs {[round(e, 2) for e in errs]}; load {row['load']:.2f}{_evs_note(last)}", flush=True)
    finally:
        mock.stop()
    return res


def bench_startup(args, work, prompts):
    mock = Mock("--output-tokens", "64")
    res = {}
    try:
        for tool, es, loop in tools(args):
            helps, ones = [], []
            for _ in range(args.startup_repeats):
                cmd = (EVS if es is None else [es]) + ["perf", "--help"]
                helps.append(run_client(cmd, work)[0])
            for _ in range(3):
                ones.append(one_run(tool, es, loop, mock.url, 1, 1, 64, work, prompts)["wall_s"])
            res[tool] = {"help_s_median": statistics.median(helps), "help_s_min": min(helps),
                         "one_request_run_s_median": statistics.median(ones)}
            print(f"startup {tool:11s}: perf --help {statistics.median(helps):.3f} s (min {min(helps):.3f}), "
                  f"one-request run {statistics.median(ones):.2f} s", flush=True)
    finally:
        mock.stop()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=["all", "capacity", "ttft", "startup"])
    ap.add_argument("--evalscope", default=os.environ.get("EVALSCOPE"), help="evalscope executable (optional)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    ap.add_argument("--capacity-requests", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=1, help="runs per TTFT point (median of errors)")
    ap.add_argument("--startup-repeats", type=int, default=7)
    args = ap.parse_args()
    args.uvloop = _has_uvloop()
    work = tempfile.mkdtemp(prefix="evs-perf-bench-")
    prompts = prompts_file(work)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; uvloop "
          f"{'installed' if args.uvloop else 'not installed'}", flush=True)
    results = {"cores": os.cpu_count(), "load_before": os.getloadavg()[0], "uvloop": args.uvloop}
    try:
        for name, fn in (("startup", bench_startup), ("capacity", bench_capacity), ("ttft", bench_ttft)):
            if args.which in ("all", name):
                results[name] = fn(args, work, prompts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = os.getloadavg()[0]
    print(f"load average after: {results['load_after']:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
