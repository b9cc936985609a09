import asyncio
import json

import pytest
from evs_core.config import make_config
from evs_core.data import find_split_files, load_local, read_records
from evs_core.errors import ConfigError, EvsError
from evs_core.models import MockModel, OpenAIAPIModel, Request, split_reasoning
from evs_core.outputs import JsonlAppender, read_jsonl_tolerant, safe_name
from evs_core.stats import bootstrap_ci, pass_at_k, stderr, summarize
from evs_core.testing import FakeOpenAIServer


def test_split_file_discovery(tmp_path):
    (tmp_path / "test.jsonl").write_text('{"a": 1}\n')
    (tmp_path / "train.jsonl").write_text('{"a": 2}\n{"a": 3}\n')
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "law_dev.csv").write_text("id,question\n1,q\n")
    (tmp_path / "dev" / "logic_dev.csv").write_text("id,question\n2,q\n")
    (tmp_path / "main").mkdir()
    (tmp_path / "main" / "test-00000-of-00001.jsonl").write_text('{"a": 9}\n')
    assert [r["a"] for r in load_local(tmp_path, "train")] == [2, 3]
    assert {p.name for p in find_split_files(tmp_path, "test")} == {"test.jsonl", "test-00000-of-00001.jsonl"}
    assert [r["id"] for r in load_local(tmp_path, "dev", "law")] == ["1"]
    with pytest.raises(ConfigError, match="no data file for split 'validation'"):
        load_local(tmp_path, "validation")


def test_read_records_errors(tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"ok": 1}\n{broken\n')
    with pytest.raises(EvsError, match=r"x.jsonl:2: not valid JSON"):
        read_records(bad)
    with pytest.raises(ConfigError, match="unsupported data file type"):
        (tmp_path / "x.txt").write_text("hi")
        read_records(tmp_path / "x.txt")


def test_stats():
    vals = [1.0, 0.0, 1.0, 1.0]
    s = summarize(vals, seed=1)
    assert s.score == 0.75 and s.num == 4
    assert abs(s.stderr - stderr(vals)) < 1e-12 and abs(stderr(vals) - 0.25) < 1e-12
    lo, hi = bootstrap_ci([0.0] * 50 + [1.0] * 50, seed=3)
    assert 0.35 < lo < 0.5 < hi < 0.65
    assert bootstrap_ci([1.0]) is None
    # unbiased pass@k: n=5, c=2 -> pass@1 = 0.4, pass@2 = 1 - C(3,2)/C(5,2) = 0.7
    assert abs(pass_at_k(5, 2, 1) - 0.4) < 1e-12 and abs(pass_at_k(5, 2, 2) - 0.7) < 1e-12
    assert pass_at_k(5, 4, 2) == 1.0 and pass_at_k(5, 0, 3) == 0.0


@pytest.mark.parametrize("text,answer,reasoning", [
    ("<think>hmm 2+2</think>The answer is 4", "The answer is 4", "hmm 2+2"),
    ("reasoning without open tag</think>\nFinal: 7", "Final: 7", "reasoning without open tag"),
    ("<think>ran out of tokens", "", "ran out of tokens"),
    ("plain answer", "plain answer", None),
])
def test_split_reasoning(text, answer, reasoning):
    assert split_reasoning(text) == (answer, reasoning)


def test_jsonl_tolerates_cut_line(tmp_path):
    p = tmp_path / "p.jsonl"
    w = JsonlAppender(p)
    w.write({"a": 1})
    w.close()
    with open(p, "a") as f:
        f.write('{"a": 2, "b"')  # a crash mid-line
    rows, bad = read_jsonl_tolerant(p)
    assert rows == [{"a": 1}] and bad == 1
    assert safe_name("org/Model-7B") == "org_Model-7B"


def _cfg(**kw):
    base = {"model": "m", "datasets": ["x"], "retries": 2, "timeout": 5}
    base.update(kw)
    return make_config(base)


def test_openai_adapter_parses_usage_reasoning_and_retries():
    with FakeOpenAIServer(lambda body: "<think>let me see</think>ANSWER: B", fail_rate=0.5, seed=1) as srv:
        model = OpenAIAPIModel(_cfg(api_url=srv.url, api_key="EMPTY", retries=8, model_args={"backoff": 0.001}))

        async def go():
            outs = [await model.agenerate(Request(messages=[{"role": "user", "content": "q one"}])) for _ in range(6)]
            await model.aclose()
            return outs

        outs = asyncio.run(go())
    assert srv.failures > 0  # faults were injected and retried away
    for out in outs:
        assert out.error is None and out.text == "ANSWER: B" and out.reasoning == "let me see"
        assert out.usage.completion_tokens == len("<think>let me see</think>ANSWER: B".split()) and out.latency_s > 0


async def _once(model, request):
    try:
        return await model.agenerate(request)
    finally:
        await model.aclose()


def test_openai_adapter_gives_up_and_records_error():
    with FakeOpenAIServer(fail_rate=1.0) as srv:
        model = OpenAIAPIModel(_cfg(api_url=srv.url, retries=2, model_args={"backoff": 0.001}))
        out = asyncio.run(_once(model, Request(prompt="x")))
    assert out.error.startswith("HTTP 500") and len(srv.requests) == 3  # 1 try + 2 retries, bounded


def test_openai_adapter_rejects_unknown_model_args_and_unreachable_url():
    with pytest.raises(ConfigError, match="did you mean 'headers'"):
        OpenAIAPIModel(_cfg(api_url="http://127.0.0.1:9/v1", model_args={"header": {}}))
    model = OpenAIAPIModel(_cfg(api_url="http://127.0.0.1:9/v1"))
    with pytest.raises(EvsError, match="cannot reach --api-url"):
        asyncio.run(model.preflight())


def test_completions_api_and_mock():
    with FakeOpenAIServer(lambda body: body.get("prompt", "")[-3:]) as srv:
        model = OpenAIAPIModel(_cfg(api_url=srv.url + "/completions", model_args={"api": "completions"}))
        out = asyncio.run(_once(model, Request(prompt="abcxyz")))
    assert out.text == "xyz" and json.dumps(srv.requests[0]).count("prompt") == 1
    mock = MockModel(_cfg(model="mock", model_args={"mode": "hash"}))
    a = asyncio.run(mock.agenerate(Request(prompt="p")))
    b = asyncio.run(mock.agenerate(Request(prompt="p")))
    assert a.text == b.text and "The answer is" in a.text
    with pytest.raises(EvsError, match="mode"):
        MockModel(_cfg(model="mock", model_args={"mode": "nope"}))
