"""general_mcq and general_qa: custom data files, BLEU/ROUGE parity, the judge path."""

from __future__ import annotations

import asyncio
import csv
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from evs_core.benchmark import RunContext
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.benchmarks.text_metrics import bleu, lcs_length, rouge_l, rouge_n, text_scores, tokenize
from evs_native.engine import run_task


def _run(srv, tmp_path, datasets, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": datasets,
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


def _csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# -- text metrics ------------------------------------------------------------------------------------
def test_text_metrics_known_values():
    p, r = tokenize("The cat sat on the mat."), tokenize("the cat is on the mat")
    assert p == ["the", "cat", "sat", "on", "the", "mat"]
    assert rouge_n(p, r, 1) == pytest.approx(5 / 6)      # the×2, cat, on, mat
    assert rouge_n(p, r, 2) == pytest.approx(3 / 5)      # the cat, on the, the mat
    assert lcs_length(p, r) == 5 and rouge_l(p, r) == pytest.approx(5 / 6)
    # clipped precisions 5/6, 3/5, 1/4 and 0/3 (smoothed to 0.1/3); equal lengths: no brevity penalty
    assert bleu(p, r, 4) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 0.1 / 3) ** 0.25)
    assert bleu(["a", "b"], ["a", "b", "c", "d"], 1) == pytest.approx(math.exp(1 - 4 / 2))  # brevity penalty
    assert bleu(["x"], ["y"], 4) == 0.0 and bleu([], ["y"], 4) == 0.0
    zh_p, zh_r = tokenize("北京是首都"), tokenize("首都是北京")
    assert zh_p == ["北", "京", "是", "首", "都"]
    assert rouge_n(zh_p, zh_r, 1) == 1.0 and rouge_l(zh_p, zh_r) == pytest.approx(2 / 5)
    assert text_scores("Paris", "Paris")["rouge-l"] == 1.0


SENTENCES = [
    ("the quick brown fox jumps over the lazy dog", "a quick brown dog jumps over the lazy fox"),
    ("it is a guide to action which ensures that the military always obeys the commands of the party",
     "it is a guide to action that ensures that the military will forever heed party commands"),
    ("he read the book because he was interested in world history",
     "he was interested in world history because he read the book"),
    ("short answer", "a much longer reference answer with many more words in it"),
]


@pytest.mark.parametrize("pred,ref", SENTENCES)
def test_rouge_matches_rouge_score(pred, ref):
    rs = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rs.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    want = scorer.score(ref, pred)
    p, r = tokenize(pred), tokenize(ref)
    assert rouge_n(p, r, 1) == pytest.approx(want["rouge1"].fmeasure)
    assert rouge_n(p, r, 2) == pytest.approx(want["rouge2"].fmeasure)
    assert rouge_l(p, r) == pytest.approx(want["rougeL"].fmeasure)


@pytest.mark.parametrize("pred,ref", SENTENCES)
def test_bleu_matches_nltk(pred, ref):
    bleu_score = pytest.importorskip("nltk.translate.bleu_score")
    p, r = tokenize(pred), tokenize(ref)
    smooth = bleu_score.SmoothingFunction().method1
    want = bleu_score.sentence_bleu([r], p, weights=(0.25,) * 4, smoothing_function=smooth)
    assert bleu(p, r, 4) == pytest.approx(want)
    assert bleu(p, r, 1) == pytest.approx(bleu_score.sentence_bleu([r], p, weights=(1.0,), smoothing_function=smooth))


# -- general_mcq -----------------------------------------------------------------------------------
def test_general_mcq_folder_subsets_fewshot_and_scores(tmp_path):
    root = tmp_path / "mcq"
    _csv(root / "physics_dev.csv", ["id", "question", "A", "B", "C", "D", "answer"],
         [[1, "Example: unit of force?", "newton", "joule", "watt", "pascal", "A"]])
    _csv(root / "physics_val.csv", ["id", "question", "A", "B", "C", "D", "answer"],
         [[i, f"Physics question {i}?", "w", "x", "y", "z", "ABCD"[i % 4]] for i in range(4)])
    _jsonl(root / "trivia.jsonl", [{"question": f"Trivia question {i}?", "A": "yes", "B": "no", "C": "", "answer": "AB"[i % 2]}
                                   for i in range(4)])
    (root / "notes.txt").write_text("ignored")
    golds = {f"Physics question {i}?": "ABCD"[i % 4] for i in range(4)} | {f"Trivia question {i}?": "AB"[i % 2] for i in range(4)}
    right = {"Physics question 0?", "Physics question 1?", "Physics question 3?", "Trivia question 2?"}

    def responder(body):
        p = last_user_text(body)
        q = next(k for k in golds if k in p)
        g = golds[q]
        return f"I considered it.\nANSWER: {g}" if q in right else f"ANSWER: {'B' if g == 'A' else 'A'}"

    with FakeOpenAIServer(responder) as srv:
        rep = _run(srv, tmp_path, ["general_mcq"],
                   dataset_args={"general_mcq": {"local_path": str(root), "few_shot_num": 1}})["general_mcq"]
    assert rep.num == 8 and rep.score == pytest.approx(4 / 8)
    assert {s.name: s.score for s in rep.subsets} == {"physics": 0.75, "trivia": 0.25}
    physics_prompt = next(last_user_text(b) for b in srv.requests if "Physics question" in last_user_text(b))
    assert "Example: unit of force?" in physics_prompt and "ANSWER: A" in physics_prompt
    trivia_prompt = next(last_user_text(b) for b in srv.requests if "Trivia question" in last_user_text(b))
    assert "one of A,B." in trivia_prompt and "C)" not in trivia_prompt  # the empty option C is dropped


