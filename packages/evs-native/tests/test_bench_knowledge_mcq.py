"""Knowledge multiple-choice benchmarks: mmlu, mmlu_pro, ceval, cmmlu, gpqa_diamond, hellaswag,
winogrande, race, truthful_qa — end to end against a fake OpenAI server, and log-likelihood scoring."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.engine import run_task

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def _shared(name: str) -> Path:
    if not (SHARED / name).exists():
        pytest.skip(f"benchmark data ../shared/data/{name} is not present")
    return SHARED


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def right(key: str) -> bool:
    """A reproducible 2-in-3 choice of the questions the fake model answers right."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


def _run(srv, tmp_path, datasets, data, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": datasets, "dataset_dir": str(data),
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


class Responder:
    """Finds which question a prompt asks (the key found last in the prompt, so few-shot examples
    do not count) and answers it right or wrong in a varied, realistic style."""

    STYLES = [
        "Let me think. Option {w} looks tempting, but it ignores a detail.\nANSWER: {a}",
        "Step 1: eliminate ({w}).\nStep 2: the rest fits.\n\nThe answer is ({a}).",
        "Comparing the options, {w}) is wrong.\n\n**{a}**",
        "After careful analysis, the correct choice is {a}.\n\nANSWER: {a}",
    ]

    def __init__(self, table: dict[str, tuple[str, str, str]], zh: bool = False):
        self.table = table  # key text -> (sample key, gold letter, wrong letter)
        self.zh = zh
        self.asked: dict[str, bool] = {}

    def __call__(self, body: dict) -> str:
        prompt = last_user_text(body)
        hits = [(prompt.rfind(k), k) for k in self.table if k in prompt]
        assert hits, "unknown prompt: " + prompt[-300:]
        _, k = max(hits)
        key, gold, wrong = self.table[k]
        ok = right(key)
        self.asked[key] = ok
        a, w = (gold, wrong) if ok else (wrong, gold)
        if self.zh:
            return f"选项{w}不对，因为它与题意不符。\n答案：{a}"
        return self.STYLES[len(self.asked) % len(self.STYLES)].format(a=a, w=w)

    def expected(self) -> float:
        return sum(self.asked.values()) / len(self.asked)


def _wrong(gold: str, n: int = 4) -> str:
    return "ABCDEFGHIJ"[("ABCDEFGHIJ".index(gold) + 1) % n]


# -- MMLU (shared data) ----------------------------------------------------------------------------
def test_mmlu_end_to_end_per_subject_and_category(tmp_path):
    data = _shared("mmlu")
    subjects = ["abstract_algebra", "anatomy", "philosophy", "sociology"]
    rows = _jsonl(data / "mmlu" / "test.jsonl")
    table, per_subject = {}, {}
    for s in subjects:
        mine = [r for r in rows if r["subject"] == s][:6]
        per_subject[s] = mine
        for i, r in enumerate(mine):
            gold = "ABCD"[r["answer"]]
            table["\n\n" + r["question"].strip() + "\n\nA) " + r["choices"][0]] = (f"{s}_{i}", gold, _wrong(gold))
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mmlu"], data, limit=6,
                   dataset_args={"mmlu": {"subset_list": subjects}})["mmlu"]
    assert rep.num == 24 and rep.num_errors == 0
    assert rep.score == pytest.approx(resp.expected())
    by_name = {s.name: s for s in rep.subsets}
    for s in subjects:
        exp = sum(right(f"{s}_{i}") for i in range(6)) / 6
        assert by_name[s].score == pytest.approx(exp) and by_name[s].kind == "subset"
    # categories: abstract_algebra STEM, anatomy Other, philosophy Humanities, sociology Social Science
    assert by_name["STEM"].kind == "category" and by_name["STEM"].num == 6
    assert by_name["Social Science"].score == pytest.approx(by_name["sociology"].score)
    assert {"STEM", "Other", "Humanities", "Social Science"} <= set(by_name)


