"""The load generator: closed-loop slots or open-loop arrivals, in one or more processes.

Timestamps are ``time.perf_counter()`` (CLOCK_MONOTONIC on Linux, comparable across the
worker processes). Each request records when it started (``t_start``: the moment a slot or the
arrival dispatcher took it up), how long it waited for a free concurrency slot (``queue``) and
for a new connection (``connect``), the arrival time of every content chunk, and when the
response ended. Metrics are computed afterwards from these records (:mod:`evs_perf.metrics`).

Client lag: every 10 ms each worker posts a probe callback on its event loop and measures how
long the loop takes to run it. That is how late the client notices a byte that has arrived,
which is the error it adds to TTFT and ITL. Worker CPU time is measured with
``time.process_time``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from array import array
from itertools import repeat as _repeat

from evs_perf.apis import error_message
from evs_perf.http import Connection, Endpoint, HTTPError, Sink, Watchdog, connect

_clock = time.perf_counter


def _schedstat():
    """(ns spent waiting for a CPU while runnable, number of times run) of this thread, from
    /proc (Linux); None elsewhere. The loop-lag probe cannot see that wait: a process that is
    not running posts no probe."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            parts = f.read().split()
        return int(parts[1]), int(parts[2])
    except (OSError, ValueError, IndexError):
        return None


class Result:
    """One request. Times are absolute perf_counter seconds; durations are seconds."""

    __slots__ = ("index", "worker", "warmup", "t_start", "queue", "connect", "t_first", "t_end", "ok",
                 "error_kind", "error", "status", "prompt_tokens", "completion_tokens", "token_source",
                 "chunk_times", "text", "planned_input", "planned_output")

    def __init__(self, index, worker, warmup):
        self.index = index
        self.worker = worker
        self.warmup = warmup
        self.t_start = 0.0
        self.queue = 0.0
        self.connect = 0.0
        self.t_first = None
        self.t_end = None
        self.ok = False
        self.error_kind = None
        self.error = None
        self.status = 0
        self.prompt_tokens = None
        self.completion_tokens = None
        self.token_source = None
        self.chunk_times = None
        self.text = None
        self.planned_input = None
        self.planned_output = None

    def __getstate__(self):
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setstate__(self, state):
        for k, v in zip(self.__slots__, state):
            setattr(self, k, v)


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


def _http_error_message(status, body: bytes) -> str:
    msg = None
    try:
        msg = error_message(json.loads(body))
    except ValueError:
        pass
    if msg is None:
        msg = body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {status}: {msg}"[:300]


