"""The local transformers adapter on a tiny random Llama built by the test (offline, ~2 s)."""

from __future__ import annotations

import asyncio
import socket

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from evs_core.config import make_config  # noqa: E402
from evs_core.errors import ConfigError  # noqa: E402
from evs_core.models import Request  # noqa: E402
from evs_native.local_model import TransformersModel  # noqa: E402

CORPUS = ["The answer is 42.", "Question: what is two plus two? Answer: four.", "A B C D options",
          "Paris is the capital of France.", "Let me think step by step."] * 20


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from evs_core.testing import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), CORPUS)


def _model(path, **args):
    cfg = make_config({"model": str(path), "datasets": ["x"], "model_args": {"batch_size": 4, **args}})
    return TransformersModel(cfg)


def test_local_path_never_touches_the_network(tiny_model, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    m = _model(tiny_model)
    asyncio.run(m.preflight())
    assert m.model is not None


def test_batched_generation_matches_one_by_one(tiny_model):
    reqs = [Request(messages=[{"role": "user", "content": q}], generation={"max_tokens": 8})
            for q in ("What is two plus two?", "Capital of France?", "Think step by step please, then answer.")]

    async def batched():
        m = _model(tiny_model)
        await m.preflight()
        outs = await asyncio.gather(*(m.agenerate(r) for r in reqs))
        await m.aclose()
        return outs

    async def single():
        m = _model(tiny_model, batch_size=1)
        await m.preflight()
        outs = [await m.agenerate(r) for r in reqs]
        await m.aclose()
        return outs

    b, s = asyncio.run(batched()), asyncio.run(single())
    assert [o.error for o in b] == [None] * 3
    assert [o.text for o in b] == [o.text for o in s]
    assert all(0 < o.usage.completion_tokens <= 8 and o.usage.prompt_tokens > 5 for o in b)


def test_concurrent_first_requests_load_the_model_once(tiny_model, monkeypatch):
    m = _model(tiny_model)
    loads = []
    original = m._load
    monkeypatch.setattr(m, "_load", lambda: (loads.append(1), original())[1])

    async def go():
        outs = await asyncio.gather(*(m.agenerate(Request(prompt=f"q{i}", generation={"max_tokens": 2}))
                                      for i in range(4)))
        await m.aclose()
        return outs

    assert [o.error for o in asyncio.run(go())] == [None] * 4 and loads == [1]


def test_loglikelihood_matches_manual_computation(tiny_model):
    m = _model(tiny_model)

    async def go():
        await m.preflight()
        out = await m.agenerate(Request(prompt="Question: capital? Answer:", kind="loglikelihood",
                                        continuations=[" Paris", " four"]))
        await m.aclose()
        return out

    out = asyncio.run(go())
    tok, model = m.tokenizer, m.model
    ctx = tok("Question: capital? Answer:", add_special_tokens=False)["input_ids"]
    for cont, got in zip([" Paris", " four"], out.logprobs):
        whole = tok("Question: capital? Answer:" + cont, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([whole])).logits[0].float(), -1)
        expected = sum(float(logp[i - 1, whole[i]]) for i in range(len(ctx), len(whole)))
        assert got == pytest.approx(expected, abs=1e-4)


def test_bad_model_args_and_missing_path(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'batch_size'"):
        _model(tmp_path, batchsize=2)
    m = _model(tmp_path / "does-not-exist")
    with pytest.raises(ConfigError, match="model path does not exist"):
        asyncio.run(m.preflight())
