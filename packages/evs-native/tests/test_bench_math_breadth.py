"""Math and logic breadth benchmarks end to end against a fake OpenAI server, extraction on realistic
replies, and parity with math-verify's own verify().

Every end-to-end test writes a few rows in the hub schema into a --dataset-dir layout; the fake model
answers a question right or wrong by a hash of a key the test chose (``right()``), in varied chat
styles, so the expected score is known without evs's extraction.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.engine import run_task

math_verify = pytest.importorskip("math_verify")

from evs_native.benchmarks import math_breadth as mb  # noqa: E402
from evs_native.benchmarks.math_500 import math_check  # noqa: E402


def right(key: str) -> bool:
    """A reproducible 2-in-3 choice of the questions the fake model answers right."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


def _style(key: str, n: int) -> int:
    return int(hashlib.md5(key.encode()).hexdigest(), 16) % n


def _write(root: Path, rel: str, rows: list[dict]) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def _run(srv, tmp_path, name, data, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": [name], "dataset_dir": str(data),
           "work_dir": str(tmp_path / "out"), "concurrency": 4, "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)[name]


# Replies a chat model gives. {g}: the answer as the reply writes it; {w}: a wrong answer.
RIGHT = [
    "Let me set up the problem.\nA first guess of 7 fails the second condition.\nThus the answer is $\\boxed{{{g}}}$.",
    "<think>Could it be \\boxed{{{w}}}? No, I dropped a sign.</think>\n**Solution.** Working carefully, we get "
    "**$\\boxed{{{g}}}$**.",
    "Step 1: simplify.\nStep 2: substitute.\n\nFinal Answer: The final answer is ${g}$. I hope it is correct.",
]
WRONG = [
    "After some algebra the result is $\\boxed{{{w}}}$.",
    "I could not finish the computation in time.",
    "<think>so the answer is \\boxed{{{g}}}</think>\nI am not sure about this one.",
]


class MathResponder:
    """Finds the question a prompt asks (the one found last, so few-shot examples do not count) and
    answers it right or wrong in one of the styles above."""

    def __init__(self, table: dict[str, tuple[str, str]], wrong: str = "99991", zh: bool = False):
        self.table = table  # question text -> (key, answer as the model writes it)
        self.wrong = wrong
        self.zh = zh
        self.asked: dict[str, bool] = {}
        self.prompts: dict[str, str] = {}

    def __call__(self, body: dict) -> str:
        prompt = last_user_text(body)
        hits = [(prompt.rfind(q), q) for q in self.table if q in prompt]
        assert hits, "unknown prompt: " + prompt[-300:]
        _, q = max(hits)
        key, g = self.table[q]
        ok = right(key)
        self.asked[key] = ok
        self.prompts[key] = prompt
        if self.zh and ok:
            return f"先算每一步。\n所以答案是 $\\boxed{{{g}}}$。"
        styles = RIGHT if ok else WRONG
        return styles[_style(key, len(styles))].format(g=g, w=self.wrong)


def _expect(keys) -> float:
    keys = list(keys)
    return sum(right(k) for k in keys) / len(keys)


# -- parity with math-verify ----------------------------------------------------------------------
PARITY = [
    ("We find $x=\\frac{14}{3}$, so the answer is $\\boxed{\\dfrac{14}{3}}$.", "\\frac{14}{3}"),
    ("Hence the area is \\boxed{4\\sqrt{3}}.", "4\\sqrt{3}"),
    ("Hence the area is \\boxed{4\\sqrt{2}}.", "4\\sqrt{3}"),
    ("The solution set is \\boxed{(-\\infty, 2]}.", "(-\\infty,2]"),
    ("Total: \\boxed{0.5}", "\\frac12"),
    ("So $n = \\boxed{204}$.", "204"),
    ("So $n = \\boxed{205}$.", "204"),
    ("<think>the answer is \\boxed{9}</think>The answer is \\boxed{12}.", "12"),
    ("The roots are \\boxed{2, 3}.", "3, 2"),
    ("The answer is \\boxed{x^2+2x+1}.", "(x+1)^2"),
    ("The answer is \\boxed{\\pi/2}.", "\\frac{\\pi}{2}"),
]


@pytest.mark.parametrize("reply, gold", PARITY)
def test_parity_with_math_verify_verify(reply, gold):
    """evs's scoring of a boxed answer agrees with math-verify's own parse()+verify() on the same reply."""
    from evs_core.extract import answer_region

    theirs = float(math_verify.verify(math_verify.parse(f"${gold}$"), math_verify.parse(answer_region(reply))))
    bench = mb.HMMT25({})
    s = mb.Sample(id="1", input="q", target=gold, metadata={"question": "q"})
    assert score_now(bench, s, ModelOutput(text=reply)).scores["acc"] == theirs
    assert math_check(reply, gold)[1] == theirs


# -- competition_math ---------------------------------------------------------------------------------
def test_competition_math_four_shot_by_level(tmp_path):
    data = tmp_path / "data"
    golds = {"Level 1": ["5", "\\frac{3}{4}", "12"], "Level 2": ["2\\sqrt{2}", "-1", "(1,2)", "36"]}
    test, train, table = [], [], {}
    for level, gs in golds.items():
        for i, g in enumerate(gs):
            q = f"[{level} #{i}] Compute the quantity asked for in problem {i}."
            test.append({"problem": q, "level": level, "type": "Algebra",
                         "solution": f"Working it out, the value is $\\boxed{{{g}}}$."})
            table[q] = (f"{level}/{i}", g)
        for j in range(5):
            train.append({"problem": f"Train {level} problem {j}: add {j} and 1.", "level": level,
                          "type": "Prealgebra", "solution": f"We add: $\\boxed{{{j + 1}}}$."})
    test.append({"problem": "Level 5 row not selected.", "level": "Level 5", "type": "Algebra",
                 "solution": "\\boxed{1}"})
    _write(data, "competition_math/test.jsonl", test)
    _write(data, "competition_math/train.jsonl", train)
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "competition_math", data,
                   dataset_args={"competition_math": {"subset_list": ["Level 1", "Level 2"]}})
    assert rep.num == 7 and rep.num_errors == 0
    assert rep.score == pytest.approx(_expect(v[0] for v in table.values()))
    by = {s.name: s.score for s in rep.subsets}
    assert by["Level 1"] == pytest.approx(_expect(f"Level 1/{i}" for i in range(3)))
    assert by["Level 2"] == pytest.approx(_expect(f"Level 2/{i}" for i in range(4)))
    # 4 shots of the same level, each "Problem: … Solution: <boxed answer>", then the question
    prompt = resp.prompts["Level 2/0"]
    assert prompt.startswith("Here are some examples of how to solve similar problems:\n\nProblem:\nTrain Level 2 "
                             "problem 0: add 0 and 1.\nSolution:\n1\n\nProblem:\nTrain Level 2 problem 1")
    assert "problem 3: add 3 and 1.\nSolution:\n4\nProblem:\n[Level 2 #0]" in prompt
    assert "problem 4" not in prompt and "Train Level 1" not in prompt
    assert prompt.endswith("Please reason step by step, and put your final answer within \\boxed{}.\n")


