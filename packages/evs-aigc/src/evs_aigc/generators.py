"""Image generators: model adapters whose output is an image file in the run folder.

Each adapter answers an :class:`~evs_aigc.requests.ImageRequest` with ``ModelOutput.text`` = the
image's path relative to the run folder (``images/<model>/<dataset>/<sample id>-<digest>.png``,
the digest covering the prompt and every generation parameter). An image already on disk under
that name (a run killed after writing it, resumed with ``--use-cache``) is reused, never made
again (``finish_reason: "reused"``). Errors come back as ``ModelOutput(error=...)``: one sample
fails, the run goes on.

* :class:`DiffusersPipeline` (``--model-type diffusers``, inferred for a folder with
  ``model_index.json``): a local diffusers pipeline folder or hub id, batched;
* :class:`OpenAIImages` (``--model-type openai_images``): ``POST /images/generations`` and
  ``/images/edits`` of an OpenAI-compatible server;
* :class:`ImageFolder` (``--model-type image_folder``): pre-generated images, score only.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import shutil
import time
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError, MissingDependencyError, suggest
from evs_core.models import ModelAdapter, Request
from evs_core.schema import ModelOutput

from evs_aigc.images import (
    IMAGE_SUFFIXES,
    ImageReadError,
    image_relpath,
    is_readable_image,
    load_rgb,
    request_digest,
    save_bytes,
    save_png,
    source_bytes,
)
from evs_aigc.requests import IMAGE_EDIT, TEXT_TO_IMAGE, ImageRequest


class ImageGenerator(ModelAdapter):
    """What the three generators share: argument checks, the run folder, reuse of finished images."""

    ARGS: set[str] = set()
    #: The model_args that decide an image and so enter its file name's digest.
    IMAGE_ARGS: tuple[str, ...] = ()
    kinds: tuple[str, ...] = (TEXT_TO_IMAGE,)

    def __init__(self, config) -> None:
        super().__init__(config)
        args = dict(config.model_args)
        unknown = set(args) - self.ARGS
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"unknown model_args key '{key}' for --model-type {self.name}"
                              f"{suggest(key, self.ARGS)} (valid: {', '.join(sorted(self.ARGS))})")
        self.args = args
        self.run_dir: Path | None = None
        self.generated = 0
        self.reused = 0

    def bind_run_dir(self, run_dir) -> None:
        self.run_dir = Path(run_dir)

    @property
    def model_name(self) -> str:
        return self.config.display_name

    def target(self, request: ImageRequest) -> tuple[str, Path]:
        """(run-relative path, absolute path) of the request's image."""
        if self.run_dir is None:
            raise EvsError(f"--model-type {self.name} writes images into a run folder; it runs under `evs eval`")
        from evs_aigc.images import describe_source

        payload = {"kind": request.kind, "prompt": request.prompt, "generation": request.generation,
                   "inputs": [describe_source(s) for s in request.input_images], "model": self.config.model,
                   "args": {k: self.args.get(k) for k in self.IMAGE_ARGS}}
        rel = image_relpath(self.model_name, request.dataset or "default", request.sample_id or "sample",
                            request_digest(payload))
        return rel, self.run_dir / rel

    def check_request(self, request: Request) -> str | None:
        if not isinstance(request, ImageRequest):
            return (f"UnsupportedRequest: --model-type {self.name} makes images; this benchmark asks for text "
                    "(image generators run the text-to-image and image-edit benchmarks)")
        if request.kind not in self.kinds:
            return f"UnsupportedRequest: --model-type {self.name} does not do {request.kind.replace('_', ' ')}"
        return None

    async def agenerate(self, request: Request) -> ModelOutput:
        bad = self.check_request(request)
        if bad:
            return ModelOutput(error=bad)
        assert isinstance(request, ImageRequest)
        try:
            rel, path = self.target(request)
        except EvsError as exc:
            return ModelOutput(error=f"{type(exc).__name__}: {exc}")
        if path.is_file() and await asyncio.to_thread(is_readable_image, path):
            self.reused += 1
            return ModelOutput(text=rel, finish_reason="reused", model=self.model_name, latency_s=0.0)
        t0 = time.perf_counter()
        try:
            await self.make(request, path)
        except (EvsError, ImageReadError) as exc:
            return ModelOutput(error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - one failed image fails its sample, not the run
            return ModelOutput(error=f"GenerationError: {type(exc).__name__}: {exc}")
        self.generated += 1
        return ModelOutput(text=rel, finish_reason="generated", model=self.model_name,
                           latency_s=time.perf_counter() - t0)

    async def make(self, request: ImageRequest, path: Path) -> None:
        raise NotImplementedError


def _import_diffusers():
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            f"--model-type diffusers needs torch and diffusers ({exc.name} is missing): "
            "pip install torch==2.13.0 && pip install \"evs-aigc[diffusers]\"") from None
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    return diffusers, torch


