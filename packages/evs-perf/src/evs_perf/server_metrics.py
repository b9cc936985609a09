"""Server-side phase metrics, named as vLLM names them, where the server exposes them.

vLLM (and SGLang, TGI-compatible servers, llm-d) publish Prometheus histograms at ``/metrics``:
``vllm:request_queue_time_seconds``, ``vllm:request_prefill_time_seconds``,
``vllm:request_decode_time_seconds``, ``vllm:request_inference_time_seconds``,
``vllm:time_to_first_token_seconds``, ``vllm:inter_token_latency_seconds``,
``vllm:time_per_output_token_seconds``, ``vllm:e2e_request_latency_seconds``, and the prefix
cache counters ``vllm:prefix_cache_queries`` / ``vllm:prefix_cache_hits``. ``evs perf`` reads
``/metrics`` right before and right after each point and reports, per histogram, the mean of
the point's observations (difference of ``_sum`` over difference of ``_count``), so that a
disaggregated deployment's prefill and decode phases appear beside the client's TTFT and TPOT.
Label sets (models, engines) are summed. Nothing is reported when ``/metrics`` is absent.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit, urlunsplit

HISTOGRAMS = ("request_queue_time_seconds", "request_prefill_time_seconds", "request_decode_time_seconds",
              "request_inference_time_seconds", "time_to_first_token_seconds", "inter_token_latency_seconds",
              "time_per_output_token_seconds", "e2e_request_latency_seconds")
COUNTERS = ("prefix_cache_queries", "prefix_cache_hits")
_LINE = re.compile(r"^(?:vllm|sglang):([a-z_]+?)(_sum|_count|_total)?(?:\{[^}]*\})?\s+([-+0-9.eEinfa]+)\s*$")


def metrics_url(endpoint_url: str) -> str:
    parts = urlsplit(endpoint_url)
    path = parts.path
    i = path.find("/v1/")
    base = path[:i] if i >= 0 else ""
    return urlunsplit((parts.scheme, parts.netloc, base + "/metrics", "", ""))


def parse(text: str) -> dict[str, float]:
    """``{"request_prefill_time_seconds_sum": x, "..._count": n, "prefix_cache_hits": k}``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        name, suffix, value = m.groups()
        try:
            v = float(value)
        except ValueError:
            continue
        if name in HISTOGRAMS and suffix in ("_sum", "_count"):
            key = name + suffix
        elif name in COUNTERS and suffix in (None, "_total"):
            key = name
        else:
            continue
        out[key] = out.get(key, 0.0) + v
    return out


class Scraper:
    """Reads /metrics; disables itself when the server has none."""

    def __init__(self, endpoint_url: str, headers: dict, timeout: float):
        self.url = metrics_url(endpoint_url)
        self.headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "accept")}
        self.timeout = min(timeout, 5.0)
        self.enabled = True

    def scrape(self) -> dict[str, float] | None:
        if not self.enabled:
            return None
        from evs_perf.http import HTTPError
        from evs_perf.probe import get_bytes

        try:
            data = asyncio.run(get_bytes(self.url, self.headers, self.timeout))
            got = parse(data.decode("utf-8", "replace"))
        except (HTTPError, OSError, ValueError):
            got = {}
        if not got:
            self.enabled = False
            return None
        return got


def delta(before: dict | None, after: dict | None) -> dict | None:
    """Per vLLM histogram of the point: mean in ms and count; prefix-cache hit rate."""
    if not before or not after:
        return None
    out = {}
    for name in HISTOGRAMS:
        n = after.get(name + "_count", 0.0) - before.get(name + "_count", 0.0)
        if name + "_count" in after and n > 0:
            total = after.get(name + "_sum", 0.0) - before.get(name + "_sum", 0.0)
            out[f"vllm:{name}"] = {"mean_ms": total / n * 1000.0, "count": int(n)}
    q = after.get("prefix_cache_queries", 0.0) - before.get("prefix_cache_queries", 0.0)
    if "prefix_cache_queries" in after and q > 0:
        h = after.get("prefix_cache_hits", 0.0) - before.get("prefix_cache_hits", 0.0)
        out["vllm:prefix_cache_hit_rate"] = h / q
    return out or None
