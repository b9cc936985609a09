"""Fixtures: hand-built run folders in the formats that `evs eval` and `evs perf` write.

The eval files are built with evs-core's schema models, so they follow the real format field by
field. The perf files follow `evs perf`'s layout (summary_<label>.json, sweep.json,
percentiles.json, records.sqlite, config.json) with `vllm bench serve`'s key names. Logic and
AppTest tests use these; the browser tests generate their outputs with real `evs eval` and
`evs perf` runs instead.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from pathlib import Path

import pytest
import yaml
from evs_core.schema import ModelOutput, Prediction, Report, Review, Stat, SubsetScore, Usage


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Debian's chromium with playwright against `evs viz`")


ARC_TARGETS = ["A", "B", "C", "D", "A", "B", "C", "D", "A", "B"]


def write_eval_run(
    root: Path, stamp: str, model: str, dataset: str, answers: list[str], targets: list[str],
    *, subset: str = "default", report: bool = True, reasoning: str | None = None, judge: str | None = None,
    errors: dict[int, str] | None = None,
) -> Path:
    """One eval run folder with one model on one dataset; sample ``i`` is ``f"{dataset}-{i}"``."""
    run = root / stamp
    for sub in ("configs", "logs", "predictions", "reviews", "reports"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    cfg = {"model": model, "datasets": [dataset], "limit": len(targets), "seed": 42}
    (run / "configs" / "task_config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    errors = errors or {}
    preds, reviews, scores = [], [], []
    for i, (ans, tgt) in enumerate(zip(answers, targets, strict=True)):
        sid = f"{dataset}-{i}"
        err = errors.get(i)
        question = f"Question {i} of {dataset}: pick the letter {tgt}."
        preds.append(Prediction(
            sample_id=sid, subset=subset,
            request={"kind": "generate", "messages": [{"role": "user", "content": question}]},
            output=ModelOutput(text="" if err else f"ANSWER: {ans}", reasoning=None if err else reasoning,
                               usage=Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13),
                               latency_s=0.01, error=err),
        ))
        score = 0.0 if err else float(ans == tgt)
        meta = {"judge_explanation": judge} if judge else {}
        reviews.append(Review(sample_id=sid, subset=subset, target=tgt, prediction=f"ANSWER: {ans}",
                              extracted=None if err else ans, scores={} if err else {"acc": score},
                              error=err, metadata=meta))
        if not err:
            scores.append(score)
    for kind, rows in (("predictions", preds), ("reviews", reviews)):
        (run / kind / model).mkdir(parents=True, exist_ok=True)
        (run / kind / model / f"{dataset}.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rows),
                                                              encoding="utf-8")
    if report:
        mean = sum(scores) / len(scores)
        se = statistics.stdev(scores) / len(scores) ** 0.5 if len(scores) > 1 else None
        ci = (max(0.0, mean - 0.2), min(1.0, mean + 0.2))
        stat = Stat(score=mean, num=len(scores), stderr=se, ci95=ci)
        rep = Report(
            model=model, dataset=dataset, benchmark_version="1", metric="acc", score=mean, num=len(scores),
            num_samples=len(targets), num_errors=len(errors), stderr=se, ci95=ci, metrics={"acc": stat},
            subsets=[SubsetScore(name=subset, num=len(scores), score=mean, metrics={"acc": stat})],
            errors={"ModelError": len(errors)} if errors else {}, config=cfg,
            created_at=f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}+00:00",
        )
        (run / "reports" / model).mkdir(parents=True, exist_ok=True)
        (run / "reports" / model / f"{dataset}.json").write_text(rep.model_dump_json(indent=2), encoding="utf-8")
    return run


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    pos = p / 100 * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def write_perf_run(root: Path, name: str, concurrencies: list[int], base_ttft: float = 20.0,
                   model_id: str = "perf-model", date: str = "2026-01-02T03:04:05") -> Path:
    """A perf run folder in evs perf's layout with one point per concurrency (closed loop)."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    percentiles = [50, 90, 99]
    summaries, pct = [], {}
    db = sqlite3.connect(run / "records.sqlite")
    db.execute("CREATE TABLE requests (point TEXT, idx INTEGER, ok INTEGER, error TEXT, ttft_ms REAL, "
               "e2el_ms REAL, tpot_ms REAL, completion_tokens INTEGER)")
    for c in concurrencies:
        label = f"c{c}"
        n = 20
        ttft = [base_ttft * (1 + 0.1 * c) + i for i in range(n)]
        tpot = [2.0 + 0.05 * c + 0.01 * i for i in range(n)]
        e2el = [t + 31 * p for t, p in zip(ttft, tpot, strict=True)]
        duration = sum(e2el) / 1000 / c
        s = {
            "label": label, "date": date, "backend": "chat", "model_id": model_id, "num_prompts": n,
            "request_rate": "inf", "max_concurrency": c, "duration": duration, "completed": n, "failed": 0,
            "total_input_tokens": 128 * n, "total_output_tokens": 32 * n, "request_throughput": n / duration,
            "output_throughput": 32 * n / duration, "total_token_throughput": 160 * n / duration,
            "percentiles": percentiles,
        }
        for m, xs in (("ttft", ttft), ("tpot", tpot), ("itl", tpot), ("e2el", e2el)):
            s[f"mean_{m}_ms"] = sum(xs) / n
            s[f"median_{m}_ms"] = _pct(xs, 50)
            for p in percentiles:
                s[f"p{p}_{m}_ms"] = _pct(xs, p)
        summaries.append(s)
        pct[label] = {"percentiles": percentiles, **{f"{m}_ms": [_pct(xs, p) for p in percentiles]
                                                     for m, xs in (("ttft", ttft), ("tpot", tpot), ("e2el", e2el))}}
        db.executemany("INSERT INTO requests VALUES (?,?,?,?,?,?,?,?)",
                       [(label, i, 1, None, ttft[i], e2el[i], tpot[i], 32) for i in range(n)])
        if len(concurrencies) > 1:
            (run / f"summary_{label}.json").write_text(json.dumps(s, indent=2), encoding="utf-8")
    db.commit()
    db.close()
    if len(concurrencies) == 1:
        (run / "summary.json").write_text(json.dumps(summaries[0], indent=2), encoding="utf-8")
    (run / "sweep.json").write_text(json.dumps({"points": summaries, "slo": None}), encoding="utf-8")
    (run / "percentiles.json").write_text(json.dumps(pct), encoding="utf-8")
    (run / "config.json").write_text(json.dumps({"url": "http://127.0.0.1:8000", "concurrency": ",".join(map(str, concurrencies))}),
                                     encoding="utf-8")
    return run


