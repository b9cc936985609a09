"""Reading responses: SSE streams as they arrive, and whole bodies.

:class:`StreamSink` parses a streamed (``text/event-stream``) response read by read inside the
connection's ``data_received``. Until the first token it parses every event in full; after it,
content events are recognised by the API's ``content_re`` (and counted in bulk with C-level
``bytes.count`` where a read holds many), so the per-token cost is a few hundred nanoseconds.
Events that carry ``usage`` or an ``error`` are always parsed in full. :class:`WholeSink`
collects a non-streamed body.
"""

from __future__ import annotations

import json
from array import array
from itertools import repeat as _repeat

from evs_perf.apis import error_message
from evs_perf.http import Sink


class StreamSink(Sink):
    """Parses an SSE response as it arrives; see :mod:`evs_perf.apis` for the fast path."""

    __slots__ = ("api", "content_re", "content_line_re", "tail", "times", "items", "usage", "error", "status", "headers",
                 "errbody", "done", "conn", "first_lag")

    def __init__(self, api):
        self.api = api
        self.content_re = api.content_re
        self.content_line_re = _line_re(api.content_re)
        self.tail = b""
        self.times = array("d")
        self.items = []  # content payloads (bytes, parsed lazily) or texts
        self.usage = None
        self.error = None
        self.status = 0
        self.errbody = b""
        self.done = False
        self.conn = None
        self.first_lag = None

    def on_head(self, status, headers, t):
        self.status = status
        self.headers = headers

    def on_body(self, data, t):
        if not self.times and self.conn is not None:
            self.first_lag = self.conn.read_lag  # until the first token: the read lag of each read
        if self.status != 200:
            if len(self.errbody) < 4096:
                self.errbody += data
            return
        if self.tail:
            data = self.tail + data
        elif (self.times and data[:7] == b"data: {" and data[-3:] == b"}\n\n" and data.count(b"\n") == 2
              and b'"error"' not in data and b'"usage"' not in data):
            # the common event after the first token: one content line
            if self.content_re.search(data) is not None:
                self.times.append(t)
                self.items.append(data)
            return
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        cut = data.rfind(b"\n\n")
        if cut < 0:
            self.tail = data
            return
        self.tail = data[cut + 2:]
        complete = data[:cut + 2]
        if self.times and self._bulk(complete, t):
            return
        times = self.times
        if not times:
            # until the first token: event by event, then the rest of the batch in bulk
            pos = 0
            while not times:
                end = complete.find(b"\n\n", pos)
                if end < 0:
                    return
                self._events(complete[pos:end + 2], t)
                pos = end + 2
            complete = complete[pos:]
            if not complete or self._bulk(complete, t):
                return
        self._events(complete, t)

    def _events(self, complete: bytes, t: float):
        times = self.times
        search = self.content_re.search
        for ev in complete.split(b"\n\n")[:-1]:
            if ev[:6] == b"data: " and b"\n" not in ev:
                payload = ev[6:]
            else:
                payload = self._payload(ev)
                if payload is None:
                    continue
            if (not times or b'"error"' in payload or payload[:1] != b"{" or payload[-1:] != b"}"
                    or (b'"usage":{' in payload or b'"usage": {' in payload)):
                self._full(payload, t)
            elif search(payload) is not None:
                times.append(t)
                self.items.append(b"data: " + payload)

    def _bulk(self, complete: bytes, t: float) -> bool:
        """After the first token: count content events of a batch with C-level operations.

        Applies when every event is one ``data: {...}`` line (or ``[DONE]``) and none carries an
        error; events that carry usage are parsed in full. Returns False to fall back to the
        per-event path.
        """
        n_ev = complete.count(b"\n\n")
        done = complete.count(b"data: [DONE]\n\n")
        if (complete.count(b"data: ") != n_ev or complete.count(b"}\n\n") + done != n_ev
                or complete.count(b"\n") != 2 * n_ev or b'"error"' in complete):
            return False
        markers = self.api.content_markers
        k = -1
        if markers and b'": ' not in complete:
            k = 0
            for m in markers:
                k += complete.count(m) - complete.count(m + b'"')
            if k > n_ev:  # two text fields in one event: count events instead
                k = -1
        if k < 0:
            k = len(self.content_line_re.findall(complete))
        if k:
            self.times.extend(_repeat(t, k))
            self.items.append(complete)
        for marker in (b'"usage":{', b'"usage": {'):
            i = complete.find(marker)
            while i >= 0:
                start = complete.rfind(b"\n\n", 0, i) + 2 if complete.rfind(b"\n\n", 0, i) >= 0 else 0
                end = complete.find(b"\n\n", i)
                try:
                    obj = json.loads(complete[start + 6:end])
                    if isinstance(obj, dict) and obj.get("usage"):
                        self.usage = obj["usage"]
                except ValueError:
                    self.error = self.error or ("malformed", f"malformed SSE data: {complete[start:end][:80]!r}")
                i = complete.find(marker, end)
        if done:
            self.done = True
        return True

    @staticmethod
    def _payload(ev: bytes):
        lines = [ln[5:].lstrip(b" ") for ln in ev.split(b"\n") if ln[:5] == b"data:"]
        return b"\n".join(lines) if lines else None

    def _full(self, payload, t):
        if payload == b"[DONE]":
            self.done = True
            return
        try:
            obj = json.loads(payload)
        except ValueError:
            if self.error is None:
                self.error = ("malformed", f"malformed SSE data: {payload[:80]!r}")
            return
        if not isinstance(obj, dict):
            if self.error is None:
                self.error = ("malformed", f"SSE data is not a JSON object: {payload[:80]!r}")
            return
        msg = error_message(obj)
        if msg is not None:
            if self.error is None:
                self.error = ("api_error", f"error event in the stream: {msg}"[:300])
            return
        text, usage = self.api.parse_chunk(obj)
        if text:
            self.times.append(t)
            self.items.append(text)
        if usage:
            self.usage = usage

    def on_end(self, t):
        if self.tail.strip() and self.status == 200:
            payload = self._payload(self.tail.strip())
            self.tail = b""
            if payload is not None:
                self._full(payload, t)

    def texts(self) -> str:
        out = []
        for item in self.items:
            if isinstance(item, bytes):
                for ev in item.split(b"\n\n"):
                    payload = self._payload(ev) if ev else None
                    if not payload or payload == b"[DONE]":
                        continue
                    try:
                        out.append(self.api.parse_chunk(json.loads(payload))[0] or "")
                    except ValueError:
                        pass
            else:
                out.append(item)
        return "".join(out)


_LINE_RES: dict = {}


def _line_re(content_re):
    """The content regex anchored to one ``data:`` line, for counting events in a batch."""
    r = _LINE_RES.get(content_re.pattern)
    if r is None:
        import re

        r = _LINE_RES[content_re.pattern] = re.compile(rb"(?m)^data: [^\n]*?" + content_re.pattern)
    return r


class WholeSink(Sink):
    __slots__ = ("parts", "status", "headers", "t_first")

    def __init__(self):
        self.parts = []
        self.status = 0
        self.t_first = None

    def on_head(self, status, headers, t):
        self.status = status
        self.headers = headers

    def on_body(self, data, t):
        if self.t_first is None:
            self.t_first = t
        self.parts.append(data)


def http_error_message(status, body: bytes) -> str:
    msg = None
    try:
        msg = error_message(json.loads(body))
    except ValueError:
        pass
    if msg is None:
        msg = body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {status}: {msg}"[:300]

