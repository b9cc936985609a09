"""Code sandbox overhead: start-up and per-program cost against a bare ``python -c``, old vs new.

    python tools/bench/sandbox_overhead.py [--repeats 15] [--data ../shared/data] [--problems 164]

* ``bare``: ``python -I -c pass`` in a subprocess (the floor of any subprocess sandbox);
* ``old``: the sandbox before bubblewrap (audit hook in a plain subprocess), taken from git
  history (the latest commit whose ``sandbox.py`` does not use bwrap), running ``pass``;
* ``new``: :mod:`evs_native.sandbox` (bubblewrap, checker + candidate), running ``pass``;
* a code benchmark: HumanEval's canonical solutions (``DIR/humaneval/test.jsonl``) scored
  with ``EVS_SANDBOX_WORKERS`` programs at once, old (the whole program as a script) vs new
  (``check`` mode), as wall time for all problems.

Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "packages/evs-native/src/evs_native/sandbox.py"
CHILD = "packages/evs-native/src/evs_native/_sandbox_child.py"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def old_module(tmp: Path):
    for rev in git("log", "--format=%H", "--", SANDBOX).split():
        src = git("show", f"{rev}:{SANDBOX}")
        if "bwrap" not in src:
            (tmp / "sandbox.py").write_text(src)
            (tmp / "_sandbox_child.py").write_text(git("show", f"{rev}:{CHILD}"))
            spec = importlib.util.spec_from_file_location("old_sandbox", tmp / "sandbox.py")
            mod = importlib.util.module_from_spec(spec)
            sys.modules["old_sandbox"] = mod
            spec.loader.exec_module(mod)
            return rev[:10], mod
    raise SystemExit("no commit with the old sandbox in this history")


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def humaneval(data: Path, n: int):
    rows = [json.loads(x) for x in (data / "humaneval" / "test.jsonl").read_text().splitlines() if x.strip()]
    return rows[:n]


async def score_all(fn, items, workers: int):
    sem = asyncio.Semaphore(workers)  # the old sandbox's bound, as its arun applied it
    return await asyncio.gather(*(fn(*it, sem) for it in items))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--problems", type=int, default=164)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the code benchmark (median)")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "packages" / "evs-native" / "src"))
    from evs_native import sandbox as new

    with tempfile.TemporaryDirectory() as tmp:
        rev, old = old_module(Path(tmp))
        reason = new.availability("bwrap")
        if reason:
            raise SystemExit(f"the new sandbox cannot run here: {reason}")
        bare = median_time(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True), a.repeats)
        t_old = median_time(lambda: old.run("pass"), a.repeats)
        t_new = median_time(lambda: new.run("pass"), a.repeats)
        t_unsafe = median_time(lambda: new.run("pass", isolation="unsafe-none"), a.repeats)
        print(f"start-up, median of {a.repeats} (workers={new.workers()}, old sandbox from {rev}):")
        print(f"  bare python -I -c pass   {bare * 1000:8.1f} ms")
        print(f"  old sandbox              {t_old * 1000:8.1f} ms   {t_old / bare:5.2f}x bare")
        print(f"  new sandbox (bwrap)      {t_new * 1000:8.1f} ms   {t_new / bare:5.2f}x bare   {t_new / t_old:5.2f}x old")
        print(f"  new, unsafe-none         {t_unsafe * 1000:8.1f} ms   {t_unsafe / bare:5.2f}x bare")
        data = Path(a.data)
        if not (data / "humaneval" / "test.jsonl").exists():
            print(f"(no {data}/humaneval/test.jsonl: code benchmark skipped)")
            return
        rows = humaneval(data, a.problems)
        async def old_one(p, sem):
            program = p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + "\n" + f"check({p['entry_point']})"
            async with sem:
                return await asyncio.to_thread(old.run, program, limits=old.Limits(timeout=4.0))

        async def new_one(p, sem):
            tests = {"prompt": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]}
            return await new.arun(p["prompt"] + p["canonical_solution"], mode="check", tests=tests,
                                  limits=new.Limits(timeout=4.0))

        def bench(fn):
            rounds = []
            passed = 0
            for _ in range(a.rounds):
                t = time.perf_counter()
                rs = asyncio.run(score_all(fn, [(p,) for p in rows], new.workers()))
                rounds.append(time.perf_counter() - t)
                passed = sum(r.passed for r in rs)
            return statistics.median(rounds), passed

        b_old, ok_old = bench(old_one)
        b_new, ok_new = bench(new_one)
        n = len(rows)
        print(f"code benchmark: {n} HumanEval canonical solutions, median of {a.rounds} rounds:")
        print(f"  old sandbox   {b_old:7.2f} s  ({b_old / n * 1000:6.1f} ms/program, {ok_old}/{n} pass)")
        print(f"  new sandbox   {b_new:7.2f} s  ({b_new / n * 1000:6.1f} ms/program, {ok_new}/{n} pass)"
              f"   {b_new / b_old:5.2f}x old")


if __name__ == "__main__":
    main()