def test_mmlu_prompt_is_five_shot_from_the_subjects_dev_split():
    data = _shared("mmlu")
    from evs_native.benchmarks.mmlu import MMLU

    b = MMLU({"subset_list": ["anatomy"]}, dataset_dir=str(data))
    s = b.load_samples(1)[0]
    prompt = b.build_request(s).messages[-1]["content"]
    dev = _jsonl(data / "mmlu" / "dev.jsonl")
    dev = [r for r in dev if r["subject"] == "anatomy"]
    assert len(dev) == 5 and all(r["question"].strip() in prompt for r in dev)
    assert prompt.count("ANSWER: ") == 6  # five worked examples + the instruction
    assert prompt.rstrip().endswith("D) " + s.choices[3])
    with pytest.raises(ConfigError, match="unknown subset 'anatomyy'.*did you mean 'anatomy'"):
        MMLU({"subset_list": ["anatomyy"]})


def test_mmlu_loglikelihood_scores_letters():
    data = _shared("mmlu")
    from evs_native.benchmarks.mmlu import MMLU

    b = MMLU({"subset_list": ["virology"], "mode": "loglikelihood", "few_shot_num": 0}, dataset_dir=str(data))
    s = b.load_samples(1)[0]
    req = b.build_request(s)
    assert req.kind == "loglikelihood" and req.continuations == [" A", " B", " C", " D"]
    assert req.prompt.startswith("The following are multiple choice questions (with answers) about virology.")
    assert req.prompt.endswith("\nAnswer:")
    gold = "ABCD".index(s.target)
    lps = [-5.0] * 4
    lps[gold] = -1.0
    r = score_now(b, s, ModelOutput(logprobs=lps))
    assert r.scores == {"acc": 1.0} and r.extracted == s.target
    lps[(gold + 1) % 4] = -0.5
    assert score_now(b, s, ModelOutput(logprobs=lps)).scores == {"acc": 0.0}
    assert score_now(b, s, ModelOutput(logprobs=[-1.0, -2.0])).error.startswith("ScoringError")


# -- C-Eval (shared data) ------------------------------------------------------------------------
def test_ceval_end_to_end_chinese_answers(tmp_path):
    data = _shared("ceval")
    subjects = ["computer_network", "law", "physician"]
    table = {}
    for s in subjects:
        with open(data / "ceval" / "val" / f"{s}_val.csv", encoding="utf-8") as f:
            for r in list(csv.DictReader(f))[:5]:
                table["问题：" + r["question"] + "\n选项：\nA. " + r["A"]] = (f"{s}_{r['id']}", r["answer"],
                                                                           _wrong(r["answer"]))
    resp = Responder(table, zh=True)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["ceval"], data, limit=5, dataset_args={"ceval": {"subset_list": subjects}})["ceval"]
    assert rep.num == 15 and rep.num_errors == 0
    assert rep.score == pytest.approx(resp.expected())
    names = [s.name for s in rep.subsets]
    assert names[:3] == subjects and {"STEM", "Humanities", "Other"} <= set(names)


def test_ceval_fewshot_prompt_has_explanations():
    data = _shared("ceval")
    from evs_native.benchmarks.chinese_mcq import CEval

    b = CEval({"subset_list": ["law"]}, dataset_dir=str(data))
    prompt = b.build_request(b.load_samples(1)[0]).messages[-1]["content"]
    assert prompt.startswith("以下是一些示例问题：") and prompt.count("解析：") == 5
    assert "以下是中国关于法学的单项选择题" in prompt


# -- GPQA Diamond (shared data) ------------------------------------------------------------------
def test_gpqa_options_shuffled_reproducibly_and_scored(tmp_path):
    data = _shared("gpqa_diamond")
    from evs_native.benchmarks.gpqa import GPQADiamond

    rows = _jsonl(data / "gpqa_diamond" / "train.jsonl")
    a = GPQADiamond(dataset_dir=str(data), seed=42).load_samples(None)
    b = GPQADiamond(dataset_dir=str(data), seed=42).load_samples(30)
    c = GPQADiamond(dataset_dir=str(data), seed=7).load_samples(None)
    assert [s.choices for s in a[:30]] == [s.choices for s in b]
    assert [s.target for s in a] != [s.target for s in c]
    counts = {x: sum(s.target == x for s in a) for x in "ABCD"}
    assert all(30 <= v <= 70 for v in counts.values()), counts  # not always the same letter
    for s, r in zip(a, rows, strict=True):
        assert s.choices["ABCD".index(s.target)] == r["Correct Answer"].strip()
    table = {"\n\n" + s.input + "\n\nA) " + s.choices[0]: (s.id, s.target, _wrong(s.target)) for s in a[:12]}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["gpqa_diamond"], data, limit=12)["gpqa_diamond"]
    assert rep.num == 12 and rep.score == pytest.approx(resp.expected())


