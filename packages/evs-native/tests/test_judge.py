"""The LLM judge: strict config, verdict parsing, a fake server as judge, strategies, summaries."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from evs_core.config import make_config
from evs_core.errors import ConfigError
from evs_core.judge import DEFAULT_LABELS, Verdict, make_judge, parse_label
from evs_core.registry import get_registries
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.engine import run_task

MATH_ROWS = [
    {"id": 1, "problem": "What is 2+3?", "solution": "", "answer": "5", "url": ""},
    {"id": 2, "problem": "What is half of 7?", "solution": "", "answer": "\\frac{7}{2}", "url": ""},
    {"id": 3, "problem": "Name the capital of France.", "solution": "", "answer": "Paris", "url": ""},
    {"id": 4, "problem": "What is 10*10?", "solution": "", "answer": "100", "url": ""},
]
ANSWERS = {  # what the evaluated model says
    "What is 2+3?": "2+3 is 5, so \\boxed{5}.",  # rule: right
    "What is half of 7?": "Half of seven is three and a half.",  # rule finds no number it can match: judge
    "Name the capital of France.": "It is Paris, the city of light.",  # rule: nothing; judge
    "What is 10*10?": "I think \\boxed{1000}.",  # rule: wrong; judge
}


def _cfg(**judge):
    return make_config({"model": "m", "datasets": ["aime24"], "judge": judge})


def test_unknown_or_bad_judge_keys_stop_before_any_call():
    reg = get_registries()
    with pytest.raises(ConfigError, match="unknown judge key 'api_ur'; did you mean 'api_url'"):
        make_judge(_cfg(model="j", api_ur="http://x"), reg)
    with pytest.raises(ConfigError, match="needs a model"):
        make_judge(_cfg(api_url="http://x"), reg)
    with pytest.raises(ConfigError, match="bad judge strategy 'llm_when_rule_fail'; did you mean 'llm_when_rule_fails'"):
        make_judge(_cfg(model="j", api_url="http://x", strategy="llm_when_rule_fail"), reg)
    with pytest.raises(ConfigError, match="concurrency"):
        make_judge(_cfg(model="j", api_url="http://x", concurrency=0), reg)
    with pytest.raises(ConfigError, match="unknown judge model_type 'openai_apii'"):
        make_judge(_cfg(model="j", model_type="openai_apii"), reg)
    j = make_judge(_cfg(model="j", api_url="http://127.0.0.1:9/v1", strategy="llm-when-rule-fails"), reg)
    assert j.strategy == "llm_when_rule_fails" and j.model.name == "openai_api"


def test_verdict_parsing_is_strict():
    labels = {"A": ("CORRECT", 1.0), "B": ("INCORRECT", 0.0), "C": ("NOT_ATTEMPTED", 0.0)}
    cases = {"A": "A", "**B**": "B", "C: NOT_ATTEMPTED": "C", "The grade is B.": "B", "INCORRECT": "B",
             "not attempted": "C", "Grade: A": "A", "A: CORRECT\n\nIt matches.": "A",
             "A or B?": None, "I think A is wrong, B": None, "a bit unclear": None, "": None, "maybe": None}
    for text, want in cases.items():
        assert parse_label(text, labels) == want, text
    assert parse_label("CORRECT", DEFAULT_LABELS) == "A"  # INCORRECT contains CORRECT: whole words only


def test_grade_against_a_fake_judge_counts_unparsable_and_errors():
    replies = iter(["A", "B", "I cannot decide between A and B.", "**A**"])

    def judge_responder(body):
        return next(replies)

    async def main(url):
        j = make_judge(_cfg(model="judge", api_url=url, retries=0), get_registries())
        out = []
        for pred in ("5", "6", "maybe 5", "five"):
            out.append(await j.grade(question="2+3?", reference="5", prediction=pred, dataset="d"))
        await j.aclose()
        return j, out

    with FakeOpenAIServer(judge_responder) as srv:
        j, verdicts = asyncio.run(main(srv.url))
        prompts = [last_user_text(b) for b in srv.requests]
    assert [v.score for v in verdicts] == [1.0, 0.0, None, 1.0]
    assert verdicts[2].error.startswith("JudgeUnparsable") and verdicts[2].label is None
    assert isinstance(verdicts[0], Verdict) and verdicts[0].label == "CORRECT"
    assert "[Reference Answer]\n5" in prompts[0] and "[Predicted Answer]\n5" in prompts[0]
    assert j.summary("d") == {"model": "judge", "strategy": "llm_when_rule_fails", "asked": 4, "parsed": 3,
                              "unparsable": 1, "errors": 0, "labels": {"CORRECT": 2, "INCORRECT": 1}}

    async def failing():
        j = make_judge(_cfg(model="judge", api_url="http://127.0.0.1:9/v1", retries=0, timeout=2), get_registries())
        v = await j.grade(question="q", reference="r", prediction="p")
        await j.aclose()
        return j, v

    j, v = asyncio.run(failing())
    assert v.score is None and v.error.startswith("JudgeError")
    assert j.summary("default")["errors"] == 1


@pytest.fixture
def math_dir(tmp_path):
    d = tmp_path / "data" / "aime24"
    d.mkdir(parents=True)
    (d / "train.jsonl").write_text("\n".join(json.dumps(r) for r in MATH_ROWS))
    return tmp_path / "data"


def _judge_server():
    """A judge that says A when the prediction means the reference, B otherwise, and rambles for 10*10."""
    def responder(body):
        text = last_user_text(body)
        ref = re.search(r"\[Reference Answer\]\n(.*?)\n", text).group(1)
        pred = re.search(r"\[Predicted Answer\]\n(.*?)\n\nDecide", text, re.S).group(1)
        if "1000" in pred:
            return "Hmm, hard to say."  # unparsable
        ok = (ref == "\\frac{7}{2}" and "three and a half" in pred) or (ref in pred)
        return "A" if ok else "B"
    return FakeOpenAIServer(responder, model="judge")


def _run(srv_model, srv_judge, data, tmp_path, strategy):
    judge = {"model": "judge", "api_url": srv_judge.url, "api_key": "EMPTY"}
    if strategy:
        judge["strategy"] = strategy
    return run_task({"model": "m", "api_url": srv_model.url, "api_key": "EMPTY", "datasets": ["aime24"],
                     "dataset_dir": str(data), "work_dir": str(tmp_path / strategy), "no_progress": True,
                     "retries": 0, "judge": judge})["aime24"]


@pytest.mark.parametrize("strategy, score, num, asked, unparsable", [
    ("rule", 1 / 4, 4, 0, 0),
    ("llm", 3 / 3, 3, 4, 1),  # 2+3 (A), 7/2 (A), Paris (A); 10*10 unparsable: excluded, not 0
    ("llm_when_rule_fails", 3 / 3, 3, 3, 1),  # the judge only sees the three the rule failed
])
def test_strategies_end_to_end(math_dir, tmp_path, strategy, score, num, asked, unparsable):
    def model(body):
        q = last_user_text(body).split("\n")[0]
        return ANSWERS[q]

    with FakeOpenAIServer(model) as srv, _judge_server() as judge:
        rep = _run(srv, judge, math_dir, tmp_path, strategy)
        judge_calls = len(judge.requests)
    assert rep.score == pytest.approx(score) and rep.num == num
    assert judge_calls == asked
    assert rep.judge["asked"] == asked and rep.judge["unparsable"] == unparsable
    assert rep.judge["strategy"] == strategy and rep.judge["model"] == "judge"
    assert rep.errors.get("JudgeUnparsable", 0) == unparsable
    assert rep.num_samples == 4


def test_no_judge_means_rule_only_and_no_summary(math_dir, tmp_path):
    with FakeOpenAIServer(lambda b: ANSWERS[last_user_text(b).split("\n")[0]]) as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["aime24"],
                        "dataset_dir": str(math_dir), "work_dir": str(tmp_path), "no_progress": True})["aime24"]
    assert rep.score == pytest.approx(0.25) and rep.judge is None
