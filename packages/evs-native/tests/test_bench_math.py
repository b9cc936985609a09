"""math_500, aime24, aime25: math-verify equivalence on realistic replies; end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from evs_core.schema import ModelOutput
from evs_core.testing import FakeOpenAIServer, last_user_text, score_now
from evs_native.benchmarks.math_500 import AIME24, Math500, math_equal
from evs_native.engine import run_task

pytest.importorskip("math_verify")
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def _shared(name):
    if not (SHARED / name).exists():
        pytest.skip(f"benchmark data ../shared/data/{name} is not present")
    return SHARED


def right(key: str) -> bool:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


@pytest.mark.parametrize("reply, gold, ok", [
    ("We get $x = \\frac{14}{3}$, so the answer is $\\boxed{\\dfrac{14}{3}}$.", "\\frac{14}{3}", True),
    ("First I tried 12, then 13.\nThe answer is \\boxed{14/3}", "\\frac{14}{3}", True),
    ("Total: \\boxed{1,000}", "1000", True),  # thousands separator
    ("\\boxed{(3, \\frac{\\pi}{2})}", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("So $r=3$ and $\\theta = \\pi/2$: \\boxed{\\left(3,\\frac{\\pi}{2}\\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("\\boxed{0.5}", "\\frac{1}{2}", True),
    ("\\boxed{204}", "204", True),
    ("I considered \\boxed{205} but the final answer is \\boxed{204}.", "204", True),  # last boxed wins
    ("\\boxed{204} hmm, actually \\boxed{205}", "204", False),  # a later boxed answer replaces it
    ("The answer is \\boxed{4.6667}", "\\frac{14}{3}", False),  # rounded: not equal
    ("\\boxed{205}", "204", False),
    ("I don't know.", "204", False),
    ("<no answer, ran out of tokens", "204", False),
])
def test_math_verify_equivalence(reply, gold, ok):
    assert math_equal(reply, gold)[1] == float(ok)


def test_reasoning_is_not_scored():
    bench = AIME24({}, dataset_dir=str(_shared("aime24")))
    s = bench.load_samples(limit=1)[0]
    # The adapters strip <think>: only output.text is scored even if the reasoning holds the answer.
    r = score_now(bench, s, ModelOutput(text="I am not sure.", reasoning=f"maybe \\boxed{{{s.target}}}"))
    assert r.scores["acc"] == 0.0
    r = score_now(bench, s, ModelOutput(text=f"Final: \\boxed{{{s.target}}}", reasoning="\\boxed{1}"))
    assert r.scores["acc"] == 1.0


def _answer_server(table):
    def responder(body):
        text = last_user_text(body)
        q = text.rsplit("\nPlease reason step by step", 1)[0]
        key, gold = table[q]
        if right(key):
            return f"Let me compute. A first guess was 7, but that is wrong.\nThus the answer is $\\boxed{{{gold}}}$."
        return "After some work I get \\boxed{-12345}."
    return FakeOpenAIServer(responder)


def test_math_500_end_to_end_by_level(tmp_path):
    data = _shared("math_500")
    rows = [json.loads(x) for x in (data / "math_500" / "test.jsonl").read_text().splitlines()]
    bench = Math500({}, dataset_dir=str(data))
    samples = bench.load_samples(limit=4)
    assert [s.subset for s in samples] == [f"Level {i}" for i in range(1, 6) for _ in range(4)]
    table = {r["problem"]: (str(i), r["answer"]) for i, r in enumerate(rows)}
    with _answer_server(table) as srv:
        rep = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["math_500"],
                        "dataset_dir": str(data), "work_dir": str(tmp_path), "limit": 4, "no_progress": True,
                        "retries": 0})["math_500"]
    keys = {s.metadata["question"]: table[s.metadata["question"]][0] for s in samples}
    expected = sum(right(k) for k in keys.values()) / len(keys)
    assert rep.num == 20 and rep.num_errors == 0
    assert rep.score == pytest.approx(expected)
    assert [s.name for s in rep.subsets] == [f"Level {i}" for i in range(1, 6)]


def test_aime24_and_aime25_end_to_end(tmp_path):
    data = _shared("aime24")
    rows = [json.loads(x) for x in (data / "aime24" / "train.jsonl").read_text().splitlines()]
    # aime25 has no local copy: a few rows in its real schema (opencompass/AIME2025: question, answer).
    d25 = tmp_path / "data25" / "aime25"
    for sub, qs in (("AIME2025-I", [("Find 6 times 7.", "42"), ("Find 2^10 mod 1000.", "24")]),
                    ("AIME2025-II", [("Find 11 squared.", "121")])):
        (d25 / sub).mkdir(parents=True)
        (d25 / sub / "test.jsonl").write_text("\n".join(json.dumps({"question": q, "answer": a}) for q, a in qs))
    table = {r["problem"]: (f"24/{r['id']}", r["answer"]) for r in rows}
    table.update({"Find 6 times 7.": ("25/a", "42"), "Find 2^10 mod 1000.": ("25/b", "24"),
                  "Find 11 squared.": ("25/c", "121")})
    with _answer_server(table) as srv:
        common = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "no_progress": True, "retries": 0}
        r24 = run_task({**common, "datasets": ["aime24"], "dataset_dir": str(data), "work_dir": str(tmp_path / "a"),
                        "limit": 10})["aime24"]
        r25 = run_task({**common, "datasets": ["aime25"], "dataset_dir": str(tmp_path / "data25"),
                        "work_dir": str(tmp_path / "b")})["aime25"]
    assert r24.score == pytest.approx(sum(right(f"24/{r['id']}") for r in rows[:10]) / 10)
    assert r25.num == 3
    assert r25.score == pytest.approx(sum(right(k) for k in ("25/a", "25/b", "25/c")) / 3)
    assert [s.name for s in r25.subsets] == ["AIME2025-I", "AIME2025-II"]