def test_general_mcq_errors_name_field_and_file(tmp_path):
    from evs_native.benchmarks.general import GeneralMCQ

    bad = tmp_path / "bad.csv"
    _csv(bad, ["question", "A", "B", "ans"], [["q?", "x", "y", "A"]])
    with pytest.raises(ConfigError, match=r"bad\.csv: row 1 has no 'answer' field"):
        GeneralMCQ({"local_path": str(bad)}).load_samples()
    _csv(bad, ["question", "A", "B", "answer"], [["q?", "x", "y", "E"]])
    with pytest.raises(ConfigError, match=r"bad\.csv: row 1: answer 'E' is not a letter"):
        GeneralMCQ({"local_path": str(bad)}).load_samples()
    with pytest.raises(ConfigError, match="needs local data"):
        GeneralMCQ().load_samples()
    with pytest.raises(ConfigError, match="local_path does not exist"):
        GeneralMCQ({"local_path": str(tmp_path / "nope.csv")}).load_samples()
    good = tmp_path / "good.csv"
    _csv(good, ["question", "A", "B", "answer"], [["q?", "x", "y", "B"]])
    with pytest.raises(ConfigError, match="unknown subset 'god'.*did you mean 'good'"):
        GeneralMCQ({"local_path": str(good), "subset_list": ["god"]}).load_samples()


# -- general_qa --------------------------------------------------------------------------------------
def test_general_qa_query_and_messages_formats_with_rouge(tmp_path):
    root = tmp_path / "qa"
    _jsonl(root / "plain.jsonl", [{"query": "Capital of France?", "response": "Paris is the capital of France"},
                                  {"question": "中国的首都是哪里？", "answer": "北京"}])
    _jsonl(root / "chat.jsonl", [{"messages": [{"role": "system", "content": "Be brief."},
                                               {"role": "user", "content": "Largest planet?"},
                                               {"role": "assistant", "content": "Jupiter"}]}])
    replies = {"Capital of France?": "The capital of France is Paris", "中国的首都是哪里？": "北京", "Largest planet?": "Saturn"}

    with FakeOpenAIServer(lambda b: replies[last_user_text(b)]) as srv:
        rep = _run(srv, tmp_path, ["general_qa"], dataset_args={"general_qa": {"local_path": str(root)}})["general_qa"]
    assert rep.metric == "rouge-l" and rep.num == 3
    # chat: ROUGE-L 0; plain: "the capital of france is paris" vs "paris is the capital of france":
    # LCS "the capital of france" = 4 of 6 -> 2/3; 北京: 1.
    by = {s.name: s.score for s in rep.subsets}
    assert by == {"chat": 0.0, "plain": pytest.approx((2 / 3 + 1) / 2)}
    chat_req = next(b for b in srv.requests if last_user_text(b) == "Largest planet?")
    assert chat_req["messages"][0] == {"role": "system", "content": "Be brief."} and len(chat_req["messages"]) == 2
    assert set(rep.metrics) >= {"rouge-1", "rouge-2", "rouge-l", "bleu-1", "bleu-4"}


def test_general_qa_errors(tmp_path):
    from evs_native.benchmarks.general import GeneralQA

    f = tmp_path / "x.jsonl"
    _jsonl(f, [{"query": "q"}])
    with pytest.raises(ConfigError, match=r"x\.jsonl: row 1 has no 'response' field.*'query' or 'messages'"):
        GeneralQA({"local_path": str(f)}).load_samples()
    _jsonl(f, [{"prompt": "q", "response": "a"}])
    with pytest.raises(ConfigError, match="has no 'query' field"):
        GeneralQA({"local_path": str(f)}).load_samples()


class FakeJudge:
    """The shape of evs_core.judge's judge: ``await grade(...) -> Verdict(score, explanation, error)``."""

    def __init__(self):
        self.calls = []

    async def grade(self, *, question, reference, prediction, template=None):
        self.calls.append((question, reference, prediction, template))
        if prediction == "garbled":
            return SimpleNamespace(score=None, explanation="no score found", error=None)
        if prediction == "timeout":
            return SimpleNamespace(score=None, explanation="", error="Timeout")
        return SimpleNamespace(score=1.0 if reference.lower() in prediction.lower() else 0.0,
                               explanation="compared", error=None)


def test_general_qa_judge_path(tmp_path):
    from evs_native.benchmarks.general import GeneralQA

    f = tmp_path / "qa.jsonl"
    _jsonl(f, [{"query": f"Q{i}", "response": "Paris"} for i in range(5)])
    b = GeneralQA({"local_path": str(f), "judge_template": "T"})
    samples = b.load_samples()
    preds = ["It is Paris.", "London", "garbled", "timeout", "paris"]
    judge = FakeJudge()

    async def go():
        return [await b.score(s, ModelOutput(text=p), RunContext(judge=judge)) for s, p in zip(samples, preds, strict=True)]

    reviews = asyncio.run(go())
    assert [r.scores.get("judge") for r in reviews] == [1.0, 0.0, None, None, 1.0]
    assert reviews[2].error.startswith("JudgeUnparsable") and reviews[3].error == "JudgeError: Timeout"
    assert judge.calls[0] == ("Q0", "Paris", "It is Paris.", "T")
    overall, _ = b.aggregate(reviews)
    assert b.primary_metric == "judge"
    assert overall["judge"].score == pytest.approx(2 / 3) and overall["judge"].num == 3
    assert "rouge-l" in reviews[0].scores  # the reference metrics are kept alongside
    # without a judge: the metric path
    no_judge = asyncio.run(b.score(samples[0], ModelOutput(text="Paris"), RunContext()))
    assert no_judge.scores["rouge-l"] == 1.0 and "judge" not in no_judge.scores