@pytest.fixture(name="write_eval_run")
def _write_eval_run_fixture():
    """The eval run writer, for tests that build their own folders (conftest is not importable
    under --import-mode=importlib)."""
    return write_eval_run


@pytest.fixture()
def outputs(tmp_path: Path) -> Path:
    """An outputs root holding two models on arc (a per-sample diff exists), one on gsm8k,
    a partial run (no report, truncated last line), a corrupt report, and two perf runs."""
    root = tmp_path / "outputs"
    evals = root / "team" / "evals"  # any depth
    write_eval_run(evals, "20260101_100000", "alpha", "arc",
                   ["A", "B", "C", "D", "A", "B", "C", "D", "B", "A"], ARC_TARGETS,
                   subset="ARC-Challenge", reasoning="I think step by step about sample.",
                   judge="The extracted letter matches the gold letter.")
    write_eval_run(evals, "20260101_110000", "beta", "arc",
                   ["A", "C", "C", "A", "A", "C", "C", "A", "A", "B"], ARC_TARGETS, subset="ARC-Challenge")
    write_eval_run(evals, "20260101_120000", "alpha", "gsm8k", ["1", "2", "9"], ["1", "2", "3"], subset="main",
                   errors={2: "TimeoutError: no response"})
    partial = write_eval_run(root, "20260102_090000", "gamma", "arc", ["A", "B", "C"], ARC_TARGETS[:3], report=False)
    with open(partial / "predictions" / "gamma" / "arc.jsonl", "a", encoding="utf-8") as f:
        f.write('{"schema_version": "1", "sample_id": "arc-3", "outp')  # cut by a crash
    corrupt = write_eval_run(root, "20260102_100000", "delta", "arc", ["A"], ["A"])
    (corrupt / "reports" / "delta" / "arc.json").write_text('{"model": "delta", "score": ', encoding="utf-8")
    write_perf_run(root / "perf", "20260103_080000_perf-model", [1, 4, 8])
    write_perf_run(root / "perf", "20260103_090000_other", [2], base_ttft=35.0, model_id="other-model",
                   date="2026-01-03T09:00:00")
    return root


