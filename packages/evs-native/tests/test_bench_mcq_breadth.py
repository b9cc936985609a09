"""Knowledge/reasoning multiple-choice and yes/no benchmarks matched to EvalScope's adapters: each run end
to end (= ``evs eval``) on a few rows written here in the Hub schema, against a fake server whose answers
are decided from the gold data by a hash, so the expected score is known without evs's extraction."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.engine import run_task

L = "ABCDEFGHIJ"


def right(key: str) -> bool:
    """A reproducible 2-in-3 choice of the questions the fake model answers right."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _run(srv, tmp_path, datasets, data, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": datasets, "dataset_dir": str(data),
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


class Responder:
    """Finds which question a prompt asks (the key found last in it) and answers it right or wrong, in the
    styles chat models use: a final 'ANSWER:' line, 'The answer is (X)', bold, a reasoning block that names
    another letter before the answer, Chinese '答案：X', the bracketed '[X]' MaritimeBench asks for."""

    STYLES = [
        "Let me think. Option {w} looks tempting, but it ignores a detail.\nANSWER: {a}",
        "<think>Maybe it is {w}? Let me check again... the answer is {w}? No.</think>\nThe answer is ({a}).",
        "Comparing the options, {w}) is wrong.\n\n**Answer: {a}**",
        "ANSWER: {a}",
    ]

    def __init__(self, table: dict[str, tuple[str, str, str]], style: str = "en"):
        self.table = table  # text found in the prompt -> (sample key, gold answer, a wrong answer)
        self.style = style
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
        n = len(self.asked)
        if self.style == "zh":
            return [f"选项{w}不对，因为它与题意不符。\n答案：{a}", f"<think>也许是{w}。</think>\n分析后，答案：{a}"][n % 2]
        if self.style == "bracket":
            return [f"[{a}]", f"<think>[{w}]?</think>答：[{a}]"][n % 2]
        if self.style == "word":  # yes/no benchmarks: the gold/other word
            return [f"{a.capitalize()}", f"<think>Is it {w}? I doubt it.</think>\n{a}", f"#Your Judgement#: {a}"][n % 3]
        return self.STYLES[n % len(self.STYLES)].format(a=a, w=w)

    def expected(self, keys=None) -> float:
        vals = [v for k, v in self.asked.items() if keys is None or k in keys]
        return sum(vals) / len(vals)


def _wrong(gold: str, n: int = 4) -> str:
    return L[(L.index(gold) + 1) % n]


# -- the spec benchmarks: plain rows {question, choices, answer} -----------------------------------
SPECS = {  # name -> (eval split, options per question, extra columns, Chinese prompt, subsets)
    "commonsense_qa": ("validation", 5, {}, False, None),
    "piqa": ("validation", 2, {}, False, None),
    "siqa": ("validation", 3, {}, False, None),
    "sciq": ("test", 4, {}, False, None),
    "qasc": ("validation", 8, {}, False, None),
    "logi_qa": ("test", 4, {"context": "Five districts are planned around a park."}, False, None),
    "med_mcqa": ("validation", 4, {}, False, None),
    "math_qa": ("test", 5, {"reasoning": "\"price = 100 * 1.38 answer a\""}, False, None),
    "iquiz": ("test", 4, {"level": 1}, True, ["IQ", "EQ"]),
    "music_trivia": ("test", 4, {}, False, None),
    "mri_mcqa": ("test", 4, {}, False, None),
    "biomix_qa": ("test", 5, {}, False, None),
}


def _spec_rows(name, n_opts, extra, subset=""):
    rows = []
    for i in range(6):
        gold = L[(i * 3 + len(name)) % n_opts]
        rows.append({"question": f"Question {name}{subset} {i}: which option is right?",
                     "choices": [f"{name} option {k} of {i}" for k in range(n_opts)], "answer": gold, **extra})
    return rows


