"""Test helpers: coloured PNGs, a responder that looks at the request's images, a small driver.

The driver runs a benchmark the way the eval engine does (load samples, build each request, ask
the model through the real OpenAI adapter, review, aggregate) using only evs-core, so these tests
need nothing but evs-vlm and its dependencies.
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

from PIL import Image

COLORS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220), "yellow": (230, 230, 20)}
LETTER_OF = {"red": "A", "green": "B", "blue": "C", "yellow": "D"}


def png(color: str, size: tuple[int, int] = (16, 12), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, COLORS[color]).save(buf, format=fmt)
    return buf.getvalue()


def cell(color: str, **kw) -> dict[str, Any]:
    """A Hugging Face ``Image()`` cell as stored in parquet."""
    return {"bytes": png(color, **kw), "path": None}


def color_of(img: Image.Image) -> str:
    px = img.convert("RGB").getpixel((img.width // 2, img.height // 2))
    return min(COLORS, key=lambda c: sum((a - b) ** 2 for a, b in zip(COLORS[c], px, strict=True)))


def request_images(body: dict[str, Any]) -> list[Image.Image]:
    """The images of a chat request body, decoded from their data URLs (a real server's view)."""
    out = []
    for m in body.get("messages", []):
        if isinstance(m.get("content"), list):
            for p in m["content"]:
                if p.get("type") == "image_url":
                    url = p["image_url"]["url"]
                    assert url.startswith("data:image/"), url[:40]
                    out.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return out


def last_user_images(body: dict[str, Any]) -> list[Image.Image]:
    last = [m for m in body["messages"] if m["role"] == "user"][-1]
    return request_images({"messages": [last]})


def first_color(body: dict[str, Any]) -> str:
    return color_of(last_user_images(body)[0])


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def make_config(url: str, datasets: list[str], **kw):
    from evs_core.config import make_config as mk

    data = {"model": "fake-model", "api_url": url, "datasets": datasets, "retries": 0, "timeout": 30, **kw}
    return mk(data)


def run_benchmark(name: str, url: str, dataset_dir: Path | None = None, dataset_args: dict | None = None,
                  model_args: dict | None = None, limit=None):
    """Run one benchmark end to end; returns (samples, requests, outputs, reviews, overall, subsets)."""
    from evs_core.models import OpenAIAPIModel
    from evs_core.registry import get_registries

    cfg = make_config(url, [name], model_args=model_args or {},
                      dataset_dir=str(dataset_dir) if dataset_dir else None)
    cls = get_registries().benchmarks.load(name)
    bench = cls(dataset_args, dataset_dir=cfg.dataset_dir)
    samples = bench.load_samples(limit)
    model = OpenAIAPIModel(cfg)

    async def go():
        try:
            requests = [bench.build_request(s) for s in samples]
            outs = await asyncio.gather(*(model.agenerate(r) for r in requests))
            return requests, outs
        finally:
            await model.aclose()

    requests, outputs = asyncio.run(go())
    async def score_all():
        return [await bench.score(s, o, None) for s, o in zip(samples, outputs, strict=True)]

    reviews = asyncio.run(score_all())
    overall, subsets = bench.aggregate(reviews)
    return samples, requests, outputs, reviews, overall, subsets
