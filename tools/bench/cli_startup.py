"""CLI start-up time: `evs --help`, `evs eval --help`, `evs benchmarks`, `evs perf --help`.

Each command runs N times in a fresh subprocess (the installed `evs` script next to this
Python, else ``python -c "from evs_cli.main import main; main()"``); prints the median, min and
max wall time per command, and the median relative to a bare ``python -c pass``.

    python tools/bench/cli_startup.py --n 15
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [["--help"], ["eval", "--help"], ["benchmarks"], ["perf", "--help"]]


def evs_argv() -> list[str]:
    script = Path(sys.executable).with_name("evs")
    if script.exists():
        return [str(script)]
    found = shutil.which("evs")
    return [found] if found else [sys.executable, "-c", "from evs_cli.main import main; main()"]


def time_once(argv: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=15, help="runs per command (default 15)")
    args = ap.parse_args()
    base = evs_argv()
    bare = [time_once([sys.executable, "-c", "pass"]) for _ in range(args.n)]
    print(f"python -c pass: median {statistics.median(bare) * 1000:.0f} ms ({args.n} runs)")
    print(f"{'command':<22} {'median':>8} {'min':>8} {'max':>8} {'x python':>9}")
    for cmd in COMMANDS:
        time_once(base + cmd)  # warm the file cache
        walls = [time_once(base + cmd) for _ in range(args.n)]
        med = statistics.median(walls)
        print(f"{'evs ' + ' '.join(cmd):<22} {med * 1000:>6.0f}ms {min(walls) * 1000:>6.0f}ms "
              f"{max(walls) * 1000:>6.0f}ms {med / statistics.median(bare):>8.1f}x")


if __name__ == "__main__":
    main()
