"""Discovery and loading (evs_viz.data) and the paired statistics (evs_core.stats): no Streamlit."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from evs_core.stats import mcnemar_exact, paired_bootstrap, paired_compare
from evs_viz import data as D


def by_rel(runs):
    return {r.rel: r for r in runs}


def test_discovers_eval_and_perf_runs_at_any_depth(outputs: Path):
    runs = by_rel(D.discover(outputs))
    assert set(runs) == {
        "team/evals/20260101_100000", "team/evals/20260101_110000", "team/evals/20260101_120000",
        "20260102_090000", "20260102_100000",
        "perf/20260103_080000_perf-model", "perf/20260103_090000_other",
    }
    assert runs["team/evals/20260101_100000"].kind == "eval"
    assert runs["perf/20260103_080000_perf-model"].kind == "perf"


def test_newest_first(outputs: Path):
    runs = D.discover(outputs)
    created = [r.created for r in runs]
    assert created == sorted(created, reverse=True)
    assert runs[0].rel == "perf/20260103_090000_other"  # from the summary's date


def test_complete_run_is_ok_with_scores(outputs: Path):
    run = by_rel(D.discover(outputs))["team/evals/20260101_100000"]
    assert run.status == "ok", run.all_notes
    assert run.models == ["alpha"] and run.datasets == ["arc"]
    e = run.entry("alpha", "arc")
    assert e.score == pytest.approx(0.8)
    assert e.report["subsets"][0]["name"] == "ARC-Challenge"
    assert run.config["model"] == "alpha"


def test_partial_run_no_report_and_truncated_line(outputs: Path):
    run = by_rel(D.discover(outputs))["20260102_090000"]
    assert run.status == "partial"
    text = " ".join(n.message for n in run.all_notes)
    assert "no report yet" in text and "gamma/arc" in text
    assert "last line is truncated" in text
    ss = D.load_samples(run.entry("gamma", "arc"), outputs)
    assert ss.bad_lines == {"predictions": 1}
    assert len(ss.rows) == 3


def test_corrupt_report_is_marked_not_raised(outputs: Path):
    run = by_rel(D.discover(outputs))["20260102_100000"]
    assert run.status == "corrupt"
    assert any(n.level == "error" and "not valid JSON" in n.message for n in run.all_notes)
    assert run.entry("delta", "arc").report is None


def test_report_with_unknown_field_still_loads_with_warning(tmp_path: Path, outputs: Path):
    src = outputs / "team/evals/20260101_100000/reports/alpha/arc.json"
    data = json.loads(src.read_text())
    data["new_field_from_the_future"] = 1
    src.write_text(json.dumps(data))
    run = by_rel(D.discover(outputs))["team/evals/20260101_100000"]
    assert run.entry("alpha", "arc").score == pytest.approx(0.8)
    assert run.status == "partial"
    assert any("does not match the report schema" in n.message for n in run.all_notes)


@pytest.mark.parametrize("content", ["[1, 2]", '{"model": "x", "dataset": "arc"}', '{"model": "x", "dataset": "arc", "score": "high"}'])
def test_reports_that_are_not_reports(outputs: Path, content: str):
    p = outputs / "team/evals/20260101_100000/reports/alpha/arc.json"
    p.write_text(content)
    run = by_rel(D.discover(outputs))["team/evals/20260101_100000"]
    assert run.status == "corrupt"
    assert run.entry("alpha", "arc").report is None


def test_bad_yaml_config_and_empty_run(tmp_path: Path):
    (tmp_path / "r1" / "configs").mkdir(parents=True)
    (tmp_path / "r1" / "configs" / "task_config.yaml").write_text("model: [unclosed")
    (tmp_path / "r1" / "reports").mkdir()
    runs = D.discover(tmp_path)
    assert len(runs) == 1 and runs[0].status == "corrupt"
    msgs = [n.message for n in runs[0].all_notes]
    assert any("task_config.yaml cannot be parsed" in m for m in msgs)
    assert any("no predictions, reviews or reports yet" in m for m in msgs)


def test_samples_join_reviews_and_predictions(outputs: Path):
    run = by_rel(D.discover(outputs))["team/evals/20260101_100000"]
    ss = D.load_samples(run.entry("alpha", "arc"), outputs)
    assert ss.metric == "acc" and not ss.bad_lines
    rows = {r["sample_id"]: r for r in ss.rows}
    r = rows["arc-8"]
    assert r["target"] == "A" and r["extracted"] == "B" and r["score"] == 0.0 and r["passed"] is False
    assert r["reasoning"] == "I think step by step about sample."
    assert r["output"] == "ANSWER: B"
    assert r["judge"] == "The extracted letter matches the gold letter."
    assert r["messages"][0]["role"] == "user" and "Question 8 of arc" in r["messages"][0]["content"]
    assert rows["arc-0"]["passed"] is True


def test_sample_with_error(outputs: Path):
    run = by_rel(D.discover(outputs))["team/evals/20260101_120000"]
    assert any(n.level == "info" and "1 sample(s) failed" in n.message for n in run.all_notes)
    ss = D.load_samples(run.entry("alpha", "gsm8k"), outputs)
    err = [r for r in ss.rows if r["error"]]
    assert len(err) == 1 and err[0]["passed"] is None and "TimeoutError" in err[0]["error"]


def test_search_rows(outputs: Path):
    run = by_rel(D.discover(outputs))["team/evals/20260101_100000"]
    rows = D.load_samples(run.entry("alpha", "arc"), outputs).rows
    assert {r["sample_id"] for r in D.search_rows(rows, status="fail")} == {"arc-8", "arc-9"}
    assert len(D.search_rows(rows, status="pass")) == 8
    assert [r["sample_id"] for r in D.search_rows(rows, "ARC-7")] == ["arc-7"]  # id, case-insensitive
    assert [r["sample_id"] for r in D.search_rows(rows, "question 3 of")] == ["arc-3"]  # input text
    assert D.search_rows(rows, "no such text") == []


def test_search_rows_no_answer(tmp_path: Path, write_eval_run):
    write_eval_run(tmp_path, "20260101_000000", "m", "arc", ["A", "B", "C"], ["A", "A", "A"])
    path = tmp_path / "20260101_000000" / "reviews" / "m" / "arc.jsonl"
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    lines[0]["extraction_rule"] = "explicit_statement"
    lines[1].update(extraction_rule="none", extracted=None)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    run = D.discover(tmp_path)[0]
    rows = D.load_samples(run.entry("m", "arc"), tmp_path).rows
    assert [r["sample_id"] for r in D.search_rows(rows, status="no answer")] == ["arc-1"]
    assert {r["sample_id"]: r["extraction_rule"] for r in rows} == {"arc-0": "explicit_statement", "arc-1": "none",
                                                                    "arc-2": None}


def test_latest_results_prefers_newest(tmp_path: Path, write_eval_run):
    write_eval_run(tmp_path, "20260101_000000", "m", "arc", ["A", "A"], ["A", "B"])
    write_eval_run(tmp_path, "20260105_000000", "m", "arc", ["A", "B"], ["A", "B"])
    write_eval_run(tmp_path, "20260103_000000", "m", "arc", ["B", "A"], ["A", "B"])
    latest = D.latest_results(D.discover(tmp_path))
    assert latest[("m", "arc")].run.rel == "20260105_000000" and latest[("m", "arc")].entry.score == 1.0


def test_latest_results(outputs: Path):
    latest = D.latest_results(D.discover(outputs))
    assert set(latest) == {("alpha", "arc"), ("beta", "arc"), ("alpha", "gsm8k")}
    assert latest[("beta", "arc")].entry.score == pytest.approx(0.6)


def test_perf_sweep_run(outputs: Path):
    run = by_rel(D.discover(outputs))["perf/20260103_080000_perf-model"]
    assert run.status == "ok"
    # summary_c*.json and sweep.json hold the same three points: counted once
    assert [p.label for p in run.points] == ["c1", "c4", "c8"]
    assert [(p.sweep_key, p.sweep_value) for p in run.points] == [("concurrency", 1), ("concurrency", 4), ("concurrency", 8)]
    pt = run.points[1]
    assert pt.summary["completed"] == 20
    # per-request records from records.sqlite give a 1..99 curve per metric
    assert pt.records_path.name == "records.sqlite" and pt.num_records == 20
    assert len(pt.percentiles["ttft"]) == 99
    ttft = dict(pt.percentiles["ttft"])
    assert ttft[50.0] == pytest.approx(pt.summary["median_ttft_ms"])
    assert run.config["url"].startswith("http://127.0.0.1")


def test_perf_single_point_run(outputs: Path):
    run = by_rel(D.discover(outputs))["perf/20260103_090000_other"]
    assert len(run.points) == 1 and run.points[0].summary["model_id"] == "other-model"


def test_perf_identified_by_content_not_name(tmp_path: Path):
    summary = {"completed": 10, "failed": 2, "duration": 5.0, "request_throughput": 2.0, "mean_ttft_ms": 12.5,
               "median_ttft_ms": 11.0, "p99_ttft_ms": 30.0, "p90_ttft_ms": 20.0, "max_concurrency": 16}
    (tmp_path / "deep" / "x").mkdir(parents=True)
    (tmp_path / "deep" / "x" / "whatever_name.json").write_text(json.dumps(summary))
    (tmp_path / "deep" / "x" / "not_perf.json").write_text(json.dumps({"completed": 1, "hello": 2}))
    runs = D.discover(tmp_path)
    assert [r.rel for r in runs] == ["deep/x"]
    pt = runs[0].points[0]
    assert (pt.sweep_key, pt.sweep_value) == ("concurrency", 16)
    assert pt.percentiles["ttft"] == [(50.0, 11.0), (90.0, 20.0), (99.0, 30.0)]
    assert any("2 request(s) failed" in n.message for n in runs[0].all_notes)


def test_perf_sweep_in_subfolders_is_one_run(tmp_path: Path):
    base = {"completed": 10, "failed": 0, "duration": 5.0, "request_throughput": 2.0, "mean_ttft_ms": 12.5}
    for rate in (1, 2, 4):
        d = tmp_path / "sweep" / f"rate_{rate}"
        d.mkdir(parents=True)
        (d / "result.json").write_text(json.dumps(base))
        (d / "requests.jsonl").write_text("".join(json.dumps({"ttft_s": 0.01 * i, "latency": 100 + i}) + "\n" for i in range(10)))
    runs = D.discover(tmp_path)
    assert [r.rel for r in runs] == ["sweep"]
    assert [(p.sweep_key, p.sweep_value) for p in runs[0].points] == [("rate", 1), ("rate", 2), ("rate", 4)]
    curve = dict(runs[0].points[0].percentiles["ttft"])
    assert curve[50.0] == pytest.approx(45.0)  # seconds turned into ms


def test_broken_perf_json_is_a_corrupt_run(tmp_path: Path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "summary.json").write_text('{"completed": 3, "dur')
    runs = D.discover(tmp_path)
    assert len(runs) == 1 and runs[0].status == "corrupt" and runs[0].kind == "perf"


def test_percentile_shapes():
    assert D.percentiles_from({"ttft_ms": {"p50": 1, "p99": 3}})["ttft"] == [(50.0, 1.0), (99.0, 3.0)]
    rows = [{"Percentiles": "50%", "TTFT_ms": 1.5}, {"Percentiles": "99%", "TTFT_ms": 4}]
    assert D.percentiles_from(rows)["ttft"] == [(50.0, 1.5), (99.0, 4.0)]
    assert D.percentiles_from({"p99.9_tpot_ms": 7, "median_tpot_ms": 2})["tpot"] == [(50.0, 2.0), (99.9, 7.0)]


def test_sweep_of_names():
    assert D.sweep_of({}, "parallel_8_number_100") == ("concurrency", 8)
    assert D.sweep_of({"label": "r4_c8"}) == ("rate", 4)
    assert D.sweep_of({"request_rate": "inf", "max_concurrency": 32}) == ("concurrency", 32)
    assert D.sweep_of({}, "results") == (None, None)


def test_inside_refuses_escape(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("x")
    assert D.inside(root, "a.txt") == (root / "a.txt").resolve()
    with pytest.raises(D.OutsideRootError):
        D.inside(root, "../secret")
    with pytest.raises(D.OutsideRootError):
        D.inside(root, "/etc/passwd")
    (tmp_path / "secret.txt").write_text("s")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    with pytest.raises(D.OutsideRootError):
        D.inside(root, "link.txt")


def test_symlinked_run_outside_root_is_ignored(tmp_path: Path, outputs: Path):
    root = tmp_path / "other"
    root.mkdir()
    os.symlink(outputs / "team", root / "linked")
    assert D.discover(root) == []


def test_missing_root():
    assert D.discover("/nonexistent/evs-viz-root") == []


# -- statistics ----------------------------------------------------------------------------------


def test_mcnemar_exact_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(4, 2) == pytest.approx(44 / 64)
    assert mcnemar_exact(10, 0) == pytest.approx(2 / 1024)
    assert mcnemar_exact(3, 3) == 1.0


def test_paired_compare_binary_uses_mcnemar(outputs: Path):
    runs = by_rel(D.discover(outputs))
    a = D.load_samples(runs["team/evals/20260101_100000"].entry("alpha", "arc"), outputs)
    b = D.load_samples(runs["team/evals/20260101_110000"].entry("beta", "arc"), outputs)
    sa = {(r["sample_id"], r["repeat"]): r["score"] for r in a.rows}
    sb = {(r["sample_id"], r["repeat"]): r["score"] for r in b.rows}
    res = paired_compare(sa, sb)
    assert res.test == "McNemar exact" and res.n == 10
    assert res.diff == pytest.approx(0.2)
    assert sorted(k[0] for k in res.a_only) == ["arc-1", "arc-3", "arc-5", "arc-7"]
    assert sorted(k[0] for k in res.b_only) == ["arc-8", "arc-9"]
    assert res.p_value == pytest.approx(44 / 64) and not res.significant()


def test_paired_compare_continuous_uses_bootstrap():
    a = {(str(i), 0): 0.5 + 0.01 * (i % 7) for i in range(200)}
    b = {(str(i), 0): 0.3 + 0.01 * (i % 5) for i in range(200)}
    b[("extra", 0)] = 1.0
    res = paired_compare(a, b)
    assert res.test == "paired bootstrap" and res.n == 200 and res.only_in_b == 1
    assert res.significant() and res.ci95[0] < res.diff < res.ci95[1]
    same = paired_compare(a, dict(a))
    assert same.p_value == 1.0 and same.diff == 0


def test_paired_bootstrap_null_not_significant():
    diffs = [(-1) ** i * 0.1 for i in range(100)]
    p, (lo, hi) = paired_bootstrap(diffs)
    assert p > 0.5 and lo < 0 < hi
    assert not math.isnan(p)


def test_redact_masks_secrets_in_yaml_and_json():
    text = "model: m\napi_key: sk-abc123\napi_url: http://x\njudge:\n  api_key: null\n  auth_token: \"t0k\"\n"
    out = D.redact(text)
    assert "sk-abc123" not in out and "t0k" not in out
    assert "api_url: http://x" in out and "api_key: null" in out
    out = D.redact('{"api_key": "sk-1", "headers": {"Authorization": "Bearer x"}, "url": "u", "max_tokens": 5}')
    assert "sk-1" not in out and "Bearer" not in out and '"max_tokens": 5' in out


def test_evalscope_eval_run_is_read_as_a_run(tmp_path: Path, evalscope_layout):
    write_evalscope_eval = evalscope_layout[0]

    write_evalscope_eval(tmp_path)
    (run,) = D.discover(tmp_path)
    assert run.kind == "eval" and run.status == "ok", run.all_notes
    assert run.models == ["Qwen2.5-0.5B-Instruct"] and sorted(run.datasets) == ["arc", "gsm8k"]
    reps = {e.dataset: e for e in run.entries}
    assert reps["gsm8k"].score == 0.4 and reps["gsm8k"].report["metric"] == "AverageAccuracy"
    assert reps["arc"].score == 0.6 and reps["arc"].report["metric"] == "acc"
    assert [(s["name"], s["score"], s["num"]) for s in reps["arc"].report["subsets"]] == [
        ("ARC-Easy", 0.8, 5), ("ARC-Challenge", 0.4, 5)]
    assert "eval_type: openai_api" in run.config_text  # EvalScope's configs/task_config_<hash>.yaml
    assert "sk-evalscope-secret" not in D.redact(run.config_text)


def test_evalscope_perf_sweep_is_one_run_with_percentiles(tmp_path: Path, evalscope_layout):
    write_evalscope_perf = evalscope_layout[1]

    write_evalscope_perf(tmp_path)
    (run,) = D.discover(tmp_path)
    assert run.kind == "perf" and run.rel == "20250111_090000/qwen2.5" and len(run.points) == 2, run.all_notes
    p1, p10 = run.points
    assert (p1.sweep_key, p1.sweep_value, p10.sweep_value) == ("concurrency", 1.0, 10.0)
    assert p10.summary["request_throughput"] == 8.0 and p10.summary["mean_ttft_ms"] == 55.0
    assert p10.summary["mean_e2el_ms"] == 1250.0 and p10.summary["completed"] == 100
    assert dict(p10.percentiles["ttft"])[90.0] == pytest.approx(55.0 * 1.9)
    assert dict(p10.percentiles["e2el"])[50.0] == pytest.approx(1250.0)


def test_truncated_perf_files_are_notes_not_errors(tmp_path: Path, evalscope_layout):
    write_evalscope_perf = evalscope_layout[1]

    run_dir = write_evalscope_perf(tmp_path)
    for f in run_dir.rglob("benchmark_*.json"):
        f.write_text(f.read_text()[:40])
    runs = D.discover(tmp_path)
    assert runs and all(r.status == "corrupt" for r in runs)
    assert all(not r.points for r in runs)


def test_evs_perf_summary_recognised_by_its_schema(tmp_path: Path):
    # an evs perf summary says what it is: recognised with only two vLLM keys, under any file name
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "summary.json").write_text(json.dumps(
        {"schema": "evs-perf/summary", "schema_version": 2, "completed": 4, "median_ttft_ms": 9.0, "label": "c1"}))
    # another versioned schema with vLLM-like keys is not a perf summary
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "summary.json").write_text(json.dumps(
        {"schema": "someone-else/report", "schema_version": 1, "completed": 4, "failed": 0, "duration": 1.0,
         "request_throughput": 4.0, "mean_ttft_ms": 1.0}))
    assert D.is_evs_perf_summary(json.loads((tmp_path / "a" / "summary.json").read_text()))
    runs = D.discover(tmp_path)
    assert [r.rel for r in runs if r.kind == "perf"] == ["a"]