@pytest.mark.parametrize("name", list(SPECS))
def test_spec_benchmarks_end_to_end(name, tmp_path):
    split, n_opts, extra, zh, subsets = SPECS[name]
    root = tmp_path / "data"
    table = {}
    for sub in subsets or [""]:
        rows = _spec_rows(name, n_opts, extra, sub)
        _write_jsonl(root / name / sub / f"{split}.jsonl" if sub else root / name / f"{split}.jsonl", rows)
        for i, r in enumerate(rows):
            table[r["question"]] = (f"{sub}{i}", r["answer"], _wrong(r["answer"], n_opts))
    resp = Responder(table, "zh" if zh else "en")
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, [name], root)[name]
    n = 6 * len(subsets or [""])
    assert rep.num == n and rep.num_errors == 0
    assert rep.score == pytest.approx(resp.expected())
    prompt = srv.requests[0]["messages"][-1]["content"]
    letters = ",".join(L[:n_opts])
    if zh:
        assert prompt.startswith("回答下面的单项选择题") and f"其中 [LETTER] 是 {letters} 中的一个" in prompt
        assert "\n选项：\nA) " in prompt
    else:
        assert prompt.startswith("Answer the following multiple choice question.")
        assert f"where [LETTER] is one of {letters}." in prompt
        assert ("Think step by step" in prompt) == (name == "math_qa")  # only MathQA uses the CoT template
    if name == "logi_qa":
        assert "Five districts are planned around a park.\nQuestion logi_qa" in prompt
    if subsets:
        by = {s.name: s for s in rep.subsets}
        for sub in subsets:
            assert by[sub].score == pytest.approx(sum(right(f"{sub}{i}") for i in range(6)) / 6)


def test_commonsense_qa_prompt_is_evalscopes(tmp_path):
    """The prompt EvalScope renders for its first CommonsenseQA validation row, character for character."""
    root = tmp_path / "data"
    _write_jsonl(root / "commonsense_qa" / "validation.jsonl", [
        {"question": "A revolving door is convenient for two direction travel, but it also serves as a security "
                     "measure at a what?", "choices": ["bank", "library", "department store", "mall", "new york"],
         "answer": "A"}])
    from evs_core.registry import get_registries

    b = get_registries().benchmarks.load("commonsense_qa")(dataset_dir=str(root))
    s = b.load_samples(None)[0]
    assert b.build_request(s).messages[-1]["content"] == (
        "Answer the following multiple choice question. The entire content of your response should be of the "
        "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of A,B,C,D,E.\n\nA revolving "
        "door is convenient for two direction travel, but it also serves as a security measure at a what?\n\n"
        "A) bank\nB) library\nC) department store\nD) mall\nE) new york")
    assert s.target == "A"


def test_iquiz_prompt_is_evalscopes(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "iquiz" / "IQ" / "test.jsonl", [
        {"question": "天气预报说本周星期三会下雨，昨天果然下雨了，今天星期几？", "choices": ["星期一", "星期二", "星期三", "星期四"],
         "answer": "D", "level": 1}])
    from evs_core.registry import get_registries

    b = get_registries().benchmarks.load("iquiz")({"subset_list": ["IQ"]}, dataset_dir=str(root))
    s = b.load_samples(None)[0]
    assert b.build_request(s).messages[-1]["content"] == (
        "回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式：\"答案：[LETTER]\"（不带引号），其中 [LETTER] 是 "
        "A,B,C,D 中的一个。请在回答前进行一步步思考。\n\n问题：天气预报说本周星期三会下雨，昨天果然下雨了，今天星期几？\n选项：\nA) 星期一\n"
        "B) 星期二\nC) 星期三\nD) 星期四\n")
    assert s.metadata == {"level": 1}


def test_spec_bad_gold_and_loglikelihood(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "piqa" / "validation.jsonl", [
        {"question": "To open a jar,", "choices": ["twist the lid", "freeze it"], "answer": "A"}])
    from evs_core.registry import get_registries

    piqa = get_registries().benchmarks.load("piqa")
    b = piqa({"mode": "loglikelihood"}, dataset_dir=str(root))
    s = b.load_samples(None)[0]
    req = b.build_request(s)
    assert req.kind == "loglikelihood" and req.prompt == "Question: To open a jar,\nAnswer:"
    assert req.continuations == [" twist the lid", " freeze it"]
    r = score_now(b, s, ModelOutput(logprobs=[-3.0, -9.0]))
    assert r.scores == {"acc": 1.0, "acc_norm": 1.0}
    _write_jsonl(root / "piqa" / "validation.jsonl", [
        {"question": "To open a jar,", "choices": ["twist the lid", "freeze it"], "answer": "maybe"}])
    with pytest.raises(ConfigError, match=r"validation.jsonl: row 1 .*'maybe' is not an option letter"):
        piqa(dataset_dir=str(root)).load_samples(None)


def test_spec_extraction_on_realistic_replies(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "sciq" / "test.jsonl", [
        {"question": "What do plants absorb?", "choices": ["oxygen", "carbon dioxide", "helium", "neon"],
         "answer": "B"}])
    from evs_core.registry import get_registries

    b = get_registries().benchmarks.load("sciq")(dataset_dir=str(root))
    s = b.load_samples(None)[0]

    def ext(text):
        return score_now(b, s, ModelOutput(text=text)).extracted

    assert ext("ANSWER: B") == "B"
    assert ext("**ANSWER: B**") == "B"
    assert ext("<think>Is it A? The answer is A... no.</think>\nANSWER: B") == "B"
    assert ext("Plants take in A) oxygen? No: the correct answer is (B) carbon dioxide.") == "B"
    assert ext("The answer is carbon dioxide.") == "B"
    assert ext("I cannot answer this question.") is None
    assert score_now(b, s, ModelOutput(text="I cannot answer this question.")).scores == {"acc": 0.0}