# -- run folders as EvalScope writes them (report schema 1 and 2, perf summary and percentiles), with
# the field names of its source (evalscope/report/report.py, evalscope/perf/utils/perf_constants.py)


def write_evalscope_eval(root: Path, model: str = "Qwen2.5-0.5B-Instruct") -> Path:
    run = root / "20250110_101010"
    (run / "configs").mkdir(parents=True)
    (run / "configs" / "task_config_3f2a1b.yaml").write_text(
        f"model: {model}\neval_type: openai_api\ndatasets:\n- gsm8k\n- arc\napi_key: sk-evalscope-secret\n")
    (run / "reports" / model).mkdir(parents=True)
    v1 = {"name": f"{model}@gsm8k", "dataset_name": "gsm8k", "model_name": model, "score": 0.4,
          "metrics": [{"name": "AverageAccuracy", "num": 5, "score": 0.4, "macro_score": 0.4,
                       "categories": [{"name": ["default"], "num": 5, "score": 0.4, "macro_score": 0.4,
                                       "subsets": [{"name": "main", "score": 0.4, "num": 5}]}]}],
          "analysis": "N/A"}
    (run / "reports" / model / "gsm8k.json").write_text(json.dumps(v1))
    v2 = {"schema_version": 2, "name": f"{model}@arc", "dataset_name": "arc", "model_name": model,
          "metrics": [{"identity": {"key": "acc", "name": "acc"}, "num": 10, "score": 0.6, "macro_score": 0.6,
                       "categories": [{"name": ["default"], "num": 10, "score": 0.6, "macro_score": 0.6,
                                       "subsets": [{"name": "ARC-Easy", "score": 0.8, "num": 5},
                                                   {"name": "ARC-Challenge", "score": 0.4, "num": 5}]}],
                       "semantics": {"kind": "primary"}}],
          "analysis": "N/A"}
    (run / "reports" / model / "arc.json").write_text(json.dumps(v2))
    return run


def write_evalscope_perf(root: Path, model: str = "qwen2.5") -> Path:
    run = root / "20250111_090000" / model
    for parallel, ttft in ((1, 20.0), (10, 55.0)):
        point = run / f"parallel_{parallel}_number_{parallel * 10}"
        point.mkdir(parents=True)
        (point / "benchmark_summary.json").write_text(json.dumps({
            "Test Duration (s)": 12.5, "Concurrency": parallel, "Request Rate (req/s)": -1,
            "Total Requests": parallel * 10, "Success Requests": parallel * 10, "Failed Requests": 0,
            "Req Throughput (req/s)": 0.8 * parallel, "Avg Latency (s)": 1.25,
            "Output Throughput (tok/s)": 100.0 * parallel, "Total Throughput (tok/s)": 150.0 * parallel,
            "Avg TTFT (ms)": ttft, "Avg TPOT (ms)": 9.5, "Avg ITL (ms)": 9.4, "Avg Input Tokens": 50,
            "Avg Output Tokens": 128}))
        (point / "benchmark_percentile.json").write_text(json.dumps([
            {"Percentiles": f"{p}%", "TTFT (ms)": ttft * (1 + p / 100), "ITL (ms)": 9.0, "TPOT (ms)": 9.5,
             "Latency (s)": 1.2 + p / 1000, "Input tokens": 50, "Output tokens": 128}
            for p in (10, 25, 50, 66, 75, 80, 90, 95, 98, 99)]))
        (point / "benchmark_args.json").write_text(json.dumps({"model": model, "parallel": parallel}))
    return run


@pytest.fixture(scope="session")
def evalscope_layout():
    """(write_evalscope_eval, write_evalscope_perf)."""
    return write_evalscope_eval, write_evalscope_perf
