"""Runs every example of docs/writing-a-benchmark.md through `evs eval` against fake servers.

Blocks marked ``<!-- example: NAME -->`` are written to ``NAME`` in a temporary folder; the
expected scores below are worked out by hand from the replies the fake model gives.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from evs_core.testing import FakeOpenAIServer, last_user_text

DOC = Path(__file__).resolve().parents[1] / "docs" / "writing-a-benchmark.md"
EVS = [sys.executable, "-c", "from evs_cli.main import main; main()"]


def examples() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, re.S)
    return dict(found)


@pytest.fixture
def docs_dir(tmp_path):
    for name, body in examples().items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body, encoding="utf-8")
    return tmp_path


def evs(cwd, *args):
    return subprocess.run(EVS + list(args), capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def run(srv, cwd, *args, judge=None):
    extra = ["--judge-args", json.dumps(judge)] if judge else []
    proc = evs(cwd, "eval", "--model", "m", "--api-url", srv.url, "--api-key", "EMPTY", "--work-dir", "out",
               "--no-progress", "--retries", "0", *extra, *args)
    assert proc.returncode == 0, proc.stderr
    reports = sorted((cwd / "out").glob("*/reports/m/*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(reports[-1].read_text())


def test_every_marked_block_is_used():
    assert set(examples()) == {"quiz/test.jsonl", "quiz.yaml", "quiz_filters.yaml", "mcq/test.jsonl",
                               "mcq/train.jsonl", "mcq.yaml", "hub.yaml", "judged.yaml", "words.py",
                               "exam/test.jsonl", "exam/dev.jsonl", "exam.yaml"}


QUIZ = {"What is 2 + 2?": "2 + 2 makes 4", "What is 3 * 3?": "Three threes: 9.", "What is 10 - 7?": "I get 4"}


def _quiz(body):
    return QUIZ[last_user_text(body).split("\n")[0]]


def test_step1_first_spec(docs_dir):
    with FakeOpenAIServer(_quiz) as srv:
        rep = run(srv, docs_dir, "--benchmark-file", "quiz.yaml")
        again = run(srv, docs_dir, "--datasets", "quiz.yaml")
        prompts = {last_user_text(b) for b in srv.requests}
    assert rep["dataset"] == "quiz" and rep["num"] == 3 and rep["score"] == pytest.approx(2 / 3)
    assert again["score"] == rep["score"] and rep["ci95"] is not None
    assert "What is 2 + 2?\nEnd your reply with the number." in prompts


WORDS = {"What is 2 + 2?": "<think>the answer is 5</think>So the answer is 4.",
         "What is 3 * 3?": "The Answer is 9", "What is 10 - 7?": "answer is three"}


def test_step2_filters_metrics_aggregation(docs_dir):
    with FakeOpenAIServer(lambda b: WORDS[last_user_text(b)]) as srv:
        rep = run(srv, docs_dir, "--benchmark-file", "quiz_filters.yaml")
    assert rep["dataset"] == "quiz_words" and rep["metric"] == "acc"
    assert rep["metrics"]["acc"]["score"] == pytest.approx(2 / 3)
    assert rep["metrics"]["solved"]["score"] == 2.0 and rep["metrics"]["solved"]["ci95"] is None

    # The per-run override shown in the docs, applied to quiz.yaml.
    line = next(ln for ln in DOC.read_text().splitlines() if "--dataset-args '" in ln)
    override = line.split("--dataset-args '", 1)[1].rsplit("'", 1)[0]
    with FakeOpenAIServer(lambda b: WORDS[last_user_text(b).split("\n")[0]]) as srv:
        rep = run(srv, docs_dir, "--benchmark-file", "quiz.yaml", "--dataset-args", override)
    # strip_think then the last number: 4 (right), 9 (right), none (wrong); exact_match summed: 2
    assert set(rep["metrics"]) == {"acc", "exact_match"}
    assert rep["metrics"]["acc"]["score"] == pytest.approx(2 / 3) and rep["metrics"]["exact_match"]["score"] == 2.0


def test_step3_multiple_choice_and_fewshot(docs_dir):
    with FakeOpenAIServer(lambda b: "B" if "fruit" in last_user_text(b).rsplit("Example", 1)[-1] else "A") as srv:
        rep = run(srv, docs_dir, "--benchmark-file", "mcq.yaml")
        prompts = sorted(last_user_text(b) for b in srv.requests)
        assert all(b["max_tokens"] == 256 for b in srv.requests)
    assert rep["num"] == 2 and rep["score"] == 0.5
    assert prompts[0] == ("Example:\nWhich is blue?\nA. sky\nB. grass\nC. coal\nAnswer: A\n\n"
                          "Which is a fruit?\nA. stone\nB. apple\nC. chair\nAnswer with the letter (A,B,C).")


def test_step3_exam_subset_field_categories_and_loglikelihood(docs_dir):
    with FakeOpenAIServer(lambda b: "Thinking.\nANSWER: B") as srv:
        rep = run(srv, docs_dir, "--benchmark-file", "exam.yaml")
        prompts = sorted(last_user_text(b) for b in srv.requests)
    # golds: algebra B, A; plant_biology B -> the model's B is right 2 of 3 times
    assert rep["num"] == 3 and rep["score"] == pytest.approx(2 / 3)
    rows = {s["name"]: s for s in rep["subsets"]}
    assert [s["name"] for s in rep["subsets"]] == ["algebra", "plant_biology", "STEM", "Life sciences"]
    assert rows["algebra"]["score"] == 0.5 and rows["STEM"]["num"] == 2 and rows["STEM"]["kind"] == "category"
    assert rows["Life sciences"]["score"] == 1.0
    assert len(prompts) == 3 and prompts[2] == ("Solved example:\nWhat is 1 + 1?\nA) 2\nB) 3\nC) 1\nANSWER: A\n---\n"
                          "algebra question (exam algebra).\nWhat is 2 + 3?\nA) 4\nB) 5\nC) 6\nANSWER with one of A,B,C.")
    assert prompts[0].startswith("Solved example:\nWhat do bees carry?") and prompts[0].endswith(
        "---\nbotany question (exam plant_biology).\nWhich makes sugar?\nA) roots\nB) leaves\nC) bark\n"
        "ANSWER with one of A,B,C.")

    from evs_core.errors import ConfigError
    from evs_core.schema import ModelOutput
    from evs_core.spec import load_spec_target, spec_class
    from evs_core.testing import score_now

    cls = spec_class(load_spec_target(str(docs_dir / "exam.yaml")))
    ll = cls({"mode": "loglikelihood"})
    s = ll.load_samples(None)[0]
    assert (s.id, s.target, s.choices) == ("algebra-0", "B", ["4", "5", "6"])
    req = ll.build_request(s)
    text = re.search(r"```text\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    assert req.kind == "loglikelihood" and req.prompt + "\n" == text
    assert req.prompt == ("Questions about algebra.\n\nWhat is 1 + 1?\nA. 2\nB. 3\nC. 1\nAnswer: A\n\n"
                          "What is 2 + 3?\nA. 4\nB. 5\nC. 6\nAnswer:")
    assert req.continuations == [" A", " B", " C"]
    r = score_now(ll, s, ModelOutput(logprobs=[-3.0, -1.0, -2.0]))
    assert r.scores == {"acc": 1.0} and r.extracted == "B"
    assert score_now(ll, s, ModelOutput(logprobs=[-1.0, -2.0])).error.startswith("ScoringError")
    with pytest.raises(ConfigError, match="few_shot_num must be at most 2"):
        cls({"few_shot_num": 3})
    with pytest.raises(ConfigError, match="mode must be 'generate' or 'loglikelihood'"):
        cls({"mode": "ll"})


def test_step4_hub_spec_reads_dataset_dir_offline(docs_dir, tmp_path):
    data = tmp_path / "data" / "my_gsm8k"
    data.mkdir(parents=True)
    rows = [{"question": "Tom has 1,000 apples and buys 234 more. How many?", "answer": "1000+234=1234\n#### 1,234"},
            {"question": "Half of 10?", "answer": "10/2=5\n#### 5"}]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeOpenAIServer(lambda b: "So \\boxed{1234}." if "apples" in last_user_text(b) else "\\boxed{6}") as srv:
        rep = run(srv, docs_dir, "--benchmark-file", "hub.yaml", "--dataset-dir", str(tmp_path / "data"))
        assert all(b["max_tokens"] == 512 for b in srv.requests)
    assert rep["num"] == 2 and rep["score"] == 0.5 and rep["benchmark_version"] == "2"
    from evs_core.spec import read_spec_file, spec_class

    cls = spec_class(read_spec_file(docs_dir / "hub.yaml"))
    assert cls.hf_id == "openai/gsm8k" and cls.ms_id == "AI-ModelScope/gsm8k" and cls.num_samples == 1319


def test_step5_judge(docs_dir):
    with FakeOpenAIServer(lambda b: {"What is 2 + 2?": "4", "What is 3 * 3?": "nine"}.get(last_user_text(b), "seven")) as srv:
        proc = evs(docs_dir, "eval", "--model", "m", "--api-url", srv.url, "--benchmark-file", "judged.yaml",
                   "--work-dir", "out")
        assert proc.returncode == 2 and "judge" in proc.stderr and srv.requests == []

        def grade(body):
            text = last_user_text(body)
            return "A" if "nine" in text else "maybe"

        with FakeOpenAIServer(grade) as judge:
            rep = run(srv, docs_dir, "--benchmark-file", "judged.yaml",
                      judge={"model": "j", "api_url": judge.url, "api_key": "EMPTY",
                             "strategy": "llm_when_rule_fails"})
            asked = len(judge.requests)
    # '4' is right by the rule (no judge call); 'nine' the judge grades A (1.0); 'seven' is unparsable
    assert asked == 2 and rep["num"] == 2 and rep["score"] == 1.0
    assert rep["errors"] == {"JudgeUnparsable": 1} and rep["judge"]["unparsable"] == 1


def test_step7_python_subclass(docs_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(docs_dir))
    from evs_core.hookspecs import hookimpl
    from evs_core.plugins import make_plugin_manager
    from evs_native.engine import run_task

    plugin = types.SimpleNamespace(evs_register_benchmarks=hookimpl(
        lambda register: register("words", "words:Words", subsets=["default"], num_samples=2)))
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[plugin])
    with FakeOpenAIServer(lambda b: "Blue, white and red." if "flag" in last_user_text(b) else "Saturn") as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["words"],
                        "work_dir": str(docs_dir / "out"), "no_progress": True}, pm=pm)["words"]
    assert rep.metric == "recall" and rep.score == 0.5 and rep.metrics["all"].score == 0.5
    sys.modules.pop("words", None)
