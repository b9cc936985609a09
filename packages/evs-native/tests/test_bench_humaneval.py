"""HumanEval: canonical solutions pass, broken ones fail; extraction; pass@k end to end."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from evs_core.benchmark import RunContext
from evs_core.schema import ModelOutput, Sample
from evs_core.stats import pass_at_k
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.benchmarks.humaneval import HumanEval, check_program, extract_code
from evs_native.engine import run_task

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@pytest.fixture(scope="module")
def problems() -> list[dict]:
    path = SHARED / "humaneval" / "test.jsonl"
    if not path.exists():
        pytest.skip("benchmark data ../shared/data/humaneval is not present")
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _score_all(bench: HumanEval, items: list[tuple[Sample, str]]) -> list:
    async def main():
        return await asyncio.gather(*(bench.score(s, ModelOutput(text=t), RunContext()) for s, t in items))

    return asyncio.run(main())


def test_every_canonical_solution_passes_and_broken_ones_fail(problems, tmp_path):
    bench = HumanEval({}, dataset_dir=str(SHARED))
    samples = bench.load_samples()
    assert len(samples) == 164
    by_id = {p["task_id"]: p for p in problems}
    # The canonical body as a model would send it: in a fenced block.
    right = [(s, "```python\n" + by_id[s.id]["canonical_solution"] + "```") for s in samples]
    reviews = _score_all(bench, right)
    failed = [r.sample_id for r in reviews if r.scores.get("pass") != 1.0]
    assert failed == []
    # Broken: the body returns None; and a body with a syntax error.
    broken = [(s, "    return None\n") for s in samples[:12]]
    broken += [(s, by_id[s.id]["canonical_solution"].replace("return", "retrun", 1)) for s in samples[12:24]
               if "return" in by_id[s.id]["canonical_solution"]]
    reviews = _score_all(bench, broken)
    assert [r.scores["pass"] for r in reviews] == [0.0] * len(broken)


def test_extraction_takes_the_block_defining_the_entry_point_or_the_whole_reply(problems):
    p = problems[0]
    full = p["prompt"] + p["canonical_solution"]
    reply = f"Here is the code:\n```python\n{full}```\nAnd a test:\n```python\nprint(1)\n```"
    assert extract_code(reply, p["entry_point"]) == full
    # a helper in its own block, then the function that calls it: both, helper first
    split = ("First a helper:\n```python\ndef _close(a, b, t):\n    return abs(a - b) < t\n```\nThen:\n```python\n"
             "def has_close_elements(numbers, threshold):\n    return any(_close(a, b, threshold) for i, a in "
             "enumerate(numbers) for b in numbers[i + 1:])\n```")
    code = extract_code(split, p["entry_point"])
    assert code.index("def _close") < code.index("def has_close_elements")
    assert extract_code(p["canonical_solution"]) == p["canonical_solution"]
    assert extract_code("```py\nx = 1\n") == "x = 1\n"  # unterminated block (ran out of tokens)
    # Whole function repeated, body only, and body in a block all run with the prompt prepended.
    bench = HumanEval({}, dataset_dir=str(SHARED))
    s = bench.load_samples(limit=1)[0]
    texts = ["```python\n" + full + "```", p["canonical_solution"], "```\n" + p["canonical_solution"] + "```",
             "<think>I should write a loop</think>"]
    outs = [ModelOutput(text=t) for t in texts[:3]]
    outs.append(ModelOutput(text="", reasoning="I should write a loop"))  # reasoning only: no code
    reviews = asyncio.run(_gather(bench, s, outs))
    assert [r.scores["pass"] for r in reviews] == [1.0, 1.0, 1.0, 0.0]
    assert check_program(s.metadata, "X").startswith(p["prompt"] + "X\n")


async def _gather(bench, s, outs):
    return await asyncio.gather(*(bench.score(s, o, RunContext()) for o in outs))


def test_end_to_end_pass_at_k_against_a_fake_server(problems, tmp_path):
    """Problems 0..7; even ones are answered with the canonical solution, odd ones wrongly; problem 1
    alternates, so with 4 repeats its pass@k follows the unbiased estimator."""
    by_prompt = {p["prompt"]: (i, p) for i, p in enumerate(problems[:8])}
    calls: dict[int, int] = {}

    def responder(body):
        text = last_user_text(body)
        hits = [k for k in by_prompt if k in text]
        assert len(hits) == 1
        i, p = by_prompt[hits[0]]
        calls[i] = calls.get(i, 0) + 1
        good = i % 2 == 0 or (i == 1 and calls[i] % 2 == 0)
        if good:
            return f"Sure.\n```python\n{p['prompt']}{p['canonical_solution']}```\nThis passes the examples."
        return f"```python\ndef {p['entry_point']}(*args):\n    return 0\n```"

    with FakeOpenAIServer(responder) as srv:
        reports = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["humaneval"],
                            "dataset_dir": str(SHARED), "work_dir": str(tmp_path), "limit": 8, "repeats": 4,
                            "no_progress": True, "retries": 0})
    rep = reports["humaneval"]
    assert rep.num_errors == 0
    # Per sample, the mean over repeats: 4 even problems pass always, problem 1 half the time.
    assert rep.score == pytest.approx((4 + 0.5) / 8)
    expected_p2 = (4 + pass_at_k(4, 2, 2)) / 8
    assert rep.metrics["pass@1"].score == pytest.approx(4.5 / 8)
    assert rep.metrics["pass@2"].score == pytest.approx(expected_p2)
    assert rep.metrics["pass@4"].score == pytest.approx(5 / 8)
    assert math.isclose(pass_at_k(4, 2, 2), 1 - 1 / 6)
