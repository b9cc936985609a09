"""End-to-end tests of the eval engine against a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from evs_core.testing import FakeOpenAIServer
from evs_native.engine import run_task

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]


def _cfg(srv, data, work, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["gsm8k", "arc"], "limit": 50,
           "dataset_dir": str(data), "work_dir": str(work), "concurrency": 8, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return cfg


def _report_files(work: Path, dataset: str) -> list[Path]:
    return sorted(work.glob(f"**/reports/**/{dataset}.json"))


def _comparable(report) -> dict:
    d = json.loads(report.model_dump_json()) if hasattr(report, "model_dump_json") else dict(report)
    for k in ("created_at", "config", "usage", "packages"):
        d.pop(k, None)
    return d


def test_api_run_scores_exactly(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold) as srv:
        reports = run_task(_cfg(srv, shared_data, tmp_path))
    assert reports["gsm8k"].num == 50 and reports["arc"].num == 50
    assert reports["gsm8k"].score == pytest.approx(gold.expected("gsm8k", 50))
    assert reports["arc"].score == pytest.approx(gold.expected("arc", 50))
    assert 0 < reports["gsm8k"].score < 1 and reports["gsm8k"].num_errors == 0
    lo, hi = reports["gsm8k"].ci95
    assert lo <= reports["gsm8k"].score <= hi and reports["gsm8k"].stderr > 0
    (path,) = _report_files(tmp_path, "gsm8k")
    on_disk = json.loads(path.read_text())
    assert on_disk["score"] == reports["gsm8k"].score and on_disk["schema_version"] == "1"
    assert on_disk["benchmark_version"] == "1" and "evs-native" in on_disk["packages"]
    run = path.parents[2]
    assert {p.name for p in run.iterdir()} >= {"configs", "logs", "predictions", "reviews", "reports"}
    preds = (run / "predictions" / "m" / "gsm8k.jsonl").read_text().splitlines()
    reviews = [json.loads(x) for x in (run / "reviews" / "m" / "gsm8k.jsonl").read_text().splitlines()]
    assert len(preds) == 50 and len(reviews) == 50
    assert all(r["extracted"] is not None for r in reviews)
    assert len(srv.requests) == 100


def test_cli_run_writes_report(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold) as srv:
        proc = subprocess.run(EVS + ["eval", "--model", "m", "--api-url", srv.url, "--api-key", "EMPTY",
                                     "--datasets", "gsm8k", "arc", "--limit", "50", "--dataset-dir", str(shared_data),
                                     "--work-dir", str(tmp_path / "W"), "--no-progress"],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (path,) = _report_files(tmp_path / "W", "gsm8k")
    assert json.loads(path.read_text())["score"] == pytest.approx(gold.expected("gsm8k", 50))
    assert "gsm8k" in proc.stdout and "OVERALL" in proc.stdout


def test_failures_are_recorded_and_counted(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold, fail_rate=0.2, seed=7) as srv:
        reports = run_task(_cfg(srv, shared_data, tmp_path, datasets=["gsm8k"]))
    rep = reports["gsm8k"]
    assert srv.failures > 0
    assert rep.num_errors == srv.failures and rep.errors == {"HTTP 500": srv.failures}
    assert rep.num + rep.num_errors == rep.num_samples == 50
    reviews = (_report_files(tmp_path, "gsm8k")[0].parents[2] / "reviews" / "m" / "gsm8k.jsonl").read_text()
    assert reviews.count('"error":"HTTP 500') == srv.failures


def test_resume_after_kill_asks_nothing_twice(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold, latency=0.05) as srv:
        args = EVS + ["eval", "--model", "m", "--api-url", srv.url, "--api-key", "EMPTY", "--datasets", "gsm8k", "arc",
                      "--limit", "40", "--dataset-dir", str(shared_data), "--work-dir", str(tmp_path / "W"),
                      "--concurrency", "4", "--no-progress", "--retries", "0"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        done = 0
        while time.time() < deadline:
            files = list((tmp_path / "W").glob("*/predictions/m/*.jsonl"))
            done = sum(len(f.read_text().splitlines()) for f in files)
            if done >= 20:
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.3)  # let the server finish the requests that were in flight
        assert 20 <= done < 80, "the run should be killed mid-way"
        (run_dir,) = list((tmp_path / "W").iterdir())
        completed = set()
        for f in run_dir.glob("predictions/m/*.jsonl"):
            for line in f.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by the kill
                completed.add(f"{f.stem}/{row['sample_id']}")
        gold.asked.clear()
        proc = subprocess.run(args + ["--use-cache", str(run_dir)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        again = set(gold.asked) & completed
        assert not again, f"completed samples asked again: {sorted(again)[:5]}"
        assert len(gold.asked) == 80 - len(completed)
        resumed = {d: json.loads((run_dir / "reports" / "m" / f"{d}.json").read_text()) for d in ("gsm8k", "arc")}
        fresh = run_task(_cfg(srv, shared_data, tmp_path / "fresh", limit=40))
    for d in ("gsm8k", "arc"):
        assert _comparable(resumed[d]) == _comparable(fresh[d])
        lines = (run_dir / "predictions" / "m" / f"{d}.jsonl").read_text().splitlines()
        assert len(lines) == 40 and len({json.loads(x)["sample_id"] for x in lines}) == 40


def test_rescore_reproduces_reports_without_model_calls(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold) as srv:
        first = run_task(_cfg(srv, shared_data, tmp_path, limit=20))
        n = len(srv.requests)
    run_dir = _report_files(tmp_path, "gsm8k")[0].parents[2]
    again = run_task({"model": "m", "datasets": ["gsm8k", "arc"], "limit": 20, "dataset_dir": str(shared_data),
                      "use_cache": str(run_dir), "rescore": True, "no_progress": True})
    assert n == 40
    for d in ("gsm8k", "arc"):
        assert _comparable(again[d]) == _comparable(first[d])


def test_reasoning_is_separated_and_counted(shared_data, tmp_path):
    def answer(body):
        return "<think>Maybe B? No, let me recount: 1, 2, 3.</think>ANSWER: C"

    with FakeOpenAIServer(answer, reasoning=lambda b: "server-side thoughts") as srv:
        rep = run_task(_cfg(srv, shared_data, tmp_path, datasets=["arc"], limit=10))["arc"]
    assert rep.reasoning["num"] == 10 and rep.reasoning["mean_chars"] > 20
    run = _report_files(tmp_path, "arc")[0].parents[2]
    review = json.loads((run / "reviews" / "m" / "arc.jsonl").read_text().splitlines()[0])
    assert review["extracted"] == "C" and "think" not in review["prediction"]


def test_no_answer_share_is_reported_and_warned(shared_data, tmp_path):
    from evs_native.engine import print_table
    from rich.console import Console

    state = {"n": 0}

    def answer(body):  # every fourth reply gives no answer a reader could take
        state["n"] += 1
        return "I am not able to decide between these." if state["n"] % 4 == 0 else "ANSWER: C"

    with FakeOpenAIServer(answer) as srv:
        rep = run_task(_cfg(srv, shared_data, tmp_path, datasets=["arc"], limit=12, concurrency=1))["arc"]
    assert rep.no_answer_rate == pytest.approx(3 / 12)
    run = _report_files(tmp_path, "arc")[0].parents[2]
    reviews = [json.loads(x) for x in (run / "reviews" / "m" / "arc.jsonl").read_text().splitlines()]
    assert sorted(r["extraction_rule"] for r in reviews) == ["explicit_statement"] * 9 + ["none"] * 3
    assert json.loads(_report_files(tmp_path, "arc")[0].read_text())["no_answer_rate"] == pytest.approx(0.25)
    console = Console(record=True, width=200)
    print_table({"arc": rep}, console=console)
    assert "no answer could be extracted from 25%" in console.export_text()
    console = Console(record=True, width=200)
    print_table({"arc": rep.model_copy(update={"no_answer_rate": 0.05})}, console=console)
    assert "no answer" not in console.export_text()


def test_repeats_give_pass_at_k(shared_data, tmp_path):
    state = {"n": 0}

    def flaky(body):  # alternates right and wrong over calls of the same question
        state["n"] += 1
        return "ANSWER: A" if state["n"] % 2 else "ANSWER: Z"

    with FakeOpenAIServer(flaky) as srv:
        rep = run_task(_cfg(srv, shared_data, tmp_path, datasets=["arc"], limit=6, repeats=4, concurrency=1))["arc"]
    assert len(srv.requests) == 24
    assert set(rep.metrics) >= {"acc", "pass@1", "pass@2", "pass@4", "maj@4"}
    assert rep.metrics["pass@4"].score >= rep.metrics["pass@1"].score


@pytest.mark.parametrize("extra,message", [
    (["--dataset-args", '{"gsm8k": {"few_shot_nm": 2}}'], "unknown key 'few_shot_nm' in dataset_args.gsm8k; did you mean 'few_shot_num'?"),
    (["--dataset-args", '{"gsm8k": {"few_shot_num": "two"}}'], "few_shot_num must be a non-negative integer"),
    (["--dataset-args", "{bad json"], "--dataset-args is not valid JSON"),
    (["--datasets", "gsm9k"], "unknown dataset 'gsm9k'; did you mean 'gsm8k'?"),
    (["--dataset-dir", "/nonexistent/evs-data"], "--dataset-dir does not exist"),
    (["--limit", "0"], "bad value for 'limit'"),
])
def test_bad_input_is_one_line_before_any_model_call(shared_data, tmp_path, extra, message):
    with FakeOpenAIServer() as srv:
        args = ["eval", "--model", "m", "--api-url", srv.url, "--datasets", "gsm8k", "--dataset-dir", str(shared_data),
                "--work-dir", str(tmp_path)]
        for i in range(0, len(extra), 2):  # later flags replace earlier ones
            if extra[i] in args:
                j = args.index(extra[i])
                args[j + 1] = extra[i + 1]
            else:
                args += extra[i:i + 2]
        proc = subprocess.run(EVS + args, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert srv.requests == [] and not list(tmp_path.iterdir())


def test_unreachable_api_url_is_one_line(shared_data, tmp_path):
    proc = subprocess.run(EVS + ["eval", "--model", "m", "--api-url", "http://127.0.0.1:9/v1", "--datasets", "gsm8k",
                                 "--dataset-dir", str(shared_data), "--work-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "cannot reach --api-url http://127.0.0.1:9/v1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_config_file_and_flag_override(gold, shared_data, tmp_path):
    with FakeOpenAIServer(gold) as srv:
        cfg = tmp_path / "task.yaml"
        cfg.write_text(f"model: m\napi_url: {srv.url}\ndatasets: [gsm8k]\nlimit: 3\ndataset_dir: {shared_data}\n"
                       f"work_dir: {tmp_path / 'W'}\nno_progress: true\n")
        proc = subprocess.run(EVS + ["eval", "--config", str(cfg), "--limit", "4"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(_report_files(tmp_path / "W", "gsm8k")[0].read_text())["num"] == 4
        cfg.write_text("model: m\ndatasets: [gsm8k]\nconcurency: 3\n")
        proc = subprocess.run(EVS + ["eval", "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown config key 'concurency'; did you mean 'concurrency'?" in proc.stderr


def test_hub_snapshot_layout_is_read_offline(shared_data, tmp_path):
    """A raw snapshot of the Hub repo (main/test-00000-of-00001.parquet) works as --dataset-dir."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    for split in ("test", "train"):
        rows = [json.loads(x) for x in (shared_data / "gsm8k" / f"{split}.jsonl").read_text().splitlines()[:6]]
        out = tmp_path / "snap" / "gsm8k" / "main" / f"{split}-00000-of-00001.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), out)
    rep = run_task({"model": "mock", "datasets": ["gsm8k"], "limit": 5, "dataset_dir": str(tmp_path / "snap"),
                    "work_dir": str(tmp_path / "W"), "no_progress": True})["gsm8k"]
    assert rep.num == 5 and rep.num_errors == 0