# -- benchmarks without local data: rows in the real schema, written here --------------------------
def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_mmlu_pro_categories_and_cot_fewshot(tmp_path):
    root = tmp_path / "data"
    opts = [f"option {k}" for k in range(10)]

    def row(i, cat, ans):
        return {"question_id": i, "question": f"Question {i} about {cat}?", "options": opts, "answer": ans,
                "answer_index": "ABCDEFGHIJ".index(ans), "cot_content": f"A: Let's think step by step. Reason {i}. "
                f"The answer is ({ans}).", "category": cat, "src": "x"}

    _write_jsonl(root / "mmlu_pro" / "test.jsonl", [row(i, ["math", "law"][i % 2], "ABCDEFGHIJ"[i % 10]) for i in range(12)])
    _write_jsonl(root / "mmlu_pro" / "validation.jsonl", [row(100 + i, ["math", "law"][i % 2], "J") for i in range(10)])
    from evs_native.benchmarks.mmlu import MMLUPro

    b = MMLUPro({"subset_list": ["math"]}, dataset_dir=str(root))
    s = b.load_samples(None)[0]
    prompt = b.build_request(s).messages[-1]["content"]
    assert prompt.startswith("The following are multiple choice questions (with answers) about math.")
    assert prompt.count("ANSWER: J") == 5 and "Question 101" not in prompt  # 5 shots, all from math
    assert "J) option 9" in prompt and "one of A,B,C,D,E,F,G,H,I,J" in prompt
    table = {f"Question:\nQuestion {i} about": (str(i), "ABCDEFGHIJ"[i % 10], _wrong("ABCDEFGHIJ"[i % 10], 10))
             for i in range(12)}
    table = {k + " " + ["math", "law"][int(v[0]) % 2]: v for k, v in table.items()}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mmlu_pro"], root, dataset_args={"mmlu_pro": {"subset_list": ["math", "law"]}})
    rep = rep["mmlu_pro"]
    assert rep.num == 12 and rep.score == pytest.approx(resp.expected())
    assert [x.name for x in rep.subsets] == ["math", "law"]


def test_cmmlu_original_and_evalscope_columns(tmp_path):
    root = tmp_path / "data" / "cmmlu"
    for split in ("test", "dev"):
        (root / split).mkdir(parents=True)
        with open(root / split / "agronomy.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["", "Question", "A", "B", "C", "D", "Answer"])
            for i in range(6):
                w.writerow([i, f"农业问题{split}{i}是什么？", "甲", "乙", "丙", "丁", "ABCD"[i % 4]])
    table = {f"问题：农业问题test{i}是什么？": (f"agronomy_{i}", "ABCD"[i % 4], _wrong("ABCD"[i % 4])) for i in range(6)}
    resp = Responder(table, zh=True)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["cmmlu"], tmp_path / "data", dataset_args={"cmmlu": {"subset_list": ["agronomy"]}})
    rep = rep["cmmlu"]
    assert rep.num == 6 and rep.score == pytest.approx(resp.expected())
    assert [x.name for x in rep.subsets] == ["agronomy", "Other"]
    from evs_native.benchmarks.chinese_mcq import CMMLU

    s = CMMLU().record_to_sample({"question": "q", "choices": ["(A) 农业生产工具", "(B) 土地", "(C) 劳动力", "(D) 资金"],
                                  "answer": "(B)", "category": "agronomy"}, 0, "agronomy")
    assert s.choices == ["农业生产工具", "土地", "劳动力", "资金"] and s.target == "B"