class Worker:
    """Runs one worker's share of a load point in its own event loop."""

    def __init__(self, spec: dict, worker_id: int = 0, progress=None):
        self.spec = spec
        self.worker_id = worker_id
        self.endpoint = Endpoint(spec["url"])
        self.api = spec["api"]
        self.stream = spec["stream"]
        self.payloads = spec["payloads"]
        self.planned = spec["planned"]
        self.timeout = spec["timeout"]
        self.read_timeout = spec["read_timeout"] or spec["timeout"]
        self.connect_timeout = spec["connect_timeout"]
        self.results: list[Result] = []
        self.progress = progress  # callable(n_done) or None
        self.lags = array("d")
        self.first_lags = array("d")  # per measured stream: the read lag of its first token (ReadBatch)
        self.done_count = 0
        self.running = True
        self.t_measure_start = None
        self.cpu_start = self.cpu_end = 0.0
        self.sched_start = self.sched_end = None
        self.idle: list[Connection] = []

    # -- one request -----------------------------------------------------------------------------
    async def request(self, index: int, warmup: bool, conn: Connection | None, t_start: float | None = None,
                      queue: float = 0.0):
        r = Result(index, self.worker_id, warmup)
        r.t_start = t_start if t_start is not None else _clock()
        r.queue = queue
        k = index % len(self.payloads)
        r.planned_input, r.planned_output = self.planned[k]
        if conn is None or conn.closed or not conn.reusable:
            if conn is not None:
                conn.close()
            t_c = _clock()
            try:
                conn = await connect(self.endpoint, min(self.connect_timeout, self.timeout))
            except HTTPError as exc:
                r.t_end = _clock()
                r.error_kind, r.error = exc.kind, str(exc)
                self._record(r)
                return None
            r.connect = _clock() - t_c
        if self.stream:
            sink = StreamSink(self.api)
            sink.conn = conn
        else:
            sink = WholeSink()
        fut = conn.send(self.payloads[k], sink)
        dog = Watchdog(conn, fut, r.t_start, self.timeout, self.read_timeout)
        try:
            await fut
        except HTTPError as exc:
            r.t_end = _clock()
            r.error_kind, r.error = exc.kind, str(exc)
            r.status = sink.status
            self._record(r)
            return None
        finally:
            dog.cancel()
        r.t_end = _clock()
        r.status = sink.status
        if sink.status != 200:
            r.error_kind = "http_status"
            body = sink.errbody if self.stream else b"".join(sink.parts)
            r.error = _http_error_message(sink.status, body)
        elif self.stream:
            self._finish_stream(r, sink)
        else:
            self._finish_whole(r, sink)
        self._record(r)
        return conn

    def _finish_stream(self, r: Result, sink: StreamSink):
        if sink.error is not None:
            r.error_kind, r.error = sink.error
            return
        if not sink.times:
            r.error_kind, r.error = "malformed", "the stream ended without any content"
            return
        r.ok = True
        r.t_first = sink.times[0]
        if sink.first_lag is not None and not r.warmup:
            self.first_lags.append(sink.first_lag)
        sink.conn = None
        r.chunk_times = sink.times
        usage = sink.usage or {}
        r.prompt_tokens = usage.get("prompt_tokens")
        r.completion_tokens = usage.get("completion_tokens")
        if r.completion_tokens is not None:
            r.token_source = "usage"
        else:
            r.text = sink.texts()

    def _finish_whole(self, r: Result, sink: WholeSink):
        body = b"".join(sink.parts)
        try:
            obj = json.loads(body)
            text, usage = self.api.parse_response(obj)
        except (ValueError, AttributeError, TypeError) as exc:
            r.error_kind, r.error = "malformed", f"malformed response body: {exc}"[:300]
            return
        r.ok = True
        r.t_first = sink.t_first or r.t_end
        usage = usage or {}
        r.prompt_tokens = usage.get("prompt_tokens", usage.get("total_tokens"))
        r.completion_tokens = usage.get("completion_tokens")
        if self.api.name in ("embeddings", "rerank"):
            r.completion_tokens = 0
            r.token_source = "usage" if usage else None
        elif r.completion_tokens is not None:
            r.token_source = "usage"
        else:
            r.text = text

    def _record(self, r: Result):
        self.results.append(r)
        if not r.warmup:
            self.done_count += 1
            if self.progress is not None:
                self.progress(self.done_count)

    # -- lag monitor ---------------------------------------------------------------------------
    async def monitor(self):
        loop = asyncio.get_running_loop()
        lags = self.lags

        def probe(t1):
            lags.append(_clock() - t1)

        while self.running:
            await asyncio.sleep(0.01)
            loop.call_soon(probe, _clock())

    # -- load patterns -------------------------------------------------------------------------
    async def run(self):
        spec = self.spec
        mon = asyncio.ensure_future(self.monitor())
        try:
            if spec["rate"] is None:
                await self.closed_loop()
            else:
                await self.open_loop()
        finally:
            self.running = False
            mon.cancel()
            for c in self.idle:
                c.close()
        return self.report()

    async def _preopen(self, n):
        async def one():
            try:
                return await connect(self.endpoint, self.connect_timeout)
            except HTTPError:
                return None  # counted when a request needs the connection

        conns = await asyncio.gather(*(one() for _ in range(n)))
        return list(conns)

    async def _wait_start(self):
        delay = self.spec["t0"] - _clock()
        if delay > 0:
            await asyncio.sleep(delay)

    async def closed_loop(self):
        spec = self.spec
        conc = spec["concurrency"]
        warm = spec["warmup"]
        n = spec["requests"]
        duration = spec["duration"]
        ramp = spec["ramp_up"]
        conns = await self._preopen(conc)
        await self._wait_start()
        counter = [0]
        deadline = [None]
        self.cpu_start = time.process_time()
        self.sched_start = _schedstat()

        async def slot(j, conn):
            if ramp and j:
                await asyncio.sleep(ramp * j / conc)
            while True:
                idx = counter[0]
                is_warm = idx < warm
                if not is_warm:
                    if self.t_measure_start is None:
                        self.t_measure_start = _clock()
                        if duration:
                            deadline[0] = self.t_measure_start + duration
                    if n is not None and idx >= warm + n:
                        break
                    if deadline[0] is not None and _clock() >= deadline[0]:
                        break
                counter[0] = idx + 1
                conn = await self.request(idx, is_warm, conn)
            if conn is not None:
                self.idle.append(conn)

        await asyncio.gather(*(slot(j, conns[j]) for j in range(conc)))
        self.cpu_end = time.process_time()
        self.sched_end = _schedstat()

    async def open_loop(self):
        spec = self.spec
        conc = spec["concurrency"] or 0
        warm = spec["warmup"]
        arrivals = spec["arrivals"]
        duration = spec["duration"]
        n_pre = min(conc if conc else 64, max(1, len(arrivals)), 512)
        self.idle = [c for c in await self._preopen(n_pre) if c is not None]
        await self._wait_start()
        self.cpu_start = time.process_time()
        self.sched_start = _schedstat()
        # warm-up: closed loop over the pre-opened connections
        if warm:
            counter = [0]

            async def wslot(conn):
                while counter[0] < warm:
                    idx = counter[0]
                    counter[0] += 1
                    conn = await self.request(idx, True, conn)
                if conn is not None:
                    self.idle.append(conn)

            pool, self.idle = self.idle, []
            k = max(1, min(warm, conc or warm, len(pool) or 1))
            await asyncio.gather(*(wslot(pool[i] if i < len(pool) else None) for i in range(k)))
            self.idle.extend(pool[k:])
        sem = asyncio.Semaphore(conc) if conc else None
        tasks = set()
        t_base = _clock()
        self.t_measure_start = t_base
        self.sched_lags = array("d")

        async def fire(idx, t_sched):
            t0 = _clock()
            q = 0.0
            if sem is not None:
                if sem.locked():
                    await sem.acquire()
                    q = _clock() - t0
                else:
                    await sem.acquire()
            try:
                conn = self.idle.pop() if self.idle else None
                conn = await self.request(idx, False, conn, t_start=t0, queue=q)
                if conn is not None:
                    self.idle.append(conn)
            finally:
                if sem is not None:
                    sem.release()

        for i, off in enumerate(arrivals):
            when = t_base + off
            if duration and off >= duration:
                break
            delay = when - _clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self.sched_lags.append(max(0.0, _clock() - when))
            task = asyncio.ensure_future(fire(warm + i, when))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        self.cpu_end = time.process_time()
        self.sched_end = _schedstat()

    def report(self) -> dict:
        return {"results": self.results, "lags": self.lags, "first_lags": self.first_lags,
                "cpu": self.cpu_end - self.cpu_start,
                "loop": "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio",
                "t_measure_start": self.t_measure_start, "worker": self.worker_id,
                "sched_lags": getattr(self, "sched_lags", array("d")),
                "cpu_wait": (None if self.sched_start is None or self.sched_end is None else
                             (self.sched_end[0] - self.sched_start[0], self.sched_end[1] - self.sched_start[1]))}