# -- minerva_math, amc, hmmt25, hmmt26, aime26, arxivmath, imo_answerbench, cmath -----------------------
def test_minerva_math_reference_is_the_boxed_solution(tmp_path):
    data = tmp_path / "data"
    rows = [{"problem": f"Minerva problem {i}: find the value.", "type": "Physics", "idx": i,
             "solution": f"Using the formula, the result is $\\boxed{{{g}}}$ m/s."}
            for i, g in enumerate(["3.0 \\times 10^8", "\\frac{1}{2}", "42", "7.5"])]
    _write(data, "minerva_math/train.jsonl", rows)
    table = {r["problem"]: (str(r["idx"]), g) for r, g in zip(rows, ["3.0 \\times 10^8", "0.5", "42", "7.5"])}
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "minerva_math", data)
    assert rep.num == 4 and rep.score == pytest.approx(_expect(str(i) for i in range(4)))
    assert resp.prompts["0"] == ("Minerva problem 0: find the value.\nPlease reason step by step, and put your "
                                 "final answer within \\boxed{}.")


def test_amc_splits_are_subsets_and_float_answers_match(tmp_path):
    data = tmp_path / "data"
    table, keys = {}, {}
    for year, answers in (("amc22", [142.0, 7.0]), ("amc23", [3.0]), ("amc24", [25.0, 18.0])):
        rows = [{"id": i, "problem": f"{year} problem {i}", "answer": a, "year": int(year[3:]) + 2000,
                 "url": "https://artofproblemsolving.com", "solution": ""} for i, a in enumerate(answers)]
        _write(data, f"amc/{year}.jsonl", rows)
        for r in rows:
            table[r["problem"]] = (f"{year}/{r['id']}", str(int(r["answer"])))
            keys.setdefault(year, []).append(f"{year}/{r['id']}")
    with FakeOpenAIServer(MathResponder(table)) as srv:
        rep = _run(srv, tmp_path, "amc", data)
    assert rep.num == 5
    assert rep.score == pytest.approx(_expect(k for ks in keys.values() for k in ks))
    assert {s.name: s.score for s in rep.subsets} == pytest.approx({y: _expect(ks) for y, ks in keys.items()})


@pytest.mark.parametrize("name", ["hmmt25", "hmmt26"])
def test_hmmt_matharena_schema(tmp_path, name):
    data = tmp_path / "data"
    golds = ["\\frac{1311}{2017}", "2^{25} \\cdot 26!", "\\sqrt{6}", "20"]
    rows = [{"problem_idx": i + 1, "problem": f"  HMMT {name} problem {i + 1}.  ", "answer": g,
             "problem_type": ["Algebra"]} for i, g in enumerate(golds)]
    _write(data, f"{name}/train.jsonl", rows)
    table = {f"HMMT {name} problem {r['problem_idx']}.": (f"{name}/{r['problem_idx']}", r["answer"]) for r in rows}
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, name, data)
    assert rep.num == 4 and rep.score == pytest.approx(_expect(k for k, _ in table.values()))
    assert resp.prompts[f"{name}/1"] == (f"Problem:\nHMMT {name} problem 1.\n\nPlease reason step by step, and put "
                                         "your final answer within \\boxed{}.\n")


