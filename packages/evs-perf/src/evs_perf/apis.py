"""Request formats (``--api``): build request bodies, parse streamed chunks and whole responses.

A :class:`PerfAPI` turns a :class:`~evs_perf.datasets.Prompt` into a JSON body and reads the
server's answers. Streaming parsers see every SSE ``data:`` payload until the first token; after
it, payloads go through ``content_re`` (a bytes regex that matches a non-empty text delta) so
that the client does not spend a JSON parse on every token. Payloads that carry ``usage`` or an
``error`` are always parsed in full. Plugins register further APIs through the
``evs_perf_register_apis`` hook.
"""

from __future__ import annotations

import re
from typing import Any


class PerfAPI:
    name = "base"
    #: capabilities, read by the engine instead of matching names
    generates_tokens = True  #: responses carry generated text (output tokens, TTFT, TPOT)
    chat = True  #: takes a list of messages (multi-turn history, chat templates)
    #: path appended to a base URL (``http://host:8000`` or ``…/v1``)
    path = "/v1/chat/completions"
    streaming = True
    #: matches a payload whose delta carries non-empty text (used after the first token)
    content_re = re.compile(rb'"(?:content|reasoning_content|reasoning|text)"\s*:\s*"(?!")')
    #: compact-JSON keys whose non-empty string value is a text delta; counted in bulk (each
    #: minus its empty form) when no event holds two of them. Empty: always use content_re.
    content_markers: tuple[bytes, ...] = ()

    def __init__(self, config: dict[str, Any]):
        self.config = config

    #: request options (config key -> body field) sent when set; all also reachable from --extra-body
    OPTIONS = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "min_tokens": "min_tokens",
               "stop": "stop", "stop_token_ids": "stop_token_ids", "n_choices": "n", "logprobs": "logprobs",
               "top_logprobs": "top_logprobs", "frequency_penalty": "frequency_penalty",
               "presence_penalty": "presence_penalty", "repetition_penalty": "repetition_penalty"}

    def sampling(self) -> dict[str, Any]:
        c = self.config
        out = {}
        for key, field in self.OPTIONS.items():
            v = c.get(key)
            if v is not None and v != [] and v is not False:
                out[field] = v
        return out

    def generation_body(self, body: dict[str, Any], prompt, stream: bool) -> dict[str, Any]:
        """Add the output length, streaming with usage, and sampling parameters to ``body``."""
        if prompt.max_tokens:
            body["max_tokens"] = prompt.max_tokens
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(self.sampling())
        return body

    def build_body(self, prompt, stream: bool) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse_chunk(self, obj: dict) -> tuple[str | None, dict | None]:
        """``(text, usage)`` of one streamed chunk: ``text`` is the non-empty content or reasoning
        delta (None when there is none, e.g. a role-only chunk), ``usage`` the usage object."""
        raise NotImplementedError

    def parse_response(self, obj: dict) -> tuple[str, dict | None]:
        """``(text, usage)`` of a whole (non-streamed) response."""
        raise NotImplementedError


def _error_message(obj) -> str | None:
    err = obj.get("error") if isinstance(obj, dict) else None
    if err is None:
        return None
    if isinstance(err, dict):
        return str(err.get("message") or err)
    return str(err)


class ChatAPI(PerfAPI):
    name = "chat"
    path = "/v1/chat/completions"
    content_markers = (b'"content":"', b'"reasoning_content":"', b'"reasoning":"')

    def build_body(self, prompt, stream: bool) -> dict[str, Any]:
        if prompt.messages is not None:
            messages = prompt.messages
        else:
            messages = [{"role": "user", "content": prompt.text}]
        body = {"model": self.config["model"], "messages": messages}
        return self.generation_body(body, prompt, stream)

    def parse_chunk(self, obj):
        usage = obj.get("usage")
        text = None
        for choice in obj.get("choices") or ():
            delta = choice.get("delta") or {}
            piece = delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
            if piece:
                text = piece if text is None else text + piece
            elif delta.get("tool_calls"):
                text = (text or "") + str(delta["tool_calls"])
        return text, usage

    def parse_response(self, obj):
        text = ""
        for choice in obj.get("choices") or ():
            msg = choice.get("message") or {}
            text += (msg.get("reasoning_content") or msg.get("reasoning") or "") + (msg.get("content") or "")
        return text, obj.get("usage")


class CompletionsAPI(PerfAPI):
    name = "completions"
    chat = False
    path = "/v1/completions"
    content_re = re.compile(rb'"text"\s*:\s*"(?!")')
    content_markers = (b'"text":"',)

    def build_body(self, prompt, stream):
        text = prompt.text
        if text is None:
            text = "\n".join(str(m.get("content", "")) for m in prompt.messages or [])
        body = {"model": self.config["model"], "prompt": text}
        return self.generation_body(body, prompt, stream)

    def parse_chunk(self, obj):
        text = None
        for choice in obj.get("choices") or ():
            piece = choice.get("text")
            if piece:
                text = piece if text is None else text + piece
        return text, obj.get("usage")

    def parse_response(self, obj):
        return "".join(c.get("text") or "" for c in obj.get("choices") or ()), obj.get("usage")


class EmbeddingsAPI(PerfAPI):
    name = "embeddings"
    path = "/v1/embeddings"
    streaming = False
    generates_tokens = False
    chat = False

    def build_body(self, prompt, stream):
        inputs = prompt.inputs if prompt.inputs is not None else prompt.text
        return {"model": self.config["model"], "input": inputs}

    def parse_response(self, obj):
        if not isinstance(obj.get("data"), list):
            raise ValueError("embeddings response has no 'data' list")
        return "", obj.get("usage")


class RerankAPI(PerfAPI):
    name = "rerank"
    path = "/v1/rerank"
    streaming = False
    generates_tokens = False
    chat = False

    def build_body(self, prompt, stream):
        return {"model": self.config["model"], "query": prompt.query, "documents": prompt.inputs}

    def parse_response(self, obj):
        if not isinstance(obj.get("results", obj.get("data")), list):
            raise ValueError("rerank response has no 'results' list")
        return "", obj.get("usage")


error_message = _error_message