_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
           "bfloat16": "bfloat16", "bf16": "bfloat16"}


class DiffusersPipeline(ImageGenerator):
    """A diffusers pipeline run in-process.

    ``--model`` is a pipeline folder (``model_index.json``; read offline, never a download) or a
    hub id. ``model_args``: ``height``, ``width``, ``num_inference_steps`` (``steps``),
    ``guidance_scale`` (``guidance``), ``seed`` (default 42: each image gets a generator seeded
    with it, so an image depends on its prompt and seed, not on the batch it ran in),
    ``negative_prompt``, ``batch_size`` (prompts per pipeline call, default 1), ``batch_wait_ms``,
    ``device`` (``cpu``, ``cuda``…), ``dtype``, ``pipeline_cls`` (a diffusers class name; default
    ``DiffusionPipeline``), ``revision``, ``variant``, ``pipeline_kwargs`` (more call arguments).
    """

    name = "diffusers"
    ARGS = {"height", "width", "num_inference_steps", "steps", "guidance_scale", "guidance", "seed",
            "negative_prompt", "batch_size", "batch_wait_ms", "device", "dtype", "torch_dtype", "pipeline_cls",
            "revision", "variant", "pipeline_kwargs"}
    IMAGE_ARGS = ("height", "width", "num_inference_steps", "steps", "guidance_scale", "guidance", "seed",
                  "negative_prompt", "pipeline_kwargs", "dtype", "torch_dtype", "variant", "revision")
    kinds = (TEXT_TO_IMAGE, IMAGE_EDIT)

    def __init__(self, config) -> None:
        super().__init__(config)
        a = self.args
        self.batch_size = _positive_int(a.get("batch_size", 1), "model_args.batch_size")
        self.max_concurrency = max(self.batch_size, 1)
        self.batch_wait = float(a.get("batch_wait_ms", 20)) / 1000
        self.seed = int(a.get("seed", config.seed if getattr(config, "seed", None) is not None else 42))
        self.call_kwargs: dict[str, Any] = {}
        for key, alias in (("height", None), ("width", None), ("num_inference_steps", "steps"),
                           ("guidance_scale", "guidance"), ("negative_prompt", None)):
            value = a.get(key, a.get(alias) if alias else None)
            if value is not None:
                self.call_kwargs[key] = value
        for key in ("height", "width", "num_inference_steps"):
            if key in self.call_kwargs:
                self.call_kwargs[key] = _positive_int(self.call_kwargs[key], f"model_args.{key}")
        extra = a.get("pipeline_kwargs") or {}
        if not isinstance(extra, dict):
            raise ConfigError("model_args.pipeline_kwargs must be a mapping of pipeline call arguments")
        self.call_kwargs.update(extra)
        dtype = a.get("dtype", a.get("torch_dtype"))
        if dtype is not None and str(dtype) not in _DTYPES:
            raise ConfigError(f"model_args.dtype must be one of {', '.join(sorted(_DTYPES))}, not {dtype!r}")
        self.dtype = _DTYPES.get(str(dtype)) if dtype is not None else None
        self.device = str(a.get("device", "cpu"))
        self.pipe = None
        self.call_params: set[str] = set()
        self._queue: asyncio.Queue | None = None
        self._loop_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        source = Path(config.model).expanduser()
        self.local = source.exists() or str(config.model).startswith((".", "/", "~"))
        if self.local and not source.is_dir():
            raise ConfigError(f"diffusers pipeline folder not found: {config.model}")
        if self.local and not (source / "model_index.json").is_file():
            raise ConfigError(f"{config.model} is not a diffusers pipeline folder (no model_index.json)")

    async def preflight(self) -> None:
        if self.pipe is None:
            await asyncio.to_thread(self.load)

    def load(self) -> None:
        diffusers, torch = _import_diffusers()
        from evs_aigc.metrics.base import offline_for

        cls_name = self.args.get("pipeline_cls", "DiffusionPipeline")
        cls = getattr(diffusers, str(cls_name), None)
        if cls is None or not hasattr(cls, "from_pretrained"):
            raise ConfigError(f"model_args.pipeline_cls: diffusers has no pipeline class '{cls_name}'")
        kwargs: dict[str, Any] = {}
        if self.dtype:
            kwargs["torch_dtype"] = getattr(torch, self.dtype)
        for k in ("revision", "variant"):
            if self.args.get(k):
                kwargs[k] = self.args[k]
        model = str(Path(self.config.model).expanduser()) if self.local else self.config.model
        try:
            with offline_for(model if self.local else None):
                pipe = cls.from_pretrained(model, **kwargs)
        except EvsError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line for a pipeline that cannot load
            raise EvsError(f"cannot load the diffusers pipeline {self.config.model}: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
        params = set(inspect.signature(pipe.__call__).parameters)
        if "prompt" not in params:
            raise ConfigError(f"{self.config.model} holds a {type(pipe).__name__}, which is not a text-to-image "
                              "pipeline (its call takes no prompt)")
        self.call_params = params
        pipe.to(self.device)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe

    def check_request(self, request: Request) -> str | None:
        bad = super().check_request(request)
        if bad or self.pipe is None:
            return bad
        needs_image = inspect.signature(self.pipe.__call__).parameters.get("image")
        if request.kind == IMAGE_EDIT and needs_image is None:
            return (f"UnsupportedRequest: {type(self.pipe).__name__} is a text-to-image pipeline; the image-edit "
                    "benchmark needs one that takes an image (e.g. pipeline_cls: StableDiffusionInstructPix2PixPipeline)")
        if request.kind == TEXT_TO_IMAGE and needs_image is not None and needs_image.default is inspect.Parameter.empty:
            return (f"UnsupportedRequest: {type(self.pipe).__name__} needs an input image; it is not a "
                    "text-to-image pipeline")
        return None

    async def make(self, request: ImageRequest, path: Path) -> None:
        if self.pipe is None:
            async with self._lock:
                if self.pipe is None:
                    await asyncio.to_thread(self.load)
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._loop_task = asyncio.create_task(self._batch_loop())
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((request, path, fut))
        await fut

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
            for item in batch:  # one pipeline call per kind (edits carry their own images)
                groups.setdefault(item[0].kind, []).append(item)
            for items in groups.values():
                try:
                    await asyncio.to_thread(self.run_batch, [(r, p) for r, p, _ in items])
                    results: list[BaseException | None] = [None] * len(items)
                except Exception as exc:  # noqa: BLE001 - a failed batch fails its samples only
                    results = [exc] * len(items)
                for (_, _, fut), err in zip(items, results, strict=True):
                    if fut.done():
                        continue
                    if err is None:
                        fut.set_result(None)
                    else:
                        fut.set_exception(err)

    def run_batch(self, items: list[tuple[ImageRequest, Path]]) -> None:
        """One pipeline call for a batch of prompts; each image is saved as soon as the call returns."""
        import torch

        prompts = [r.prompt or "" for r, _ in items]
        kwargs = dict(self.call_kwargs)
        if "generator" in self.call_params:
            kwargs["generator"] = [torch.Generator(device="cpu").manual_seed(self.seed) for _ in items]
        if items[0][0].kind == IMAGE_EDIT:
            kwargs["image"] = [load_rgb(r.input_images[0]) for r, _ in items]
        with torch.inference_mode():
            out = self.pipe(prompt=prompts, **kwargs)
        images = getattr(out, "images", None)
        if images is None or len(images) < len(items):
            raise EvsError(f"{type(self.pipe).__name__} returned no images")
        for (_, path), img in zip(items, images, strict=False):
            save_png(_to_pil(img), path)

    async def aclose(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
        self.pipe = None


def _to_pil(img: Any) -> Any:
    from PIL import Image

    if isinstance(img, Image.Image):
        return img
    import numpy as np

    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255).round().astype("uint8")
    return Image.fromarray(arr)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a positive integer, not {value!r}")
    return value


class OpenAIImages(ImageGenerator):
    """An OpenAI-compatible images API: ``POST {api_url}/images/generations`` (JSON) for prompts and
    ``/images/edits`` (multipart, the image file under ``image``) for edits.

    ``model_args``: ``size`` (``"1024x1024"``; or ``height`` + ``width``), ``quality``, ``style``,
    ``response_format`` (``b64_json`` default; ``url`` answers are fetched), ``extra_body``
    (merged into the request), ``headers``. Retries 408/429/5xx and connection errors
    ``--retries`` times; the API key never appears in anything evs writes.
    """

    name = "openai_images"
    ARGS = {"size", "height", "width", "quality", "style", "response_format", "extra_body", "headers", "seed"}
    IMAGE_ARGS = ("size", "height", "width", "quality", "style", "extra_body", "seed")
    kinds = (TEXT_TO_IMAGE, IMAGE_EDIT)
    RETRY = {408, 409, 425, 429, 500, 502, 503, 504}

    def __init__(self, config) -> None:
        super().__init__(config)
        if not config.api_url:
            raise ConfigError("--model-type openai_images needs --api-url (the server's /v1 address)")
        base = config.api_url.rstrip("/")
        for suffix in ("/images/generations", "/images/edits"):
            base = base.removesuffix(suffix)
        self.base_url = base
        a = self.args
        size = a.get("size")
        if size is None and (a.get("height") or a.get("width")):
            size = f"{int(a.get('width') or a.get('height'))}x{int(a.get('height') or a.get('width'))}"
        self.size = size
        self.response_format = a.get("response_format", "b64_json")
        if self.response_format not in ("b64_json", "url"):
            raise ConfigError("model_args.response_format must be 'b64_json' or 'url'")
        extra = a.get("extra_body") or {}
        if not isinstance(extra, dict):
            raise ConfigError("model_args.extra_body must be a mapping")
        self.extra = extra
        headers = {}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        headers.update(a.get("headers") or {})
        self.headers = headers
        self._client = None

    def _session(self):
        if self._client is None:
            import aiohttp

            self._client = aiohttp.ClientSession(
                headers=self.headers, timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                connector=aiohttp.TCPConnector(limit=max(1, self.config.concurrency)))
        return self._client

    def _fields(self, request: ImageRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.config.model, "prompt": request.prompt or "", "n": 1,
                                "response_format": self.response_format}
        if self.size:
            body["size"] = self.size
        for k in ("quality", "style", "seed"):
            if self.args.get(k) is not None:
                body[k] = self.args[k]
        body.update(self.extra)
        return body

    async def make(self, request: ImageRequest, path: Path) -> None:
        import aiohttp

        body = self._fields(request)
        edit = request.kind == IMAGE_EDIT
        url = f"{self.base_url}/images/{'edits' if edit else 'generations'}"
        attempts = max(0, int(getattr(self.config, "retries", 0) or 0)) + 1
        last = ""
        for attempt in range(attempts):
            try:
                if edit:
                    form = aiohttp.FormData()
                    for k, v in body.items():
                        form.add_field(k, v if isinstance(v, str) else __import__("json").dumps(v))
                    for i, src in enumerate(request.input_images):
                        data = await asyncio.to_thread(source_bytes, src)
                        form.add_field("image" if len(request.input_images) == 1 else "image[]", data,
                                       filename=f"image{i}.png", content_type="image/png")
                    ctx = self._session().post(url, data=form)
                else:
                    ctx = self._session().post(url, json=body)
                async with ctx as resp:
                    text = await resp.text()
                    if resp.status in self.RETRY and attempt + 1 < attempts:
                        last = f"HTTP {resp.status}"
                        await asyncio.sleep(min(0.5 * 2 ** attempt, 8))
                        continue
                    if resp.status != 200:
                        raise EvsError(f"HTTP {resp.status} from {url}: {' '.join(text.split())[:200]}")
                    data = __import__("json").loads(text)
                break
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                if attempt + 1 >= attempts:
                    raise EvsError(f"images API unreachable at {url}: {last}") from None
                await asyncio.sleep(min(0.5 * 2 ** attempt, 8))
            except ValueError:
                raise EvsError(f"the images API at {url} answered something that is not JSON") from None
        else:  # pragma: no cover - the loop always breaks or raises
            raise EvsError(f"images API failed: {last}")
        items = data.get("data") if isinstance(data, dict) else None
        if not items or not isinstance(items, list) or not isinstance(items[0], dict):
            raise EvsError(f"the images API answered no image (keys: {', '.join(data) if isinstance(data, dict) else '-'})")
        first = items[0]
        if first.get("b64_json"):
            try:
                raw = base64.b64decode(first["b64_json"], validate=False)
            except (ValueError, TypeError):
                raise EvsError("the images API answered b64_json that is not base64") from None
        elif first.get("url"):
            async with self._session().get(first["url"]) as resp:
                if resp.status != 200:
                    raise EvsError(f"HTTP {resp.status} fetching the image URL the API answered")
                raw = await resp.read()
        else:
            raise EvsError("the images API answered an item with neither b64_json nor url")
        await asyncio.to_thread(save_bytes, raw, path)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class ImageFolder(ImageGenerator):
    """Pre-generated images: nothing is generated, images are copied into the run folder.

    For each sample the image is the prompt row's ``image_path`` (absolute, or relative to the
    working directory or to ``--model``'s folder) or, in the folder given as ``--model``, the file
    named after the sample id (``<id>.png``, ``.jpg``, ``.jpeg``, ``.webp``, ``.bmp``), also under
    ``<folder>/<dataset>/``. A sample without an image fails with ``ImageNotFound``.
    """

    name = "image_folder"
    ARGS: set[str] = set()
    kinds = (TEXT_TO_IMAGE, IMAGE_EDIT)

    def __init__(self, config) -> None:
        super().__init__(config)
        p = Path(config.model).expanduser()
        self.folder = p if p.is_dir() else None
        if self.folder is None and (p.exists() or str(config.model).startswith((".", "/", "~"))):
            raise ConfigError(f"image folder not found: {config.model} is not a folder")

    def find(self, request: ImageRequest) -> Path:
        if request.image_path:
            cand = Path(request.image_path).expanduser()
            options = [cand] if cand.is_absolute() else [Path.cwd() / cand] + ([self.folder / cand] if self.folder else [])
            for c in options:
                if c.is_file():
                    return c
            raise EvsError(f"ImageNotFound: the row's image_path {request.image_path} does not exist")
        if self.folder is None:
            raise EvsError(f"ImageNotFound: sample {request.sample_id} has no image_path and --model is not a folder")
        from evs_aigc.images import safe_part

        for base in (self.folder / request.dataset, self.folder):
            for stem in dict.fromkeys((request.sample_id, safe_part(request.sample_id))):
                for suf in IMAGE_SUFFIXES:
                    c = base / f"{stem}{suf}"
                    if c.is_file():
                        return c
        raise EvsError(f"ImageNotFound: no image for sample {request.sample_id} in {self.folder}")

    def target(self, request: ImageRequest) -> tuple[str, Path]:
        if self.run_dir is None:
            raise EvsError("--model-type image_folder copies images into a run folder; it runs under `evs eval`")
        src = self.find(request)
        st = src.stat()
        rel = image_relpath(self.model_name, request.dataset or "default", request.sample_id or "sample",
                            request_digest({"src": str(src.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}))
        rel = rel[: -len(".png")] + (src.suffix.lower() or ".png")
        return rel, self.run_dir / rel

    async def agenerate(self, request: Request) -> ModelOutput:
        bad = self.check_request(request)
        if bad:
            return ModelOutput(error=bad)
        assert isinstance(request, ImageRequest)
        try:
            rel, path = self.target(request)
        except EvsError as exc:
            msg = str(exc)
            return ModelOutput(error=msg if msg.startswith("ImageNotFound") else f"EvsError: {msg}")
        if not path.is_file():
            src = self.find(request)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            await asyncio.to_thread(shutil.copyfile, src, tmp)
            tmp.replace(path)
            self.generated += 1
            return ModelOutput(text=rel, finish_reason="copied", model=self.model_name, latency_s=0.0)
        self.reused += 1
        return ModelOutput(text=rel, finish_reason="reused", model=self.model_name, latency_s=0.0)
