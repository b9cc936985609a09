"""Model adapters: the contract, an OpenAI-compatible API client and a deterministic mock.

An adapter answers one :class:`Request` at a time (``await adapter.agenerate(request)``), so
each sample stays an independent unit of work; an adapter that benefits from batching (local
transformers models) batches concurrent requests itself. Errors never propagate: they come
back as ``ModelOutput(error=...)`` so the engine can record and count them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from evs_core.errors import EvsError
from evs_core.schema import ModelOutput, ToolCall, Usage


@dataclass
class Request:
    """What a benchmark asks of a model for one sample."""

    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    kind: str = "generate"  # or "loglikelihood"
    continuations: list[str] | None = None  # loglikelihood: score each continuation of ``prompt``
    generation: dict[str, Any] = field(default_factory=dict)
    #: Functions the model may call (OpenAI ``tools``) and ``tool_choice``; see :mod:`evs_core.tools`.
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        if self.messages is not None:
            d["messages"] = self.messages
        if self.prompt is not None:
            d["prompt"] = self.prompt
        if self.continuations is not None:
            d["continuations"] = self.continuations
        if self.generation:
            d["generation"] = self.generation
        if self.tools is not None:
            d["tools"] = self.tools
        if self.tool_choice is not None:
            d["tool_choice"] = self.tool_choice
        return d


class ModelAdapter:
    """Base class of model adapters. Subclasses implement :meth:`agenerate`."""

    name = "base"
    supports_loglikelihood = False
    #: How many requests the engine should keep in flight; ``None`` means the run's concurrency.
    max_concurrency: int | None = None

    def __init__(self, config) -> None:
        self.config = config

    @property
    def model_id(self) -> str:
        return self.config.model

    async def preflight(self) -> None:
        """Check the model can be reached/loaded; raise EvsError with a one-line reason."""

    def bind_run_dir(self, run_dir) -> None:
        """Called by the engine once the run folder exists, before the first request: adapters that
        write files of their own (generated images) put them there, so resume finds them."""

    async def agenerate(self, request: Request) -> ModelOutput:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections, threads, memory."""


def split_reasoning(text: str | None) -> tuple[str, str | None]:
    """Separate ``<think>…</think>`` reasoning from the answer text.

    Returns ``(answer, reasoning)``. An unterminated ``<think>`` (the model ran out of tokens
    while thinking) yields an empty answer and all text as reasoning. A response that has a
    closing ``</think>`` without the opening tag (chat templates often put ``<think>`` in the
    prompt) is split at the closing tag.
    """
    if not text:
        return text or "", None
    lower = text.lower()
    for open_tag, close_tag in (("<think>", "</think>"), ("<thinking>", "</thinking>"), ("<reasoning>", "</reasoning>")):
        start = lower.find(open_tag)
        end = lower.rfind(close_tag)
        if end != -1 and (start == -1 or start < end):
            begin = start + len(open_tag) if start != -1 else 0
            reasoning = text[begin:end].strip()
            answer = (text[:start] if start != -1 else "") + text[end + len(close_tag):]
            return answer.strip(), reasoning
        if start != -1 and end == -1:
            return text[:start].strip(), text[start + len(open_tag):].strip()
    return text, None


_JSON_PLAIN = bytes(range(0x20, 0x7F)).replace(b'"', b"").replace(b"\\", b"")


def _json_plain_bytes(s: str) -> bytes | None:
    """``s`` as ASCII bytes when it needs no JSON escaping (no quote, backslash or control character)."""
    if not s.isascii():
        return None
    raw = s.encode("ascii")
    return None if raw.translate(None, _JSON_PLAIN) else raw


def json_with_images(body: dict[str, Any]) -> bytes:
    """``body`` as JSON bytes, with base64 image data URLs spliced in unescaped.

    A base64 data URL holds no character JSON escapes (checked per URL), so the URLs are
    swapped for short tokens, the small rest is serialised, and the URLs' bytes are put back: a
    4 MB image is copied instead of being scanned by the JSON encoder (measured in
    ``tools/bench/vlm_images.py``).
    """
    urls: list[bytes] = []
    messages = []
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, list):
            parts = []
            for p in content:
                url = p.get("image_url", {}).get("url") if isinstance(p, dict) and p.get("type") == "image_url" else None
                raw = _json_plain_bytes(url) if isinstance(url, str) and url.startswith("data:") else None
                if raw is not None:
                    token = f"\u0000evs-image-{len(urls)}\u0000"
                    urls.append(raw)
                    p = {**p, "image_url": {**p["image_url"], "url": token}}
                parts.append(p)
            m = {**m, "content": parts}
        messages.append(m)
    text = json.dumps({**body, "messages": messages}, ensure_ascii=False)
    if not urls:
        return text.encode()
    pieces = re.split(r'"\\u0000evs-image-(\d+)\\u0000"', text)
    out = []
    for i, piece in enumerate(pieces):
        out.append(piece.encode() if i % 2 == 0 else b'"' + urls[int(piece)] + b'"')
    return b"".join(out)


RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIAPIModel(ModelAdapter):
    """An OpenAI-compatible server (vLLM, SGLang, TGI, Ollama, OpenAI…), chat or completions.

    ``model_args``: ``api`` (``chat`` or ``completions``), ``headers`` (dict), ``max_connections``,
    ``backoff``, ``supports_images`` (default true) and the image options of
    :class:`evs_core.images.ImageOptions` (``image_max_pixels``, ``image_max_side``, ``image_max_bytes``,
    ``image_format``, ``image_quality``, ``image_detail``, ``image_url_mode``): image parts are sent as
    base64 data URLs, resized to the limits; an image that cannot be read or fit fails its sample with
    ``ImageError``, before sending. Retries 408/409/425/429/5xx, connection errors, timeouts and malformed bodies
    ``config.retries`` times with exponential backoff and jitter; other 4xx fail at once.

    Tools: a request with ``tools`` (and ``tool_choice``) sends them as OpenAI's fields (chat API
    only); the reply's ``tool_calls`` (whole or streamed in pieces) land in ``ModelOutput.tool_calls``.
    ``model_args.tool_call_parser``: ``native`` (default: only the API's field counts) or ``text``
    (when the reply has no ``tool_calls``, read calls from its text with
    :func:`evs_core.tools.parse_text_tool_calls`'s rules, the rule recorded in ``tool_call_rule``).

    ``generation_config`` as the OpenAI SDK reads it: ``extra_body`` is merged into the request
    body, ``extra_headers`` into the headers, ``extra_query`` into the URL; ``stream: true`` reads
    server-sent events, records the time to the first token (``ttft_s``) and gives up a request
    that sends no byte for ``config.idle_timeout`` seconds (then retries it).
    """

    name = "openai_api"
    ARGS = {"api", "headers", "max_connections", "backoff", "supports_images",
            "image_max_pixels", "image_max_side", "image_max_bytes", "image_format", "image_quality",
            "image_detail", "image_url_mode", "tool_call_parser"}

    def __init__(self, config) -> None:
        super().__init__(config)
        unknown = set(config.model_args) - self.ARGS
        if unknown:
            from evs_core.errors import ConfigError, suggest

            key = sorted(unknown)[0]
            if key == "chat_template":
                raise ConfigError("chat_template applies to local models; an API server applies its own template "
                                  "(vLLM: --chat-template when starting the server)")
            raise ConfigError(f"unknown model_args key '{key}' for the API model{suggest(key, self.ARGS)}")
        if not config.api_url:
            raise EvsError("the API model needs --api-url")
        self.base_url = config.api_url.rstrip("/")
        for suffix in ("/chat/completions", "/completions"):
            if self.base_url.endswith(suffix):
                self.base_url = self.base_url[: -len(suffix)]
        self.api = config.model_args.get("api", "chat")
        if self.api not in ("chat", "completions"):
            raise EvsError(f"model_args.api must be 'chat' or 'completions', not '{self.api}'")
        backoff = config.model_args.get("backoff", getattr(config, "retry_interval", None))
        self.backoff = float(backoff if backoff is not None else 0.5)
        from evs_core.images import ImageOptions

        self.image_options = ImageOptions.from_model_args(config.model_args)
        self.supports_images = bool(config.model_args.get("supports_images", True))
        self.tool_call_parser = config.model_args.get("tool_call_parser", "native")
        if self.tool_call_parser not in ("native", "text"):
            from evs_core.errors import ConfigError

            raise ConfigError("model_args.tool_call_parser must be 'native' or 'text', "
                              f"not {self.tool_call_parser!r}")
        headers = {"Content-Type": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        headers.update(config.model_args.get("headers") or {})
        self._headers = headers
        self._client = None

    def _get_client(self):
        # aiohttp rather than httpx: measured 5x less client overhead at 32 concurrent requests
        # (tools/bench/eval_concurrency.py; httpcore's pool bookkeeping grows with concurrency).
        if self._client is None:
            import aiohttp

            limit = int(self.config.model_args.get("max_connections", max(self.config.concurrency, 1)))
            self._client = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self.config.timeout, sock_connect=min(10.0, self.config.timeout)),
                connector=aiohttp.TCPConnector(limit=limit),
            )
        return self._client

    async def preflight(self) -> None:
        import aiohttp

        try:
            async with aiohttp.ClientSession(headers=self._headers, timeout=aiohttp.ClientTimeout(total=5)) as client:
                async with client.get(f"{self.base_url}/models") as resp:
                    await resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = str(exc) or type(exc).__name__
            raise EvsError(f"cannot reach --api-url {self.config.api_url}: {type(exc).__name__}: {reason}") from None

    def _body(self, request: Request) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(path, body, transport options: stream, headers, params) of a request."""
        gen = {**self.config.generation_config, **request.generation}
        gen.pop("do_sample", None)
        if "stop_seqs" in gen:
            gen.setdefault("stop", gen.pop("stop_seqs"))
        if "max_new_tokens" in gen:
            value = gen.pop("max_new_tokens")
            gen.setdefault("max_tokens", value)
        extra_body = gen.pop("extra_body", None) or {}
        transport = {"stream": bool(gen.pop("stream", False)), "headers": gen.pop("extra_headers", None) or {},
                     "params": gen.pop("extra_query", None) or {}}
        body: dict[str, Any] = {"model": self.config.model, **gen}
        if transport["stream"]:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
        if self.api == "completions" or request.messages is None:
            prompt = request.prompt
            if prompt is None:
                prompt = "\n\n".join(str(m["content"]) for m in request.messages or [])
            body["prompt"] = prompt
            path = "/completions"
        else:
            body["messages"] = request.messages
            path = "/chat/completions"
            if request.tools is not None:
                body["tools"] = request.tools
                if request.tool_choice is not None:
                    body["tool_choice"] = request.tool_choice
        body.update(extra_body)  # as the OpenAI SDK: extra_body keys land at the top level of the body
        return path, body, transport

    async def agenerate(self, request: Request) -> ModelOutput:
        import aiohttp

        if request.kind != "generate":
            return ModelOutput(error="UnsupportedRequest: the API model only generates text")
        n_images = 0
        if request.messages is not None:
            from evs_core.images import ImageError, encode_messages, iter_image_parts

            n_images = sum(1 for _ in iter_image_parts(request.messages))
            if n_images:
                if not self.supports_images:
                    return ModelOutput(error=f"ImageUnsupported: the request has {n_images} image(s) but "
                                             "model_args.supports_images is false for this model")
                if self.api == "completions":
                    return ModelOutput(error="ImageUnsupported: the completions API cannot carry images "
                                             "(use model_args.api=chat)")
                try:  # decoding and resizing are CPU work: off the event loop
                    messages = await asyncio.to_thread(encode_messages, request.messages, self.image_options)
                except ImageError as exc:
                    return ModelOutput(error=f"ImageError: {exc}")
                request = Request(messages=messages, prompt=request.prompt, kind=request.kind,
                                  continuations=request.continuations, generation=request.generation,
                                  tools=request.tools, tool_choice=request.tool_choice)
        if request.tools and (self.api == "completions" or request.messages is None):
            return ModelOutput(error="ToolsUnsupported: the completions API cannot carry tools "
                                     "(use model_args.api=chat)")
        path, body, transport = self._body(request)
        client = self._get_client()
        start = time.perf_counter()
        last_error = ""
        kwargs: dict[str, Any] = {"json": body}
        if n_images:  # the base64 images spliced in, not scanned by the JSON encoder
            kwargs = {"data": json_with_images(body), "headers": {"Content-Type": "application/json"}}
        if transport["headers"]:
            kwargs["headers"] = {**kwargs.get("headers", {}), **transport["headers"]}
        if transport["params"]:
            kwargs["params"] = transport["params"]
        if transport["stream"]:
            idle = min(self.config.idle_timeout, self.config.timeout)
            kwargs["timeout"] = aiohttp.ClientTimeout(total=self.config.timeout, sock_read=idle,
                                                      sock_connect=min(10.0, self.config.timeout))
        for attempt in range(self.config.retries + 1):
            if attempt:
                delay = self.backoff * (2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random()))
            t0 = time.perf_counter()
            try:
                async with client.post(self.base_url + path, **kwargs) as resp:
                    status = resp.status
                    if transport["stream"] and status < 400:
                        try:
                            return self._with_text_calls(await self._read_stream(resp, t0, start), request)
                        except _Malformed as exc:
                            last_error = f"MalformedResponse: {exc}"
                            continue
                    raw = await resp.read()
            except TimeoutError:
                last_error = ("Timeout: no byte for --idle-timeout while streaming" if transport["stream"]
                              and time.perf_counter() - t0 < self.config.timeout * 0.999
                              else "Timeout: no complete answer within --timeout")
                continue
            except aiohttp.ClientError as exc:
                last_error = f"ConnectionError: {type(exc).__name__}: {exc}"
                continue
            text = raw.decode("utf-8", "replace")
            if status in RETRY_STATUS:
                last_error = f"HTTP {status}: {text[:200]}"
                continue
            if status >= 400:
                return ModelOutput(error=self._http_error(status, text, n_images), latency_s=time.perf_counter() - start)
            try:
                out = self._parse(json.loads(text), time.perf_counter() - start)
                return self._with_text_calls(out, request)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                # A cut or garbled body is a server fault like a 5xx: retried, then recorded.
                last_error = f"MalformedResponse: {type(exc).__name__}: {exc}"
                continue
        return ModelOutput(error=last_error or "failed", latency_s=time.perf_counter() - start)

    @staticmethod
    def _http_error(status: int, text: str, n_images: int) -> str:
        """One line for a refused request; a refusal of the request's images says so."""
        head = " ".join(text[:200].split())
        if n_images and status == 413:
            return f"ImageTooLarge: the endpoint refused {n_images} image(s) as too large (HTTP 413: {head})"
        if n_images and status in (400, 415, 422) and re.search(r"image|vision|multi-?modal|visual|mm_", text, re.I):
            return f"ImageRejected: the endpoint refused the request's {n_images} image(s) (HTTP {status}: {head})"
        return f"HTTP {status}: {head}"

    async def _read_stream(self, resp, t0: float, start: float) -> ModelOutput:
        """Server-sent events of a streamed completion, joined into one output."""
        parts: list[str] = []
        reasoning: list[str] = []
        finish = None
        usage = None
        model = None
        ttft = None
        calls: dict[int, dict[str, Any]] = {}
        done = False
        buf = b""
        async for chunk in resp.content.iter_any():
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip()
                if not line or line.startswith(b":") or not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    raise _Malformed(f"bad event {data[:80]!r}") from None
                if not isinstance(event, dict):
                    raise _Malformed("an event is not a JSON object")
                if event.get("error"):
                    raise _Malformed(f"error event: {str(event['error'])[:200]}")
                model = event.get("model") or model
                if event.get("usage"):
                    usage = event["usage"]
                for choice in event.get("choices") or []:
                    delta = choice.get("delta") or {}
                    piece = delta.get("content") if "delta" in choice else choice.get("text")
                    think = delta.get("reasoning_content") or delta.get("reasoning")
                    if (piece or think) and ttft is None:
                        ttft = time.perf_counter() - t0
                    for pos, tc in enumerate(delta.get("tool_calls") or []):
                        if ttft is None:
                            ttft = time.perf_counter() - t0
                        slot = calls.setdefault(tc.get("index", pos), {
                            "id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                        if tc.get("id"):
                            slot["id"] = tc["id"]
                        fn = tc.get("function") or {}
                        if fn.get("name"):
                            slot["function"]["name"] += fn["name"]
                        if fn.get("arguments"):
                            slot["function"]["arguments"] += fn["arguments"]
                    if piece:
                        parts.append(piece)
                    if think:
                        reasoning.append(think)
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            if done:
                break
        if not done and finish is None:
            raise _Malformed("the stream ended before [DONE]")
        latency = time.perf_counter() - start
        out = self._parse({"choices": [{"message": {"content": "".join(parts),
                                                     "reasoning_content": "".join(reasoning) or None,
                                                     "tool_calls": [calls[k] for k in sorted(calls)] or None},
                                        "finish_reason": finish}], "usage": usage, "model": model}, latency)
        out.ttft_s = ttft if getattr(self.config, "collect_perf", True) else None
        return out

    def _parse(self, data: dict[str, Any], latency: float) -> ModelOutput:
        choice = data["choices"][0]
        tool_calls = None
        if "message" in choice:
            msg = choice["message"] or {}
            text = msg.get("content") or ""
            reasoning = msg.get("reasoning_content") or msg.get("reasoning")
            if msg.get("tool_calls"):
                tool_calls = [_tool_call(tc) for tc in msg["tool_calls"]]
        else:
            text = choice.get("text") or ""
            reasoning = None
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        answer, think = split_reasoning(text)
        if think is not None:
            reasoning = (reasoning + "\n" + think) if reasoning else think
        usage = data.get("usage") or None
        return ModelOutput(
            text=answer,
            reasoning=reasoning,
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens") or 0,
                completion_tokens=usage.get("completion_tokens") or 0,
                total_tokens=usage.get("total_tokens") or 0,
            ) if usage else None,
            latency_s=latency if getattr(self.config, "collect_perf", True) else None,
            finish_reason=choice.get("finish_reason"),
            model=data.get("model"),
            tool_calls=tool_calls,
            tool_call_rule="tool_calls" if tool_calls else None,
        )

    def _with_text_calls(self, out: ModelOutput, request: Request) -> ModelOutput:
        """With ``tool_call_parser: text``, calls written in the reply's text when the API gave none."""
        if self.tool_call_parser == "text" and request.tools and not out.tool_calls and not out.error:
            from evs_core.tools import parse_text_tool_calls

            calls, rule = parse_text_tool_calls(out.text)
            if calls:
                out.tool_calls, out.tool_call_rule = calls, rule
        return out

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _tool_call(tc: dict[str, Any]) -> ToolCall:
    """One OpenAI ``tool_calls`` entry; arguments given as an object (some servers) become JSON text."""
    fn = tc.get("function") or {}
    name = fn.get("name")
    if not isinstance(name, str):
        raise TypeError("a tool call has no function name")
    args = fn.get("arguments")
    if args is None:
        args = "{}"
    elif not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return ToolCall(id=tc.get("id") or None, name=name, arguments=args)


class _Malformed(Exception):
    """A streamed response that cannot be read (retried like a 5xx)."""


class MockModel(ModelAdapter):
    """A deterministic model for tests and dry runs; never touches the network.

    ``model_args.mode``:
    - ``constant`` (default): answers ``model_args.text`` (default ``"The answer is 42."``);
    - ``echo``: answers the last user message;
    - ``hash``: a reproducible pseudo-random letter A–D and number derived from the prompt,
      e.g. ``"Reasoning… The answer is C. #### 17"``; loglikelihood picks a pseudo-random choice.
    ``model_args.latency`` adds a fixed delay in seconds; ``model_args.fail_every`` fails each
    n-th request.
    """

    name = "mock"
    supports_loglikelihood = True

    def __init__(self, config) -> None:
        super().__init__(config)
        args = config.model_args
        self.mode = args.get("mode", "constant")
        if self.mode not in ("constant", "echo", "hash"):
            raise EvsError(f"model_args.mode of the mock model must be constant, echo or hash, not '{self.mode}'")
        self.text = args.get("text", "The answer is 42.")
        self.latency = float(args.get("latency", 0.0))
        self.fail_every = int(args.get("fail_every", 0))
        self._count = 0

    @staticmethod
    def _digest(request: Request) -> int:
        raw = json.dumps(request.to_dict(), sort_keys=True, ensure_ascii=False)
        return int(hashlib.sha256(raw.encode()).hexdigest()[:12], 16)

    async def agenerate(self, request: Request) -> ModelOutput:
        self._count += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_every and self._count % self.fail_every == 0:
            return ModelOutput(error="MockFailure: configured to fail")
        h = self._digest(request)
        if request.kind == "loglikelihood":
            n = len(request.continuations or [])
            rng = random.Random(h)
            return ModelOutput(logprobs=[-rng.random() * 10 for _ in range(n)])
        if self.mode == "constant":
            text = self.text
        elif self.mode == "echo":
            msgs = request.messages or []
            text = str(msgs[-1]["content"]) if msgs else (request.prompt or "")
        else:
            text = f"Let me think. The answer is {'ABCD'[h % 4]}. #### {h % 100}"
        answer, reasoning = split_reasoning(text)
        return ModelOutput(
            text=answer,
            reasoning=reasoning,
            usage=Usage(prompt_tokens=10, completion_tokens=len(text.split()), total_tokens=10 + len(text.split())),
            latency_s=self.latency,
            finish_reason="stop",
        )