def _hellaswag_row(i):
    return {"ind": i, "activity_label": "Removing ice from car", "ctx_a": f"Then, the man writes over the snow {i}.",
            "ctx_b": "then", "ctx": "...", "endings": [", the man adds wax.", ", a person boards a ski lift.",
                                                      ", the man puts on a coat [title] warm.", ", the man continues."],
            "source_id": "x", "split": "val", "split_type": "indomain", "label": str(i % 4)}


def test_hellaswag_generate_and_loglikelihood(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "hellaswag" / "validation.jsonl", [_hellaswag_row(i) for i in range(8)])
    from evs_native.benchmarks.commonsense import HellaSwag

    s = HellaSwag(dataset_dir=str(root)).load_samples(None)[1]
    assert s.input == "Removing ice from car: Then, the man writes over the snow 1. Then"
    assert s.choices[2] == ", the man puts on a coat. warm." and s.target == "B"
    table = {f"snow {i}. Then\n\nA)": (str(i), "ABCD"[i % 4], _wrong("ABCD"[i % 4])) for i in range(8)}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["hellaswag"], root)["hellaswag"]
    assert rep.num == 8 and rep.score == pytest.approx(resp.expected())
    ll = HellaSwag({"mode": "loglikelihood"}, dataset_dir=str(root))
    req = ll.build_request(s)
    assert req.prompt == s.input and req.continuations == [" " + c for c in s.choices]
    # option B has the best per-byte score, option D the best raw sum
    lps = [-30.0, -20.0, -40.0, -12.0]
    r = score_now(ll, s, ModelOutput(logprobs=lps))
    norm = [lp / len((" " + c).encode()) for lp, c in zip(lps, s.choices, strict=True)]
    assert r.scores["acc"] == 0.0 and r.scores["acc_norm"] == float(max(range(4), key=norm.__getitem__) == 1)


def test_winogrande_generate_and_partial_loglikelihood(tmp_path):
    root = tmp_path / "data"
    rows = [{"qID": f"q{i}", "sentence": f"Sarah was a much better surgeon than Maria so _ always got the harder cases {i}.",
             "option1": "Sarah", "option2": "Maria", "answer": "12"[i % 2]} for i in range(6)]
    _write_jsonl(root / "winogrande" / "validation.jsonl", rows)
    table = {f"harder cases {i}.": (f"q{i}", "AB"[i % 2], "BA"[i % 2]) for i in range(6)}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["winogrande"], root)["winogrande"]
    assert rep.num == 6 and rep.score == pytest.approx(resp.expected())
    from evs_native.benchmarks.commonsense import WinoGrande

    b = WinoGrande({"mode": "loglikelihood"}, dataset_dir=str(root))
    s = b.load_samples(1)[0]
    req = b.build_request(s)
    assert req.prompt == "Sarah was a much better surgeon than Maria so "
    assert req.continuations == ["Sarah always got the harder cases 0.", "Maria always got the harder cases 0.",
                                 "Sarah", "Maria"]
    # P(rest | ... Sarah) = -10 - (-4) = -6 ; P(rest | ... Maria) = -9 - (-1) = -8: Sarah (A) wins, though
    # the whole "Maria …" continuation is more likely.
    r = score_now(b, s, ModelOutput(logprobs=[-10.0, -9.0, -4.0, -1.0]))
    assert r.extracted == "A" and r.scores == {"acc": 1.0}


