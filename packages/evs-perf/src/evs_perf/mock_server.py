"""An OpenAI-compatible mock server with known timings (``evs perf mock-server``).

A minimal HTTP/1.1 keep-alive server on raw asyncio protocols, so one process serves well over
a thousand 256-token streams per second. Timings are exact by construction: the first content
chunk is written ``ttft_ms`` after the request arrived and chunk ``k`` ``k * tokens_per_chunk *
itl_ms`` later, on absolute deadlines (no drift). With precise timers the server wakes a
millisecond early and spins to the deadline, because epoll rounds its timeout up to whole
milliseconds. ``GET /mock/stats`` returns what the server actually did (its own TTFT per
request, measured from the arrival of the request to the write of the first content chunk),
so benchmarks compare a client with the server's truth rather than with its configuration.

The arrival of a request is the kernel's receive time of its first bytes (``SO_TIMESTAMPNS``,
Linux), not the time the server's event loop got round to reading them: under load the server
reads late, and that lag belongs to neither the client's TTFT error nor the server's TTFT as
configured. The read lag is reported on its own (``median_read_lag_ms``); where kernel times
are not available the read time stands in for the arrival.

Prompt tokens are counted as whitespace-separated words (what evs perf's random dataset
produces without a tokenizer); each output token is the word `` tok``.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import sys
import time

_clock = time.perf_counter
_yield = getattr(__import__("os"), "sched_yield", lambda: None)

# kernel receive timestamps of TCP data, through recvmsg() ancillary data (Linux)
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35) if sys.platform.startswith("linux") else None


class _StampedSocket(socket.socket):
    """An accepted connection whose ``recv`` keeps the kernel's receive time of the bytes it
    returns (``rx``, on the ``perf_counter`` clock). asyncio's selector transports call
    ``recv``; other loops never do, and ``rx`` then stays None."""

    rx = None

    def recv(self, n, flags=0):
        data, anc, _, _ = self.recvmsg(n, 64, flags)
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack("qq", raw[:16])
                # CLOCK_REALTIME -> CLOCK_MONOTONIC (perf_counter): the offset read now
                off = time.time_ns() - time.perf_counter_ns()
                self.rx = (sec * 1_000_000_000 + nsec - off) / 1e9
        return data


class _StampingListener(socket.socket):
    """A listening socket whose accepted connections are :class:`_StampedSocket`."""

    accepted: dict

    def accept(self):
        fd, addr = self._accept()
        conn = _StampedSocket(self.family, self.type, self.proto, fileno=fd)
        try:
            conn.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        self.accepted[conn.fileno()] = conn
        return conn, addr


class MockConfig:
    def __init__(self, ttft_ms=0.0, itl_ms=0.0, output_tokens=256, tokens_per_chunk=1, no_usage=False,
                 no_role_chunk=False, jitter_ms=0.0, reasoning_tokens=0, fault="none", model_name="mock",
                 precise_timers=True, eos_after=0, cache_block=0):
        self.ttft = ttft_ms / 1000.0
        self.itl = itl_ms / 1000.0
        self.output_tokens = output_tokens
        self.tpc = max(1, tokens_per_chunk)
        self.usage = not no_usage
        self.role_chunk = not no_role_chunk
        self.jitter = jitter_ms / 1000.0
        self.reasoning_tokens = reasoning_tokens
        self.fault = fault
        self.model = model_name
        self.precise = precise_timers
        self.eos_after = eos_after  # a natural end after this many tokens unless ignore_eos/min_tokens
        self.cache_block = max(0, cache_block)  # prefix-cache block, in prompt words (0: no cache)
        self.status = None
        self.first_status = None
        if fault.startswith("status:"):
            self.status = int(fault.split(":", 1)[1])
        elif fault.startswith("first-status:"):
            self.first_status = int(fault.split(":", 1)[1])
        elif fault not in ("none", "close-mid-stream", "malformed", "hang", "echo-auth"):
            raise ValueError(f"unknown fault {fault!r}")


def _chunk(b: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(b), b)


def _event(obj) -> bytes:
    return _chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


_SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
             b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")


def _median_ms(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] * 1000 if xs else None


class Stats:
    def __init__(self):
        self.ttfts: list[float] = []
        self.ttfts_from_read: list[float] = []
        self.read_lags: list[float] = []
        self.arrivals: list[float] = []  # absolute perf_counter times (CLOCK_MONOTONIC, shared by processes)
        self.first_writes: list[float] = []
        self.requests = 0
        self.kernel_arrivals = 0
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.log: list = []  # the last requests: path, headers, body, prompt and cached tokens
        # vLLM-named request histograms (sum, count) served at /metrics
        self.hist = {k: [0.0, 0] for k in ("request_queue_time_seconds", "request_prefill_time_seconds",
                                            "request_decode_time_seconds", "e2e_request_latency_seconds",
                                            "time_to_first_token_seconds")}
        self.prefix_queries = 0
        self.prefix_hits = 0

    def finished(self, entry, t_arrival: float, t_first: float, t_end: float):
        """A streamed request ended: its prefill (arrival -> first token) and decode phases."""
        for k, v in (("request_queue_time_seconds", 0.0), ("request_prefill_time_seconds", t_first - t_arrival),
                     ("time_to_first_token_seconds", t_first - t_arrival),
                     ("request_decode_time_seconds", t_end - t_first),
                     ("e2e_request_latency_seconds", t_end - t_arrival)):
            h = self.hist[k]
            h[0] += v
            h[1] += 1
        if entry is not None:
            entry["prefill_s"] = t_first - t_arrival
            entry["decode_s"] = t_end - t_first

    def prometheus(self) -> bytes:
        out = []
        for k, (total, n) in self.hist.items():
            out.append(f"# TYPE vllm:{k} histogram")
            out.append(f'vllm:{k}_sum{{model_name="mock"}} {total!r}')
            out.append(f'vllm:{k}_count{{model_name="mock"}} {n}')
        out.append("# TYPE vllm:prefix_cache_queries counter")
        out.append(f'vllm:prefix_cache_queries_total{{model_name="mock"}} {self.prefix_queries}')
        out.append(f'vllm:prefix_cache_hits_total{{model_name="mock"}} {self.prefix_hits}')
        return ("\n".join(out) + "\n").encode()

    def add(self, t_arrival: float, t_write: float, t_read: float | None = None):
        """One stream: its arrival (kernel time when known), first content write, and read time."""
        self.ttfts.append(t_write - t_arrival)
        if t_read is not None:
            self.ttfts_from_read.append(t_write - t_read)
            self.read_lags.append(t_read - t_arrival)
            self.kernel_arrivals += 1
        if len(self.arrivals) < 100000:
            self.arrivals.append(t_arrival)
            self.first_writes.append(t_write)

    def as_json(self):
        xs = self.ttfts
        return {"requests": self.requests, "streams": len(xs),
                "median_ttft_ms": _median_ms(xs),
                "mean_ttft_ms": sum(xs) / len(xs) * 1000 if xs else None,
                "arrival_clock": "kernel" if xs and self.kernel_arrivals == len(xs) else "read",
                "median_ttft_from_read_ms": _median_ms(self.ttfts_from_read or xs),
                "median_read_lag_ms": _median_ms(self.read_lags) if self.read_lags else 0.0,
                "prompt_tokens": self.prompt_tokens, "cached_tokens": self.cached_tokens,
                "prefix_cache_hit_rate": self.cached_tokens / self.prompt_tokens if self.prompt_tokens else None}

    def detail(self):
        return {**self.as_json(), "arrivals": self.arrivals, "first_writes": self.first_writes}


class PrefixCache:
    """A prefix cache like vLLM's automatic prefix caching, over prompt words: the prompt is cut
    into blocks of ``block`` words, each block's key chains the keys before it, and a request's
    cached tokens are the words of its leading blocks seen before (bounded, oldest dropped)."""

    def __init__(self, block: int, capacity: int = 1 << 20):
        self.block = block
        self.capacity = capacity
        self.keys: dict = {}

    def lookup_and_add(self, words: list[str]) -> int:
        b = self.block
        h = 0
        hit = 0
        still = True
        for i in range(0, len(words) - len(words) % b, b):
            h = hash((h, tuple(words[i:i + b])))
            if still and h in self.keys:
                hit += b
            else:
                still = False
                self.keys[h] = None
        while len(self.keys) > self.capacity:
            self.keys.pop(next(iter(self.keys)))
        return hit


class MockServer:
    """Builds response bytes (cached per shape) and owns the configuration and stats."""

    def __init__(self, cfg: MockConfig):
        self.cfg = cfg
        self.stats = Stats()
        self.cache = PrefixCache(cfg.cache_block) if cfg.cache_block else None
        self.accepted: dict = {}  # fd -> _StampedSocket, until its protocol takes it
        self._cache: dict = {}
        self.rng = random.Random(0)

    # -- response pieces -----------------------------------------------------------------------
    _finish = "length"

    def stream_pieces(self, kind: str, n: int, prompt_tokens: int, usage: bool, cached: int = 0):
        """A list of (tokens_in_piece, bytes) for a streamed response; the last piece ends it."""
        key = (kind, n, prompt_tokens, usage, cached)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        cfg = self.cfg
        created = int(time.time())
        base = {"id": "cmpl-mock", "object": "chat.completion.chunk" if kind == "chat" else "text_completion",
                "created": created, "model": cfg.model}
        pieces = []
        if kind == "chat" and cfg.role_chunk:
            pieces.append((0, _event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                            "logprobs": None, "finish_reason": None}]})))
        r = cfg.reasoning_tokens if kind == "chat" else 0
        sent = 0
        while sent < n:
            k = min(cfg.tpc, n - sent)
            text = " tok" * k
            if kind == "chat":
                field = "reasoning_content" if sent < r else "content"
                choice = {"index": 0, "delta": {field: text}, "logprobs": None, "finish_reason": None}
            else:
                choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": None}
            if sent + k >= n:
                choice["finish_reason"] = self._finish
            pieces.append((k, _event({**base, "choices": [choice]})))
            sent += k
        tail = b""
        if usage:
            tail += _event({**base, "choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n,
                                                             "total_tokens": prompt_tokens + n,
                                                             "prompt_tokens_details": {"cached_tokens": cached}}})
        tail += _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
        if pieces and pieces[0][0] == 0:
            # the role chunk goes out with the first content chunk's time? No: right away, like vLLM.
            pass
        pieces.append((0, tail))
        if len(self._cache) < 4096:
            self._cache[key] = pieces
        return pieces


def _prompt_words(body) -> list[str]:
    def words(x):
        if isinstance(x, str):
            return x.split()
        if isinstance(x, list):
            out = []
            for p in x:
                out += words(p.get("text", "") if isinstance(p, dict) else p)
            return out
        return []

    if "messages" in body:
        out = []
        for m in body["messages"]:
            out += words(m.get("content", "")) if isinstance(m, dict) else []
        return out
    if "prompt" in body:
        return words(body["prompt"])
    if "input" in body:
        return words(body["input"])
    if "documents" in body:
        return words(body.get("query", "")) + words(body["documents"])
    return []


def _count_words(body) -> int:
    return len(_prompt_words(body))


def _json_response(status: int, obj, reason: str = "OK") -> bytes:
    data = json.dumps(obj).encode()
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: keep-alive\r\n\r\n"
            % (status, reason.encode(), len(data))) + data


class _Conn(asyncio.Protocol):
    def __init__(self, server: MockServer):
        self.server = server
        self.buf = b""
        self.t_arrival = None
        self.t_rx = None
        self.t_read = None
        self.raw = None
        self.transport = None
        self.busy = False
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            self.raw = self.server.accepted.pop(sock.fileno(), None)

    def connection_lost(self, exc):
        self.closed = True

    def data_received(self, data):
        if self.t_arrival is None:
            self.t_arrival = _clock()
            raw = self.raw
            if raw is not None and raw.rx is not None:
                self.t_rx = min(raw.rx, self.t_arrival)
        self.buf += data
        self._try_parse()

    def _try_parse(self):
        while not self.busy:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            t_read = self.t_arrival or _clock()
            # the deadlines run from the arrival: kernel time when known, else the read time
            t0, self.t_read = (self.t_rx, t_read) if self.t_rx is not None else (t_read, None)
            self.t_arrival = _clock() if self.buf else None
            self.t_rx = None
            parts = head[0].split(" ")
            self.handle(parts[0], parts[1] if len(parts) > 1 else "/", body, t0, head[1:])

    # -- routing -----------------------------------------------------------------------------------
    def handle(self, method, path, body, t0, head=()):
        server = self.server
        cfg = server.cfg
        server.stats.requests += 1
        path = path.split("?", 1)[0]
        if method == "GET":
            if path.endswith("/models"):
                return self.transport.write(_json_response(200, {"object": "list", "data": [
                    {"id": cfg.model, "object": "model", "owned_by": "evs"}]}))
            if path == "/mock/stats":
                return self.transport.write(_json_response(200, server.stats.as_json()))
            if path == "/metrics":
                data = server.stats.prometheus()
                return self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\n"
                                            b"content-length: %d\r\nconnection: keep-alive\r\n\r\n" % len(data) + data)
            if path == "/mock/requests":
                return self.transport.write(_json_response(200, {"requests": server.stats.log}))
            if path == "/mock/stats/detail":
                return self.transport.write(_json_response(200, server.stats.detail()))
            if path == "/health":
                return self.transport.write(_json_response(200, {"status": "ok"}))
            return self.transport.write(_json_response(404, {"error": {"message": "not found"}}, "Not Found"))
        if path == "/mock/reset":
            server.stats = Stats()
            return self.transport.write(_json_response(200, {"ok": True}))
        if cfg.fault == "hang":
            return  # never answer
        if cfg.fault == "echo-auth" and server.stats.requests > 1:
            # a careless server that echoes the credentials it got, in a 401 body
            got = {h.split(":", 1)[0].strip(): h.split(":", 1)[1].strip() for h in head if ":" in h}
            return self.transport.write(_json_response(401, {"error": {
                "message": f"invalid credentials: {got.get('Authorization') or got.get('authorization')} "
                           f"(headers {got})"}}, "Unauthorized"))
        if cfg.status is not None or (cfg.first_status is not None and server.stats.requests == 1):
            code = cfg.status if cfg.status is not None else cfg.first_status
            return self.transport.write(_json_response(code, {"error": {"message": f"mock status {code}",
                                                                         "code": code}}, "Mock Error"))
        try:
            req = json.loads(body)
        except ValueError:
            return self.transport.write(_json_response(400, {"error": {"message": "invalid JSON body"}}, "Bad Request"))
        n = req.get("max_completion_tokens") or req.get("max_tokens") or cfg.output_tokens
        if cfg.eos_after and not req.get("ignore_eos"):
            n = min(n, max(cfg.eos_after, int(req.get("min_tokens") or 0)))
        words = _prompt_words(req)
        prompt_tokens = len(words)
        cached = 0
        if server.cache is not None and path.endswith("/completions"):
            cached = server.cache.lookup_and_add(words)
            server.cache.lookup_and_add(words + ["tok"] * n)  # the answer's KV is cached too, as in vLLM
        st = server.stats
        st.prompt_tokens += prompt_tokens
        st.cached_tokens += cached
        st.prefix_queries += prompt_tokens
        st.prefix_hits += cached
        entry = None
        if len(st.log) < 4096:
            entry = {"path": path, "headers": dict(h.split(":", 1) for h in head if ":" in h),
                           "body": req if len(body) < 65536 else {"omitted": len(body)},
                     "prompt_tokens": prompt_tokens, "cached_tokens": cached, "completion_tokens": n}
            st.log.append(entry)
        if path.endswith("/embeddings"):
            inputs = req.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            data = [{"object": "embedding", "index": i, "embedding": [0.0] * 8} for i in range(len(inputs))]
            return self._later(t0 + cfg.ttft, _json_response(200, {"object": "list", "data": data, "model": cfg.model,
                               "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}))
        if path.endswith("/rerank"):
            docs = req.get("documents") or []
            res = [{"index": i, "relevance_score": 1.0 / (i + 1)} for i in range(len(docs))]
            return self._later(t0 + cfg.ttft, _json_response(200, {"results": res, "model": cfg.model,
                               "usage": {"total_tokens": prompt_tokens}}))
        kind = "chat" if path.endswith("/chat/completions") else "completions"
        if not req.get("stream"):
            text = " tok" * n
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n,
                     "prompt_tokens_details": {"cached_tokens": cached}}
            if kind == "chat":
                choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
            else:
                choice = {"index": 0, "text": text, "finish_reason": "length"}
            obj = {"id": "cmpl-mock", "object": "chat.completion" if kind == "chat" else "text_completion",
                   "model": cfg.model, "choices": [choice]}
            if cfg.usage:
                obj["usage"] = usage
            end = t0 + cfg.ttft + max(0, n - 1) * cfg.itl
            return self._later(end, _json_response(200, obj))
        usage = cfg.usage and bool((req.get("stream_options") or {}).get("include_usage"))
        pieces = server.stream_pieces(kind, n, prompt_tokens, usage, cached)
        if cfg.fault == "malformed":
            pieces = [(1, _chunk(b"data: {this is not json\n\n")), (0, _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")]
        self.busy = True
        if cfg.ttft == 0 and cfg.itl == 0 and not cfg.jitter and cfg.fault == "none":
            t_w = _clock()
            server.stats.add(t0, t_w, self.t_read)
            server.stats.finished(entry, t0, t_w, t_w)
            self.transport.write(_SSE_HEAD + b"".join(p for _, p in pieces))
            self.busy = False
            return
        self.transport.write(_SSE_HEAD)
        _Streamer(self, pieces, t0, entry).start()

    def _later(self, when, data):
        loop = asyncio.get_running_loop()
        delay = when - _clock()
        if delay <= 0:
            self.transport.write(data)
        else:
            loop.call_later(delay, lambda: self.closed or self.transport.write(data))

    def done(self):
        self.busy = False
        if self.buf:
            self._try_parse()


class _Streamer:
    """Writes the pieces of one stream on absolute deadlines."""

    __slots__ = ("conn", "pieces", "t0", "t_read", "i", "loop", "first", "deadline", "rng", "cfg", "entry", "t_first")

    def __init__(self, conn: _Conn, pieces, t0, entry=None):
        self.entry = entry
        self.t_first = None
        self.conn = conn
        self.pieces = pieces
        self.t0 = t0
        self.t_read = conn.t_read
        self.i = 0
        self.first = True
        self.cfg = conn.server.cfg
        self.rng = conn.server.rng
        self.loop = asyncio.get_running_loop()

    def start(self):
        cfg = self.cfg
        i = 0
        # a role-only chunk goes out at once, like vLLM's first chunk
        if self.pieces and self.pieces[0][0] == 0 and len(self.pieces) > 1:
            self.conn.transport.write(self.pieces[0][1])
            i = 1
        self.i = i
        self.deadline = self.t0 + cfg.ttft + (self.rng.random() * cfg.jitter if cfg.jitter else 0.0)
        self._schedule()

    def _schedule(self):
        delay = self.deadline - _clock()
        if self.cfg.precise:
            delay -= 0.0012
        if delay <= 0:
            self.loop.call_soon(self._tick)
        else:
            self.loop.call_later(delay, self._tick)

    def _tick(self):
        conn = self.conn
        if conn.closed:
            return
        if self.cfg.precise and _clock() < self.deadline:
            # spin the last millisecond, yielding the core each turn: a spinning process keeps the
            # kernel thread that delivers loopback packets (ksoftirqd) off its core, and the bytes
            # already written then reach the client milliseconds late
            _yield()
            self.loop.call_soon(self._tick)
            return
        tokens, data = self.pieces[self.i]
        if self.first and tokens:
            self.t_first = _clock()
            conn.server.stats.add(self.t0, self.t_first, self.t_read)
            self.first = False
        if self.cfg.fault == "close-mid-stream" and self.i >= 2:
            conn.transport.close()
            return
        conn.transport.write(data)
        self.i += 1
        if self.i >= len(self.pieces):
            if self.t_first is not None:
                conn.server.stats.finished(self.entry, self.t0, self.t_first, _clock())
            conn.done()
            return
        next_tokens = self.pieces[self.i][0]
        if next_tokens == 0:  # usage / [DONE] follows the last content chunk at once
            self.deadline = _clock()
        else:
            self.deadline += tokens * self.cfg.itl + (self.rng.random() * self.cfg.jitter if self.cfg.jitter else 0.0)
        self._schedule()


def _await_kernel_stamps(timeout: float = 0.5) -> bool:
    """Enabling SO_TIMESTAMPNS turns the kernel's packet stamping on through deferred work, which a
    loaded machine may run late: packets received meanwhile carry no stamp. Send one byte over a
    stamped loopback connection until it arrives stamped (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        with socket.create_connection(ls.getsockname(), timeout=timeout) as cli:
            srv, _ = ls.accept()
            with srv:
                srv.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
                srv.settimeout(timeout)
                while True:
                    cli.sendall(b"x")
                    try:
                        _, anc, _, _ = srv.recvmsg(1, 64)
                    except OSError:
                        return False
                    if any(level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS for level, kind, _ in anc):
                        return True
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.002)