def test_aime26_prompt_and_score(tmp_path):
    data = tmp_path / "data"
    # MathArena's copy: problem_idx, problem, answer as an int
    rows = [{"problem_idx": i + 1, "problem": f"AIME 2026 problem {i}: find m+n.", "answer": a}
            for i, a in enumerate([277, 62, 5, 80])]
    _write(data, "aime26/test.jsonl", rows)
    table = {r["problem"]: (f"a26/{i}", str(r["answer"])) for i, r in enumerate(rows)}
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "aime26", data)
    assert rep.score == pytest.approx(_expect(f"a26/{i}" for i in range(4)))
    assert resp.prompts["a26/0"] == ("\nSolve the following math problem step by step. Put your answer inside "
                                     "\\boxed{}.\n\nAIME 2026 problem 0: find m+n.\n\nRemember to put your answer "
                                     "inside \\boxed{}.")


def test_arxivmath_subsets_from_competition(tmp_path):
    data = tmp_path / "data"
    rows, table = [], {}
    for i, (comp, g) in enumerate([("arxiv/december", "\\frac{n(n+1)}{2}"), ("arxiv/december", "0"),
                                   ("arxiv/january", "\\binom{2n}{n}"), ("arxiv/march", "e^{-1}")]):
        rows.append({"problem_idx": i, "problem": f"Research problem {i}.", "answer": g, "competition": comp,
                     "problem_type": ["Combinatorics"], "source": "arXiv:2501.00001"})
        table[f"Research problem {i}."] = (f"ax/{i}", g)
    _write(data, "arxivmath/train.jsonl", rows)
    with FakeOpenAIServer(MathResponder(table)) as srv:
        rep = _run(srv, tmp_path, "arxivmath", data,
                   dataset_args={"arxivmath": {"subset_list": ["arxiv/december", "arxiv/january", "arxiv/march"]}})
    assert rep.num == 4 and rep.score == pytest.approx(_expect(f"ax/{i}" for i in range(4)))
    assert {s.name: s.score for s in rep.subsets}["arxiv/december"] == pytest.approx(_expect(["ax/0", "ax/1"]))


def test_imo_answerbench_csv_columns(tmp_path):
    data = tmp_path / "data"
    rows, table = [], {}
    for i, (cat, g) in enumerate([("Algebra", "f(x)=2x"), ("Algebra", "3"), ("Number theory", "\\{1, 3\\}"),
                                  ("Combinatorics", "2^{n-1}"), ("Geometry", "60^\\circ")]):
        rows.append({"Problem ID": f"imo-bench-{cat[:3].lower()}-{i:03d}", "Problem": f"IMO problem {i}.",
                     "Short Answer": g, "Category": cat, "Subcategory": "misc", "Source": "IMO Shortlist 2010"})
        table[f"IMO problem {i}."] = (rows[-1]["Problem ID"], g.replace("60^\\circ", "60"))
    (data / "imo_answerbench").mkdir(parents=True)
    with open(data / "imo_answerbench" / "train.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with FakeOpenAIServer(MathResponder(table)) as srv:
        rep = _run(srv, tmp_path, "imo_answerbench", data)
    assert rep.num == 5 and rep.score == pytest.approx(_expect(k for k, _ in table.values()))
    by = {s.name: s for s in rep.subsets}
    assert set(by) == {"Algebra", "Combinatorics", "Geometry", "Number theory"} and by["Algebra"].num == 2


def test_cmath_by_grade_with_chinese_replies(tmp_path):
    data = tmp_path / "data"
    rows, table = [], {}
    for i, (grade, g) in enumerate([(1, "8"), (1, "15"), (3, "2.5"), (6, "120")]):
        rows.append({"question": f"小明有{i + 3}个苹果，问题{i}？", "golden": g, "grade": grade,
                     "reasoning_step": 2, "num_digits": 2})
        table[rows[-1]["question"]] = (f"cm/{i}", g)
    _write(data, "cmath/test.jsonl", rows)
    resp = MathResponder(table, zh=True)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "cmath", data,
                   dataset_args={"cmath": {"subset_list": ["Grade 1", "Grade 3", "Grade 6"]}})
    assert rep.num == 4 and rep.score == pytest.approx(_expect(f"cm/{i}" for i in range(4)))
    assert {s.name: s.score for s in rep.subsets}["Grade 1"] == pytest.approx(_expect(["cm/0", "cm/1"]))
    assert resp.prompts["cm/0"] == "小明有3个苹果，问题0？\n请一步一步推理，最后将答案放在\\boxed{}中。\n"


