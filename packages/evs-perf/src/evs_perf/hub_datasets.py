"""Datasets with a hub id: longalpaca (long inputs), flickr8k and kontext_bench (images),
random_embedding(_batch).

Each reads a local ``--dataset-path`` (never downloaded); without one it loads its hub id with
the ``datasets`` library (``pip install "evs-perf[hub]"``), as EvalScope does from ModelScope or
the Hugging Face Hub. Local layouts:

* ``longalpaca``: json/jsonl records with ``instruction`` (and optional ``input``), as
  LongAlpaca-12k;
* ``flickr8k``: a folder of images, or jsonl with ``image`` (a path, relative to the file) and
  optional ``caption``; each request asks to describe one image;
* ``kontext_bench``: jsonl with ``image`` and ``instruction`` (an editing instruction), or a
  folder of images; each request sends the image with its instruction;
* ``random_embedding``: one random text of ``--input-tokens`` per embeddings request;
  ``random_embedding_batch``: ``--embedding-batch`` texts (default 8) per request.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
from pathlib import Path

from evs_core.errors import ConfigError

from evs_perf.datasets import EmbeddingsDataset, PerfDataset, Prompt

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}


def load_hub(hub_id: str, name: str, split: str = "train"):
    """Rows of a hub dataset (online only). A local --dataset-path never comes here."""
    from evs_core.errors import require

    datasets = require("datasets", f"--dataset {name} without --dataset-path", "evs-perf[hub]")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ConfigError(f"--dataset {name}: give --dataset-path (HF_HUB_OFFLINE=1, hub id {hub_id} not loaded)")
    return datasets.load_dataset(hub_id, split=split)


def _data_url(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--dataset-path: cannot read image {path}: {exc.strerror}") from None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _image_prompt(text: str, url: str, max_tokens: int) -> Prompt:
    return Prompt(messages=[{"role": "user", "content": [{"type": "text", "text": text},
                                                         {"type": "image_url", "image_url": {"url": url}}]}],
                  max_tokens=max_tokens)


class _LocalOrHub(PerfDataset):
    hub_id = ""

    def __init__(self, config, tokenizer=None):
        super().__init__(config, tokenizer)
        if self.path and not Path(self.path).expanduser().exists():
            raise ConfigError(f"--dataset-path: no such file or folder: {self.path}")

    def _records(self):
        if self.path:
            p = Path(self.path).expanduser()
            if p.is_dir():
                return [{"image": str(f)} for f in sorted(p.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
            return super()._records()
        return list(load_hub(self.hub_id, self.name))


class LongAlpacaDataset(_LocalOrHub):
    name = "longalpaca"
    hub_id = "Yukang/LongAlpaca-12k"

    def prompts(self, n, rng):
        items = []
        for r in self._records():
            if not isinstance(r, dict) or not r.get("instruction"):
                continue
            text = str(r["instruction"]) + (("\n" + str(r["input"])) if r.get("input") else "")
            items.append(Prompt(text=text, max_tokens=self.out_tokens(rng)))
        return self._cycle(items, n)


class Flickr8kDataset(_LocalOrHub):
    name = "flickr8k"
    hub_id = "clip-benchmark/wds_flickr8k"
    question = "Describe this image in one sentence."

    def _image(self, r, base: Path):
        img = r.get("image") or r.get("jpg") or r.get("png")
        if isinstance(img, str):
            p = Path(img)
            return _data_url(p if p.is_absolute() else base / p)
        if img is not None and hasattr(img, "save"):  # a PIL image from the hub
            import io

            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="PNG")
            return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
        return None

    def _base(self) -> Path:
        if not self.path:
            return Path(".")
        p = Path(self.path).expanduser()
        return p if p.is_dir() else p.parent

    def prompts(self, n, rng):
        base = self._base()
        items = []
        for r in self._records():
            if not isinstance(r, dict):
                continue
            url = self._image(r, base)
            if url:
                items.append(_image_prompt(self.text(r), url, self.out_tokens(rng)))
        return self._cycle(items, n)

    def text(self, r) -> str:
        return self.question


class KontextBenchDataset(Flickr8kDataset):
    name = "kontext_bench"
    hub_id = "black-forest-labs/kontext-bench"

    def text(self, r) -> str:
        return str(r.get("instruction") or r.get("prompt") or "Edit this image.")


class RandomEmbeddingDataset(EmbeddingsDataset):
    name = "random_embedding"
    batch = 1

    def __init__(self, config, tokenizer=None):
        super().__init__(config, tokenizer)
        self.batch = int(config.get("embedding_batch") or self.batch)
        if self.batch < 1:
            raise ConfigError("--embedding-batch must be at least 1")

    def prompts(self, n, rng):
        out = []
        for _ in range(n):
            texts, total = [], 0
            for _ in range(self.batch):
                k = rng.randint(*self.in_range)
                texts.append(self.gen.make(k, rng)[0])
                total += k
            out.append(Prompt(inputs=texts, input_tokens=total, exact=False))
        return out


class RandomEmbeddingBatchDataset(RandomEmbeddingDataset):
    name = "random_embedding_batch"
    batch = 8


_ = json