# -- MMLU-Redux ------------------------------------------------------------------------------------
def _redux_rows():
    base = {"question": "", "choices": ["w", "x", "y", "z"], "answer": 0, "error_type": "ok", "source": "s",
            "correct_answer": None, "potential_reason": ""}
    return [
        {**base, "question": "Redux q0 ok", "answer": 2},
        {**base, "question": "Redux q1 wrong gt index", "answer": 0, "error_type": "wrong_groundtruth",
         "correct_answer": "3"},
        {**base, "question": "Redux q2 wrong gt letter", "answer": 0, "error_type": "wrong_groundtruth",
         "correct_answer": "B"},
        {**base, "question": "Redux q3 no correct", "answer": 1, "error_type": "no_correct_answer",
         "correct_answer": "the right text"},
        {**base, "question": "Redux q4 multiple", "answer": 0, "error_type": "multiple_correct_answers",
         "correct_answer": "(0 and 2)"},
        {**base, "question": "Redux q5 multiple letters", "answer": 0, "error_type": "multiple_correct_answers",
         "correct_answer": "B, D"},
    ]


def test_mmlu_redux_corrections_inclusion_and_categories(tmp_path):
    root = tmp_path / "data"
    rows = _redux_rows()
    for sub in ("anatomy", "philosophy"):
        _write_jsonl(root / "mmlu_redux" / sub / "test.jsonl", [{**r, "question": f"{r['question']} {sub}"} for r in rows])
    # the accepted letters of each row, worked out by hand from the annotation
    gold = [["C"], ["D"], ["B"], ["B"], ["A", "C"], ["B", "D"]]
    table = {}
    for sub in ("anatomy", "philosophy"):
        for i, g in enumerate(gold):  # right: the last accepted letter (not always the original key)
            table[f"{rows[i]['question']} {sub}\n"] = (f"{sub}{i}", g[-1], next(x for x in "ABCD" if x not in g))
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mmlu_redux"], root,
                   dataset_args={"mmlu_redux": {"subset_list": ["anatomy", "philosophy"]}})["mmlu_redux"]
    assert rep.num == 12 and rep.num_errors == 0
    assert rep.score == pytest.approx(resp.expected())
    by = {s.name: s for s in rep.subsets}
    assert by["Other"].kind == "category" and by["Other"].score == pytest.approx(by["anatomy"].score)
    assert by["Humanities"].score == pytest.approx(resp.expected([f"philosophy{i}" for i in range(6)]))
    prompts = [r["messages"][-1]["content"] for r in srv.requests]
    assert any("B) the right text" in p for p in prompts)  # the annotated answer replaces the keyed option
    with pytest.raises(ConfigError, match="zero-shot"):
        from evs_native.benchmarks.mcq_breadth import MMLURedux

        MMLURedux({"few_shot_num": 5})


def test_mmlu_redux_targets():
    from evs_native.benchmarks.mcq_breadth import redux_targets

    rows = _redux_rows()
    assert [redux_targets(r)[1] for r in rows] == [["C"], ["D"], ["B"], ["B"], ["A", "C"], ["B", "D"]]
    assert redux_targets(rows[3])[0] == ["w", "the right text", "y", "z"]
    texts = {**rows[4], "choices": ["red", "green", "blue", "gray"], "correct_answer": "green or gray"}
    assert redux_targets(texts)[1] == ["B", "D"]
    assert redux_targets({**rows[4], "correct_answer": "nothing listed"})[1] == ["A", "B", "C", "D"]


# -- MMMLU -----------------------------------------------------------------------------------------
def test_mmmlu_per_language_prompts_and_scores(tmp_path):
    root = tmp_path / "data"
    langs = ["ZH_CN", "DE_DE", "SW_KE"]
    table = {}
    for lang in langs:
        rows = [{"Unnamed: 0": i, "Question": f"Frage {lang} {i}?", "A": "0", "B": "4", "C": "2", "D": "6",
                 "Answer": "ABCD"[(i + 1) % 4], "Subject": "abstract_algebra"} for i in range(5)]
        _write_jsonl(root / "mmmlu" / lang / "test.jsonl", rows)
        for i, r in enumerate(rows):
            table[r["Question"]] = (f"{lang}{i}", r["Answer"], _wrong(r["Answer"]))
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mmmlu"], root, dataset_args={"mmmlu": {"subset_list": langs}})["mmmlu"]
    assert rep.num == 15 and rep.score == pytest.approx(resp.expected())
    for s in rep.subsets:
        assert s.score == pytest.approx(resp.expected([f"{s.name}{i}" for i in range(5)]))
    prompts = {r["messages"][-1]["content"].split("\n\n")[1]: r["messages"][-1]["content"] for r in srv.requests}
    assert prompts["Frage ZH_CN 0?"].startswith("回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式：'ANSWER: [LETTER]'")
    assert prompts["Frage DE_DE 0?"].startswith("Beantworte die folgende Multiple-Choice-Frage.")
    assert prompts["Frage SW_KE 0?"].endswith("Frage SW_KE 0?\n\nA) 0\nB) 4\nC) 2\nD) 6")


