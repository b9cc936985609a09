"""Probing the endpoint before a run: one unmeasured request, and ``GET /v1/models``."""

from __future__ import annotations

import json
import time

from evs_perf.config import PointSpec
from evs_perf.http import Endpoint, HTTPError, Watchdog, connect
from evs_perf.sse import WholeSink, http_error_message
from evs_perf.workers import Result, Worker

_clock = time.perf_counter


async def probe(url: str, payload: bytes, api, stream: bool, timeout: float, connect_timeout: float,
                read_timeout: float | None = None) -> Result:
    """Send one request (not measured) and return its record: checks the endpoint works."""
    spec = PointSpec(url=url, api=api, stream=stream, payloads=[payload], planned=[(None, None)], timeout=timeout,
                     read_timeout=read_timeout, connect_timeout=connect_timeout)
    w = Worker(spec)
    conn = await w.request(0, True, None)
    if conn is not None:
        conn.close()
    return w.results[0]


async def get_json(url: str, headers: dict, timeout: float):
    """GET a JSON document (``/v1/models``) with this client; raises HTTPError or ValueError."""
    return json.loads(await get_bytes(url, headers, timeout))


async def get_bytes(url: str, headers: dict, timeout: float) -> bytes:
    """GET a document with this client; raises HTTPError (``http_status`` for non-200)."""
    ep = Endpoint(url)
    conn = await connect(ep, timeout)
    try:
        sink = WholeSink()
        fut = conn.send(ep.request_bytes("GET", ep.path, None, headers), sink)
        dog = Watchdog(conn, fut, _clock(), timeout, timeout)
        try:
            await fut
        finally:
            dog.cancel()
        if sink.status != 200:
            raise HTTPError("http_status", http_error_message(sink.status, b"".join(sink.parts)))
        return b"".join(sink.parts)
    finally:
        conn.close()
