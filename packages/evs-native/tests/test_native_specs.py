"""The benchmarks that are specs (mmlu, mmlu_pro, ceval, cmmlu, hellaswag, race, gpqa_diamond, aime24,
aime25): each one's prompt for
a fixed row, pinned against the text built here from the reference template (EvalScope's adapter,
lm-evaluation-harness's task), in generate and log-likelihood mode; and how they are registered."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from evs_core.registry import get_registries

# EvalScope's SINGLE_ANSWER_TEMPLATE_COT and CHINESE_SINGLE_ANSWER_TEMPLATE_COT (utils/multi_choices.py),
# and its C-Eval and MMLU-Pro templates, written out here independently of the spec files.
EN_COT = """Answer the following multiple choice question. The last line of your response should be of the following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. Think step by step before answering.

{question}

{choices}"""
ZH_COT = """回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式："答案：[LETTER]"（不带引号），其中 [LETTER] 是 {letters} 中的一个。请在回答前进行一步步思考。

问题：{question}
选项：
{choices}"""
CEVAL = """以下是中国关于{subject}的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式："答案：[LETTER]"（不带引号），其中 [LETTER] 是 A、B、C、D 中的一个。

问题：{question}
选项：
{choices}
"""
MMLU_PRO = """Answer the following multiple choice question. The last line of your response should be of the following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. Think step by step before answering.