# -- SuperGPQA -------------------------------------------------------------------------------------
def _sg_row(i, field, discipline):
    opts = [f"value {k}" for k in range(10)]
    ans = L[(i * 7) % 10]
    return {"uuid": f"u{field[:3]}{i}", "question": f"SuperGPQA {field} question {i}?", "options": opts,
            "answer": opts[L.index(ans)], "answer_letter": ans, "discipline": discipline, "field": field,
            "subfield": "x", "difficulty": "middle", "is_calculation": False}


def test_super_gpqa_fields_disciplines_and_five_shot(tmp_path):
    root = tmp_path / "data"
    rows = [_sg_row(i, f, d) for i in range(4) for f, d in (("Physics", "Science"), ("Law", "Law"),
                                                              ("Mathematics", "Science"))]
    _write_jsonl(root / "super_gpqa" / "train.jsonl", rows)
    table = {r["question"]: (r["uuid"], r["answer_letter"], _wrong(r["answer_letter"], 10)) for r in rows}
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["super_gpqa"], root,
                   dataset_args={"super_gpqa": {"subset_list": ["Physics", "Law", "Mathematics"]}})["super_gpqa"]
    assert rep.num == 12 and rep.score == pytest.approx(resp.expected())
    by = {s.name: s for s in rep.subsets}
    assert by["Science"].kind == "category" and by["Science"].num == 8
    assert by["Science"].score == pytest.approx(resp.expected([r["uuid"] for r in rows if r["discipline"] == "Science"]))
    assert "one of A,B,C,D,E,F,G,H,I,J" in srv.requests[0]["messages"][-1]["content"]
    from evs_native.benchmarks.mcq_breadth import SuperGPQA

    b = SuperGPQA({"few_shot_num": 5, "subset_list": ["Law"]}, dataset_dir=str(root))
    s = b.load_samples(None)[0]
    p = b.build_request(s).messages[-1]["content"]
    assert p.startswith("Here are some examples of how to answer similar questions:\n\nAnswer the following")
    assert p.count("Question:\n") == 5 and "\\frac{D}{2}" in p and p.endswith("J) value 9")
    # five-shot: a reply that goes on to invent the next question is read up to it
    r = score_now(b, s, ModelOutput(text=f"ANSWER: {s.target}\n\nQuestion:\nNext one?\nANSWER: {_wrong(s.target, 10)}"))
    assert r.extracted == s.target
    with pytest.raises(ConfigError, match="0 or 5"):
        SuperGPQA({"few_shot_num": 3})


