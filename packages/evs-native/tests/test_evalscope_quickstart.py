"""EvalScope's README quick start, custom-dataset, judge and collection commands, as written there
except for the model and the URL (and --dataset-dir, so nothing is downloaded), each to a report.

API commands run against a fake OpenAI-compatible server on 127.0.0.1; the local-model command
runs the offline SmolLM2-135M-Instruct on one sample.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from evs_core.config import TaskConfig
from evs_core.testing import FakeOpenAIServer
from evs_native.engine import run_task

EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]
KEY = "sk-quickstart-0000"


def _answer(body: dict) -> str:
    return "Let me see. The answer is \\boxed{18}.\nANSWER: A"


def _evs(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(EVS + args, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _reports(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in root.glob("outputs/*/reports/*/*.json")}


def test_evs_benchmarks_json(tmp_path):
    proc = _evs(["benchmarks", "--json"], tmp_path)
    names = {b["name"] for b in json.loads(proc.stdout)}
    assert {"gsm8k", "arc", "general_mcq", "general_qa", "data_collection"} <= names


def test_readme_method1_online_api(shared_data, tmp_path):
    with FakeOpenAIServer(_answer) as srv:
        proc = _evs(["eval", "--model", "your-model-name", "--api-url", srv.url, "--api-key", KEY,
                     "--eval-type", "openai_api", "--datasets", "gsm8k", "arc", "--limit", "2",
                     "--dataset-dir", str(shared_data)], tmp_path)
    reps = _reports(tmp_path)
    assert set(reps) == {"gsm8k", "arc"} and all(r["num"] == 2 and r["model"] == "your-model-name" for r in reps.values())
    assert reps["gsm8k"]["config"]["model_type"] == "openai_api" and reps["gsm8k"]["config"]["api_key"] == "***"
    assert len(srv.requests) == 4 and all(h["Authorization"] == f"Bearer {KEY}" for h in srv.headers)
    assert "OVERALL" in proc.stdout


def test_readme_method3_python_taskconfig_dict_and_yaml(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeOpenAIServer(_answer) as srv:
        task_cfg = TaskConfig(model="your-model-name", api_url=srv.url, api_key=KEY, eval_type="openai_api",
                              datasets=["gsm8k", "arc"], limit=2, dataset_dir=str(shared_data))
        first = run_task(task_cfg)
        second = run_task({"model": "your-model-name", "api_url": srv.url, "datasets": ["gsm8k", "arc"], "limit": 2,
                           "dataset_dir": str(shared_data)})
        (tmp_path / "config.yaml").write_text(f"model: your-model-name\napi_url: {srv.url}\neval_type: openai_api\n"
                                              f"dataset_dir: {shared_data}\ndatasets:\n  - gsm8k\n  - arc\nlimit: 2\n")
        third = run_task("config.yaml")
    for reports in (first, second, third):
        assert set(reports) == {"gsm8k", "arc"} and reports["gsm8k"].num == 2
    assert first["gsm8k"].score == second["gsm8k"].score == third["gsm8k"].score
    assert len(list(tmp_path.glob("outputs/*/reports/*/gsm8k.json"))) == 3


def test_readme_custom_parameters_local_model_kv_args(shared_data, tmp_path):
    """The "Custom Evaluation Parameters" command with the k=v model args of EvalScope's docs, on the
    offline model and one sample; max_tokens 16 instead of 512 keeps it short on a CPU."""
    pytest.importorskip("transformers")
    proc = _evs(["eval", "--model", "smollm2-135m-instruct",
                 "--model-args", "revision=master,precision=torch.float16,device_map=auto",
                 "--generation-config", '{"do_sample":true,"temperature":0.6,"max_tokens":16}',
                 "--dataset-args", '{"gsm8k": {"few_shot_num": 0, "few_shot_random": false}}',
                 "--datasets", "gsm8k", "--limit", "1", "--dataset-dir", str(shared_data), "--no-progress"],
                tmp_path, timeout=900)
    rep = _reports(tmp_path)["gsm8k"]
    assert rep["num"] == 1 and rep["num_errors"] == 0
    assert rep["config"]["model_args"] == {"revision": "master", "precision": "torch.float16", "device_map": "auto"}
    (pred_file,) = tmp_path.glob("outputs/*/predictions/*/gsm8k.jsonl")
    pred = json.loads(pred_file.read_text().splitlines()[0])
    assert pred["request"]["generation"]["max_tokens"] == 16 and pred["output"]["usage"]["completion_tokens"] <= 16
    assert "gsm8k" in proc.stdout


def _custom_eval(root: Path) -> Path:
    """EvalScope's custom_eval/text layout: mcq/example_{dev,val}.csv and qa/example.jsonl."""
    mcq = root / "custom_eval" / "text" / "mcq"
    mcq.mkdir(parents=True)
    header = "id,question,A,B,C,D,answer\n"
    (mcq / "example_dev.csv").write_text(header + "1,Which is a fruit?,apple,stone,iron,glass,A\n")
    (mcq / "example_val.csv").write_text(header + "1,Which is an animal?,cat,rock,cup,pen,A\n"
                                                  "2,Which is a colour?,dog,red,car,tree,B\n")
    qa = root / "custom_eval" / "text" / "qa"
    qa.mkdir(parents=True)
    (qa / "example.jsonl").write_text(json.dumps({"system": "Answer briefly.", "query": "Capital of France?",
                                                  "response": "Paris"}) + "\n" +
                                      json.dumps({"query": "2 + 2?", "response": "4"}) + "\n")
    return root / "custom_eval" / "text"


