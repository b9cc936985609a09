"""Fixtures of evs-native's own tests (owned by the engine; benchmark tests keep theirs local)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "gsm8k" / "test.jsonl").exists():
        pytest.skip("benchmark data ../shared/data is not present")
    return SHARED_DATA


def _right(key: str) -> bool:
    """A reproducible 2-in-3 choice of which questions the fake model answers right."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


class GoldResponder:
    """Answers gsm8k and ARC prompts right for 2/3 of the questions (chosen by hash), wrong otherwise.

    ``expected(dataset, ids)`` gives the accuracy a correct scorer must report.
    """

    def __init__(self, data: Path, limit: int = 100):
        self.gsm8k = {}
        for i, line in enumerate((data / "gsm8k" / "test.jsonl").read_text().splitlines()[:limit]):
            row = json.loads(line)
            self.gsm8k[row["question"]] = (str(i), row["answer"].rsplit("####", 1)[1].strip().replace(",", ""))
        self.arc = {}
        for line in (data / "arc" / "ARC-Challenge" / "test.jsonl").read_text().splitlines()[:limit]:
            row = json.loads(line)
            labels = [str(x) for x in row["choices"]["label"]]
            self.arc[row["question"]] = (row["id"], "ABCDEFGH"[labels.index(str(row["answerKey"]).strip())])
        self.asked: list[str] = []

    def __call__(self, body: dict) -> str:
        prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        if "final answer within \\boxed{}" in prompt:
            q = prompt.rsplit("\n\n", 1)[-1].rsplit("\nPlease reason", 1)[0]
            sid, gold = self.gsm8k[q]
            self.asked.append("gsm8k/" + sid)
            if _right("gsm8k/" + sid):
                return f"First 3 + 4 = 7 apples, then more steps.\nSo the total is {int(gold):,}.\nThe answer is \\boxed{{{int(gold):,}}}."
            return f"I computed {int(gold) + 1} at first but then 3 more.\nThe answer is \\boxed{{{int(gold) + 4}}}."
        for q, (sid, gold) in self.arc.items():
            if f"\n\n{q}\n\n" in prompt:
                self.asked.append("arc/" + sid)
                wrong = "A" if gold != "A" else "B"
                if _right("arc/" + sid):
                    return f"Option {wrong} seems plausible at first, but no.\nANSWER: {gold}"
                return f"Option {gold} is tempting, but ({wrong}) is better.\nANSWER: {wrong}"
        raise AssertionError("unknown prompt: " + prompt[-200:])

    def expected(self, dataset: str, n: int) -> float:
        ids = [v[0] for v in list((self.gsm8k if dataset == "gsm8k" else self.arc).values())[:n]]
        return sum(_right(f"{dataset}/{i}") for i in ids) / n


@pytest.fixture
def gold(shared_data) -> GoldResponder:
    return GoldResponder(shared_data)