# -- AGIEval ---------------------------------------------------------------------------------------
def test_agieval_single_multi_and_cloze(tmp_path):
    pytest.importorskip("math_verify")
    root = tmp_path / "data"
    en = [{"passage": None, "question": f"Q: AQuA {i}: find x.", "options": ["(A)1", "(B)2", "(C)3", "(D)4", "(E)5"],
           "label": "ABCDE"[i % 5], "other": None, "explanation": None} for i in range(4)]
    zh = [{"passage": f"材料{i}。", "question": f"地理问题{i}？", "options": ["(A)甲", "(B)乙", "(C)丙", "(D)丁"],
           "label": "ABCD"[i % 4], "other": None, "explanation": None} for i in range(4)]
    multi = [{"passage": None, "question": f"物理多选题{i}？", "options": ["(A)甲", "(B)乙", "(C)丙", "(D)丁"],
              "label": str(["A", "C"] if i % 2 else ["B"]), "other": None, "explanation": None} for i in range(4)]
    cloze = [{"passage": None, "question": f"Compute {i} + 1/2.", "options": None, "label": None,
              "answer": f"\\frac{{{2 * i + 1}}}{{2}}", "other": None} for i in range(4)]
    for sub, rows in (("aqua-rat", en), ("gaokao-geography", zh), ("gaokao-physics", multi), ("math", cloze)):
        _write_jsonl(root / "agieval" / sub / "test.jsonl", rows)
    keys = {}

    def reply(body):
        p = last_user_text(body)
        for sub, rows in (("aqua-rat", en), ("gaokao-geography", zh), ("gaokao-physics", multi), ("math", cloze)):
            for i, r in enumerate(rows):
                if r["question"] in p:
                    k = f"{sub}{i}"
                    ok = keys[k] = right(k)
                    if sub == "math":
                        return f"1/2 + {i} = {2 * i + 1}/2.\n\n\\boxed{{{(2 * i + 1) / 2 if ok else i}}}"
                    gold = "".join(sorted(ast.literal_eval(r["label"]))) if sub == "gaokao-physics" else r["label"]
                    ans = gold if ok else ("D" if gold != "D" else "A")
                    if sub == "gaokao-physics":
                        return f"逐项分析。\n答案：{','.join(ans)}"
                    return f"分析后。\n答案：{ans}" if sub == "gaokao-geography" else f"Reasoning.\nANSWER: {ans}"
        raise AssertionError(p[-200:])

    with FakeOpenAIServer(reply) as srv:
        rep = _run(srv, tmp_path, ["agieval"], root, dataset_args={
            "agieval": {"subset_list": ["aqua-rat", "gaokao-geography", "gaokao-physics", "math"]}})["agieval"]
    assert rep.num == 16 and rep.num_errors == 0
    assert rep.score == pytest.approx(sum(keys.values()) / 16)
    for s in rep.subsets:
        assert s.score == pytest.approx(sum(v for k, v in keys.items() if k[:-1] == s.name) / 4)
    prompts = [r["messages"][-1]["content"] for r in srv.requests]
    assert any(p.startswith("回答下面的多项选择题") and "物理多选题" in p for p in prompts)
    assert any(p.startswith("回答下面的单项选择题") and "问题：材料0。\n\n地理问题0？\n选项：\nA) (A)甲" in p for p in prompts)
    assert any(p == "Compute 0 + 1/2.\nPlease reason step by step, and put your final answer within \\boxed{}."
               for p in prompts)


# -- MuSR ------------------------------------------------------------------------------------------
def test_musr_splits_are_subsets(tmp_path):
    root = tmp_path / "data"
    table = {}
    for sub in ("murder_mysteries", "team_allocation"):
        rows = [{"narrative": f"A long story {sub} {i}.", "question": "Who is the most likely murderer?",
                 "choices": str(["Mackenzie", "Ana"] if sub == "murder_mysteries" else ["P", "Q", "R"]),
                 "answer_index": i % 2, "answer_choice": "x"} for i in range(4)]
        _write_jsonl(root / "musr" / f"{sub}.jsonl", rows)
        for i, r in enumerate(rows):
            table[r["narrative"]] = (f"{sub}{i}", "AB"[i % 2], "BA"[i % 2])
    resp = Responder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["musr"], root,
                   dataset_args={"musr": {"subset_list": ["murder_mysteries", "team_allocation"]}})["musr"]
    assert rep.num == 8 and rep.score == pytest.approx(resp.expected())
    assert [s.name for s in rep.subsets] == ["murder_mysteries", "team_allocation"]
    p = srv.requests[0]["messages"][-1]["content"]
    assert "\n\nWho is the most likely murderer?\n\nA) " in p and "Think step by step" in p


# -- MaritimeBench ---------------------------------------------------------------------------------
def test_maritime_bench_bracketed_answers(tmp_path):
    root = tmp_path / "data"
    rows = [{"id": i, "question": f"船舶电力系统问题{i}______。", "A": "②③", "B": "①③", "C": "②④", "D": "①④",
             "answer": "ABCD"[i % 4]} for i in range(6)]
    _write_jsonl(root / "maritime_bench" / "test.jsonl", rows)
    resp = Responder({r["question"]: (str(i), r["answer"], _wrong(r["answer"])) for i, r in enumerate(rows)}, "bracket")
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["maritime_bench"], root)["maritime_bench"]
    assert rep.num == 6 and rep.score == pytest.approx(resp.expected())
    p = srv.requests[0]["messages"][-1]["content"]
    assert p.startswith("请回答单选题。要求只输出选项，不输出解释，将选项放在[]里，直接输出答案。示例：\n\n题目：在船舶主推进动力装置中")
    assert "答：[A]\n 当前题目\n 船舶电力系统问题" in p and p.endswith("______。\n选项：\nA. ②③\nB. ①③\nC. ②④\nD. ①④")
    from evs_native.benchmarks.mcq_breadth import MaritimeBench

    b = MaritimeBench(dataset_dir=str(root))
    s = b.load_samples(1)[0]
    assert score_now(b, s, ModelOutput(text="答案是A")).extracted is None  # no brackets: no answer, as EvalScope
    assert score_now(b, s, ModelOutput(text="<think>[B]</think>[A]")).extracted == "A"