# -- mgsm ---------------------------------------------------------------------------------------------
def test_mgsm_four_shot_per_language(tmp_path):
    data = tmp_path / "data"
    table, keys = {}, {}
    for lang in ("en", "zh"):
        train = [{"question": f"Question ({lang}): shot {j}?", "answer": f"Step-by-step answer: {j} plus 1.",
                  "answer_number": j + 1, "equation_solution": f"{j}+1"} for j in range(5)]
        test = [{"question": f"[{lang}] test question {i}", "answer": None, "answer_number": 10 * i + 4,
                 "equation_solution": None} for i in range(3)]
        _write(data, f"mgsm/{lang}/train.jsonl", train)
        _write(data, f"mgsm/{lang}/test.jsonl", test)
        for i, r in enumerate(test):
            table[r["question"]] = (f"{lang}/{i}", str(r["answer_number"]))
            keys.setdefault(lang, []).append(f"{lang}/{i}")
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "mgsm", data, dataset_args={"mgsm": {"subset_list": ["en", "zh"]}})
    assert rep.num == 6
    assert {s.name: s.score for s in rep.subsets} == pytest.approx({k: _expect(v) for k, v in keys.items()})
    p = resp.prompts["zh/1"]
    assert p.startswith("Here are some examples of how to solve similar problems:\n\nQuestion (zh): shot 0?\n\n"
                        "Reasoning:\nStep-by-step answer: 0 plus 1.\n\nANSWER: 1\n\nQuestion (zh): shot 1?")
    assert "ANSWER: 4\n\n[zh] test question 1\nPlease reason step by step" in p and "shot 4" not in p


# -- poly_math ----------------------------------------------------------------------------------------
def test_poly_math_levels_and_difficulty_weighted_accuracy(tmp_path):
    data = tmp_path / "data"
    table: dict[str, tuple[str, str]] = {}
    for lang in ("en", "zh"):
        for lv in mb.POLY_LEVELS:
            rows = [{"id": f"{lv}-{lang}-{i}", "question": f"PolyMath {lang} {lv} question {i}", "answer": str(i + 2)}
                    for i in range(3)]
            _write(data, f"poly_math/{lang}/{lv}.jsonl", rows)
            for r in rows:
                table[r["question"]] = (r["id"], r["answer"])
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "poly_math", data, dataset_args={"poly_math": {"subset_list": ["en", "zh"]}})
    assert rep.num == 24 and rep.score == pytest.approx(_expect(k for k, _ in table.values()))
    by = {s.name: s for s in rep.subsets}
    dws = []
    for lang in ("en", "zh"):
        acc = {lv: _expect(f"{lv}-{lang}-{i}" for i in range(3)) for lv in mb.POLY_LEVELS}
        for lv in mb.POLY_LEVELS:
            assert by[f"{lang}-{lv}"].score == pytest.approx(acc[lv]) and by[f"{lang}-{lv}"].num == 3
        dw = (acc["low"] + 2 * acc["medium"] + 4 * acc["high"] + 8 * acc["top"]) / 15
        assert by[lang].kind == "category" and by[lang].score == pytest.approx(dw)
        dws.append(dw)
    assert rep.metrics["dw_acc"].score == pytest.approx(sum(dws) / 2)
    assert resp.prompts["top-zh-0"] == "PolyMath zh top question 0\n注意：请将最终答案放在 $\\boxed\\{\\}$ 中。"


# -- olympiad_bench -----------------------------------------------------------------------------------
def _olympiad_row(i, final, **kw):
    row = {"id": 1600 + i, "question": f"Olympiad question {i}: determine the value.", "solution": ["..."],
           "final_answer": [final], "context": None, "image_1": None, "modality": "Text-only",
           "difficulty": "Competition", "is_multiple_answer": False, "unit": None, "answer_type": "Numerical",
           "error": None, "question_type": "Open-ended", "subfield": "Algebra", "subject": "Math",
           "language": "English"}
    row.update(kw)
    return row


