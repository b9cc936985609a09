"""Test helpers for evs and its plugins: a fake OpenAI-compatible server on 127.0.0.1.

``FakeOpenAIServer(responder)`` answers ``POST /v1/chat/completions`` and ``/v1/completions``
with whatever ``responder(body: dict) -> str`` returns (the request body is the parsed JSON),
and ``GET /v1/models``. Faults for tests: ``fail_rate`` (HTTP 500 for that share of requests,
chosen reproducibly by ``seed``), ``latency`` (seconds before each answer), ``reasoning``
(a ``reasoning_content`` field), ``malformed`` (the first n answers are cut JSON bodies),
``stall`` (seconds of silence after the first streamed chunk), ``echo_auth`` (HTTP 401 whose
body repeats the request's Authorization header, as some servers do). A body with
``"stream": true`` is answered with server-sent events, one chunk per word. It runs in a thread;
use it as a context manager. ``reject`` (``reject(body) -> str | None``): a message answers
HTTP 400 with it, as a text-only server refuses image input. ``headers`` keeps the headers of each POST.

Tool calls: a responder may return a dict instead of a string, ``{"content": str | None,
"tool_calls": [...]}``, each call ``{"name": str, "arguments": dict | str}`` (or OpenAI's
``{"id", "type", "function": {...}}``); the answer then carries OpenAI's ``tool_calls`` with
``finish_reason: "tool_calls"`` (streamed as the servers do: the name first, the arguments in pieces).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message (or the prompt) of a request body."""
    if "messages" in body:
        for m in reversed(body["messages"]):
            if m.get("role") == "user":
                c = m.get("content")
                if isinstance(c, list):
                    return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
                return str(c)
        return ""
    return str(body.get("prompt", ""))


class FakeOpenAIServer:
    def __init__(self, responder: Callable[[dict[str, Any]], str] | None = None, *, fail_rate: float = 0.0,
                 latency: float = 0.0, seed: int = 0, reasoning: Callable[[dict[str, Any]], str] | None = None,
                 model: str = "fake-model", malformed: int = 0, stall: float = 0.0,
                 echo_auth: bool = False, reject: Callable[[dict[str, Any]], str | None] | None = None) -> None:
        self.responder = responder or (lambda body: "The answer is 42.")
        self.reasoning = reasoning
        self.reject = reject
        self.fail_rate = fail_rate
        self.latency = latency
        self.model = model
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.malformed = malformed
        self.stall = stall
        self.echo_auth = echo_auth
        self.failures = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body

            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client went away
                    pass

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": outer.model, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "bad json"}})
                    return
                if outer.latency:
                    time.sleep(outer.latency)
                with outer._lock:
                    outer.requests.append(body)
                    outer.headers.append(dict(self.headers.items()))
                    fail = outer.fail_rate > 0 and outer._rng.random() < outer.fail_rate
                    if fail:
                        outer.failures += 1
                    garble = outer.malformed > 0
                    if garble:
                        outer.malformed -= 1
                if outer.echo_auth:
                    self._send(401, {"error": {"message": f"invalid credentials: {self.headers.get('Authorization')}"}})
                    return
                if fail:
                    self._send(500, {"error": {"message": "injected failure"}})
                    return
                refusal = outer.reject(body) if outer.reject is not None else None
                if refusal:
                    self._send(400, {"error": {"message": refusal, "type": "invalid_request_error"}})
                    return
                if garble:
                    data = b'{"id": "x", "choices": [{"message": {"content": "cut'
                    try:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                try:
                    answer = outer.responder(body)
                    text, tool_calls = _split_answer(answer)
                except Exception as exc:  # noqa: BLE001 - a responder bug is an HTTP 500, not a dead server
                    self._send(500, {"error": {"message": f"responder failed: {type(exc).__name__}: {exc}"}})
                    return
                usage = {"prompt_tokens": len(last_user_text(body).split()), "completion_tokens": len(text.split())}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                if self.path.endswith("/chat/completions"):
                    msg: dict[str, Any] = {"role": "assistant", "content": text if text or not tool_calls else None}
                    if outer.reasoning is not None:
                        msg["reasoning_content"] = outer.reasoning(body)
                    if tool_calls:
                        msg["tool_calls"] = tool_calls
                    choice = {"index": 0, "message": msg, "finish_reason": "tool_calls" if tool_calls else "stop"}
                    obj = "chat.completion"
                elif self.path.endswith("/completions"):
                    choice = {"index": 0, "text": text, "finish_reason": "stop"}
                    obj = "text_completion"
                else:
                    self._send(404, {"error": {"message": "not found"}})
                    return
                if body.get("stream"):
                    self._stream(text, choice, usage, chat=obj == "chat.completion", tool_calls=tool_calls)
                    return
                self._send(200, {"id": "x", "object": obj, "model": outer.model, "choices": [choice], "usage": usage})

            def _stream(self, text, choice, usage, chat, tool_calls=None):
                def event(payload):
                    self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                    self.wfile.flush()

                def piece(s):
                    return {"delta": {"content": s}} if chat else {"text": s}

                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    base = {"id": "x", "model": outer.model, "object": "chat.completion.chunk"}
                    if chat:
                        event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
                    if outer.stall:
                        time.sleep(outer.stall)
                    words = text.split(" ") if text or not tool_calls else []
                    for i, w in enumerate(words):
                        event({**base, "choices": [{"index": 0, **piece(w if i == 0 else " " + w)}]})
                    for k, tc in enumerate(tool_calls or []):
                        head = {"index": k, "id": tc["id"], "type": "function",
                                "function": {"name": tc["function"]["name"], "arguments": ""}}
                        event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [head]}}]})
                        args = tc["function"]["arguments"]
                        for j in range(0, len(args), 7):
                            frag = {"index": k, "function": {"arguments": args[j:j + 7]}}
                            event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [frag]}}]})
                    event({**base, "choices": [{"index": 0, **piece(""), "finish_reason": choice["finish_reason"]}]})
                    event({**base, "choices": [], "usage": usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def start(self) -> FakeOpenAIServer:
        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # the default backlog of 5 drops bursts of connects (1 s SYN retries)

        self._server = Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _split_answer(answer: Any) -> tuple[str, list[dict[str, Any]]]:
    """(text, OpenAI tool_calls) of a responder's answer: a string, or a dict with content/tool_calls."""
    if isinstance(answer, str):
        return answer, []
    if not isinstance(answer, dict):
        raise TypeError(f"a responder returns a string or a dict, not {type(answer).__name__}")
    calls = []
    for i, tc in enumerate(answer.get("tool_calls") or []):
        fn = tc.get("function", tc)
        args = fn.get("arguments", {})
        calls.append({"id": tc.get("id") or f"call_{i}", "type": "function",
                      "function": {"name": fn["name"],
                                   "arguments": args if isinstance(args, str) else json.dumps(args)}})
    return str(answer.get("content") or ""), calls


def score_now(bench: Any, sample: Any, output: Any, *, judge: Any = None, repeat: int = 0, ctx: Any = None) -> Any:
    """Run ``bench.score(sample, output, ctx)`` to completion outside a run (for tests)."""
    import asyncio

    from evs_core.benchmark import RunContext

    if ctx is None:
        ctx = RunContext(registries=bench.registries, judge=judge, seed=bench.seed, dataset=bench.name, repeat=repeat)
    return asyncio.run(bench.score(sample, output, ctx))