# -- PubMedQA and HaluEval: yes/no with confusion-matrix metrics -------------------------------------
def _confusion(golds, preds, classes):
    """Per-class precision/recall/F1 macro-averaged, from (gold, predicted) pairs written out by hand."""
    ps, rs, fs = [], [], []
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(golds, preds, strict=True))
        pp = sum(p == c for p in preds)
        ap = sum(g == c for g in golds)
        p = tp / pp if pp else 0.0
        r = tp / ap if ap else 0.0
        ps.append(p)
        rs.append(r)
        fs.append(2 * p * r / (p + r) if p + r else 0.0)
    return sum(ps) / len(ps), sum(rs) / len(rs), sum(fs) / len(fs)


def test_pubmedqa_end_to_end_metrics(tmp_path):
    root = tmp_path / "data"
    golds = ["yes", "no", "maybe", "yes", "no", "yes", "maybe", "no", "yes"]
    rows = [{"id": i, "question": f"Does drug {i} help?", "context": f"Abstract text {i}.", "answer": g,
             "reasoning": "r"} for i, g in enumerate(golds)]
    _write_jsonl(root / "pubmedqa" / "test.jsonl", rows)
    wrong_of = {"YES": "NO", "NO": "MAYBE", "MAYBE": "YES"}
    table = {f"Does drug {i} help?": (str(i), g.upper(), wrong_of[g.upper()]) for i, g in enumerate(golds)}
    resp = Responder(table, "word")
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["pubmedqa"], root)["pubmedqa"]
    assert rep.num == 9 and rep.metric == "accuracy"
    preds = [g.upper() if right(str(i)) else wrong_of[g.upper()] for i, g in enumerate(golds)]
    G = [g.upper() for g in golds]
    assert rep.score == pytest.approx(sum(p == g for p, g in zip(preds, G, strict=True)) / 9)
    p, r, f = _confusion(G, preds, ["YES", "NO", "MAYBE"])
    m = rep.metrics
    assert m["precision"].score == pytest.approx(p) and m["recall"].score == pytest.approx(r)
    assert m["f1_score"].score == pytest.approx(f)
    assert m["yes_ratio"].score == pytest.approx(preds.count("YES") / 9)
    assert m["maybe_ratio"].score == pytest.approx(preds.count("MAYBE") / 9)
    assert srv.requests[0]["messages"][-1]["content"].endswith(
        "\n\nQuestion: Does drug 0 help?\nPlease answer YES or NO or MAYBE without an explanation.")
    assert srv.requests[0]["messages"][-1]["content"].startswith("Abstract: Abstract text 0.")


def test_pubmedqa_word_matching():
    from evs_native.benchmarks.mcq_breadth import PubMedQA

    b = PubMedQA()
    s = b.record_to_sample({"question": "q", "context": "c", "answer": "no", "reasoning": ""}, 0, "default")
    assert score_now(b, s, ModelOutput(text="No.")).scores == {"accuracy": 1.0}
    assert score_now(b, s, ModelOutput(text="Unknown")).scores == {"accuracy": 0.0}  # NO inside a word
    assert score_now(b, s, ModelOutput(text="<think>no?</think>Yes")).scores == {"accuracy": 0.0}