def test_race_subsets_fewshot_and_scoring(tmp_path):
    root = tmp_path / "data"
    for sub in ("high", "middle"):
        for split, n in (("test", 4), ("train", 4)):
            _write_jsonl(root / "race" / sub / f"{split}.jsonl", [
                {"example_id": f"{sub}{split}1.txt", "article": f"Article {sub} {split} {i}. Tom likes apples.",
                 "question": f"What does Tom like ({sub} {split} {i})?", "options": ["pears", "apples", "figs", "nuts"],
                 "answer": "ABCD"[(i + 1) % 4]} for i in range(n)])
    table = {f"What does Tom like ({sub} test {i})?": (f"{sub}{i}", "ABCD"[(i + 1) % 4], _wrong("ABCD"[(i + 1) % 4]))
             for sub in ("high", "middle") for i in range(4)}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["race"], root)["race"]
    assert rep.num == 8 and rep.score == pytest.approx(resp.expected())
    prompt = srv.requests[0]["messages"][-1]["content"]
    assert prompt.count("Article:\n") == 4  # three examples from train + the question
    with pytest.raises(ConfigError, match="at most 3"):
        from evs_native.benchmarks.commonsense import RACE

        RACE({"few_shot_num": 5})


def _tqa_row(i):
    return {"question": f"What happens if you eat watermelon seeds {i}?",
            "mc1_targets": {"choices": ["Nothing happens", "You grow watermelons", "You die", "You get sick"],
                            "labels": [1, 0, 0, 0]},
            "mc2_targets": {"choices": ["Nothing happens", "They pass through you", "You grow watermelons", "You die"],
                            "labels": [1, 1, 0, 0]}}


def test_truthful_qa_generate_mc1_shuffled(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "truthful_qa" / "validation.jsonl", [_tqa_row(i) for i in range(9)])
    from evs_native.benchmarks.truthful_qa import TruthfulQA

    samples = TruthfulQA(dataset_dir=str(root)).load_samples(None)
    assert len({s.target for s in samples}) > 1  # the true answer is not always A
    assert all(s.choices["ABCD".index(s.target)] == "Nothing happens" for s in samples)
    table = {f"seeds {s.id}?\nA:\n\nA)": (s.id, s.target, _wrong(s.target)) for s in samples}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["truthful_qa"], root)["truthful_qa"]
    assert rep.metric == "mc1" and rep.num == 9 and rep.score == pytest.approx(resp.expected())
    assert "Q: Where were the 1992 Olympics held?" in srv.requests[0]["messages"][-1]["content"]


def test_truthful_qa_loglikelihood_mc1_mc2(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "truthful_qa" / "validation.jsonl", [_tqa_row(0)])
    from evs_native.benchmarks.truthful_qa import TruthfulQA, mc2_score

    b = TruthfulQA({"mode": "loglikelihood"}, dataset_dir=str(root))
    s = b.load_samples(None)[0]
    req = b.build_request(s)
    assert req.prompt.endswith("Q: What happens if you eat watermelon seeds 0?\nA:") and len(req.continuations) == 8
    mc1 = [-2.0, -1.0, -5.0, -6.0]  # a false answer is the most likely: mc1 = 0
    mc2 = [math.log(0.3), math.log(0.2), math.log(0.4), math.log(0.1)]
    r = score_now(b, s, ModelOutput(logprobs=mc1 + mc2))
    assert r.scores["mc1"] == 0.0
    assert r.scores["mc2"] == pytest.approx(0.5)  # (0.3 + 0.2) / 1.0
    assert mc2_score([-1000.0], [-1001.0]) == pytest.approx(1 / (1 + math.exp(-1)))


def test_truthful_qa_generate_mc2_multiple_answers(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "truthful_qa" / "validation.jsonl", [_tqa_row(i) for i in range(4)])
    from evs_native.benchmarks.truthful_qa import TruthfulQA, extract_letters

    b = TruthfulQA({"multiple_correct": True}, dataset_dir=str(root))
    s = b.load_samples(None)[0]
    assert len(s.target) == 2 and b.primary_metric == "mc2"
    assert extract_letters("I think so.\nANSWER: C, A", "ABCD") == {"A", "C"}
    assert extract_letters("ANSWER: A and D", "ABCD") == {"A", "D"}
    assert extract_letters("ANSWER: BD", "ABCD") == {"B", "D"}
    t = "".join(sorted(s.target))
    assert score_now(b, s, ModelOutput(text=f"ANSWER: {t[1]}, {t[0]}")).scores == {"mc2": 1.0}
    assert score_now(b, s, ModelOutput(text=f"ANSWER: {t[0]}")).scores == {"mc2": 0.0}
