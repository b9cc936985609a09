"""bbh, drop and trivia_qa: extraction and metric parity with the references, and end-to-end runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.benchmarks.bbh import bbh_match, extract_bbh
from evs_native.benchmarks.drop import drop_metrics, drop_score, gold_answers, normalize_answer
from evs_native.benchmarks.trivia_qa import exact_match, token_f1
from evs_native.benchmarks.trivia_qa import normalize_answer as tqa_normalize
from evs_native.engine import run_task


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _run(srv, tmp_path, datasets, data, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": datasets, "dataset_dir": str(data),
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


# -- DROP: the official metric, values worked out by hand from drop_eval.py's definition ---------------
@pytest.mark.parametrize("pred,gold,em,f1", [
    ("2", ("2",), 1.0, 1.0),                       # numbers compared as floats: "2.0"
    ("2.0", ("2",), 1.0, 1.0),
    ("1,000", ("1000",), 1.0, 1.0),                # punctuation removed, then a number
    ("two touchdowns", ("2",), 0.0, 0.0),          # gold has a number the prediction lacks
    ("the Eagles", ("Eagles",), 1.0, 1.0),         # articles and case
    ("34 yards", ("34",), 0.0, 0.67),              # P=1/2, R=1 -> 0.667, rounded
    ("Tom Brady", ("Tom Brady", "Randy Moss"), 0.0, 0.5),       # one of two spans: (1 + 0) / 2
    ("Brady and Moss", ("Tom Brady", "Randy Moss"), 0.0, 0.2),  # one bag vs two: F1 0.4 on one, 0 on the other
    (["Randy Moss", "Tom Brady"], ("Tom Brady", "Randy Moss"), 1.0, 1.0),  # span order does not matter
    ("well-known actor", ("well known actor",), 1.0, 1.0),      # hyphens split tokens
    ("May 1990", ("May 1990",), 1.0, 1.0),
])
def test_drop_metric_matches_official_definition(pred, gold, em, f1):
    assert drop_metrics(pred, gold) == (em, f1)


def test_drop_normalisation_and_golds():
    assert normalize_answer("The 3 Touchdowns!") == "3.0 touchdowns"
    assert normalize_answer("an apple-pie") == "apple pie"
    row = {"answer": {"number": "", "date": {"day": "", "month": "May", "year": "1990"}, "spans": []},
           "validated_answers": {"number": ["", "5"], "date": [{"day": "", "month": "", "year": ""}] * 2,
                                 "spans": [["May 1990"], []]}}
    assert gold_answers(row) == [("May 1990",), ("5",)]
    assert gold_answers({"answers_spans": {"spans": ["Jacobs"], "types": ["span"]}}) == [("Jacobs",)]
    assert drop_score("5", [("May 1990",), ("5",)]) == (1.0, 1.0)  # max over the gold answers
    assert drop_score("anything", [("",)]) == (0.0, 0.0)           # an empty gold is skipped


def test_drop_end_to_end(tmp_path):
    root = tmp_path / "data"
    passage = "The Giants scored first with a 4-yard run by Jacobs. Later Wells scored on a 13-yard rush."
    golds = ["Jacobs", "17", "Wells", "4", "Jacobs", "13"]
    rows = [{"section_id": "nfl_1", "query_id": f"q{i}", "passage": passage, "question": f"Question number {i}?",
             "answers_spans": {"spans": [g], "types": ["number" if g.isdigit() else "span"]}} for i, g in enumerate(golds)]
    _write_jsonl(root / "drop" / "validation.jsonl", rows)
    _write_jsonl(root / "drop" / "train.jsonl", [{**r, "query_id": f"t{i}", "question": f"Train question {i}?"}
                                                  for i, r in enumerate(rows[:3])])
    answers = {  # realistic answers: reasoning first, the answer line last; some partially right
        0: "The first score was a run.\nAnswer: Jacobs",                   # em 1, f1 1
        1: "4 + 13 = 17 yards in total.\nAnswer: 17 yards",               # em 0, f1 0.67
        2: "Answer: Jacobs (no, wait)\nAnswer: Brandon Wells",            # last line counts: em 0, f1 0.67
        3: "It was a 4-yard run.\nAnswer: four",                          # em 0, f1 0
        4: "**Answer:** Jacobs",                                          # markdown: em 1, f1 1
        5: "Answer: 13",                                                  # em 1, f1 1
    }

    def responder(body):
        prompt = last_user_text(body)
        i = int(prompt.rsplit("Question number ", 1)[1].split("?")[0])
        return answers[i]

    with FakeOpenAIServer(responder) as srv:
        rep = _run(srv, tmp_path, ["drop"], root)["drop"]
    assert rep.metric == "f1" and rep.num == 6
    assert rep.score == pytest.approx((1 + 0.67 + 0.67 + 0 + 1 + 1) / 6)
    assert rep.metrics["em"].score == pytest.approx(3 / 6)
    prompt = last_user_text(srv.requests[0])
    assert prompt.count("Train question") == 3 and "# Your Task" in prompt


# -- TriviaQA ---------------------------------------------------------------------------------------
def test_trivia_qa_normalisation_matches_official():
    assert tqa_normalize("The Beatles!") == "beatles"
    assert tqa_normalize("Sir_Winston  Churchill") == "sir winston churchill"
    assert tqa_normalize("‘Rock’ ’n’ Roll") == "rock n roll"
    aliases = ["Winston Churchill", "Churchill", "sir winston churchill"]
    assert exact_match("Sir Winston Churchill.", aliases) == 1.0
    assert exact_match("Winston", aliases) == 0.0
    assert token_f1("Winston", aliases) == pytest.approx(2 / 3)  # P=1, R=1/2 against "winston churchill"
    assert exact_match("It was Churchill", aliases) == 0.0       # no inclusion credit


def test_trivia_qa_end_to_end_both_subsets(tmp_path):
    root = tmp_path / "data"
    row = {"question": "Who was PM of the UK in 1941 {i}?", "question_id": "tc_{i}",
           "answer": {"aliases": ["Winston Churchill", "Churchill"], "normalized_aliases": ["winston churchill", "churchill"],
                      "value": "Winston Churchill", "normalized_value": "winston churchill"},
           "entity_pages": {"wiki_context": ["Churchill led the UK from 1940."], "title": ["Winston Churchill"]}}
    rows = [json.loads(json.dumps(row).replace("{i}", str(i))) for i in range(4)]
    for sub in ("rc.wikipedia", "rc.nocontext"):
        _write_jsonl(root / "trivia_qa" / sub / "validation.jsonl", rows)
    replies = ["Thinking about 1941...\nANSWER: Winston Churchill", "ANSWER: the churchill", "ANSWER: Neville Chamberlain",
               "I am not sure."]

    def responder(body):
        p = last_user_text(body)
        return replies[int(p.split("1941 ")[1][0])]

    with FakeOpenAIServer(responder) as srv:
        rep = _run(srv, tmp_path, ["trivia_qa"], root,
                   dataset_args={"trivia_qa": {"subset_list": ["rc.wikipedia", "rc.nocontext"]}})["trivia_qa"]
    assert rep.num == 8 and rep.score == pytest.approx(0.5)
    prompts = [last_user_text(b) for b in srv.requests]
    assert sum("Content: Churchill led the UK" in p for p in prompts) == 4


# -- BBH ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task,text,expected", [
    ("date_understanding", "Yesterday was 12/31. So the answer is (B).", "(B)"),
    ("date_understanding", "Option (A) is wrong... So the answer is **(C)**.", "(C)"),
    ("date_understanding", "So the answer is B.", "(B)"),
    ("date_understanding", "It could be (A) or (D); I pick (D) in the end", "(D)"),
    ("boolean_expressions", "not True is False. So the answer is False.", "False"),
    ("object_counting", "We have 2 + 3 + 1 = 6. So the answer is 6.", "6"),
    ("object_counting", "So the answer is $12$.", "12"),
    ("multistep_arithmetic_two", "(-5 + 2) * 3 = -9. So the answer is -9.", "-9"),
    ("dyck_languages", "We close the stack. So the answer is ) ].", ") ]"),
    ("web_of_lies", "Ka lies. So the answer is No.", "No"),
    ("word_sorting", "Sorted: So the answer is apple banana cherry.", "apple banana cherry"),
    ("sports_understanding", "I am not sure about this one.", "I am not sure about this one"),
])
def test_bbh_extraction_per_task_type(task, text, expected):
    assert extract_bbh(text, task) == expected


def test_bbh_matching_rules():
    assert bbh_match("(B)", "(B)", "date_understanding")
    assert not bbh_match("(C)", "(B)", "date_understanding")
    assert bbh_match("false", "False", "boolean_expressions")
    assert bbh_match("6", "6", "object_counting") and bbh_match("6", "6.0", "object_counting")
    assert bbh_match("valid", "valid", "formal_fallacies") and not bbh_match("invalid", "valid", "formal_fallacies")
    assert bbh_match(") ]", ")  ]", "dyck_languages")
    assert not bbh_match(None, "True", "boolean_expressions")


COT = ("BBH canary header\n-----\nEvaluate the result of a random Boolean expression.\n\n"
       "Q: not ( ( not not True ) ) is\nA: Let's think step by step.\nSo the answer is False.\n\n"
       "Q: True and False and not True and True is\nA: Let's think step by step.\nSo the answer is False.\n\n"
       "Q: not not ( not ( False ) ) is\nA: Let's think step by step.\nSo the answer is True.")


def test_bbh_end_to_end_with_official_layout(tmp_path):
    root = tmp_path / "data" / "bbh"
    examples = [{"input": f"True and {v} is", "target": v} for v in ("True", "False", "False", "True")]
    (root).mkdir(parents=True)
    (root / "boolean_expressions.json").write_text(json.dumps({"canary": "x", "examples": examples}))
    date = [{"input": f"Today is day {i}. What is tomorrow?\nOptions:\n(A) x\n(B) y\n(C) z", "target": "(B)"}
            for i in range(3)]
    (root / "date_understanding.json").write_text(json.dumps({"examples": date}))
    (root / "cot-prompts").mkdir()
    (root / "cot-prompts" / "boolean_expressions.txt").write_text(COT)
    (root / "cot-prompts" / "date_understanding.txt").write_text("Infer the date.\n\nQ: ...\nA: So the answer is (A).")
    replies = {
        "True and True is": "True and True is True. So the answer is True.",          # right
        "True and False is": "So the answer is True.",                                 # wrong
        "Today is day 0": "Let's see: (A) no, (C) no. So the answer is (B).",          # right
        "Today is day 1": "So the answer is (C).",                                     # wrong
        "Today is day 2": "Tomorrow... So the answer is B.",                           # right
    }

    def responder(body):
        p = last_user_text(body)
        tail = p.rsplit("Q: ", 1)[1]
        return next(v for k, v in replies.items() if tail.startswith(k))

    with FakeOpenAIServer(responder) as srv:
        rep = _run(srv, tmp_path, ["bbh"], tmp_path / "data",
                   dataset_args={"bbh": {"subset_list": ["boolean_expressions", "date_understanding"]}})["bbh"]
    assert rep.num == 7 and rep.num_errors == 0
    by = {s.name: s.score for s in rep.subsets}
    assert by["boolean_expressions"] == pytest.approx(2 / 4)  # the two "True and True" rows right, the others wrong
    assert by["date_understanding"] == pytest.approx(2 / 3)
    p = last_user_text(srv.requests[0])
    assert "canary" not in p and p.count("So the answer is") >= 1
    from evs_native.benchmarks.bbh import BBH

    with pytest.raises(ConfigError, match="must be 3"):
        BBH({"few_shot_num": 5})
