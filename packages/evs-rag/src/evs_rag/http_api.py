"""OpenAI-compatible ``/v1/embeddings`` and ``/v1/rerank`` clients: batching, concurrency, retries.

Standard library only (``http.client`` with one keep-alive connection per worker thread), so the
client adds no measurable time per batch (``tools/bench/rag_embedding.py``). Requests are retried
on connection errors, timeouts, HTTP 429 and 5xx with exponential back-off, at most
``max_retries`` times; other HTTP errors fail at once. The API key is sent in the Authorization
header and never written anywhere.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from evs_core.errors import ConfigError, EvsError


class APIRequestError(EvsError):
    """A request failed after its retries; the message names the endpoint and the last error."""

    exit_code = 1


def endpoint_url(url: str, path: str) -> str:
    """``http://h:8000`` / ``…/v1`` / ``…/v1/embeddings`` → the full endpoint URL for ``path``."""
    if not url or not isinstance(url, str):
        raise ConfigError("an API model needs a URL (api_base), e.g. http://127.0.0.1:8000/v1")
    u = urlparse(url.strip())
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ConfigError(f"API URL '{url}' must start with http:// or https:// and name a host")
    p = u.path.rstrip("/")
    if p.endswith("/" + path):
        return url.strip().rstrip("/")
    if not p.endswith("/v1"):
        p = p + "/v1"
    return f"{u.scheme}://{u.netloc}{p}/{path}"


@dataclass
class APIStats:
    requests: int = 0
    retries: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, kind: str, retry: bool) -> None:
        with self.lock:
            if retry:
                self.retries += 1
            else:
                self.failures += 1
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "retries": self.retries, "failures": self.failures, "errors": dict(self.errors)}


