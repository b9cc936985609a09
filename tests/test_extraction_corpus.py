"""The extraction corpus: every reply read by the extractor its benchmark uses.

``tests/extraction_corpus/*.jsonl`` holds realistic replies, each labelled with the answer a
careful human grader reads in it (``null``: no answer). A reply is *wrong* when an answer other
than the label is credited (or any answer where the label is null) and *missed* when the label
has an answer and the extractor found none. Both must be zero, for every family and rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from evs_core.extract import numbers_equal
from evs_core.registry import get_registries
from evs_core.schema import Sample

CORPUS = Path(__file__).resolve().parent / "extraction_corpus"
FAMILIES = ["mcq", "number", "math", "short", "code", "bbh", "text"]
#: Benchmarks whose extraction the corpus must exercise.
REQUIRED = {"mmlu", "mmlu_pro", "ceval", "cmmlu", "gpqa_diamond", "arc", "hellaswag", "winogrande", "race",
            "truthful_qa", "general_mcq", "bbh", "gsm8k", "math_500", "aime24", "humaneval", "live_code_bench",
            "trivia_qa", "drop", "general_qa"}


def load_corpus() -> list[dict]:
    rows = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                row = json.loads(line)
                row["_where"] = f"{path.name}:{i + 1}"
                rows.append(row)
    return rows


_BENCHES: dict[str, object] = {}


def bench_for(name: str):
    if name not in _BENCHES:
        cls = get_registries().benchmarks.load(name)
        _BENCHES[name] = cls({})
    return _BENCHES[name]


def sample_for(row: dict) -> Sample:
    if row["family"] == "code" and row["benchmark"] == "humaneval":
        md = {"task_id": row["id"], "prompt": row["prompt"], "test": row["test"], "entry_point": row["entry_point"]}
        return Sample(id=row["id"], input=row["prompt"], metadata=md)
    if row["family"] == "code":
        return Sample(id=row["id"], input="### Question:\n…", metadata={"tests": {"inputs": [], "outputs": [],
                                                                                   "fn_name": None}})
    return Sample(id=row["id"], input=row.get("question", ""), choices=row.get("choices"), subset=row.get("subset", "default"))


def _run_python(source: str, stdin: str = "") -> tuple[bool, str]:
    proc = subprocess.run([sys.executable, "-c", source], input=stdin, capture_output=True, text=True, timeout=30)
    return proc.returncode == 0, proc.stdout


def same(row: dict, got) -> bool:
    """Whether the extracted answer is the labelled one (compared as the benchmark compares)."""
    want, fam = row["answer"], row["family"]
    if want is None or got is None:
        return want is None and got is None
    if fam in ("mcq", "bbh"):
        return got == want
    if fam == "number":
        return numbers_equal(got, want)
    if fam == "math":
        import math_verify
        from evs_native.benchmarks.math_500 import parse_answer, parse_gold

        return bool(math_verify.verify(parse_gold(want), parse_answer(got)))
    if fam == "short":
        from evs_native.benchmarks.trivia_qa import normalize_answer

        return normalize_answer(got) == normalize_answer(want)
    if fam == "text":
        return " ".join(str(got).split()) == " ".join(str(want).split())
    if fam == "code":  # the label says whether the program a reader takes from the reply works
        if row["benchmark"] == "humaneval":
            from evs_native.benchmarks.humaneval import check_program

            ok, _ = _run_python(check_program({"prompt": row["prompt"], "test": row["test"],
                                               "entry_point": row["entry_point"]}, got).replace(
                f"check({row['entry_point']})", ""))
        else:
            ok, out = _run_python(got, row["stdin"])
            ok = ok and out == row["stdout"]
        return ok == want
    raise AssertionError(f"unknown family {fam}")


def judge_row(row: dict) -> tuple[str, str]:
    """(outcome, rule): outcome is ok, wrong or missed."""
    got, rule = bench_for(row["benchmark"]).read_answer(row["reply"], sample_for(row))
    if row["family"] == "code" and got == "":
        got = None
    if same(row, got):
        return "ok", rule or "?"
    if got is None:
        return "missed", rule or "?"
    return "wrong", rule or "?"


ROWS = load_corpus()


def test_corpus_is_large_and_covers_every_benchmark_and_style():
    assert len(ROWS) >= 400
    assert REQUIRED <= {r["benchmark"] for r in ROWS}
    assert len({r["id"] for r in ROWS}) == len(ROWS), "duplicate ids"
    negatives = [r for r in ROWS if r["answer"] is None]
    assert len(negatives) >= 50  # hard negatives: a careful grader reads no answer
    styles = {r["style"] for r in ROWS}
    for needed in ("think_block_other_letter", "zh_reasoning_gu_xuan", "zh_correct_option_text", "text_only",
                   "correct_option_is_with_text", "helper_then_function", "boxed_degree", "answer_plain_fraction"):
        assert needed in styles


@pytest.mark.parametrize("family", FAMILIES)
def test_corpus_family(family):
    rows = [r for r in ROWS if r["family"] == family]
    assert rows, f"no corpus lines for {family}"
    outcomes = Counter()
    by_rule: dict[str, Counter] = defaultdict(Counter)
    bad = []
    for r in rows:
        outcome, rule = judge_row(r)
        outcomes[outcome] += 1
        by_rule[rule][outcome] += 1
        if outcome != "ok":
            bad.append(f"{r['_where']} {r['id']} [{outcome}, rule {rule}] label={r['answer']!r}: {r['reply'][:120]!r}")
    none_share = sum(1 for r in rows if judge_row(r)[1] == "none") / len(rows)
    print(f"\n{family}: {len(rows)} replies, no answer {none_share:.1%}, rules "
          + ", ".join(f"{k}={sum(v.values())}" for k, v in sorted(by_rule.items())))
    assert not bad, "\n".join(bad)
