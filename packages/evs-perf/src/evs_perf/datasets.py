"""Perf datasets (``--dataset``): lists of :class:`Prompt`.

Registered through the ``evs_perf_register_datasets`` hook. Each dataset is built with
``Class(config, tokenizer)`` and returns prompts from ``prompts(n, rng)``. Local files only:
``--dataset-path`` is read, never downloaded.

Random prompts and exact lengths: with ``--tokenizer`` a prompt is made of random ordinary
token ids, decoded, re-encoded and corrected until the re-encoded text has exactly the asked
number of tokens (so the length does not drift after decode/re-encode); ``Prompt.exact`` is
True. Without a tokenizer, prompts are made of common one-token English words separated by
spaces: one word is one token for GPT-2/Llama/Qwen-style BPE tokenizers in nearly all cases,
but this is not checked, so ``exact`` is False and the report says the input length is
approximate. The server's ``usage.prompt_tokens`` is reported either way.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError

# Common English words that are single tokens (with a leading space) in GPT-2, Llama and Qwen.
WORDS = ("the of and to in is was for on as with by he at from his an were are which this be or had "
         "not first one their its new after who they have her she two been other when there all during "
         "into school time may years more most only over city some world would where later up such used "
         "many can state about national out known university united then made").split()


@dataclass
class Prompt:
    text: str | None = None
    messages: list[dict[str, Any]] | None = None
    inputs: list[str] | None = None  # embeddings input / rerank documents
    query: str | None = None
    max_tokens: int | None = None
    input_tokens: int | None = None  # planned input length, when known
    exact: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


def parse_range(value, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    s = str(value).strip()
    try:
        if "-" in s:
            lo, hi = (int(x) for x in s.split("-", 1))
        else:
            lo = hi = int(s)
    except ValueError:
        raise ConfigError(f"{name} must be N or MIN-MAX, not {value!r}") from None
    if lo < 0 or hi < lo:
        raise ConfigError(f"{name}: bad range {value!r}")
    return lo, hi


class PerfDataset:
    name = "base"
    needs_path = False
    #: the workload that runs this dataset (None: independent requests; "trace", "multi_turn",
    #: "speed_benchmark": see evs_perf.workloads)
    workload: str | None = None

    def __init__(self, config: dict[str, Any], tokenizer=None):
        self.config = config
        self.tokenizer = tokenizer
        lo, hi = parse_range(config.get("max_tokens", 256), "--max-tokens")
        if config.get("min_tokens") is not None:
            lo = int(config["min_tokens"])
            if lo > hi:
                raise ConfigError(f"--min-tokens {lo} is above --max-tokens {hi}")
        self.out_range = (lo, hi)
        self.path = config.get("dataset_path")
        if self.needs_path:
            if not self.path:
                raise ConfigError(f"--dataset {self.name} needs --dataset-path (a local file; evs perf never downloads)")
            if not Path(self.path).expanduser().is_file():
                raise ConfigError(f"--dataset-path: no such file: {self.path}")

    def out_tokens(self, rng: random.Random) -> int:
        lo, hi = self.out_range
        return rng.randint(lo, hi)

    def prompts(self, n: int, rng: random.Random) -> list[Prompt]:  # pragma: no cover - abstract
        raise NotImplementedError

    # helpers for file datasets
    def _text(self) -> str:
        p = Path(self.path).expanduser()
        try:
            return p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"--dataset-path: {p} is not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise ConfigError(f"--dataset-path: cannot read {p}: {exc.strerror}") from None

    def _lines(self):
        for line in self._text().splitlines():
            if line.strip():
                yield line

    def _records(self):
        p = Path(self.path).expanduser()
        text = self._text()
        if p.suffix == ".json" or text.lstrip().startswith("["):
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise ConfigError(f"--dataset-path: {p} is not valid JSON: {exc}") from None
            return data if isinstance(data, list) else [data]
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    raise ConfigError(f"{p}:{i}: not a JSON line") from None
        return out

    def _cycle(self, items: list[Prompt], n: int) -> list[Prompt]:
        if not items:
            raise ConfigError(f"--dataset {self.name}: no usable prompts in {self.path}")
        return [items[i % len(items)] for i in range(n)]


class RandomText:
    """Random text of an exact (with a tokenizer) or approximate token length."""

    def __init__(self, tokenizer):
        self.tok = tokenizer

    def make(self, n_tokens: int, rng: random.Random, prefix: str = "") -> tuple[str, bool]:
        """``prefix`` + random text, ``n_tokens`` tokens after the prefix; (text, exact)."""
        if n_tokens <= 0:
            return prefix, True
        if self.tok is None:
            body = " ".join(rng.choice(WORDS) for _ in range(n_tokens))
            return (prefix + " " + body) if prefix else body, False
        tok = self.tok
        target = n_tokens + (len(tok.encode(prefix)) if prefix else 0)
        ids = [rng.choice(tok.vocab_ids) for _ in range(n_tokens)]
        for _ in range(30):
            text = prefix + tok.decode(ids)
            got = len(tok.encode(text))
            if got == target:
                return text, True
            if got > target:
                ids = ids[: max(1, len(ids) - (got - target))]
            else:
                ids = ids + [rng.choice(tok.vocab_ids) for _ in range(target - got)]
        # fall back to words, which re-encode stably for most tokenizers; check and say so
        text = prefix + " ".join(rng.choice(WORDS) for _ in range(n_tokens))
        return text, len(tok.encode(text)) == target


class RandomDataset(PerfDataset):
    name = "random"

    def __init__(self, config, tokenizer=None):
        super().__init__(config, tokenizer)
        self.in_range = parse_range(config.get("input_tokens", 128), "--input-tokens")
        self.prefix = int(config.get("prefix_tokens") or 0)
        self.gen = RandomText(tokenizer)

    def prompts(self, n, rng):
        prefix, pexact = self.gen.make(self.prefix, rng) if self.prefix else ("", True)
        out = []
        for _ in range(n):
            k = rng.randint(*self.in_range)
            text, exact = self.gen.make(k, rng, prefix)
            out.append(Prompt(text=text, max_tokens=self.out_tokens(rng), input_tokens=k + self.prefix,
                              exact=exact and pexact))
        return out


def png_bytes(width: int, height: int, rng: random.Random) -> bytes:
    """A random-noise RGB PNG, written with the standard library."""
    row = width * 3
    raw = bytearray()
    noise = rng.randbytes(row * height)
    for y in range(height):
        raw.append(0)
        raw += noise[y * row:(y + 1) * row]

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b"")


class RandomVLDataset(RandomDataset):
    name = "random_vl"

    def __init__(self, config, tokenizer=None):
        super().__init__(config, tokenizer)
        try:
            w, h = (int(x) for x in str(config.get("image_size", "224x224")).lower().split("x"))
        except ValueError:
            raise ConfigError(f"--image-size must be WIDTHxHEIGHT, not {config.get('image_size')!r}") from None
        self.size = (w, h)
        self.count = int(config.get("image_count", 1))

    def prompts(self, n, rng):
        out = []
        for p in super().prompts(n, rng):
            parts = [{"type": "text", "text": p.text}]
            for _ in range(self.count):
                b64 = base64.b64encode(png_bytes(*self.size, rng)).decode()
                parts.append({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64}"}})
            out.append(Prompt(messages=[{"role": "user", "content": parts}], max_tokens=p.max_tokens,
                              input_tokens=p.input_tokens, exact=False))
        return out


class OpenQADataset(PerfDataset):
    name = "openqa"
    needs_path = True

    def prompts(self, n, rng):
        items = []
        for r in self._records():
            q = r.get("question") or r.get("prompt") if isinstance(r, dict) else None
            if q:
                items.append(Prompt(text=str(q), max_tokens=self.out_tokens(rng)))
        return self._cycle(items, n)


class ShareGPTDataset(PerfDataset):
    name = "sharegpt"
    needs_path = True

    def prompts(self, n, rng):
        items = []
        for r in self._records():
            conv = r.get("conversations") or r.get("conversation") or [] if isinstance(r, dict) else []
            human = next((t.get("value") or t.get("content") for t in conv
                          if t.get("from", t.get("role")) in ("human", "user")), None)
            if human:
                items.append(Prompt(text=str(human), max_tokens=self.out_tokens(rng)))
        return self._cycle(items, n)


class LineByLineDataset(PerfDataset):
    name = "line_by_line"
    needs_path = True

    def prompts(self, n, rng):
        return self._cycle([Prompt(text=line, max_tokens=self.out_tokens(rng)) for line in self._lines()], n)


class CustomDataset(PerfDataset):
    name = "custom"
    needs_path = True

    def prompts(self, n, rng):
        items = []
        for i, r in enumerate(self._records(), 1):
            if not isinstance(r, dict) or not ("prompt" in r or "messages" in r):
                raise ConfigError(f"--dataset custom: record {i} of {self.path} needs 'prompt' or 'messages'")
            items.append(Prompt(text=r.get("prompt"), messages=r.get("messages"),
                                max_tokens=r.get("max_tokens") or self.out_tokens(rng)))
        return self._cycle(items, n)


class EmbeddingsDataset(PerfDataset):
    name = "embeddings"

    def __init__(self, config, tokenizer=None):
        super().__init__(config, tokenizer)
        self.in_range = parse_range(config.get("input_tokens", 128), "--input-tokens")
        self.gen = RandomText(tokenizer)

    def prompts(self, n, rng):
        if self.path:
            return self._cycle([Prompt(inputs=[line]) for line in self._lines()], n)
        out = []
        for _ in range(n):
            k = rng.randint(*self.in_range)
            text, exact = self.gen.make(k, rng)
            out.append(Prompt(inputs=[text], input_tokens=k, exact=exact))
        return out


class RerankDataset(EmbeddingsDataset):
    name = "rerank"

    def prompts(self, n, rng):
        if self.path:
            items = []
            for i, r in enumerate(self._records(), 1):
                if not isinstance(r, dict) or "query" not in r or not isinstance(r.get("documents"), list):
                    raise ConfigError(f"--dataset rerank: record {i} of {self.path} needs 'query' and a 'documents' list")
                items.append(Prompt(query=r["query"], inputs=list(r["documents"])))
            return self._cycle(items, n)
        out = []
        for _ in range(n):
            k = rng.randint(*self.in_range)
            q, _ = self.gen.make(max(1, k // 8), rng)
            docs = [self.gen.make(k, rng)[0] for _ in range(4)]
            out.append(Prompt(query=q, inputs=docs))
        return out