# -- event loops -------------------------------------------------------------------------------
def loop_factory(name: str | None):
    """``(factory, name)`` for an event loop: ``uvloop``, ``asyncio`` or ``auto`` (uvloop when it
    is installed). uvloop reads sockets in C: less client CPU per streamed chunk (measured in
    docs/perf.md)."""
    name = name or "auto"
    if name in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                from evs_core.errors import ConfigError

                raise ConfigError('--loop uvloop needs uvloop: pip install "evs-perf[uvloop]"') from None
        else:
            return uvloop.new_event_loop, "uvloop"
    elif name != "asyncio":
        from evs_core.errors import ConfigError

        raise ConfigError(f"--loop must be auto, asyncio or uvloop, not {name!r}")
    return asyncio.new_event_loop, "asyncio"


def run_in_loop(coro, loop_name: str | None = None):
    factory, _ = loop_factory(loop_name)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


# -- processes ---------------------------------------------------------------------------------
def _worker_process(spec, worker_id, progress_arr, pipe):
    try:
        os.environ.pop("PYTHONASYNCIODEBUG", None)

        def progress(n):
            progress_arr[worker_id] = n

        out = run_in_loop(Worker(spec, worker_id, progress).run(), spec.get("loop"))
        pipe.send(("ok", out))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


