"""Tool calling in the model layer: tools sent as OpenAI fields, tool_calls read back (whole and
streamed), the text fallback and its rules, and the fake server's tool-call answers."""

import asyncio
import json

import pytest

from evs_core.config import make_config
from evs_core.errors import ConfigError
from evs_core.models import MockModel, OpenAIAPIModel, Request
from evs_core.schema import ModelOutput, Prediction
from evs_core.testing import FakeOpenAIServer
from evs_core.tools import arguments_of, check_tools, parse_text_tool_calls

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _cfg(**kw):
    base = {"model": "m", "datasets": ["x"], "retries": 1, "timeout": 5}
    base.update(kw)
    return make_config(base)


def _ask(url, request, **model_args):
    model = OpenAIAPIModel(_cfg(api_url=url, model_args={"backoff": 0.001, **model_args}))

    async def go():
        try:
            return await model.agenerate(request)
        finally:
            await model.aclose()

    return asyncio.run(go())


def _responder(body):
    if not body.get("tools"):
        return "no tools offered"
    city = body["messages"][-1]["content"].split()[-1]
    return {"content": None, "tool_calls": [{"name": "get_weather", "arguments": {"city": city, "unit": "°C"}},
                                            {"name": "get_weather", "arguments": {"city": "Oslo"}}]}


@pytest.mark.parametrize("stream", [False, True])
def test_tools_are_sent_and_tool_calls_read(stream):
    request = Request(messages=[{"role": "user", "content": "weather in Paris"}], tools=[WEATHER],
                      tool_choice="auto", generation={"stream": stream} if stream else {})
    with FakeOpenAIServer(_responder) as srv:
        out = _ask(srv.url, request)
    body = srv.requests[0]
    assert body["tools"] == [WEATHER] and body["tool_choice"] == "auto"
    assert out.error is None and out.finish_reason == "tool_calls" and out.tool_call_rule == "tool_calls"
    assert [c.name for c in out.tool_calls] == ["get_weather", "get_weather"]
    assert json.loads(out.tool_calls[0].arguments) == {"city": "Paris", "unit": "°C"}
    assert json.loads(out.tool_calls[1].arguments) == {"city": "Oslo"}
    assert out.tool_calls[0].id == "call_0" and out.text == ""
    # recorded in the predictions file's schema, and back
    pred = Prediction(sample_id="1", output=out, request=request.to_dict())
    again = Prediction.model_validate_json(pred.model_dump_json())
    assert again.output.tool_calls == out.tool_calls and again.request["tools"] == [WEATHER]


def test_request_without_tools_is_unchanged():
    with FakeOpenAIServer(_responder) as srv:
        out = _ask(srv.url, Request(messages=[{"role": "user", "content": "hi"}]))
    assert "tools" not in srv.requests[0] and "tool_choice" not in srv.requests[0]
    assert out.text == "no tools offered" and out.tool_calls is None and out.tool_call_rule is None
    assert Request(messages=[]).to_dict() == {"kind": "generate", "messages": []}  # mock hashes stay put
    old = ModelOutput.model_validate({"text": "x", "finish_reason": "stop"})  # files written before tools
    assert old.tool_calls is None


def test_completions_api_refuses_tools_before_sending():
    with FakeOpenAIServer(_responder) as srv:
        out = _ask(srv.url, Request(prompt="p", tools=[WEATHER]), api="completions")
    assert out.error.startswith("ToolsUnsupported") and srv.requests == []


def test_bad_tool_call_parser_is_a_config_error():
    with pytest.raises(ConfigError, match="tool_call_parser"):
        OpenAIAPIModel(_cfg(api_url="http://127.0.0.1:9/v1", model_args={"tool_call_parser": "json"}))


@pytest.mark.parametrize("parser,expect", [("native", None), ("text", "text_tool_call_tag")])
def test_text_fallback_only_when_asked(parser, expect):
    reply = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    with FakeOpenAIServer(lambda body: reply) as srv:
        out = _ask(srv.url, Request(messages=[{"role": "user", "content": "q"}], tools=[WEATHER]),
                   tool_call_parser=parser)
    assert out.tool_call_rule == expect
    if expect:
        assert out.tool_calls[0].name == "get_weather" and arguments_of(out.tool_calls[0]) == ({"city": "Rome"}, None)
    else:
        assert out.tool_calls is None


