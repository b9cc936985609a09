"""Function calls (OpenAI ``tools``): reading a model's calls, natively or from its text.

A request that offers tools (``Request.tools``, OpenAI's ``[{"type": "function", "function": {...}}]``)
is sent with them; the API's ``tool_calls`` come back in ``ModelOutput.tool_calls`` with
``tool_call_rule="tool_calls"``. A model served without a tool parser writes its calls into the
text instead; :func:`parse_text_tool_calls` reads them (the API model does so when
``model_args.tool_call_parser`` is ``text``), recording which rule matched:

* ``text_tool_call_tag``: one or more ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
  blocks (Hermes / Qwen chat templates);
* ``text_json``: a JSON object ``{"name": ..., "arguments"|"parameters": {...}}``, a list of them,
  ``{"tool_calls": [...]}`` or OpenAI's ``{"function": {"name", "arguments"}}`` form, bare or in a
  fenced code block, as the whole reply or its last fenced block;
* ``none``: no call found.

Reasoning (``<think>…</think>``) is already removed from ``ModelOutput.text`` by the adapters, so
a call drafted while thinking is not read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evs_core.errors import ConfigError
from evs_core.schema import ToolCall

RULE_NATIVE = "tool_calls"
RULE_TAG = "text_tool_call_tag"
RULE_JSON = "text_json"
RULE_NONE = "none"

_TAG_RE = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S | re.I)
_FENCE_RE = re.compile(r"```(?:json|tool_call|javascript|js)?\s*\n?(.*?)```", re.S | re.I)


def _as_call(obj: Any) -> ToolCall | None:
    """A :class:`ToolCall` from one decoded JSON object, or None when it is not a call."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI's tool_calls entry
        inner = obj["function"]
        call = _as_call({"name": inner.get("name"), "arguments": inner.get("arguments", {})})
        if call is not None and isinstance(obj.get("id"), str):
            call.id = obj["id"]
        return call
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        text = args
    else:
        text = json.dumps(args, ensure_ascii=False)
    return ToolCall(id=obj.get("id") if isinstance(obj.get("id"), str) else None, name=name, arguments=text)


def _calls_from_json(value: Any) -> list[ToolCall] | None:
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    calls = [_as_call(v) for v in items]
    if not calls or any(c is None for c in calls):
        return None
    return calls  # type: ignore[return-value]


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse_text_tool_calls(text: str | None) -> tuple[list[ToolCall], str]:
    """``(calls, rule)`` read from a reply's text; ``([], "none")`` when it holds no call."""
    if not text:
        return [], RULE_NONE
    if "<tool_call>" in text.lower():
        calls = []
        for block in _TAG_RE.findall(text):
            block = block.strip()
            fenced = _FENCE_RE.search(block)
            if fenced:
                block = fenced.group(1).strip()
            found = _calls_from_json(_loads(block))
            if found:
                calls.extend(found)
        if calls:
            return calls, RULE_TAG
    stripped = text.strip()
    candidates = [stripped]
    fences = _FENCE_RE.findall(text)
    if fences:
        candidates.append(fences[-1].strip())
    for cand in candidates:
        found = _calls_from_json(_loads(cand))
        if found:
            return found, RULE_JSON
    return [], RULE_NONE


def check_tools(tools: Any, where: str) -> list[dict[str, Any]]:
    """``tools`` as OpenAI's list of function tools, or a ConfigError naming ``where``.

    Accepts the OpenAI form (``{"type": "function", "function": {...}}``) and bare function
    definitions (``{"name", "description", "parameters"}``), which are wrapped.
    """
    if isinstance(tools, str):
        try:
            tools = json.loads(tools)
        except ValueError as exc:
            raise ConfigError(f"{where}: tools is not valid JSON ({exc})") from None
    if not isinstance(tools, list):
        raise ConfigError(f"{where}: tools must be a list of function definitions, not {type(tools).__name__}")
    out = []
    for i, tool in enumerate(tools):
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
            fn = tool["function"]
        elif isinstance(tool, dict) and "name" in tool:
            fn = tool
        else:
            raise ConfigError(f"{where}: tool {i + 1} is not a function definition (needs 'function' or 'name')")
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            raise ConfigError(f"{where}: tool {i + 1} has no function name")
        out.append({"type": "function", "function": fn})
    return out


def arguments_of(call: ToolCall) -> tuple[Any, str | None]:
    """``(arguments, error)``: the call's decoded JSON arguments, or None and why they do not parse."""
    try:
        return json.loads(call.arguments or "{}"), None
    except ValueError as exc:
        return None, f"arguments of '{call.name}' are not JSON: {exc}"
