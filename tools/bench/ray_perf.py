"""evs perf on Ray: requests per second with 1 and 2 Ray load generators beside a local client.

    python tools/bench/ray_perf.py [--concurrency 64] [--requests 3000] [--repeats 3]

Runs itself inside a network namespace (root, `unshare --net`, loopback up) with a one-node Ray
cluster (`--num-cpus 4`) and `evs perf mock-server` (no added latency, so the client is the
bottleneck), and prints the median request throughput of `evs perf` with the local client,
`--ray-workers 1` and `--ray-workers 2`, and the wall time each run took (Ray's start-up of the
generators included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def inside(args) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    tmp = Path(tempfile.mkdtemp(prefix="evs-rayperf-"))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_BACKEND_LOG_LEVEL": "error"}
    subprocess.run([str(BIN / "ray"), "start", "--head", "--node-ip-address=127.0.0.1", "--port=6398",
                    "--num-cpus=4", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={tmp}/ray"],
                   check=True, capture_output=True, env=env)
    mock = subprocess.Popen([sys.executable, "-m", "evs_perf.mock_server", "--port", "18777"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    try:
        rows = []
        for label, extra in (("local client", ["--workers", "1"]),
                             ("ray, 1 generator", ["--ray-address", "127.0.0.1:6398", "--ray-workers", "1"]),
                             ("ray, 2 generators", ["--ray-address", "127.0.0.1:6398", "--ray-workers", "2"])):
            rps, walls = [], []
            for i in range(args.repeats):
                out = tmp / f"{len(rows)}_{i}"
                t0 = time.perf_counter()
                p = subprocess.run([str(BIN / "evs"), "perf", "--url", "http://127.0.0.1:18777/v1/chat/completions",
                                    "--model", "m", "-c", str(args.concurrency), "-n", str(args.requests),
                                    "--max-tokens", "64", "--outputs-dir", str(out), "--no-progress", *extra],
                                   capture_output=True, text=True, timeout=1200, env=env)
                walls.append(time.perf_counter() - t0)
                if p.returncode != 0:
                    raise SystemExit(p.stderr[-2000:])
                summary = json.loads(next(out.glob("*/summary.json")).read_text())
                rps.append(summary["request_throughput"])
            rows.append((label, statistics.median(rps), statistics.median(walls)))
        print(f"c={args.concurrency}, n={args.requests}, 64-token streams, mock server without latency, 2 cores")
        print(f"{'client':<20} {'req/s':>8} {'wall s':>8}")
        for label, r, w in rows:
            print(f"{label:<20} {r:>8.0f} {w:>8.1f}")
    finally:
        mock.terminate()
        subprocess.run([str(BIN / "ray"), "stop", "--force"], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        return inside(args)
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark keeps Ray inside a network namespace (unshare --net)")
    os.execvp("unshare", ["unshare", "--net", "--fork", "--kill-child", sys.executable, __file__, "--inside",
                          "--concurrency", str(args.concurrency), "--requests", str(args.requests),
                          "--repeats", str(args.repeats)])


if __name__ == "__main__":
    main()
