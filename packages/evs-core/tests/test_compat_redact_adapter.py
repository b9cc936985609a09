"""EvalScope-style values, generation_config checks, redaction, and the OpenAI adapter's faults."""

from __future__ import annotations

import asyncio
import json

import pytest
from evs_core.compat import parse_dict_arg
from evs_core.config import check_generation, make_config
from evs_core.errors import ConfigError
from evs_core.models import OpenAIAPIModel, Request
from evs_core.redact import Redactor, secrets_from
from evs_core.testing import FakeOpenAIServer


# -- k=v arguments -----------------------------------------------------------------------------
def test_kv_model_args_as_evalscope_parses_them():
    assert parse_dict_arg("--model-args", "revision=master,precision=torch.float16,device_map=auto") == {
        "revision": "master", "precision": "torch.float16", "device_map": "auto"}
    assert parse_dict_arg("--generation-config", "do_sample=true,temperature=0.6,max_tokens=512,stop=['a', 'b,c']") \
        == {"do_sample": True, "temperature": 0.6, "max_tokens": 512, "stop": ["a", "b,c"]}
    assert parse_dict_arg("--x", '{"a": {"b": 1}}') == {"a": {"b": 1}}
    with pytest.raises(ConfigError, match="neither JSON nor key=value"):
        parse_dict_arg("--model-args", "revision")
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_dict_arg("--model-args", "{revision: 1")


# -- generation_config ---------------------------------------------------------------------------
@pytest.mark.parametrize("gen,message", [
    ({"temprature": 0.5}, "unknown key 'temprature' in generation_config; did you mean 'temperature'"),
    ({"max_tokens": "lots"}, "bad value for generation_config.max_tokens (\"lots\"): must be a positive integer"),
    ({"temperature": -1}, "bad value for generation_config.temperature (-1): must be a number >= 0"),
    ({"top_p": 1.5}, "top_p"),
    ({"stream": "yes"}, "generation_config.stream"),
    ({"extra_body": [1]}, "extra_body"),
    ({"width": 512}, "evs aigc"),
])
def test_bad_generation_config_is_one_line(gen, message):
    with pytest.raises(ConfigError) as exc:
        make_config({"model": "mock", "datasets": ["x"], "generation_config": gen})
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_generation_config_client_keys_configure_the_run():
    cfg = make_config({"model": "mock", "datasets": ["x"], "generation_config": {
        "timeout": 7, "retries": 1, "retry_interval": 0.25, "batch_size": 3, "n": 4, "temperature": 0.2,
        "stop_seqs": ["###"], "extra_body": {"anything_goes": {"x": 1}}}})
    assert (cfg.timeout, cfg.retries, cfg.retry_interval, cfg.concurrency, cfg.repeats) == (7, 1, 0.25, 3, 4)
    assert cfg.generation_config == {"temperature": 0.2, "stop": ["###"], "extra_body": {"anything_goes": {"x": 1}}}
    # the top-level key wins over generation_config's, as EvalScope's deprecated --timeout does
    assert make_config({"model": "m", "datasets": ["x"], "timeout": 9, "generation_config": {"timeout": 7}}).timeout == 9
    with pytest.raises(ConfigError, match="configures the client"):
        check_generation({"timeout": 3}, "dataset_args.gsm8k.generation_config", client=False)