@pytest.mark.parametrize("text,names,rule", [
    ('<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call>\n<tool_call>{"name": "b", "arguments": {}}'
     '</tool_call>', ["a", "b"], "text_tool_call_tag"),
    ('<tool_call>\n```json\n{"name": "a", "parameters": {"x": 1}}\n```\n</tool_call>', ["a"], "text_tool_call_tag"),
    ('{"name": "a", "arguments": {"x": 1}}', ["a"], "text_json"),
    ('[{"name": "a", "arguments": {}}, {"name": "b", "arguments": "{\\"y\\": 2}"}]', ["a", "b"], "text_json"),
    ('I will call the tool.\n```json\n{"tool_calls": [{"function": {"name": "a", "arguments": "{}"}}]}\n```',
     ["a"], "text_json"),
    ("The weather in Paris is sunny.", [], "none"),
    ('{"answer": 42}', [], "none"),  # JSON, but not a call
    ("", [], "none"),
])
def test_parse_text_tool_calls(text, names, rule):
    calls, got = parse_text_tool_calls(text)
    assert [c.name for c in calls] == names and got == rule


def test_parsed_arguments_keep_the_models_text():
    calls, _ = parse_text_tool_calls('{"name": "a", "arguments": "{not json"}')
    assert calls[0].arguments == "{not json"
    value, error = arguments_of(calls[0])
    assert value is None and "not JSON" in error


def test_check_tools_wraps_bare_functions_and_names_bad_ones():
    bare = {"name": "f", "parameters": {"type": "object", "properties": {}}}
    assert check_tools(json.dumps([bare]), "row 1") == [{"type": "function", "function": bare}]
    with pytest.raises(ConfigError, match="row 2: tool 1"):
        check_tools([{"description": "no name"}], "row 2")
    with pytest.raises(ConfigError, match="must be a list"):
        check_tools({"name": "f"}, "row 3")


def test_mock_model_ignores_tools_without_failing():
    model = MockModel(_cfg(model_args={"mode": "constant", "text": "ok"}))
    out = asyncio.run(model.agenerate(Request(messages=[{"role": "user", "content": "q"}], tools=[WEATHER])))
    assert out.text == "ok" and out.tool_calls is None


def test_redaction_keeps_tool_schemas_with_credential_named_properties():
    """A tool whose parameters include an 'Authorization' header field is data, not a credential:
    the predictions file (request.tools) must stay valid JSON."""
    from evs_core.redact import Redactor

    schema = {"type": "object", "properties": {"Authorization": {"type": "string"}, "api_key": ["a", "b"]}}
    line = json.dumps({"tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]},
                      separators=(",", ":"))
    assert json.loads(Redactor().text(line)) == json.loads(line)
    assert Redactor().text('{"Authorization":"Bearer sk-abcdef123"}') == '{"Authorization":"***"}'


@pytest.mark.parametrize("reply,names", [
    # a call drafted while thinking is not a call; the final answer is plain text
    ('<think>Maybe <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>? No, '
     "I know it.</think>It is sunny in Oslo.", []),
    ('<think>The user wants the weather; call the tool.</think>\n<tool_call>\n{"name": "get_weather", '
     '"arguments": {"city": "Oslo"}}\n</tool_call>', ["get_weather"]),
    ('```json\n{"name": "get_weather", "arguments": {"city": "北京"}}\n```', ["get_weather"]),
])
def test_text_fallback_on_realistic_replies(reply, names):
    with FakeOpenAIServer(lambda body: reply) as srv:
        out = _ask(srv.url, Request(messages=[{"role": "user", "content": "q"}], tools=[WEATHER]),
                   tool_call_parser="text")
    assert [c.name for c in out.tool_calls or []] == names
    if names:
        assert "city" in arguments_of(out.tool_calls[0])[0]
