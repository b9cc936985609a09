"""Judge.ask: a benchmark's own messages and reply parser, counted as grade() is."""

from __future__ import annotations

import asyncio

from evs_core.judge import Judge
from evs_core.schema import ModelOutput


class Scripted:
    def __init__(self, replies):
        self.replies = list(replies)
        self.seen = []

    async def agenerate(self, request):
        self.seen.append(request.messages)
        reply = self.replies.pop(0)
        return ModelOutput(error=reply[1:]) if reply.startswith("!") else ModelOutput(text=reply)

    async def aclose(self):
        pass


def parse(text):
    return {"win": ("WIN", 1.0), "loss": ("LOSS", 0.0)}.get(text.strip())


def test_ask_parses_counts_and_never_raises():
    model = Scripted(["win", "loss", "maybe", "!HTTP 500"])
    judge = Judge(model, model_name="j").for_dataset("ds")
    msgs = [{"role": "system", "content": "be fair"}, {"role": "user", "content": "A or B?"}]
    out = [asyncio.run(judge.ask(msgs, parse)) for _ in range(4)]
    assert [(v.label, v.score) for v in out[:2]] == [("WIN", 1.0), ("LOSS", 0.0)]
    assert out[2].score is None and out[2].error.startswith("JudgeUnparsable")
    assert out[3].score is None and out[3].error.startswith("JudgeError")
    assert model.seen[0] == msgs  # the messages go as given, system message included
    assert judge.summary() == {"model": "j", "strategy": "llm_when_rule_fails", "asked": 4, "parsed": 2,
                               "unparsable": 1, "errors": 1, "labels": {"LOSS": 1, "WIN": 1}}
