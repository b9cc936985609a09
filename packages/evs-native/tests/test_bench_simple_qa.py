"""SimpleQA: judge-graded with the official template; correct / not attempted / given attempted / F."""

from __future__ import annotations

import json
import re

import pytest
from evs_core.errors import ConfigError
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.benchmarks.simple_qa import GRADER_TEMPLATE, derived_metrics
from evs_native.engine import run_task

ROWS = [  # the real schema of basicv8vc/SimpleQA: metadata (a Python dict literal), problem, answer
    {"metadata": "{'topic': 'Geography', 'answer_type': 'Place', 'urls': ['https://x']}",
     "problem": "What is the capital of Australia?", "answer": "Canberra"},
    {"metadata": "{'topic': 'Science', 'answer_type': 'Number', 'urls': []}",
     "problem": "How many moons does Mars have?", "answer": "2"},
    {"metadata": "{'topic': 'History', 'answer_type': 'Date', 'urls': []}",
     "problem": "In which year did the Berlin Wall fall?", "answer": "1989"},
    {"metadata": "{'topic': 'Art', 'answer_type': 'Person', 'urls': []}",
     "problem": "Who painted The Night Watch?", "answer": "Rembrandt"},
    {"metadata": "{'topic': 'Music', 'answer_type': 'Person', 'urls': []}",
     "problem": "Who composed the Goldberg Variations?", "answer": "Johann Sebastian Bach"},
    {"metadata": "{'topic': 'Sports', 'answer_type': 'Number', 'urls': []}",
     "problem": "How many players are on a rugby union team?", "answer": "15"},
]
MODEL = {  # the evaluated model's answers
    "What is the capital of Australia?": "The capital of Australia is Canberra.",  # CORRECT
    "How many moons does Mars have?": "Mars has two moons, Phobos and Deimos.",  # CORRECT
    "In which year did the Berlin Wall fall?": "It fell in 1991.",  # INCORRECT
    "Who painted The Night Watch?": "I don't know.",  # NOT_ATTEMPTED
    "Who composed the Goldberg Variations?": "Probably Handel.",  # INCORRECT
    "How many players are on a rugby union team?": "Fifteen-ish, I'd say.",  # judge rambles: unparsable
}
GRADES = {"Canberra": "A", "two moons": "A", "1991": "B", "I don't know": "C", "Handel": "B",
          "Fifteen": "The answer seems plausible but I am unsure how to grade it."}


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data" / "simple_qa"
    d.mkdir(parents=True)
    (d / "test.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS))
    return tmp_path / "data"


def judge_responder(body):
    text = last_user_text(body)
    assert text.startswith("Your job is to look at a question, a gold target, and a predicted answer")
    pred = re.search(r"Predicted answer: (.*)\n```\n\nGrade the predicted answer", text).group(1)
    return next(g for k, g in GRADES.items() if k in pred)


def test_end_to_end_with_a_fake_judge(data_dir, tmp_path):
    with FakeOpenAIServer(lambda b: MODEL[last_user_text(b)]) as model, FakeOpenAIServer(judge_responder) as judge:
        rep = run_task({"model": "m", "api_url": model.url, "api_key": "EMPTY", "datasets": ["simple_qa"],
                        "dataset_dir": str(data_dir), "work_dir": str(tmp_path / "out"), "no_progress": True,
                        "retries": 0, "judge": {"model": "grader", "api_url": judge.url, "strategy": "llm"}})["simple_qa"]
        asked = [last_user_text(b) for b in judge.requests]
    assert len(asked) == 6
    assert "Question: What is the capital of Australia?\nGold target: Canberra\nPredicted answer: The capital" in asked[0] \
        or any("Gold target: Canberra" in a for a in asked)
    m = rep.metrics
    # 5 graded (the unparsable one is excluded and counted): 2 correct, 2 incorrect, 1 not attempted.
    assert rep.num == 5 and rep.num_samples == 6 and rep.errors == {"JudgeUnparsable": 1}
    assert m["correct"].score == pytest.approx(2 / 5)
    assert m["incorrect"].score == pytest.approx(2 / 5)
    assert m["not_attempted"].score == pytest.approx(1 / 5)
    assert m["correct_given_attempted"].score == pytest.approx(2 / 4)
    assert m["f_score"].score == pytest.approx(2 * 0.5 * 0.4 / (0.5 + 0.4))
    assert rep.judge == {"model": "grader", "strategy": "llm", "asked": 6, "parsed": 5, "unparsable": 1, "errors": 0,
                         "labels": {"CORRECT": 2, "INCORRECT": 2, "NOT_ATTEMPTED": 1}}


def test_simple_qa_needs_a_judge_before_any_model_call(data_dir, tmp_path):
    with FakeOpenAIServer(lambda b: "Canberra") as model:
        with pytest.raises(ConfigError, match="simple_qa is graded by an LLM judge: give --judge-args"):
            run_task({"model": "m", "api_url": model.url, "api_key": "EMPTY", "datasets": ["simple_qa"],
                      "dataset_dir": str(data_dir), "work_dir": str(tmp_path), "no_progress": True, "limit": 2})
        assert model.requests == []


def test_derived_metrics_as_simple_evals():
    assert derived_metrics(0.0, 0.0) == (0.0, 0.0)
    given, f = derived_metrics(0.3, 0.2)
    assert given == pytest.approx(0.6) and f == pytest.approx(2 * 0.6 * 0.3 / 0.9)
    assert "{question}" in GRADER_TEMPLATE and "{target}" in GRADER_TEMPLATE and "{predicted_answer}" in GRADER_TEMPLATE
    with pytest.raises(ConfigError):
        from evs_native.benchmarks.simple_qa import SimpleQA

        SimpleQA({}).record_to_sample({"problem": "q"}, 0, "default")