Question:
{question}
Options:
{choices}"""


def _bench(name, args, root):
    return get_registries().benchmarks.load(name)(args, dataset_dir=str(root))


def _prompt(bench, sample):
    return bench.build_request(sample).messages[-1]["content"]


def _jsonl(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _opts(options, sep=") "):
    return "\n".join(f"{'ABCDEFGHIJ'[i]}{sep}{o}" for i, o in enumerate(options))


def test_mmlu_prompts(tmp_path):
    shot = {"subject": "virology", "question": "Which is a virus?", "choices": ["HIV", "E. coli", "yeast", "moss"],
            "answer": 0}
    row = {"subject": "virology", "question": " What do viruses need? \n", "choices": ["a host", "light", "soil", "air"],
           "answer": 0}
    _jsonl(tmp_path / "mmlu" / "test.jsonl", [{**row, "subject": "anatomy"}, row])
    _jsonl(tmp_path / "mmlu" / "dev.jsonl", [shot])
    b = _bench("mmlu", {"subset_list": ["virology"], "few_shot_num": 1}, tmp_path)
    (s,) = b.load_samples(None)
    assert (s.id, s.target, s.subset) == ("virology_0", "A", "virology")
    body = EN_COT.format(letters="A,B,C,D", question="What do viruses need?", choices=_opts(row["choices"]))
    assert _prompt(b, s) == ("Here are some examples of how to answer similar questions:\n\n"
                             f"Which is a virus?\n\n{_opts(shot['choices'])}\n\nANSWER: A\n\n{body}")
    # lm-evaluation-harness's mmlu: header naming the subject, "A. …" options, "Answer:", letters scored
    ll = _bench("mmlu", {"subset_list": ["virology"], "few_shot_num": 1, "mode": "loglikelihood"}, tmp_path)
    req = ll.build_request(s)
    assert req.prompt == ("The following are multiple choice questions (with answers) about virology.\n\n"
                          f"Which is a virus?\n{_opts(shot['choices'], '. ')}\nAnswer: A\n\n"
                          f"What do viruses need?\n{_opts(row['choices'], '. ')}\nAnswer:")
    assert req.continuations == [" A", " B", " C", " D"]


def test_mmlu_pro_prompt_with_worked_example(tmp_path):
    opts = [f"opt {i}" for i in range(6)]
    shot = {"question_id": 7, "question": "Shot?", "options": opts, "answer": "F", "category": "math",
            "cot_content": "A: Let's think step by step. Six. The answer is (F)."}
    row = {"question_id": 9, "question": "Real?", "options": opts, "answer": "C", "category": "Math "}
    _jsonl(tmp_path / "mmlu_pro" / "test.jsonl", [row])
    _jsonl(tmp_path / "mmlu_pro" / "validation.jsonl", [shot])
    b = _bench("mmlu_pro", {"subset_list": ["math"], "few_shot_num": 1}, tmp_path)
    (s,) = b.load_samples(None)
    assert (s.id, s.target) == ("9", "C")
    header = ("The following are multiple choice questions (with answers) about math. Think step by step and then "
              "finish your answer with 'ANSWER: [LETTER]' (without quotes) where [LETTER] is the correct letter "
              "choice.\n\n")
    example = f"Question:\nShot?\nOptions:\n{_opts(opts)}\nA: Let's think step by step. Six. ANSWER: F."
    body = MMLU_PRO.format(letters="A,B,C,D,E,F", question="Real?", choices=_opts(opts))
    assert _prompt(b, s) == f"{header}{example}\n\n{body}"


def test_ceval_prompt_names_the_subject_in_chinese(tmp_path):
    for split, rows in (("val", [("0", "合同何时成立？", "C")]), ("dev", [("0", "示例？", "A")])):
        d = tmp_path / "ceval" / split
        d.mkdir(parents=True)
        with open(d / f"law_{split}.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "question", "A", "B", "C", "D", "answer", "explanation"])
            for i, q, a in rows:
                w.writerow([i, q, "甲", "乙", "丙", "丁", a, "因为甲。" if split == "dev" else ""])
    b = _bench("ceval", {"subset_list": ["law"], "few_shot_num": 1}, tmp_path)
    (s,) = b.load_samples(None)
    assert (s.id, s.target) == ("law_0", "C")
    opts = _opts(["甲", "乙", "丙", "丁"], ". ")
    body = CEVAL.format(subject="法学", question="合同何时成立？", choices=opts)
    assert _prompt(b, s) == f"以下是一些示例问题：\n\n问题：示例？\n选项：\n{opts}\n解析：因为甲。\n答案：A\n\n\n{body}"
    ll = _bench("ceval", {"subset_list": ["law"], "few_shot_num": 0, "mode": "loglikelihood"}, tmp_path)
    req = ll.build_request(s)
    assert req.prompt == f"以下是中国关于法学考试的单项选择题，请选出其中的正确答案。\n\n合同何时成立？\n{opts}\n答案："
    assert req.continuations == ["A", "B", "C", "D"]


def test_cmmlu_prompt(tmp_path):
    _jsonl(tmp_path / "cmmlu" / "test" / "agronomy.jsonl",
           [{"question": "农作物？", "choices": ["(A) 稻", "(B) 石", "(C) 铁", "(D) 铜"], "answer": "(A)"}])
    b = _bench("cmmlu", {"subset_list": ["agronomy"]}, tmp_path)
    (s,) = b.load_samples(None)
    assert (s.id, s.target, s.choices) == ("agronomy_0", "A", ["稻", "石", "铁", "铜"])
    assert _prompt(b, s) == ZH_COT.format(letters="A,B,C,D", question="农作物？", choices=_opts(s.choices, ". "))


def test_hellaswag_preprocessing_and_requests(tmp_path):
    row = {"ind": 4, "activity_label": "Baking", "ctx_a": "A man  mixes flour.", "ctx_b": "HE",
           "endings": [" adds eggs [title] slowly.", "reads [step] a book.", "sleeps.", "runs."], "label": "0"}
    _jsonl(tmp_path / "hellaswag" / "validation.jsonl", [row])
    b = _bench("hellaswag", {}, tmp_path)
    (s,) = b.load_samples(None)
    # lm-evaluation-harness's preprocess: strip, " [title]" -> ". ", [..] removed, double spaces -> one
    assert s.input == "Baking: A man mixes flour. He" and s.id == "4" and s.target == "A"
    assert s.choices == ["adds eggs. slowly.", "reads a book.", "sleeps.", "runs."]
    assert _prompt(b, s) == EN_COT.format(letters="A,B,C,D", question=s.input, choices=_opts(s.choices))
    req = _bench("hellaswag", {"mode": "loglikelihood"}, tmp_path).build_request(s)
    assert req.prompt == s.input and req.continuations == [" " + c for c in s.choices]


def test_race_prompt_and_fewshot_limit(tmp_path):
    row = {"example_id": "high1.txt", "article": "Tom likes apples.", "question": "What does Tom like?",
           "options": ["pears", "apples", "figs", "nuts"], "answer": "B"}
    _jsonl(tmp_path / "race" / "high" / "test.jsonl", [row])
    _jsonl(tmp_path / "race" / "high" / "train.jsonl", [{**row, "article": "Ann has a cat.", "answer": "A"}])
    b = _bench("race", {"subset_list": ["high"], "few_shot_num": 1}, tmp_path)
    (s,) = b.load_samples(None)
    assert (s.id, s.target) == ("high1.txt#0", "B")
    q = "Article:\nTom likes apples.\nQuestion:\nWhat does Tom like?"
    shot = f"Article:\nAnn has a cat.\nQuestion:\nWhat does Tom like?\n\n{_opts(row['options'])}\n\nANSWER: A"
    assert _prompt(b, s) == ("Here are some examples of how to answer similar questions:\n\n"
                             f"{shot}\n\n{EN_COT.format(letters='A,B,C,D', question=q, choices=_opts(row['options']))}")


def test_gpqa_options_in_a_seeded_order(tmp_path):
    import hashlib
    import random

    row = {"Record ID": "rec42", "Question": " Which gas? ", "Correct Answer": " argon", "Incorrect Answer 1": "x",
           "Incorrect Answer 2": "y ", "Incorrect Answer 3": "z", "High-level domain": "Chemistry"}
    _jsonl(tmp_path / "gpqa_diamond" / "train.jsonl", [row])
    for seed in (42, 7):
        b = get_registries().benchmarks.load("gpqa_diamond")({}, dataset_dir=str(tmp_path), seed=seed)
        (s,) = b.load_samples(None)
        # the order: random.Random(first 8 bytes of sha256("seed:key"), big-endian).shuffle of the positions
        order = list(range(4))
        random.Random(int.from_bytes(hashlib.sha256(f"{seed}:rec42".encode()).digest()[:8], "big")).shuffle(order)
        options = ["argon", "x", "y", "z"]
        assert s.choices == [options[i] for i in order] and s.target == "ABCD"[order.index(0)]
        assert s.id == "rec42" and s.metadata == {"domain": "Chemistry"}
        assert _prompt(b, s) == EN_COT.format(letters="A,B,C,D", question="Which gas?", choices=_opts(s.choices))


def test_aime_prompts_ids_and_math_verify(tmp_path):
    pytest.importorskip("math_verify")
    from evs_core.schema import ModelOutput
    from evs_core.testing import score_now

    # the zero-shot prompt of EvalScope's AIME adapters (and of math_500)
    boxed = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
    _jsonl(tmp_path / "aime24" / "train.jsonl", [{"id": 60, "problem": "Find 6 * 7.", "answer": " 42", "url": "u"}])
    _jsonl(tmp_path / "aime25" / "AIME2025-II" / "test.jsonl", [{"question": "Find 11^2.", "answer": 121}])
    b24 = _bench("aime24", {}, tmp_path)
    (s,) = b24.load_samples(None)
    assert (s.id, s.target, s.metadata["question"]) == ("60", "42", "Find 6 * 7.")
    assert _prompt(b24, s) == boxed.format(problem="Find 6 * 7.")
    assert score_now(b24, s, ModelOutput(text="So $\\boxed{42.0}$")).scores == {"acc": 1.0}
    assert score_now(b24, s, ModelOutput(text="\\boxed{42} or rather \\boxed{41}")).scores == {"acc": 0.0}
    b25 = _bench("aime25", {"subset_list": ["AIME2025-II"]}, tmp_path)
    (s,) = b25.load_samples(None)
    assert (s.id, s.target) == ("AIME2025-II/0", "121") and _prompt(b25, s) == boxed.format(problem="Find 11^2.")


@pytest.mark.parametrize("name", ["mmlu", "mmlu_pro", "ceval", "cmmlu", "hellaswag", "race", "gpqa_diamond"])
def test_registered_as_spec_and_shown_resolved(name):
    from click.testing import CliRunner
    from evs_cli.main import make_cli
    from evs_core.plugins import make_plugin_manager

    entry = get_registries().benchmarks.entry(name)
    assert entry.target == f"evs_native:specs/{name}.yaml"
    out = CliRunner().invoke(make_cli(make_plugin_manager()), ["benchmarks", "show", name])
    assert out.exit_code == 0, out.output
    spec = yaml.safe_load(out.output)
    assert spec["name"] == name and spec["source"].endswith(f"{name}.yaml")
    assert spec["dataset_args"]["mode"] == "generate" and spec["loglikelihood"]["prefix"] in ("", " ")
    if name in ("mmlu", "ceval", "cmmlu"):
        assert set(spec["report"]["categories"]) == set(spec["dataset"]["subsets"])