def test_custom_dataset_mcq_and_qa(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _custom_eval(tmp_path)
    with FakeOpenAIServer(_answer) as srv:
        mcq = run_task(TaskConfig(model="your-model-name", api_url=srv.url, datasets=["general_mcq"],
                                  dataset_args={"general_mcq": {"local_path": "custom_eval/text/mcq",
                                                                "subset_list": ["example"]}}))
        qa = run_task(TaskConfig(model="your-model-name", api_url=srv.url, datasets=["general_qa"],
                                 dataset_args={"general_qa": {"local_path": "custom_eval/text/qa",
                                                              "subset_list": ["example"]}}))
    assert mcq["general_mcq"].num == 2 and mcq["general_mcq"].score == 0.5  # always "A": one of two right
    assert qa["general_qa"].num == 2 and qa["general_qa"].num_errors == 0


def test_custom_dataset_with_an_llm_judge_evalscope_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _custom_eval(tmp_path)
    with FakeOpenAIServer(_answer) as srv, FakeOpenAIServer(lambda body: "A", model="judge") as judge:
        reports = run_task(TaskConfig(
            model="your-model-name", api_url=srv.url, datasets=["general_qa"],
            dataset_args={"general_qa": {"dataset_id": "custom_eval/text/qa", "subset_list": ["example"]}},
            judge={"strategy": "llm",
                   "models": {"model_id": "qwen2.5-72b-instruct", "api_url": judge.url, "api_key": "judge-key-1",
                              "generation_config": {"temperature": 0.0, "max_tokens": 4096}},
                   "contract": {"score_type": "pattern"}}))
    rep = reports["general_qa"]
    assert rep.metric == "judge" and rep.score == 1.0 and rep.num == 2
    assert len(judge.requests) == 2 and judge.requests[0]["max_tokens"] == 4096
    assert all(h["Authorization"] == "Bearer judge-key-1" for h in judge.headers)
    assert rep.judge["model"] == "qwen2.5-72b-instruct" and rep.config["judge"]["api_key"] == "***"


def test_collection_schema_from_evalscope_dump_json(shared_data, tmp_path):
    """The schema of EvalScope's collection guide, as CollectionSchema.dump_json() writes it."""
    schema = {"name": "reasoning", "weight": 1.0, "datasets": [
        {"name": "english", "weight": 1.0, "datasets": [
            {"name": "arc", "weight": 1.0, "task_type": "", "tags": ["en"], "args": {}, "hierarchy": []}]},
        {"name": "chinese", "weight": 1.0, "datasets": [
            {"name": "ceval", "weight": 1.0, "task_type": "", "tags": ["zh"], "args": {"subset_list": ["logic"]},
             "hierarchy": []}]}]}
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "schema.json").write_text(json.dumps(schema, indent=4))
    with FakeOpenAIServer(_answer) as srv:
        _evs(["eval", "--model", "qwen2.5-7b-instruct", "--eval-type", "openai_api", "--api-url", srv.url,
              "--api-key", KEY, "--datasets", "data_collection",
              "--dataset-args", '{"data_collection":{"local_path":"outputs/schema.json","shuffle":true}}',
              "--eval-batch-size", "5", "--generation-config", '{"temperature":0.0}', "--limit", "4",
              "--dataset-dir", str(shared_data)], tmp_path)
    rep = _reports(tmp_path)["data_collection"]
    assert rep["num"] == 4 and rep["num_errors"] == 0
    rows = {s["name"]: s for s in rep["subsets"]}
    assert rows["english"]["kind"] == "group" and rows["chinese"]["kind"] == "group"
    assert rows["english"]["num"] == 2 and rows["chinese"]["num"] == 2
    assert all(b["temperature"] == 0.0 for b in srv.requests)
    # a pre-sampled mixed JSONL is refused with the way to do it
    (tmp_path / "outputs" / "mixed.jsonl").write_text("{}\n")
    proc = subprocess.run(EVS + ["eval", "--model", "m", "--api-url", "http://127.0.0.1:9/v1", "--datasets", "data_collection",
                                 "--dataset-args", '{"data_collection":{"local_path":"outputs/mixed.jsonl"}}'],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and "give the schema file" in proc.stderr
