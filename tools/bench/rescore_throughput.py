"""Re-scoring throughput: predictions on disk -> reviews and reports, no model calls.

Writes a run folder with N synthetic predictions of gsm8k (all 1,319 test questions, repeated
to reach N; answers in several realistic formats, a share of them wrong), then times
``evs eval --use-cache RUN --rescore`` through ``run_task`` and prints predictions/s.

    python tools/bench/rescore_throughput.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

from evs_core.schema import ModelOutput, Prediction, Usage
from evs_native.engine import run_task

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

FORMATS = [
    "Let me compute: {a} + {b} = {c}. So she has {x} left.\nThe answer is \\boxed{{{x}}}.",
    "Step 1: {a} x 2 = {c}\nStep 2: subtract.\n#### {x}",
    "<think>maybe {a}? no</think>The final answer is {x:,}.",
    "We get {x}.00 dollars in total.",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dataset-dir", default=str(DATA))
    args = ap.parse_args()
    rows = [json.loads(x) for x in (Path(args.dataset_dir) / "gsm8k" / "test.jsonl").read_text().splitlines()]
    golds = [int(r["answer"].rsplit("####", 1)[1].strip().replace(",", "")) for r in rows]
    repeats = math.ceil(args.n / len(rows))
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        pred_dir = run / "predictions" / "m"
        pred_dir.mkdir(parents=True)
        t0 = time.perf_counter()
        with open(pred_dir / "gsm8k.jsonl", "w") as f:
            for r in range(repeats):
                for i, gold in enumerate(golds):
                    x = gold if rng.random() < 0.6 else gold + rng.randint(1, 9)
                    text = rng.choice(FORMATS).format(a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 999), x=x)
                    out = ModelOutput(text=text, usage=Usage(prompt_tokens=900, completion_tokens=120, total_tokens=1020),
                                      latency_s=1.5, finish_reason="stop")
                    f.write(Prediction(sample_id=str(i), repeat=r, subset="main", output=out).model_dump_json() + "\n")
        n = repeats * len(golds)
        print(f"wrote {n} predictions ({repeats} repeats x {len(golds)} questions) in {time.perf_counter() - t0:.1f} s")
        walls = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            reports = run_task({"model": "m", "datasets": ["gsm8k"], "dataset_dir": args.dataset_dir, "repeats": repeats,
                                "use_cache": str(run), "rescore": True, "no_progress": True})
            walls.append(time.perf_counter() - t0)
        rep = reports["gsm8k"]
        wall = statistics.median(walls)
        print(f"rescore of {n} predictions: median {wall:.2f} s over {args.repeat} runs "
              f"(min {min(walls):.2f}) -> {n / wall:,.0f} predictions/s")
        print(f"report: acc={rep.score:.4f} num={rep.num} maj@{repeats}={rep.metrics[f'maj@{repeats}'].score:.4f} "
              f"pass@{repeats}={rep.metrics[f'pass@{repeats}'].score:.4f}")


if __name__ == "__main__":
    main()
