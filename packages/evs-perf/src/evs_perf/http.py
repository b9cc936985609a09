"""A minimal HTTP/1.1 keep-alive client on asyncio protocols.

Why not httpx or aiohttp: measured on 2 cores against the mock server (tools/bench/
perf_http_clients.py), a generic client spends most of its CPU per SSE event in layers evs perf
does not need (stream wrappers, per-chunk coroutines and awaits). This one parses the response
inside ``data_received`` and hands each batch of de-chunked body bytes, with the time it
arrived, to a sink in one call. All events that arrived in one read share that read's time,
which is when the client could first have seen them.
"""

from __future__ import annotations

import asyncio
import socket
import ssl as _ssl
import time
from urllib.parse import urlsplit

_clock = time.perf_counter


class HTTPError(Exception):
    """A transport-level failure. ``kind`` is one of connect, timeout, disconnect, malformed."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class Endpoint:
    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = parts.path or "/"
        if parts.query:
            self.path += "?" + parts.query
        default_port = (self.scheme == "https" and self.port == 443) or (self.scheme == "http" and self.port == 80)
        self.host_header = self.host if default_port else f"{self.host}:{self.port}"
        self.ssl = _ssl.create_default_context() if self.scheme == "https" else None

    def request_bytes(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}"]
        for k, v in headers.items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (body or b"")


class Sink:
    """Receives a response. Subclasses override what they need."""

    status = 0
    headers: dict[str, str]

    def on_head(self, status: int, headers: dict[str, str], t: float) -> None:
        self.status = status
        self.headers = headers

    def on_body(self, data: bytes, t: float) -> None:  # pragma: no cover - overridden
        pass

    def on_end(self, t: float) -> None:
        pass


_HEAD, _BODY_LEN, _BODY_CHUNKED, _BODY_EOF, _IDLE = range(5)


def _repeat16(n):
    from itertools import repeat

    return repeat(16, n)


class ReadBatch:
    """The reads one event-loop iteration delivers, across all connections of a loop.

    ``start`` is the time of the iteration's first read; a read's ``t - start`` is how long it
    queued behind the reads before it (a burst of streams whose bytes arrived together). That
    queueing is client lag that a probe posted every 10 ms rarely sees, and it falls exactly on
    the bursts where many first tokens arrive at once."""

    __slots__ = ("start", "loop")

    def __init__(self, loop):
        self.loop = loop
        self.start = None

    def clear(self):
        self.start = None


_BATCH: list = [None]  # the running loop's (one loop at a time per process)


def read_batch(loop) -> ReadBatch:
    b = _BATCH[0]
    if b is None or b.loop is not loop:
        b = _BATCH[0] = ReadBatch(loop)
    return b


class Connection(asyncio.BufferedProtocol):
    """One keep-alive connection; ``request()`` sends one request and waits for the response.

    A buffered protocol: the loop reads into one buffer per connection (``recv_into``). With a
    plain protocol asyncio's ``recv`` allocates its 256 KiB read size for every read and
    shrinks it; in a process whose heap the CLI and its plugins have grown, that allocation
    went to the kernel on every read (43 µs per read instead of 12, measured)."""

    def __init__(self, loop):
        self.loop = loop
        self._rbuf = memoryview(bytearray(65536))
        self.batch = read_batch(loop)
        self.read_lag = 0.0  # of the latest read: see ReadBatch
        self.transport = None
        self.closed = True
        self.reusable = False
        self._state = _IDLE
        self._buf = bytearray()
        self._sink: Sink | None = None
        self._done: asyncio.Future | None = None
        self._remaining = 0
        self._keep_alive = True
        self.last_read = 0.0

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        self.closed = False
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc):
        self.closed = True
        self.reusable = False
        if self._done is not None and not self._done.done():
            if self._state == _BODY_EOF:
                self._finish(_clock())
            else:
                where = "before the response" if self._state == _HEAD else "in the middle of the response"
                self._done.set_exception(HTTPError("disconnect", f"server closed the connection {where}"))

    def eof_received(self):
        return False

    def get_buffer(self, sizehint):
        return self._rbuf

    def buffer_updated(self, nbytes):
        self.data_received(self._rbuf[:nbytes].tobytes())

    def data_received(self, data):
        t = _clock()
        self.last_read = t
        batch = self.batch
        if batch.start is None:
            batch.start = t
            self.loop.call_soon(batch.clear)
        self.read_lag = t - batch.start
        if self._done is None or self._done.done():
            return  # unsolicited bytes: ignore, the connection will not be reused
        buf = self._buf
        if self._state == _BODY_CHUNKED and self._remaining == -1 and not buf:
            # the common read of a stream: exactly one whole chunk (one SSE event)
            eol = data.find(b"\r\n")
            if 0 < eol <= 8:
                try:
                    size = int(data[:eol], 16)
                except ValueError:
                    size = -1
                if size > 0 and len(data) == eol + size + 4 and data[-2:] == b"\r\n":
                    try:
                        self._sink.on_body(data[eol + 2:-2], t)
                    except Exception as exc:  # noqa: BLE001 - as below
                        self._fail(HTTPError("malformed", f"{type(exc).__name__}: {exc}"))
                    return
        buf += data
        try:
            if self._state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > 65536:
                        raise HTTPError("malformed", "response head too large")
                    return
                self._parse_head(bytes(buf[:end]), t)
                del buf[:end + 4]
            if self._state == _BODY_CHUNKED:
                self._chunked(buf, t)
            elif self._state == _BODY_LEN:
                if buf:
                    take = min(len(buf), self._remaining)
                    self._sink.on_body(bytes(buf[:take]), t)
                    del buf[:take]
                    self._remaining -= take
                if self._remaining <= 0:
                    self._finish(t)
            elif self._state == _BODY_EOF:
                if buf:
                    self._sink.on_body(bytes(buf), t)
                    buf.clear()
        except HTTPError as exc:
            self._fail(exc)
        except Exception as exc:  # noqa: BLE001 - a parser or sink bug fails this request only
            self._fail(HTTPError("malformed", f"{type(exc).__name__}: {exc}"))

    # -- parsing -----------------------------------------------------------------------------
    def _parse_head(self, head: bytes, t: float):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HTTPError("malformed", f"not an HTTP response: {lines[0][:80]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._keep_alive = headers.get("connection", "").lower() != "close" and parts[0] != "HTTP/1.0"
        self._sink.on_head(status, headers, t)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _BODY_CHUNKED
            self._remaining = -1
        elif "content-length" in headers:
            self._state = _BODY_LEN
            self._remaining = int(headers["content-length"])
        elif status in (204, 304) or 100 <= status < 200:
            self._state = _BODY_LEN
            self._remaining = 0
        else:
            self._state = _BODY_EOF
            self._keep_alive = False

    def _chunked(self, buf: bytearray, t: float):
        if self._remaining == -1 and len(buf) > 256:
            if self._chunked_bulk(buf, t):
                return
        self._chunked_exact(buf, t)

    def _chunked_bulk(self, buf: bytearray, t: float) -> bool:
        """De-chunk many small chunks with C-level operations (split, map, compare).

        Works when no chunk's data contains CRLF (SSE with LF line ends, JSON payloads): the
        buffer then splits on CRLF into size, data, size, data … Every size is checked against
        its data's length; on any mismatch the exact parser does the work instead.
        """
        parts = bytes(buf).split(b"\r\n")
        rest_len = len(parts[-1])  # bytes after the last CRLF: incomplete
        complete = len(parts) - 1
        if complete % 2:
            rest_len += len(parts[complete - 1]) + 2  # a size line whose data has not arrived
            complete -= 1
        if complete < 2:
            return False
        sizes_raw = parts[0:complete:2]
        datas = parts[1:complete:2]
        try:
            sizes = list(map(int, sizes_raw, _repeat16(len(sizes_raw))))
        except ValueError:
            return False
        lens = list(map(len, datas))
        if 0 in sizes:
            z = sizes.index(0)
            if datas[z] != b"" or z != len(sizes) - 1:
                return False
            if sizes[:z] != lens[:z]:
                return False
            if z:
                self._sink.on_body(b"".join(datas[:z]), t)
            buf.clear()
            self._finish(t)
            return True
        if sizes != lens:
            return False
        self._sink.on_body(b"".join(datas), t)
        del buf[: len(buf) - rest_len]
        return True

    def _chunked_exact(self, buf: bytearray, t: float):
        pieces = []
        pos = 0
        n = len(buf)
        done = False
        while True:
            if self._remaining == -2:  # only the CRLF after a chunk's data is missing
                if n - pos < 2:
                    break
                pos += 2
                self._remaining = -1
                continue
            if self._remaining < 0:  # expecting a size line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                line = bytes(buf[pos:eol])
                try:
                    size = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise HTTPError("malformed", f"bad chunk size line {line[:40]!r}") from None
                if size == 0:
                    # last chunk: skip optional trailers up to the empty line
                    end = buf.find(b"\r\n\r\n", eol)
                    if end < 0 and buf[eol:eol + 4] != b"\r\n\r\n":
                        if n - eol >= 2 and buf[eol + 2:eol + 4] == b"\r\n":
                            end = eol
                        else:
                            break
                    pos = n
                    done = True
                    break
                self._remaining = size
                pos = eol + 2
            if n - pos >= self._remaining + 2:
                pieces.append(buf[pos:pos + self._remaining])
                pos += self._remaining + 2
                self._remaining = -1
            else:
                # a partial chunk: hand over what is here, keep the rest of the count
                avail = n - pos
                take = min(avail, self._remaining)
                if take > 0:
                    pieces.append(buf[pos:pos + take])
                    pos += take
                    self._remaining -= take
                    if self._remaining == 0:
                        self._remaining = -2  # only the CRLF is missing
                break
        del buf[:pos]
        if pieces:
            self._sink.on_body(b"".join(pieces), t)
        if done:
            self._finish(t)

    def _finish(self, t: float):
        self._state = _IDLE
        self.reusable = self._keep_alive and not self.closed and not self._buf
        sink = self._sink
        self._sink = None
        done = self._done
        if not done.done():
            sink.on_end(t)
            done.set_result(sink)

    def _fail(self, exc: HTTPError):
        self.reusable = False
        if self._done is not None and not self._done.done():
            self._done.set_exception(exc)
        self.close()

    # -- API ---------------------------------------------------------------------------------
    def send(self, data: bytes, sink: Sink) -> asyncio.Future:
        """Write a request; the returned future resolves to ``sink`` when the response ended."""
        self._sink = sink
        self._state = _HEAD
        self._remaining = 0
        self._buf.clear()
        self.reusable = False
        self._done = self.loop.create_future()
        self.last_read = _clock()
        self.transport.write(data)
        return self._done

    def close(self):
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def connect(endpoint: Endpoint, timeout: float) -> Connection:
    loop = asyncio.get_running_loop()
    try:
        _, conn = await asyncio.wait_for(
            loop.create_connection(lambda: Connection(loop), endpoint.host, endpoint.port, ssl=endpoint.ssl),
            timeout)
    except TimeoutError:
        raise HTTPError("connect", f"connecting to {endpoint.host}:{endpoint.port} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise HTTPError("connect", f"cannot connect to {endpoint.host}:{endpoint.port}: "
                                   f"{exc.strerror or exc}") from None
    return conn


class Watchdog:
    """Fails a connection's request when the total deadline passes or no byte arrives for
    ``read_timeout`` seconds. One timer per request, re-armed only when it fires."""

    __slots__ = ("conn", "fut", "deadline", "read_timeout", "total", "handle")

    def __init__(self, conn: Connection, fut: asyncio.Future, t_start: float, total: float, read_timeout: float):
        self.conn = conn
        self.fut = fut
        self.total = total
        self.deadline = t_start + total
        self.read_timeout = read_timeout
        self.handle = conn.loop.call_later(max(0.0, min(self.deadline, conn.last_read + read_timeout) - _clock()),
                                           self._check)

    def _check(self):
        if self.fut.done():
            return
        now = _clock()
        idle_deadline = self.conn.last_read + self.read_timeout
        if now >= self.deadline:
            self.conn._fail(HTTPError("timeout", f"no complete response within {self.total:g}s"))
        elif now >= idle_deadline:
            self.conn._fail(HTTPError("timeout", f"no data from the server for {self.read_timeout:g}s"))
        else:
            self.handle = self.conn.loop.call_later(min(self.deadline, idle_deadline) - now, self._check)

    def cancel(self):
        self.handle.cancel()