def split_spec(spec: dict, workers: int) -> list[dict]:
    """Share concurrency, requests, warm-up and arrivals among worker processes."""
    out = []
    for w in range(workers):
        s = dict(spec)

        def share(total):
            return None if total is None else total // workers + (1 if w < total % workers else 0)

        s["concurrency"] = share(spec["concurrency"]) if spec["concurrency"] else spec["concurrency"]
        s["requests"] = share(spec["requests"])
        s["warmup"] = share(spec["warmup"])
        if spec.get("arrivals") is not None:
            s["arrivals"] = spec["arrivals"][w::workers]
        out.append(s)
    return [s for s in out if (s["concurrency"] or s.get("arrivals"))]


def run_point(spec: dict, workers: int = 1, on_progress=None) -> list[dict]:
    """Run one load point; returns the worker reports. ``on_progress(done)`` is called about
    every 0.5 s with the number of measured requests finished."""
    if workers <= 1:
        return [run_in_loop(_run_single(spec, on_progress), spec.get("loop"))]
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    specs = split_spec(spec, workers)
    progress_arr = ctx.RawArray("q", len(specs))
    procs, pipes = [], []
    t0 = _clock() + 0.3 + 0.05 * len(specs)
    for w, s in enumerate(specs):
        s["t0"] = t0
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker_process, args=(s, w, progress_arr, child), daemon=True)
        p.start()
        child.close()
        procs.append(p)
        pipes.append(parent)
    reports = [None] * len(specs)
    pending = set(range(len(specs)))
    errors = []
    while pending:
        for w in list(pending):
            if pipes[w].poll(0.1 / len(specs)):
                try:
                    status, payload = pipes[w].recv()
                except EOFError:
                    status, payload = "error", "worker process died"
                if status == "ok":
                    reports[w] = payload
                else:
                    errors.append(payload)
                pending.discard(w)
            elif not procs[w].is_alive() and not pipes[w].poll(0):
                errors.append(f"worker process {w} exited with code {procs[w].exitcode}")
                pending.discard(w)
        if on_progress is not None:
            on_progress(sum(progress_arr))
    for p in procs:
        p.join(timeout=5)
    if errors:
        from evs_core.errors import EvsError

        raise EvsError(f"a client worker failed: {errors[0]}")
    return reports


async def _run_single(spec, on_progress):
    spec = dict(spec)
    spec["t0"] = _clock()
    worker = Worker(spec, 0, None)
    if on_progress is None:
        return await worker.run()

    async def ticker():
        while True:
            await asyncio.sleep(0.5)
            on_progress(worker.done_count)

    tick = asyncio.ensure_future(ticker())
    try:
        return await worker.run()
    finally:
        tick.cancel()
        on_progress(worker.done_count)


def arrivals(n: int, rate: float, process: str, seed: int) -> list[float]:
    """Arrival offsets in seconds: Poisson (exponential gaps) or constant, for ``n`` requests."""
    if rate == float("inf"):
        return [0.0] * n
    rng = random.Random(seed)
    out, t = [], 0.0
    for _ in range(n):
        out.append(t)
        t += rng.expovariate(rate) if process == "poisson" else 1.0 / rate
    return out


async def probe(url: str, payload: bytes, api, stream: bool, timeout: float, connect_timeout: float,
                read_timeout: float | None = None) -> Result:
    """Send one request (not measured) and return its record: checks the endpoint works."""
    spec = {"url": url, "api": api, "stream": stream, "payloads": [payload], "planned": [(None, None)],
            "timeout": timeout, "read_timeout": read_timeout, "connect_timeout": connect_timeout}
    w = Worker(spec)
    conn = await w.request(0, True, None)
    if conn is not None:
        conn.close()
    return w.results[0]


async def get_json(url: str, headers: dict, timeout: float):
    """GET a JSON document (``/v1/models``) with this client; raises HTTPError or ValueError."""
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
            raise HTTPError("http_status", _http_error_message(sink.status, b"".join(sink.parts)))
        return json.loads(b"".join(sink.parts))
    finally:
        conn.close()