def test_halueval_subsets_and_metrics(tmp_path):
    root = tmp_path / "data"
    data = {
        "dialogue_samples": [{"knowledge": f"k{i}", "dialogue_history": f"[Human]: film {i}?", "response": "r",
                              "hallucination": "yes" if i % 2 else "no"} for i in range(4)],
        "qa_samples": [{"knowledge": f"k{i}", "question": f"Which band {i}?", "answer": "Muse",
                        "hallucination": "no" if i % 3 else "yes"} for i in range(4)],
        "summarization_samples": [{"document": f"Doc {i}.", "summary": f"Sum {i}.",
                                   "hallucination": "yes"} for i in range(4)],
    }
    table = {}
    for sub, rows in data.items():
        _write_jsonl(root / "halueval" / sub / "data.jsonl", rows)
        for i, r in enumerate(rows):
            key = {"dialogue_samples": f"#Dialogue History#: [Human]: film {i}?",
                   "qa_samples": f"#Question#: Which band {i}?", "summarization_samples": f"#Document#: Doc {i}."}[sub]
            g = r["hallucination"].upper()
            table[key] = (f"{sub}{i}", g, "NO" if g == "YES" else "YES")
    resp = Responder(table, "word")
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["halueval"], root)["halueval"]
    assert rep.num == 12 and rep.num_errors == 0

    def expect(subs):
        golds, preds = [], []
        for sub in subs:
            for i, r in enumerate(data[sub]):
                g = r["hallucination"].upper()
                golds.append(g)
                preds.append(g if right(f"{sub}{i}") else ("NO" if g == "YES" else "YES"))
        tp = sum(g == p == "YES" for g, p in zip(golds, preds, strict=True))
        pp, ap = preds.count("YES"), golds.count("YES")
        prec, rec = (tp / pp if pp else 0.0), (tp / ap if ap else 0.0)
        return (sum(g == p for g, p in zip(golds, preds, strict=True)) / len(golds), prec, rec,
                2 * prec * rec / (prec + rec) if prec + rec else 0.0, pp / len(golds))

    acc, prec, rec, f1, yes = expect(list(data))
    assert rep.score == pytest.approx(acc)
    assert rep.metrics["precision"].score == pytest.approx(prec) and rep.metrics["recall"].score == pytest.approx(rec)
    assert rep.metrics["f1_score"].score == pytest.approx(f1) and rep.metrics["yes_ratio"].score == pytest.approx(yes)
    for s in rep.subsets:
        a, p, _r, _f, _y = expect([s.name])
        assert s.score == pytest.approx(a) and s.metrics["precision"].score == pytest.approx(p)
    prompts = [r["messages"][-1]["content"] for r in srv.requests]
    qa = next(p for p in prompts if "#Question#: Which band 0?" in p)
    assert qa.startswith("I want you act as an answer judge.")
    assert qa.endswith('The answer you give MUST be "Yes" or "No"".\n\n\n#Knowledge: k0\n#Question#: Which band 0?\n'
                       "#Answer#: Muse\n#Your Judgement#:")


def test_bad_rows_stop_before_requests(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "halueval" / "qa_samples" / "data.jsonl", [
        {"knowledge": "k", "question": "q", "answer": "a", "hallucination": "perhaps"}])
    with FakeOpenAIServer(lambda body: "Yes") as srv:
        with pytest.raises(ConfigError, match=r"halueval.*'perhaps' is not yes or no"):
            _run(srv, tmp_path, ["halueval"], root, dataset_args={"halueval": {"subset_list": ["qa_samples"]}})
        assert srv.requests == []
    _write_jsonl(root / "musr" / "murder_mysteries.jsonl", [
        {"narrative": "n", "question": "q", "choices": "['a', 'b']", "answer_index": 5}])
    from evs_native.benchmarks.mcq_breadth import MuSR

    with pytest.raises(ConfigError, match=r"musr.*row 1.*answer_index 5 out of range"):
        MuSR({"subset_list": ["murder_mysteries"]}, dataset_dir=str(root)).load_samples(None)


def test_listed_without_importing_code():
    from evs_core.registry import get_registries
    from evs_core.specfile import listing_info

    regs = get_registries()
    names = ["mmlu_redux", "mmmlu", "super_gpqa", "agieval", "commonsense_qa", "piqa", "siqa", "sciq", "qasc",
             "logi_qa", "med_mcqa", "pubmedqa", "math_qa", "iquiz", "halueval", "musr", "music_trivia",
             "maritime_bench", "mri_mcqa", "biomix_qa"]
    for n in names:
        info = listing_info(regs.benchmarks.entry(n))
        assert info["num_samples"] and info["subsets"] and info["tags"][0] in {
            "knowledge", "reasoning", "commonsense", "math", "medical", "hallucination"}, n
        assert re.search(r"EvalScope", info["description"]) or regs.benchmarks.entry(n).target.endswith(".yaml"), n


def test_agieval_multi_answer_and_redux_loglikelihood_extraction(tmp_path):
    from evs_native.benchmarks.mcq_breadth import AGIEval, MMLURedux

    b = AGIEval({"subset_list": ["jec-qa-kd"]})
    s = b.record_to_sample({"passage": None, "question": "法律多选题？", "options": ["(A)甲", "(B)乙", "(C)丙", "(D)丁"],
                            "label": ["C", "A"]}, 0, "jec-qa-kd")
    assert s.target == "AC"
    for text, acc in (("分析。\n答案：AC", 1.0), ("答案：A,C", 1.0), ("<think>答案：B</think>\n答案：C、A", 1.0),
                      ("答案：A", 0.0), ("我不确定。", 0.0)):
        assert score_now(b, s, ModelOutput(text=text)).scores == {"acc": acc}, text
    r = MMLURedux({"mode": "loglikelihood", "subset_list": ["anatomy"]})
    s = r.record_to_sample(_redux_rows()[4], 0, "anatomy")  # accepted: A and C
    assert s.target == ["A", "C"]
    req = r.build_request(s)
    assert req.kind == "loglikelihood" and req.continuations == [" A", " B", " C", " D"]
    assert score_now(r, s, ModelOutput(logprobs=[-4.0, -3.0, -1.0, -5.0])).scores == {"acc": 1.0}
    assert score_now(r, s, ModelOutput(logprobs=[-4.0, -0.5, -1.0, -5.0])).scores == {"acc": 0.0}
    with pytest.raises(ConfigError, match="single-answer subsets only"):
        AGIEval({"mode": "loglikelihood", "subset_list": ["math"]})