async def start_server(host="127.0.0.1", port=0, **options):
    """Start a mock server in the running loop; returns (asyncio.Server, port, MockServer)."""
    mock = MockServer(MockConfig(**options))
    loop = asyncio.get_running_loop()
    if _SO_TIMESTAMPNS is not None and ":" not in host:
        lsock = _StampingListener(socket.AF_INET, socket.SOCK_STREAM)
        lsock.accepted = mock.accepted
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:  # now, so the kernel stamps packets from the first connection on
            lsock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            _await_kernel_stamps()
        except OSError:
            pass
        lsock.bind((host, port))
        lsock.setblocking(False)
        srv = await loop.create_server(lambda: _Conn(mock), sock=lsock, backlog=4096)
    else:
        srv = await loop.create_server(lambda: _Conn(mock), host, port, backlog=4096, reuse_address=True)
    return srv, srv.sockets[0].getsockname()[1], mock


def serve_forever(host="127.0.0.1", port=8000, **options):
    async def main():
        srv, real_port, _ = await start_server(host, port, **options)
        print(f"evs perf mock-server listening on http://{host}:{real_port}", flush=True)
        async with srv:
            await srv.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # python -m evs_perf.mock_server --port 0 ...
    import click

    from evs_perf._cli import mock_server_cmd

    try:
        mock_server_cmd.main(args=sys.argv[1:], prog_name="evs-perf-mock", standalone_mode=True)
    except click.exceptions.Exit:
        pass
