"""A small OpenAI-compatible server over a local transformers model (``python -m evs_native.serve``).

Started by ``evs perf --serve-model`` / ``evs eval --serve-model`` with ``--backend transformers``
(see :mod:`evs_core.serve`). It is a convenience for measuring a checkpoint without standing up a
serving engine, not a serving benchmark: streamed requests generate one at a time, non-streamed
ones go through the local adapter's micro-batching. Endpoints: ``GET /health``, ``GET /v1/models``,
``POST /v1/chat/completions`` and ``POST /v1/completions`` (``stream`` with SSE chunks and
``stream_options.include_usage``; ``max_tokens``, ``min_tokens``, ``temperature``, ``top_p``,
``top_k``, ``stop``, ``ignore_eos``, ``seed``). Loads the model before it listens, so ``/health``
answers only when requests can be served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from typing import Any

from evs_core.models import Request

SAMPLING = ("max_tokens", "max_completion_tokens", "min_tokens", "temperature", "top_p", "top_k", "stop",
            "ignore_eos", "seed", "repetition_penalty", "n", "stream", "stream_options", "model", "messages",
            "prompt", "user", "presence_penalty", "frequency_penalty", "logprobs", "extra_body")


def _build(model: str, model_args: dict[str, Any]):
    from evs_core.config import make_config

    from evs_native.local_model import TransformersModel

    cfg = make_config({"model": model, "datasets": ["serve"], "model_type": "transformers",
                       "model_args": model_args})
    return TransformersModel(cfg)


def _gen_kwargs(body: dict[str, Any], tok) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = {"max_new_tokens": int(body.get("max_completion_tokens") or body.get("max_tokens") or 256)}
    temperature = float(body.get("temperature") or 0.0)
    if temperature > 0:
        out.update(do_sample=True, temperature=temperature)
        for k in ("top_p", "top_k"):
            if body.get(k) is not None:
                out[k] = body[k]
    else:
        out["do_sample"] = False
    if body.get("min_tokens"):
        out["min_new_tokens"] = int(body["min_tokens"])
    if body.get("ignore_eos"):
        out["min_new_tokens"] = out["max_new_tokens"]
    if body.get("repetition_penalty"):
        out["repetition_penalty"] = float(body["repetition_penalty"])
    stop = body.get("stop") or []
    return out, [stop] if isinstance(stop, str) else list(stop)


class Server:
    def __init__(self, adapter, served_name: str) -> None:
        self.adapter = adapter
        self.name = served_name
        self._stream_lock = asyncio.Lock()

    def prompt_of(self, body: dict[str, Any], chat: bool) -> str:
        if chat:
            return self.adapter.render(Request(messages=body.get("messages") or []))
        prompt = body.get("prompt", "")
        return prompt[0] if isinstance(prompt, list) and prompt else str(prompt)

    # -- handlers --------------------------------------------------------------------------
    async def health(self, request):
        from aiohttp import web

        return web.Response(text="ok")

    async def models(self, request):
        from aiohttp import web

        return web.json_response({"object": "list", "data": [{"id": self.name, "object": "model",
                                                              "owned_by": "evs"}]})

    async def chat(self, request):
        return await self._complete(request, chat=True)

    async def completions(self, request):
        return await self._complete(request, chat=False)

    async def _complete(self, request, chat: bool):
        from aiohttp import web

        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
            if chat and not isinstance(body.get("messages"), list):
                raise ValueError("'messages' must be a list")
        except (ValueError, json.JSONDecodeError) as exc:
            return web.json_response({"error": {"message": f"bad request: {exc}", "type": "invalid_request_error"}},
                                     status=400)
        if body.get("stream"):
            return await self._stream(request, body, chat)
        prompt = self.prompt_of(body, chat)
        kwargs, stop = _gen_kwargs(body, self.adapter.tokenizer)
        text, n_prompt, n_out, finish = await asyncio.to_thread(self._generate_all, prompt, kwargs, stop)
        rid = f"cmpl-{uuid.uuid4().hex[:16]}"
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        return web.json_response({"id": rid, "object": "chat.completion" if chat else "text_completion",
                                  "created": int(time.time()), "model": self.name, "choices": [choice],
                                  "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_out,
                                            "total_tokens": n_prompt + n_out}})

    def _generate_all(self, prompt: str, kwargs: dict[str, Any], stop: list[str]):
        pieces: list[str] = []
        n_prompt, n_out, finish = self._run(prompt, kwargs, stop, pieces.append)
        return "".join(pieces), n_prompt, n_out, finish

    def _run(self, prompt: str, kwargs: dict[str, Any], stop: list[str], emit) -> tuple[int, int, str]:
        """Generate greedily or by sampling; ``emit`` receives each new piece of text as it decodes."""
        import torch
        from transformers.generation.streamers import BaseStreamer

        tok, model = self.adapter.tokenizer, self.adapter.model
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False,
                  return_token_type_ids=False).to(self.adapter.device)
        n_prompt = int(enc["input_ids"].shape[1])
        state = {"ids": [], "text": "", "stopped": False}

        class Streamer(BaseStreamer):
            def __init__(self):
                self.first = True

            def put(self, value):
                if self.first:  # the prompt
                    self.first = False
                    return
                if state["stopped"]:
                    return
                state["ids"].extend(int(t) for t in value.reshape(-1).tolist())
                text = tok.decode(state["ids"], skip_special_tokens=True)
                new = text[len(state["text"]):]
                if text.endswith("\ufffd"):  # half a multi-byte character: wait for the rest
                    return
                for s in stop:
                    cut = text.find(s)
                    if cut != -1:
                        new = text[len(state["text"]):cut]
                        state["stopped"] = True
                        text = text[:cut]
                        break
                state["text"] = text
                if new:
                    emit(new)

            def end(self):
                pass

        extra = {"stop_strings": stop, "tokenizer": tok} if stop else {}
        with torch.no_grad():
            model.generate(**enc, **kwargs, pad_token_id=tok.pad_token_id, streamer=Streamer(), **extra)
        n_out = len(state["ids"])
        eos = tok.eos_token_id
        finish = "stop" if state["stopped"] or (state["ids"] and state["ids"][-1] == eos) else "length"
        return n_prompt, n_out, finish

    async def _stream(self, request, body: dict[str, Any], chat: bool):
        from aiohttp import web

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        rid = f"cmpl-{uuid.uuid4().hex[:16]}"
        created = int(time.time())
        obj = "chat.completion.chunk" if chat else "text_completion"
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        prompt = self.prompt_of(body, chat)
        kwargs, stop = _gen_kwargs(body, self.adapter.tokenizer)

        def chunk(delta: str | None, finish: str | None = None) -> bytes:
            if chat:
                d: dict[str, Any] = {} if delta is None else {"content": delta}
                choice = {"index": 0, "delta": d, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": delta or "", "finish_reason": finish}
            return b"data: " + json.dumps({"id": rid, "object": obj, "created": created, "model": self.name,
                                           "choices": [choice]}).encode() + b"\n\n"

        def work():
            try:
                result = self._run(prompt, kwargs, stop, lambda s: loop.call_soon_threadsafe(queue.put_nowait, s))
                loop.call_soon_threadsafe(queue.put_nowait, ("done", result))
            except Exception as exc:  # noqa: BLE001 - reported to the client as an error event
                loop.call_soon_threadsafe(queue.put_nowait, ("error", f"{type(exc).__name__}: {exc}"))

        async with self._stream_lock:
            if chat:
                first = {"id": rid, "object": obj, "created": created, "model": self.name,
                         "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                      "finish_reason": None}]}
                await resp.write(b"data: " + json.dumps(first).encode() + b"\n\n")
            thread = threading.Thread(target=work, daemon=True)
            thread.start()
            while True:
                item = await queue.get()
                if isinstance(item, tuple):
                    break
                await resp.write(chunk(item))
            thread.join()
        if item[0] == "error":
            await resp.write(b"data: " + json.dumps({"error": {"message": item[1]}}).encode() + b"\n\n")
        else:
            n_prompt, n_out, finish = item[1]
            await resp.write(chunk(None, finish))
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"id": rid, "object": obj, "created": created, "model": self.name, "choices": [],
                         "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_out,
                                   "total_tokens": n_prompt + n_out}}
                await resp.write(b"data: " + json.dumps(usage).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evs_native.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name")
    parser.add_argument("--model-args", default="{}", help="JSON model_args of the local adapter (device, dtype…)")
    args = parser.parse_args(argv)
    from aiohttp import web

    adapter = _build(args.model, json.loads(args.model_args))
    adapter._load()
    server = Server(adapter, args.served_model_name or args.model)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/health", server.health)
    app.router.add_get("/v1/models", server.models)
    app.router.add_post("/v1/chat/completions", server.chat)
    app.router.add_post("/v1/completions", server.completions)
    print(f"evs transformers server for {args.model} on http://{args.host}:{args.port}/v1", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
