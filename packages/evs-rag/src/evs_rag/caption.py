"""Image captioning as retrieval data, as EvalScope's CLIP_Benchmark ``image_caption`` task.

A vision-language model (any OpenAI-compatible chat endpoint that accepts image parts) captions
each image of an image-text file; the generated captions become the corpus, the file's own
captions the queries, and each query is relevant to its image's caption. The folder written is
the custom retrieval layout that ``evs rag mteb --custom-retrieval DIR`` evaluates with a text
embedding model (how well the generated captions let one find the reference captions)::

    corpus.jsonl     {"_id": "img0", "text": <generated caption>, "image": "cat.png"}
    queries.jsonl    {"_id": "q0", "text": <reference caption>}
    qrels/test.tsv   query-id <TAB> corpus-id <TAB> score
    captions.jsonl   per image: the caption or the error, and the latency

An image whose captioning fails is recorded in ``captions.jsonl`` and counted; it and its queries
are left out of the retrieval data, and the command exits with status 1.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from evs_core.errors import ConfigError
from evs_core.outputs import atomic_write_text

from evs_rag.clip import read_pairs
from evs_rag.config import LLMSpec

DEFAULT_PROMPT = "Describe this image in one sentence."


def _jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


async def _caption_all(captioner, images: list[str], prompt: str, concurrency: int, generation: dict):
    from evs_core.images import image_part, text_part
    from evs_core.models import Request

    sem = asyncio.Semaphore(concurrency)

    async def one(path: str):
        from evs_core.schema import ModelOutput

        try:  # sent inline as a data URL: the endpoint cannot read this machine's files
            part = image_part(Path(path).read_bytes())
        except OSError as exc:
            return ModelOutput(error=f"cannot read the image: {exc.strerror or exc}")
        async with sem:
            msg = {"role": "user", "content": [text_part(prompt), part]}
            return await captioner.agenerate(Request(messages=[msg], generation=dict(generation)))

    return await asyncio.gather(*(one(p) for p in images))


def run_caption(dataset: str, spec: LLMSpec, output_dir: str, prompt: str = DEFAULT_PROMPT,
                max_tokens: int = 64) -> tuple[Path, list[str]]:
    """Caption every image of ``dataset``; write the retrieval folder; return it and the failures."""
    from evs_rag.ragas_run import APIChat

    if not spec.api_base:
        raise ConfigError("image captioning needs an OpenAI-compatible vision-language endpoint: --captioner-url "
                          "with --captioner-model")
    if not prompt.strip():
        raise ConfigError("--prompt must not be empty")
    if max_tokens < 1:
        raise ConfigError("--max-tokens must be at least 1")
    out = Path(output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {out} is a file, not a folder")
    rows = read_pairs(dataset, "zeroshot_retrieval")
    images = list(dict.fromkeys(r["image"] for r in rows))
    captioner = APIChat(spec)
    try:
        outputs = asyncio.run(_caption_all(captioner, images, prompt, spec.concurrency,
                                           {"max_tokens": max_tokens, "temperature": 0.0}))
    finally:
        captioner.client.close()
    ids = {p: f"img{i}" for i, p in enumerate(images)}
    captions, corpus, failures = [], [], []
    for path, o in zip(images, outputs, strict=True):
        text = (o.text or "").strip()
        error = o.error or (None if text else "empty caption")
        captions.append({"_id": ids[path], "image": Path(path).name, "caption": text if not error else None,
                         "error": error, "latency_s": o.latency_s})
        if error:
            failures.append(f"{Path(path).name}: {error}")
        else:
            corpus.append({"_id": ids[path], "text": text, "image": Path(path).name})
    ok = {c["_id"] for c in corpus}
    queries, qrels = [], ["query-id\tcorpus-id\tscore"]
    for t, r in enumerate(rows):
        if ids[r["image"]] in ok:
            queries.append({"_id": f"q{t}", "text": r["text"]})
            qrels.append(f"q{t}\t{ids[r['image']]}\t1")
    atomic_write_text(out / "captions.jsonl", _jsonl(captions))
    if corpus:
        atomic_write_text(out / "corpus.jsonl", _jsonl(corpus))
        atomic_write_text(out / "queries.jsonl", _jsonl(queries))
        atomic_write_text(out / "qrels" / "test.tsv", "\n".join(qrels) + "\n")
    return out, failures