def test_olympiad_bench_prompt_and_check(tmp_path):
    data = tmp_path / "data"
    rows = [_olympiad_row(0, "$\\frac{1}{4}$"), _olympiad_row(1, "$2,3$", is_multiple_answer=True),
            _olympiad_row(2, "9.8", answer_type="Numerical", error="0.1", unit="m/s^2", subject="Physics"),
            _olympiad_row(3, "$x^2-1$", answer_type="Expression")]
    _write(data, "olympiad_bench/OE_TO_maths_en_COMP/train.jsonl", rows)
    said = {0: "0.25", 1: "3, 2", 2: "9.85", 3: "(x-1)(x+1)"}  # equivalent, reordered, within tolerance
    table = {r["question"]: (f"ob/{i}", said[i]) for i, r in enumerate(rows)}
    resp = MathResponder(table)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, "olympiad_bench", data,
                   dataset_args={"olympiad_bench": {"subset_list": ["OE_TO_maths_en_COMP"]}})
    assert rep.num == 4 and rep.score == pytest.approx(_expect(f"ob/{i}" for i in range(4)))
    assert resp.prompts["ob/0"] == (
        "The following is an open-ended problem from an International Math competition. The answer of The problem "
        "should be a numerical value. Please calculate the answer according to the given requirements and the "
        "information provided. Please use LaTeX format to represent the variables and formulas used in the solution "
        "process and results. Please end your solution with \"So the final answer is \\boxed{answer}.\" and give the "
        "result explicitly.\nOlympiad question 0: determine the value.\n\nPlease reason step by step, and put your "
        "final answer within \\boxed{}.")
    assert "multiple answers connected with commas" in resp.prompts["ob/1"]
    assert "note that the unit of the answer should not be included in \\boxed{}" in resp.prompts["ob/2"]
    assert mb.olympiad_check("So the final answer is \\boxed{10.2}", ["9.8"], "0.1")[1] == 0.0
    assert mb.olympiad_check("So the final answer is \\boxed{2}", ["$2,3$"])[1] == 0.0
    zh = mb.olympiad_prompt(_olympiad_row(5, "1", language="Chinese"))
    assert zh.startswith("以下是中国数学竞赛中的解答题，答案类型为数值。") and zh.endswith("并把最终答案放置于\\boxed{}中。")


# -- process_bench ------------------------------------------------------------------------------------
def test_process_bench_error_correct_acc_and_f1(tmp_path):
    data = tmp_path / "data"
    labels = {"gsm8k": [-1, 1, 0, -1, 2], "math": [-1, 3, -1]}
    for split, ls in labels.items():
        _write(data, f"process_bench/{split}.jsonl", [
            {"id": f"{split}-{i}", "generator": "Qwen2-7B-Instruct", "problem": f"{split} problem {i}",
             "steps": [f"step {j} of {split}-{i}" for j in range(4)], "final_answer_correct": lab == -1, "label": lab}
            for i, lab in enumerate(ls)])

    def reply(body):
        p = last_user_text(body)
        key = p.split("[Math Problem]\n\n", 1)[1].split("\n", 1)[0]  # "<split> problem <i>"
        split, _, i = key.split()
        gold = labels[split][int(i)]
        ans = gold if right(key) else (gold + 1 if gold < 3 else -1)
        if _style(key, 2):
            return f"Paragraph 0 is fine. <think>maybe \\boxed{{{gold + 2}}}</think>\nThe earliest error: \\boxed{{{ans}}}"
        return f"Reviewing each paragraph...\n\nThe answer is $\\boxed{{{ans}}}$."

    with FakeOpenAIServer(reply) as srv:
        rep = _run(srv, tmp_path, "process_bench", data,
                   dataset_args={"process_bench": {"subset_list": ["gsm8k", "math"]}})

    def accs(items):
        err = [right(k) for k, lab in items if lab != -1]
        cor = [right(k) for k, lab in items if lab == -1]
        e, c = sum(err) / len(err), sum(cor) / len(cor)
        return e, c, (2 * e * c / (e + c) if e + c else 0.0)

    all_items = [(f"{s} problem {i}", lab) for s, ls in labels.items() for i, lab in enumerate(ls)]
    e, c, f1 = accs(all_items)
    assert rep.metric == "simple_f1_score" and rep.score == pytest.approx(f1)
    assert rep.metrics["error_acc"].score == pytest.approx(e) and rep.metrics["correct_acc"].score == pytest.approx(c)
    sub = {s.name: s for s in rep.subsets}
    assert sub["gsm8k"].score == pytest.approx(accs([x for x in all_items if x[0].startswith("gsm8k")])[2])
    prompt = mb.ProcessBench({}).record_to_sample(
        {"problem": "P", "steps": ["a", "b"], "label": 1, "final_answer_correct": False}, 0, "gsm8k").input
    assert "[Solution]\n\n<paragraph_0>\na\n</paragraph_0>\n\n<paragraph_1>\nb\n</paragraph_1>\n\nYour task" in prompt
    assert prompt.endswith("Please put your final answer (i.e., the index) in \\boxed{}.\n")


def test_process_bench_extraction():
    assert mb.process_index("The earliest error is in paragraph 2: \\boxed{2}").answer == 2
    assert mb.process_index("All correct. \\boxed{-1}").answer == -1
    assert mb.process_index("<think>\\boxed{1}</think>I cannot decide.").answer is None
    assert mb.process_index("\\boxed{paragraph 2}").answer is None