# -- redaction -----------------------------------------------------------------------------------
def test_redactor_masks_every_form_of_a_secret():
    cfg = {"api_key": "sk-live-123456", "api_url": "https://alice:pw-98765@h.example/v1",
           "model_args": {"headers": {"Authorization": "Bearer tok-abcdef", "X-Api-Key": "xk-55555"}},
           "judge": {"api_key": "judge-key-777"}}
    red = Redactor(secrets_from(cfg))
    text = ('HTTP 401: {"error": "bad key sk-live-123456"} Authorization: Bearer tok-abcdef '
            "https://alice:pw-98765@h.example/v1 xk-55555 judge-key-777 sk-live-123456".replace(" ", " "))
    out = red.text(text)
    for secret in ("sk-live-123456", "tok-abcdef", "pw-98765", "xk-55555", "judge-key-777", "alice:"):
        assert secret not in out
    assert "HTTP 401" in out and "h.example/v1" in out
    masked = red.obj(cfg)
    assert masked["api_key"] == "***" and masked["model_args"]["headers"] == {"Authorization": "***",
                                                                            "X-Api-Key": "***"}
    assert masked["api_url"] == "https://***@h.example/v1" and masked["judge"]["api_key"] == "***"
    assert red.text(out) == out  # idempotent
    assert Redactor().obj({"api_key": "EMPTY"}) == {"api_key": "EMPTY"}  # a placeholder is not a secret
    assert json.dumps("x") and Redactor(["sk-live-123456"]).text(json.dumps({"e": "sk-live-123456"})) == '{"e": "***"}'


# -- the OpenAI adapter ----------------------------------------------------------------------------
def _adapter(srv, **kw):
    data = {"model": "m", "api_url": srv.url, "datasets": ["x"], "retries": 0, "timeout": 30}
    data.update(kw)
    return OpenAIAPIModel(make_config(data))


async def _ask(model, text="hi"):
    try:
        return await model.agenerate(Request(messages=[{"role": "user", "content": text}]))
    finally:
        await model.aclose()


def test_extra_body_is_merged_and_client_keys_are_not_sent():
    with FakeOpenAIServer() as srv:
        model = _adapter(srv, generation_config={
            "temperature": 0, "timeout": 20, "retries": 1, "stop_seqs": ["\n\n"],
            "extra_body": {"chat_template_kwargs": {"enable_thinking": False}, "top_k": 5},
            "extra_headers": {"X-Trace": "t1"}})
        out = asyncio.run(_ask(model))
    assert out.error is None and out.text == "The answer is 42."
    (body,) = srv.requests
    assert body["chat_template_kwargs"] == {"enable_thinking": False} and body["top_k"] == 5
    assert body["stop"] == ["\n\n"] and body["temperature"] == 0
    assert not {"extra_body", "timeout", "retries", "stop_seqs", "extra_headers", "stream"} & set(body)
    assert srv.headers[0]["X-Trace"] == "t1"


def test_stream_true_joins_chunks_and_records_ttft():
    with FakeOpenAIServer(lambda body: "The answer is 17 apples.") as srv:
        out = asyncio.run(_ask(_adapter(srv, generation_config={"stream": True})))
    assert out.error is None and out.text == "The answer is 17 apples." and out.finish_reason == "stop"
    assert out.ttft_s is not None and 0 < out.ttft_s <= out.latency_s
    assert out.usage is not None and out.usage.completion_tokens == 5
    assert srv.requests[0]["stream"] is True


def test_stream_idle_timeout_gives_up_a_silent_request():
    # the server sends the first chunk, then nothing for 5 s; the idle timeout is 0.3 s
    with FakeOpenAIServer(stall=5.0) as srv:
        out = asyncio.run(_ask(_adapter(srv, retries=1, idle_timeout=0.3, generation_config={"stream": True},
                                        model_args={"backoff": 0})))
    assert out.error is not None and out.error.startswith("Timeout: no byte for --idle-timeout")
    assert len(srv.requests) == 2  # retried once


def test_malformed_bodies_are_retried_like_5xx():
    with FakeOpenAIServer(malformed=2) as srv:
        out = asyncio.run(_ask(_adapter(srv, retries=3, model_args={"backoff": 0})))
    assert out.error is None and out.text == "The answer is 42." and len(srv.requests) == 3
    with FakeOpenAIServer(malformed=5) as srv:
        out = asyncio.run(_ask(_adapter(srv, retries=1, model_args={"backoff": 0})))
    assert out.error.startswith("MalformedResponse") and len(srv.requests) == 2
