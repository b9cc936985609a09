"""The one scoring path: each unit is scored once, in the worker; reports come from the reviews on disk."""

from __future__ import annotations

import json
import types

import pytest
from evs_core.benchmark import Benchmark, RunContext, make_review
from evs_core.hookspecs import hookimpl
from evs_core.plugins import make_plugin_manager
from evs_core.schema import Sample
from evs_core.testing import FakeOpenAIServer
from evs_native.engine import run_task

CALLS: list[tuple[str, int]] = []
ROWS = [{"q": f"q{i}", "a": str(i % 3)} for i in range(12)]


class Counting(Benchmark):
    name = "counting"
    metrics = ["acc"]

    def load_rows(self, split, subset):
        return ROWS

    def record_to_sample(self, record, index, subset):
        return Sample(id=record["q"], input=record["q"], target=record["a"], subset=subset)

    async def score(self, sample, output, ctx: RunContext):
        assert ctx.dataset == "counting" and ctx.run_dir is not None and ctx.registries is not None
        CALLS.append((sample.id, ctx.repeat))
        if sample.id == "q5":
            raise RuntimeError("scorer bug")
        return make_review(sample, output, ctx, extracted=output.text.strip(),
                           scores={"acc": float(output.text.strip() == sample.target)})


class Legacy(Benchmark):
    """Written against the first contract: score(extracted, sample, output) -> dict."""

    name = "legacy"

    def load_rows(self, split, subset):
        return ROWS

    def record_to_sample(self, record, index, subset):
        return Sample(id=record["q"], input=record["q"], target=record["a"], subset=subset)

    def score(self, extracted, sample, output):  # noqa: D102 - the old name of compare()
        return {"acc": float(extracted == sample.target)}


def _pm():
    plugin = types.SimpleNamespace(evs_register_benchmarks=hookimpl(
        lambda register: (register("counting", Counting), register("legacy", Legacy))))
    return make_plugin_manager(load_entrypoints=False, extra_plugins=[plugin])


def _answer(body):
    q = body["messages"][-1]["content"]
    return "0" if q in ("q0", "q3", "q6", "q9", "q1") else "x"  # q0 q3 q6 q9 right, q1 wrong


def _cfg(srv, work, **kw):
    return {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["counting"], "work_dir": str(work),
            "no_progress": True, "retries": 0, "model_type": "openai_api", **kw}


def test_each_unit_scored_once_and_report_from_disk(tmp_path):
    CALLS.clear()
    with FakeOpenAIServer(_answer) as srv:
        rep = run_task(_cfg(srv, tmp_path / "w", repeats=2), pm=_pm())["counting"]
        assert sorted(CALLS) == sorted((r["q"], k) for r in ROWS for k in range(2))  # once per unit
        (run,) = (tmp_path / "w").iterdir()
        lines = (run / "reviews" / "m" / "counting.jsonl").read_text().splitlines()
        assert len(lines) == 24  # appended once, never rewritten with duplicates
        # 11 scored samples (q5's scorer failed twice: recorded and counted); right: q0 q3 q6 q9
        assert rep.num == 11 and rep.errors == {"ScoringError": 2}
        assert rep.score == pytest.approx(4 / 11)

        # Resume without --rescore: nothing is asked or scored again; the report is read from disk.
        CALLS.clear()
        path = run / "reviews" / "m" / "counting.jsonl"
        edited = [json.loads(x) for x in lines]
        for r in edited:
            if r["sample_id"] == "q1":
                r["scores"] = {"acc": 1.0}  # the report must follow the reviews file, not live objects
        path.write_text("".join(json.dumps(r) + "\n" for r in edited))
        asked = len(srv.requests)
        again = run_task(_cfg(srv, tmp_path / "w", repeats=2, use_cache=str(run)), pm=_pm())["counting"]
        assert CALLS == [] and len(srv.requests) == asked
        assert again.score == pytest.approx(5 / 11)

        # --rescore: every prediction scored again, once; the reviews file is replaced.
        re = run_task(_cfg(srv, tmp_path / "w", repeats=2, use_cache=str(run), rescore=True), pm=_pm())["counting"]
        assert len(CALLS) == 24 and len(srv.requests) == asked
        assert re.score == pytest.approx(4 / 11)
        assert len(path.read_text().splitlines()) == 24


def test_old_contract_still_scores(tmp_path):
    with FakeOpenAIServer(_answer) as srv:
        rep = run_task({**_cfg(srv, tmp_path), "datasets": ["legacy"]}, pm=_pm())["legacy"]
    assert rep.num == 12 and rep.score == pytest.approx(4 / 12)