# -- coin_flip ----------------------------------------------------------------------------------------
def test_coin_flip_accuracy_precision_recall(tmp_path):
    data = tmp_path / "data"
    golds = ["yes", "no", "yes", "yes", "no", "no", "yes", "no"]
    rows = [{"question": f"A coin is heads up. Person {i} flips or not. Is the coin still heads up?", "answer": g}
            for i, g in enumerate(golds)]
    _write(data, "coin_flip/test.jsonl", rows)
    said = {}

    def reply(body):
        p = last_user_text(body)
        i = int(p.split("Person ", 1)[1].split()[0])
        gold = golds[i].upper()
        if _style(str(i), 4) == 0:
            said[i] = "MAYBE"
            return "It depends on the person.\nANSWER: maybe"
        ans = gold if right(f"cf/{i}") else ("NO" if gold == "YES" else "YES")
        said[i] = ans
        return f"<think>ANSWER: {'NO' if ans == 'YES' else 'YES'}</think>Tracking the flips step by step.\nANSWER: {ans}"

    with FakeOpenAIServer(reply) as srv:
        rep = _run(srv, tmp_path, "coin_flip", data)
    tp = sum(said[i] == "YES" and golds[i] == "yes" for i in said)
    fp = sum(said[i] == "YES" and golds[i] == "no" for i in said)
    tn = sum(said[i] == "NO" and golds[i] == "no" for i in said)
    fn = sum(said[i] == "NO" and golds[i] == "yes" for i in said)
    prec, rec = (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)
    assert rep.metric == "accuracy" and rep.score == pytest.approx((tp + tn) / 8)
    assert rep.metrics["precision"].score == pytest.approx(prec)
    assert rep.metrics["recall"].score == pytest.approx(rec)
    assert rep.metrics["yes_ratio"].score == pytest.approx(sum(v == "YES" for v in said.values()) / 8)
    assert mb.coin_answer("Reasoning...\nANSWER: YES").answer == "YES"
    assert mb.coin_answer("no marker here").rule == "whole_reply"


# -- zebralogicbench ----------------------------------------------------------------------------------
def _zebra(i, houses, attrs):
    header = ["House"] + ["Name", "Drink", "Pet", "Color", "Job", "Car"][:attrs]
    rows = [[str(h + 1)] + [f"{header[j]}{h}_{i}" for j in range(1, attrs + 1)] for h in range(houses)]
    return {"id": f"lgp-test-{houses}x{attrs}-{i}", "size": f"{houses}*{attrs}",
            "puzzle": f"Puzzle {i}: there are {houses} houses.", "solution": {"header": header, "rows": rows},
            "created_at": "2024-07-03T21:21:29.201152"}


def test_zebralogicbench_puzzle_and_cell_accuracy(tmp_path):
    data = tmp_path / "data"
    rows = [_zebra(0, 2, 2), _zebra(1, 3, 3), _zebra(2, 4, 4), _zebra(3, 5, 5), _zebra(4, 2, 3)]
    _write(data, "zebralogicbench/grid_mode/test.jsonl", rows)
    expect = {}

    def reply(body):
        p = last_user_text(body)
        i = int(p.split("# Puzzle to Solve\n\nPuzzle ", 1)[1].split(":")[0])
        sol = rows[i]["solution"]
        if i == 4:
            expect[i] = (0.0, 0, True)
            return "I cannot solve this puzzle."
        table = {f"House {h + 1}": {sol["header"][j]: sol["rows"][h][j] for j in range(1, len(sol["header"]))}
                 for h in range(len(sol["rows"]))}
        wrong = 0 if right(f"z/{i}") else 2  # cells changed
        for h in range(wrong):
            table[f"House {h + 1}"]["Name"] = "Nobody"
        cells = len(sol["rows"]) * (len(sol["header"]) - 1)
        expect[i] = (float(wrong == 0), cells - wrong, False)
        return "Let me reason.\n```json\n" + json.dumps({"reasoning": "By clue 1 …", "solution": table}) + "\n```"

    with FakeOpenAIServer(reply) as srv:
        rep = _run(srv, tmp_path, "zebralogicbench", data)
    cells = sum(len(r["solution"]["rows"]) * (len(r["solution"]["header"]) - 1) for r in rows)
    assert rep.metric == "puzzle_acc" and rep.score == pytest.approx(sum(e[0] for e in expect.values()) / 5)
    assert rep.metrics["cell_acc"].score == pytest.approx(sum(e[1] for e in expect.values()) / cells)
    assert rep.metrics["no_answer_num"].score == 1.0
    assert rep.metrics["easy_puzzle_acc"].score == pytest.approx((expect[0][0] + expect[1][0] + expect[4][0]) / 3)
    assert rep.metrics["xl_puzzle_acc"].score == pytest.approx(expect[3][0])
    bench = mb.ZebraLogicBench({})
    s = bench.record_to_sample(rows[0], 0, "grid_mode")
    assert '"House 2": {\n            "Name": "___",\n            "Drink": "___"\n        }' in s.input
    assert s.input.startswith("# Example Puzzle\n\nThere are 3 houses")