class _Retryable(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


class JSONClient:
    """POSTs JSON to one endpoint from several threads, one persistent connection per thread."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 120.0, max_retries: int = 3,
                 backoff: float = 0.5, headers: dict[str, str] | None = None):
        u = urlparse(url)
        self.url = url
        self._https = u.scheme == "https"
        self._host = u.hostname
        self._port = u.port or (443 if self._https else 80)
        self._path = u.path or "/"
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []  # every thread's connection, for close()
        self._all_lock = threading.Lock()
        self.stats = APIStats()

    def close(self) -> None:
        """Close every thread's connection (a later request opens a new one)."""
        with self._all_lock:
            conns, self._all = self._all, []
        for c in conns:
            c.close()

    def _conn(self) -> http.client.HTTPConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            c = cls(self._host, self._port, timeout=self.timeout)
            c.connect()
            # http.client sends the head and the body in two writes: without TCP_NODELAY the body
            # waits for the server's delayed ACK (~40 ms a request)
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = c
            with self._all_lock:
                self._all.append(c)
        return c

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None
            with self._all_lock:
                if c in self._all:
                    self._all.remove(c)

    def _once(self, body: bytes) -> Any:
        try:
            conn = self._conn()
            conn.request("POST", self._path, body=body, headers=self._headers)
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError as exc:
            self._drop()
            raise _Retryable("Timeout", f"no answer within {self.timeout:g}s") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise _Retryable("ConnectionError", f"{exc.__class__.__name__}: {exc}") from exc
        if resp.status == 429 or resp.status >= 500:
            raise _Retryable(f"HTTP {resp.status}", data[:200].decode("utf-8", "replace"))
        if resp.status >= 400:
            raise APIRequestError(f"{self.url}: HTTP {resp.status}: {data[:200].decode('utf-8', 'replace')}")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise APIRequestError(f"{self.url}: the answer is not JSON ({data[:80]!r})") from exc

    def post(self, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        with self.stats.lock:
            self.stats.requests += 1
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(body)
            except _Retryable as exc:
                last = exc
                if attempt == self.max_retries:
                    self.stats.count(exc.kind, retry=False)
                    break
                self.stats.count(exc.kind, retry=True)
                time.sleep(self.backoff * (2**attempt))
        raise APIRequestError(f"{self.url}: {last.kind}: {last} (after {self.max_retries} retries)")


class _Pooled:
    """One thread pool per client, kept across calls so each worker keeps its connection."""

    concurrency: int
    _executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="evs-rag-api")
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        client = getattr(self, "client", None)
        if client is not None:
            client.close()


class EmbeddingsAPI(_Pooled):
    """``/v1/embeddings``: texts in batches of ``batch_size``, ``concurrency`` requests in flight."""

    def __init__(self, url: str, model: str, *, api_key: str | None = None, batch_size: int = 32,
                 concurrency: int = 4, dimensions: int | None = None, timeout: float = 120.0,
                 max_retries: int = 3, backoff: float = 0.5, encoding_format: str = "float"):
        if encoding_format not in ("float", "base64"):
            raise ConfigError(f"encoding_format must be float or base64, not '{encoding_format}'")
        self.encoding_format = encoding_format
        if batch_size < 1 or concurrency < 1:
            raise ConfigError("batch_size and concurrency of an API model must be at least 1")
        self.model = model
        self.batch_size = int(batch_size)
        self.concurrency = int(concurrency)
        self.dimensions = dimensions
        self.client = JSONClient(endpoint_url(url, "embeddings"), api_key=api_key, timeout=timeout,
                                 max_retries=max_retries, backoff=backoff)

    def _batch(self, texts: Sequence[str]):
        import numpy as np

        payload: dict[str, Any] = {"model": self.model, "input": list(texts), "encoding_format": self.encoding_format}
        if self.dimensions:
            payload["dimensions"] = self.dimensions
        data = self.client.post(payload)
        try:
            rows = sorted(data["data"], key=lambda r: r.get("index", 0))
            vecs = [np.frombuffer(base64.b64decode(r["embedding"]), dtype="<f4") if isinstance(r["embedding"], str)
                    else np.asarray(r["embedding"], dtype=np.float32) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise APIRequestError(f"{self.client.url}: the answer has no data[].embedding") from exc
        if len(vecs) != len(texts):
            raise APIRequestError(f"{self.client.url}: asked {len(texts)} embeddings, got {len(vecs)}")
        return vecs

    def embed(self, texts: Sequence[str]):
        import numpy as np

        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimensions or 0), dtype=np.float32)
        chunks = [texts[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if self.concurrency == 1 or len(chunks) == 1:
            out = [self._batch(c) for c in chunks]
        else:
            out = list(self._pool().map(self._batch, chunks))
        return np.vstack([v for chunk in out for v in chunk]).astype(np.float32, copy=False)


class RerankAPI(_Pooled):
    """``/v1/rerank`` (Jina / vLLM / TEI style): one request per query with its candidate documents."""

    def __init__(self, url: str, model: str, *, api_key: str | None = None, concurrency: int = 4,
                 timeout: float = 120.0, max_retries: int = 3, backoff: float = 0.5):
        self.model = model
        self.concurrency = max(1, int(concurrency))
        self.client = JSONClient(endpoint_url(url, "rerank"), api_key=api_key, timeout=timeout,
                                 max_retries=max_retries, backoff=backoff)

    def _one(self, item: tuple[str, list[str]]) -> list[float]:
        query, docs = item
        data = self.client.post({"model": self.model, "query": query, "documents": docs, "top_n": len(docs),
                                 "return_documents": False})
        scores = [float("-inf")] * len(docs)
        try:
            for r in data["results"]:
                scores[int(r["index"])] = float(r.get("relevance_score", r.get("score")))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise APIRequestError(f"{self.client.url}: the answer has no results[].index/relevance_score") from exc
        return scores

    def score(self, groups: Sequence[tuple[str, list[str]]]) -> list[list[float]]:
        if self.concurrency == 1 or len(groups) <= 1:
            return [self._one(g) for g in groups]
        return list(self._pool().map(self._one, groups))
