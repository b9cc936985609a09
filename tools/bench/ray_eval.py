"""Eval on Ray: wall time with 1, 2 and 4 replicas against a fake server of fixed latency.

    python tools/bench/ray_eval.py [--n 240] [--latency 0.2] [--concurrency 4] [--repeats 3]

Runs itself inside a network namespace of its own (root, `unshare --net`, loopback up), starts a
one-node Ray cluster there (``ray start --head --num-cpus 8``: logical CPUs, one per replica),
serves gsm8k from ../shared/data with a FakeOpenAIServer that answers every request after
``latency`` seconds, and times `evs eval --executor ray --replicas W --concurrency C` for W in 1,
2, 4 against the limit N·L/(C·W) — the time if every replica kept C requests in flight from the
first second to the last. The local executor at concurrency C·W is printed beside it. Ray's
own cost is printed apart: the time of `ray start` and of a one-sample run (connect, start the
replicas, one request, write the run folder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
BIN = Path(sys.executable).parent


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return wall


def inside(args) -> None:
    from evs_core.testing import FakeOpenAIServer

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    env_port = "6399"
    tmp = Path(tempfile.mkdtemp(prefix="evs-raybench-"))
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={env_port}",
                    "--num-cpus=8", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={tmp}/ray"],
                   check=True, capture_output=True)
    ray_start = time.perf_counter() - t0
    try:
        with FakeOpenAIServer(lambda body: "The answer is 1.", latency=args.latency) as srv:
            def cmd(work, limit, extra):
                return [str(BIN / "evs"), "eval", "--model", "fake", "--api-url", srv.url, "--datasets", "gsm8k",
                        "--limit", str(limit), "--dataset-dir", str(DATA), "--dataset-args",
                        '{"gsm8k": {"few_shot_num": 0}}', "--work-dir", str(work), "--no-progress", *extra]

            ray_args = ["--executor", "ray", "--ray-address", f"127.0.0.1:{env_port}"]
            one = [timed(cmd(tmp / f"one{i}", 1, [*ray_args, "--replicas", "1"])) for i in range(args.repeats)]
            one_local = [timed(cmd(tmp / f"onel{i}", 1, [])) for i in range(args.repeats)]
            print(f"ray start (head node): {ray_start:.1f} s")
            print(f"one-sample run: ray {statistics.median(one):.2f} s, local {statistics.median(one_local):.2f} s "
                  f"-> Ray overhead per run {statistics.median(one) - statistics.median(one_local):.2f} s")
            print(f"\nN={args.n} samples, latency L={args.latency:g} s, C={args.concurrency} in flight per replica")
            print(f"{'replicas':>8} {'limit s':>8} {'ray s':>8} {'ray/limit':>9} {'local C*W s':>11} {'local/limit':>11}")
            for w in (1, 2, 4):
                limit = args.n * args.latency / (args.concurrency * w)
                ray_t = [timed(cmd(tmp / f"r{w}_{i}", args.n, [*ray_args, "--replicas", str(w),
                                                              "--concurrency", str(args.concurrency)]))
                         for i in range(args.repeats)]
                loc_t = [timed(cmd(tmp / f"l{w}_{i}", args.n, ["--concurrency", str(args.concurrency * w)]))
                         for i in range(args.repeats)]
                r, lo = statistics.median(ray_t), statistics.median(loc_t)
                print(f"{w:>8} {limit:>8.2f} {r:>8.2f} {r / limit:>9.2f} {lo:>11.2f} {lo / limit:>11.2f}")
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        return inside(args)
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark keeps Ray inside a network namespace (unshare --net)")
    os.execvp("unshare", ["unshare", "--net", "--fork", "--kill-child", sys.executable, __file__, "--inside",
                          "--n", str(args.n), "--latency", str(args.latency), "--concurrency", str(args.concurrency),
                          "--repeats", str(args.repeats)])


if __name__ == "__main__":
    main()