# -- arc_agi_2 ----------------------------------------------------------------------------------------
def test_arc_agi_2_exact_grid(tmp_path):
    data = tmp_path / "data"
    rows = []
    for i in range(4):
        inp = [[i, 0], [0, i]]
        rows.append({"id": f"task{i}", "fewshots": [{"input": [[1, 0]], "output": [[0, 1]]}],
                     "question": [{"input": inp, "output": [[0, i], [i, 0]]}]})
    _write(data, "arc_agi_2/test.jsonl", rows)
    sent = {}

    def reply(body):
        sent["system"] = body["messages"][0]
        p = last_user_text(body)
        i = int(p.split("Test Input: [[", 1)[1].split(",")[0])
        out = rows[i]["question"][0]["output"] if right(f"arc/{i}") else [[9, 9], [9, 9]]
        return [json.dumps(out), f"The rule mirrors each row.\n```json\n{json.dumps(out)}\n```",
                f"Output grid: {json.dumps(out)}"][i % 3]

    with FakeOpenAIServer(reply) as srv:
        rep = _run(srv, tmp_path, "arc_agi_2", data)
    assert rep.score == pytest.approx(_expect(f"arc/{i}" for i in range(4)))
    assert sent["system"]["role"] == "system" and "abstract reasoning" in sent["system"]["content"]
    assert mb.arc_grid("no grid here").answer is None


# -- extraction on realistic replies, bad input ---------------------------------------------------------
@pytest.mark.parametrize("reply, ok", [
    ("**Final answer:** $\\boxed{\\frac{3}{4}}$", True),
    ("Thus, the probability is $\\frac{3}{4}$.", True),
    ("<think>It is \\boxed{\\frac{3}{4}}.</think>I'm not sure.", False),
    ("<think>It is 1/2.</think>The answer is \\boxed{0.75}", True),
    ("所以答案是 $\\boxed{\\dfrac34}$。", True),
    ("The answer is \\boxed{0.7}.", False),
    ("I cannot determine this.", False),
])
def test_boxed_math_extraction_realistic(reply, ok):
    bench = mb.CompetitionMath({"few_shot_num": 0})
    s = mb.Sample(id="1", input="q", target="\\frac{3}{4}", metadata={"question": "q"})
    assert score_now(bench, s, ModelOutput(text=reply)).scores["acc"] == float(ok)


def test_bad_input_is_one_line(tmp_path):
    data = tmp_path / "data"
    _write(data, "cmath/test.jsonl", [{"question": "1+1?", "answer": "2"}])  # no 'golden' / 'grade'
    with pytest.raises(ConfigError, match="cmath.*no field 'grade'"):
        mb.CMath({}, dataset_dir=str(data)).load_samples()
    with pytest.raises(ConfigError, match="unknown subset 'Grade 7'"):
        mb.CMath({"subset_list": ["Grade 7"]})
    _write(data, "hmmt25/train.jsonl", [{"problem_idx": 1, "question": "x"}])
    with pytest.raises(ConfigError, match="hmmt25.*no field 'problem'"):
        mb.HMMT25({}, dataset_dir=str(data)).load_samples()
    with pytest.raises(ConfigError, match="no data for mgsm under --dataset-dir"):
        mb.MGSM({}, dataset_dir=str(data)).load_samples()


# -- the online path: which hub dataset, config and split each benchmark asks for ------------------------
@pytest.mark.parametrize("cls, args, hub, calls", [
    (mb.CompetitionMath, {"subset_list": ["Level 2"]}, "huggingface",
     [("SuperSecureHuman/competition_math_hf_dataset", None, "test"),
      ("SuperSecureHuman/competition_math_hf_dataset", None, "train")]),
    (mb.CompetitionMath, {"subset_list": ["Level 2"], "few_shot_num": 0}, "modelscope",
     [("evalscope/competition_math", None, "test")]),
    (mb.AIME26, {}, "huggingface", [("MathArena/aime_2026", None, "train")]),
    (mb.AIME26, {}, "modelscope", [("evalscope/aime26", None, "test")]),
    (mb.HMMT25, {}, "huggingface", [("MathArena/hmmt_feb_2025", None, "train")]),
    (mb.AMC, {"subset_list": ["amc23"]}, "modelscope", [("evalscope/amc_22-24", None, "amc23")]),
    (mb.MGSM, {"subset_list": ["sw"], "few_shot_num": 0}, "huggingface", [("juletxara/mgsm", "sw", "test")]),
    (mb.PolyMath, {"subset_list": ["ja"]}, "huggingface",
     [("Qwen/PolyMath", "ja", lv) for lv in ("low", "medium", "high", "top")]),
    (mb.CMath, {"subset_list": ["Grade 2"]}, "modelscope", [("evalscope/cmath", None, "test")]),
    (mb.OlympiadBench, {"subset_list": ["OE_TO_physics_en_COMP"]}, "huggingface",
     [("Hothan/OlympiadBench", "OE_TO_physics_en_COMP", "train")]),
    (mb.ProcessBench, {"subset_list": ["omnimath"]}, "huggingface", [("Qwen/ProcessBench", None, "omnimath")]),
    (mb.ZebraLogicBench, {}, "huggingface", [("allenai/ZebraLogicBench-private", "grid_mode", "test")]),
    (mb.CoinFlip, {}, "modelscope", [("extraordinarylab/coin-flip", None, "test")]),
    (mb.ArcAGI2, {}, "modelscope", [("evalscope/arc-agi-2", None, "test")]),
])
def test_hub_ids_configs_and_splits(monkeypatch, cls, args, hub, calls):
    import evs_core.benchmark
    import evs_core.data

    seen = []

    def fake_load_hub(dataset_id, subset, split, hub_name="huggingface", revision=None):
        seen.append((dataset_id, subset, split))
        assert hub_name == hub
        return []

    monkeypatch.setattr(evs_core.data, "load_hub", fake_load_hub)
    monkeypatch.setattr(evs_core.benchmark, "load_hub", fake_load_hub)
    bench = cls(args, hub=hub)
    for s in bench.selected_subsets():
        bench.subset_samples(s)
        bench.fewshot_samples(s)
    assert seen == calls


