"""Local vision-language models with transformers: processor + chat template, batched generation.

``--model-type transformers_vlm --model <folder or hub id>``. The folder holds a processor
(image processor + tokenizer + chat template, as ``AutoProcessor`` saves it) and an image-text-to-text
model (LLaVA, Idefics3/SmolVLM, Qwen2-VL… whatever ``AutoModelForImageTextToText`` loads). A
folder with only a tokenizer and a causal LM (e.g. SmolLM2) runs text-only requests; a request
with images then fails with ``ImageUnsupported``. Concurrent requests are gathered into batches of
``batch_size`` (default: ``--concurrency``). A local folder never triggers a download.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError, MissingDependencyError, suggest
from evs_core.images import ImageError, ImageOptions, content_text, is_image_part, load_pil, target_size
from evs_core.models import ModelAdapter, Request, split_reasoning
from evs_core.schema import ModelOutput, Usage


def _import():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(
            f"local vision-language models need torch and transformers ({exc.name} is missing): "
            "pip install torch==2.13.0 && pip install \"evs-vlm[local]\""
        ) from None
    transformers.logging.set_verbosity_error()
    return transformers


class TransformersVLM(ModelAdapter):
    """A vision-language (or text-only) model run in-process with transformers."""

    name = "transformers_vlm"
    ARGS = {"device", "dtype", "batch_size", "trust_remote_code", "revision", "chat_template", "batch_wait_ms",
            "image_max_pixels", "image_max_side"}

    def __init__(self, config) -> None:
        super().__init__(config)
        args = config.model_args
        unknown = set(args) - self.ARGS
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"unknown model_args key '{key}' for a local vision-language model"
                              f"{suggest(key, self.ARGS)} (valid: {', '.join(sorted(self.ARGS))})")
        self.image_options = ImageOptions.from_model_args(
            {k: v for k, v in args.items() if k in ("image_max_pixels", "image_max_side")})
        self.batch_size = int(args.get("batch_size", config.concurrency))
        if self.batch_size < 1:
            raise ConfigError(f"model_args.batch_size must be at least 1, not {self.batch_size}")
        self.max_concurrency = self.batch_size
        self.batch_wait = float(args.get("batch_wait_ms", 20)) / 1000
        self.model = None
        self.processor = None
        self.tokenizer = None
        self.accepts_images = False
        self._queue: asyncio.Queue | None = None
        self._loop_task: asyncio.Task | None = None
        self._load_lock: asyncio.Lock | None = None
        #: Sizes of the batches run, for tests and logs.
        self.batch_sizes: list[int] = []

    # -- loading ---------------------------------------------------------------------------
    def _resolve(self) -> tuple[str, dict[str, Any], bool]:
        name = self.config.model
        p = Path(name).expanduser()
        kwargs: dict[str, Any] = {}
        local = p.exists() or name.startswith((".", "/", "~"))
        if local:
            if not p.is_dir():
                raise ConfigError(f"model path does not exist or is not a folder: {name}")
            kwargs["local_files_only"] = True
        if self.config.model_args.get("revision"):
            kwargs["revision"] = self.config.model_args["revision"]
        if self.config.model_args.get("trust_remote_code"):
            kwargs["trust_remote_code"] = True
        return (str(p) if local else name), kwargs, local

    def _load(self) -> None:
        transformers = _import()
        import torch

        path, kwargs, local = self._resolve()
        device = self.config.model_args.get("device", "auto")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}.get(
            self.config.model_args.get("dtype", "auto"), torch.float32 if device == "cpu" else torch.bfloat16)
        saved = os.environ.get("HF_HUB_OFFLINE")
        if local:
            os.environ["HF_HUB_OFFLINE"] = "1"  # a local folder never reaches the Hub
        try:
            try:
                processor = transformers.AutoProcessor.from_pretrained(path, **kwargs)
            except (OSError, ValueError, KeyError):
                processor = None
            if processor is not None and hasattr(processor, "image_processor"):
                model = transformers.AutoModelForImageTextToText.from_pretrained(path, torch_dtype=dtype, **kwargs)
                tokenizer = processor.tokenizer
                self.accepts_images = True
            else:
                tokenizer = transformers.AutoTokenizer.from_pretrained(path, **kwargs)
                model = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype, **kwargs)
                processor = None
        except (OSError, ValueError) as exc:
            raise EvsError(f"cannot load model '{self.config.model}': {str(exc).splitlines()[0]}") from None
        finally:
            if local:
                if saved is None:
                    os.environ.pop("HF_HUB_OFFLINE", None)
                else:
                    os.environ["HF_HUB_OFFLINE"] = saved
        template = self.config.model_args.get("chat_template")
        if template:
            (processor or tokenizer).chat_template = template
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        torch.manual_seed(self.config.seed)
        self.device = device
        self.model = model.to(device).eval()
        self.processor = processor
        self.tokenizer = tokenizer

    async def preflight(self) -> None:
        if self._load_lock is None:
            self._load_lock = asyncio.Lock()
        async with self._load_lock:
            if self.model is None:
                await asyncio.to_thread(self._load)

    # -- prompts ---------------------------------------------------------------------------
    def convert(self, request: Request) -> tuple[list[dict[str, Any]], list[Any]]:
        """Chat messages in transformers' multimodal form and the PIL images, in order.

        Raises :class:`ImageError` for an image that cannot be read (before the batch runs).
        """
        msgs, images = [], []
        for m in request.messages or [{"role": "user", "content": request.prompt or ""}]:
            content = m.get("content")
            if not isinstance(content, list):
                msgs.append({"role": m["role"], "content": "" if content is None else str(content)})
                continue
            if not self.accepts_images:
                msgs.append({"role": m["role"], "content": content_text(content)})
                continue
            parts = []
            for part in content:
                if is_image_part(part):
                    url = str(part["image_url"].get("url", ""))
                    if url.startswith(("http://", "https://")):
                        raise ImageError(f"image {len(images) + 1}: {url[:80]} is a remote URL; evs never "
                                         "downloads images for a local model")
                    try:
                        img = load_pil(url)
                    except ImageError as exc:
                        raise ImageError(f"image {len(images) + 1}: {exc}") from None
                    size = target_size(img.width, img.height, self.image_options.max_pixels,
                                       self.image_options.max_side)
                    if size != img.size:
                        from PIL import Image

                        img = img.resize(size, Image.Resampling.BICUBIC)
                    images.append(img)
                    parts.append({"type": "image"})
                elif isinstance(part, dict) and part.get("type") == "text":
                    parts.append({"type": "text", "text": str(part.get("text", ""))})
            msgs.append({"role": m["role"], "content": parts})
        return msgs, images

    def render(self, msgs: list[dict[str, Any]]) -> str:
        owner = self.processor if self.processor is not None else self.tokenizer
        if getattr(owner, "chat_template", None):
            return owner.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(content_text(m["content"]) for m in msgs) + "\n"

    # -- batching --------------------------------------------------------------------------
    async def agenerate(self, request: Request) -> ModelOutput:
        if request.kind != "generate":
            return ModelOutput(error="UnsupportedRequest: the local vision-language model only generates text")
        if self.model is None:
            await self.preflight()
        n_images = sum(1 for m in request.messages or [] if isinstance(m.get("content"), list)
                       for p in m["content"] if is_image_part(p))
        if n_images and not self.accepts_images:
            return ModelOutput(error=f"ImageUnsupported: the local model {self.config.model} has no image "
                                     f"processor; it cannot read the request's {n_images} image(s)")
        try:
            msgs, images = await asyncio.to_thread(self.convert, request)
        except ImageError as exc:
            return ModelOutput(error=f"ImageError: {exc}")
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._loop_task = asyncio.create_task(self._batch_loop())
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put(((request, msgs, images), fut, time.perf_counter()))
        return await fut

    async def _batch_loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
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
                groups.setdefault(repr(sorted(item[0][0].generation.items())), []).append(item)
            for items in groups.values():
                try:
                    outs = await asyncio.to_thread(self._generate_batch, [i[0] for i in items])
                except Exception as exc:  # noqa: BLE001 - a failed batch fails its samples only
                    outs = [ModelOutput(error=f"{type(exc).__name__}: {exc}") for _ in items]
                now = time.perf_counter()
                for (_, fut, t0), out in zip(items, outs, strict=True):
                    out.latency_s = now - t0
                    if not fut.done():
                        fut.set_result(out)

    def _generation_kwargs(self, gen: dict[str, Any]) -> dict[str, Any]:
        gen = {**self.config.generation_config, **gen}
        out: dict[str, Any] = {"max_new_tokens": int(gen.pop("max_new_tokens", gen.pop("max_tokens", 256)))}
        temperature = float(gen.pop("temperature", 0.0) or 0.0)
        out["do_sample"] = bool(gen.pop("do_sample", temperature > 0))
        if out["do_sample"]:
            out["temperature"] = temperature or 1.0
            for k in ("top_p", "top_k"):
                if k in gen:
                    out[k] = gen[k]
        for k in ("repetition_penalty", "num_beams"):
            if k in gen:
                out[k] = gen[k]
        return out

    def _generate_batch(self, items: list[tuple[Request, list, list]]) -> list[ModelOutput]:
        import torch

        self.batch_sizes.append(len(items))
        texts = [self.render(msgs) for _, msgs, _ in items]
        images = [img for _, _, imgs in items for img in imgs]
        tok = self.tokenizer
        if self.processor is not None:
            enc = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        else:
            enc = tok(texts, padding=True, return_tensors="pt", add_special_tokens=False)
        enc.pop("token_type_ids", None)
        enc = enc.to(self.device)
        kwargs = self._generation_kwargs(items[0][0].generation)
        with torch.no_grad():
            gen = self.model.generate(**enc, **kwargs, pad_token_id=tok.pad_token_id)
        new = gen[:, enc["input_ids"].shape[1]:]
        outs = []
        for i in range(len(items)):
            ids = new[i].tolist()
            n = len(ids)
            if tok.eos_token_id is not None and tok.eos_token_id in ids:
                n = ids.index(tok.eos_token_id) + 1
            text = tok.decode(ids[:n], skip_special_tokens=True)
            answer, reasoning = split_reasoning(text)
            prompt_tokens = int(enc["attention_mask"][i].sum())
            outs.append(ModelOutput(text=answer, reasoning=reasoning,
                                    finish_reason="stop" if n < len(ids) or (ids and ids[-1] == tok.eos_token_id)
                                    else "length",
                                    usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=n,
                                                total_tokens=prompt_tokens + n)))
        return outs

    async def aclose(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._loop_task = None
            self._queue = None