def test_fewshot_block_is_evalscopes(tmp_path):
    root = tmp_path / "data"
    _write_jsonl(root / "med_mcqa" / "train.jsonl", [
        {"question": f"Train q{i}?", "choices": ["a", "b", "c", "d"], "answer": "ABCD"[i]} for i in range(3)])
    _write_jsonl(root / "med_mcqa" / "validation.jsonl", [
        {"question": "Eval q?", "choices": ["w", "x", "y", "z"], "answer": "C"}])
    from evs_core.registry import get_registries

    cls = get_registries().benchmarks.load("med_mcqa")
    b = cls({"few_shot_num": 2}, dataset_dir=str(root))
    prompt = b.build_request(b.load_samples(None)[0]).messages[-1]["content"]
    assert prompt == (
        "Here are some examples of how to answer similar questions:\n\n"
        "Train q0?\nA) a\nB) b\nC) c\nD) d\nANSWER: A\n\nTrain q1?\nA) a\nB) b\nC) c\nD) d\nANSWER: B\n\n"
        "Answer the following multiple choice question. The entire content of your response should be of the "
        "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of A,B,C,D.\n\n"
        "Eval q?\n\nA) w\nB) x\nC) y\nD) z")
    assert cls(dataset_dir=str(root)).args["few_shot_num"] == 0  # zero-shot by default
    with pytest.raises(ConfigError, match="no few-shot split"):
        get_registries().benchmarks.load("sciq")({"few_shot_num": 1})


def test_failed_request_is_counted_not_scored(tmp_path):
    root = tmp_path / "data"
    golds = ["yes", "no", "maybe", "yes", "no"]
    _write_jsonl(root / "pubmedqa" / "test.jsonl", [
        {"question": f"Does drug {i} help?", "context": "c", "answer": g, "reasoning": ""} for i, g in enumerate(golds)])
    table = {f"Does drug {i} help?": (str(i), g.upper(), "NO" if g != "no" else "YES") for i, g in enumerate(golds)}
    resp = Responder(table, "word")

    def reject(body):
        return "context too long" if "Does drug 2 help?" in last_user_text(body) else None

    with FakeOpenAIServer(resp, reject=reject) as srv:
        rep = _run(srv, tmp_path, ["pubmedqa"], root)["pubmedqa"]
    assert rep.num_errors == 1 and rep.num == 4  # the MAYBE question failed: excluded and counted
    assert rep.score == pytest.approx(resp.expected())
    preds = [g.upper() if right(str(i)) else ("NO" if g != "no" else "YES") for i, g in enumerate(golds) if i != 2]
    assert rep.metrics["maybe_ratio"].score == 0.0
    assert rep.metrics["yes_ratio"].score == pytest.approx(preds.count("YES") / 4)


def test_yes_no_reply_without_a_label_is_no_answer():
    from evs_native.benchmarks.mcq_breadth import HaluEval, PubMedQA

    h = HaluEval({"subset_list": ["qa_samples"]})
    s = h.record_to_sample({"knowledge": "k", "question": "q", "answer": "a", "hallucination": "no"}, 0, "qa_samples")
    r = score_now(h, s, ModelOutput(text="<think>No hallucination here.</think>Hard to say."))
    assert r.extracted is None and r.extraction_rule == "none" and r.scores == {"accuracy": 0.0}
    # EvalScope's rule is a substring test: 'NOT' contains 'NO' (kept, for the same scores)
    assert score_now(h, s, ModelOutput(text="I would rather not judge.")).scores == {"accuracy": 1.0}
    r = score_now(h, s, ModelOutput(text="#Your Judgement#: No"))
    assert r.extraction_rule == "reply_text" and r.scores == {"accuracy": 1.0}
    p = PubMedQA()
    s = p.record_to_sample({"question": "q", "context": "c", "answer": "maybe", "reasoning": ""}, 0, "default")
    assert score_now(p, s, ModelOutput(text="MAYBE")).scores == {"accuracy": 1.0}
    assert score_now(p, s, ModelOutput(text="Unclear from the abstract.")).extracted is None