def test_imo_answerbench_judge_when_rule_fails(tmp_path):
    """With a judge configured (strategy llm_when_rule_fails) the judge sees only the replies the
    rule scores 0, and its verdict is the score; the rule's right answers never reach it."""
    import re

    data = tmp_path / "data"
    rows = [{"Problem ID": f"imo-bench-algebra-{i:03d}", "Problem": f"Functional equation {i}.",
             "Short Answer": f"f(x) = {i + 2}x", "Category": "Algebra", "Subcategory": "Functional Equation",
             "Source": "IMO Shortlist 2015"} for i in range(6)]
    _write(data, "imo_answerbench/train.jsonl", rows)

    def model(body):
        i = int(last_user_text(body).split("Functional equation ", 1)[1].split(".")[0])
        if right(f"jr/{i}"):
            return f"Therefore $\\boxed{{f(x) = {i + 2}x}}$."
        return f"All solutions are the linear maps with slope {i + 2}, i.e. every f(x)={i + 2}x works."

    def judge(body):
        text = last_user_text(body)
        ref = re.search(r"\[Reference Answer\]\n(.*?)\n", text).group(1)
        pred = re.search(r"\[Predicted Answer\]\n(.*?)\n\nDecide", text, re.S).group(1)
        return "A" if ref.replace(" ", "") in pred.replace(" ", "") and "slope 3" not in pred else "B"

    with FakeOpenAIServer(model) as srv, FakeOpenAIServer(judge, model="judge") as jsrv:
        rep = _run(srv, tmp_path, "imo_answerbench", data,
                   judge={"model": "judge", "api_url": jsrv.url, "api_key": "EMPTY",
                          "strategy": "llm_when_rule_fails"})
        asked = len(jsrv.requests)
    rule_right = [i for i in range(6) if right(f"jr/{i}")]
    judged_right = [i for i in range(6) if i not in rule_right and i != 1]  # slope 3 is i == 1: judged wrong
    assert asked == 6 - len(rule_right)
    assert rep.score == pytest.approx((len(rule_right) + len(judged_right)) / 6)


@pytest.mark.parametrize("reply, ok", [
    ("Janet's ducks lay 16 eggs; she sells 9 at $2.\n\nReasoning:\n16 - 3 - 4 = 9, 9 * 2 = 18\n\nANSWER: 18", True),
    ("She makes $\\boxed{\\$18}$ every day.", True),
    ("So the total is 18 dollars. ANSWER: 18.", True),
    ("<think>ANSWER: 18</think>\nThe answer is 20.", False),
    ("La respuesta es 18.", False),  # no answer statement evs reads (EvalScope would take the last number)
])
def test_mgsm_reply_styles(reply, ok):
    bench = mb.MGSM({"few_shot_num": 0})
    s = bench.record_to_sample({"question": "q", "answer": None, "answer_number": 18, "equation_solution": None},
                               0, "es")
    assert score_now(bench, s, ModelOutput(text=reply)).scores["acc"] == float(ok)


def test_failed_requests_are_counted_not_scored(tmp_path):
    """A request the server refuses is recorded as an error and left out of every metric."""
    data = tmp_path / "data"
    golds = ["yes", "no", "yes", "no", "yes", "no"]
    _write(data, "coin_flip/test.jsonl", [{"question": f"Coin question {i}: still heads up?", "answer": g}
                                          for i, g in enumerate(golds)])

    def idx(body):
        return int(last_user_text(body).split("Coin question ", 1)[1].split(":")[0])

    def reply(body):
        i = idx(body)
        return f"ANSWER: {golds[i].upper() if right(f'fail/{i}') else 'YES'}"

    with FakeOpenAIServer(reply, reject=lambda b: "context length exceeded" if idx(b) in (1, 4) else None) as srv:
        rep = _run(srv, tmp_path, "coin_flip", data)
    scored = [i for i in range(6) if i not in (1, 4)]
    said = {i: golds[i].upper() if right(f"fail/{i}") else "YES" for i in scored}
    assert rep.num_errors == 2 and rep.num == 4
    assert rep.score == pytest.approx(sum(said[i] == golds[i].upper() for i in scored) / 4)
    assert rep.metrics["yes_ratio"].score == pytest.approx(sum(v == "YES" for v in said.values()) / 4)
