"""Workers and load patterns: one worker's share of a load point in its own event loop.

Timestamps are ``time.perf_counter()`` (CLOCK_MONOTONIC on Linux, comparable across the
worker processes). Each request records when it started (``t_start``: the moment a slot or the
arrival dispatcher took it up), how long it waited for a free concurrency slot (``queue``) and
for a new connection (``connect``), the arrival time of every content chunk, and when the
response ended. Metrics are computed afterwards from these records (:mod:`evs_perf.metrics`).

Load patterns: closed loop (each of ``concurrency`` slots sends its next request when the last
one ends) and open loop (requests dispatched at scheduled offsets: Poisson or constant
arrivals, or a trace's own timestamps; ``concurrency`` then caps requests in flight).

Client lag: every 10 ms each worker posts a probe callback on its event loop and measures how
long the loop takes to run it. That is how late the client notices a byte that has arrived,
which is the error it adds to TTFT and ITL. Worker CPU time is measured with
``time.process_time``; CPU wait from ``/proc/thread-self/schedstat``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from array import array

from evs_perf.config import PointSpec
from evs_perf.http import Connection, Endpoint, HTTPError, Watchdog, connect
from evs_perf.sse import StreamSink, WholeSink, http_error_message

_clock = time.perf_counter


#: Open loop: the last stretch before an arrival is waited by yielding to the event loop, not by a timer.
_SPIN_S = 0.001

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
                 "chunk_times", "text", "planned_input", "planned_output", "cached_tokens", "conv", "turn",
                 "t_sched")

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
        self.cached_tokens = None  # usage.prompt_tokens_details.cached_tokens, when the server says
        self.conv = None  # multi-turn: conversation and turn (1-based)
        self.turn = None
        self.t_sched = None  # open loop: the scheduled send time

    def __getstate__(self):
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setstate__(self, state):
        for k, v in zip(self.__slots__, state, strict=False):
            setattr(self, k, v)



def _cached(usage: dict):
    details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else None
    if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
        return details["cached_tokens"]
    return None


class Worker:
    """Runs one worker's share of a load point in its own event loop."""

    def __init__(self, spec: PointSpec, worker_id: int = 0, progress=None):
        self.spec = spec
        self.worker_id = worker_id
        self.endpoint = Endpoint(spec.url)
        self.api = spec.api
        self.stream = spec.stream
        self.payloads = spec.payloads
        self.planned = spec.planned
        self.timeout = spec.timeout
        self.read_timeout = spec.read_timeout or spec.timeout
        self.connect_timeout = spec.connect_timeout
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
        self.keep_text = spec.conversations is not None  # multi-turn: the answer joins the history

    # -- one request -----------------------------------------------------------------------------
    async def request(self, index: int, warmup: bool, conn: Connection | None, t_start: float | None = None,
                      queue: float = 0.0, payload: bytes | None = None, planned=None, result: Result | None = None):
        r = result if result is not None else Result(index, self.worker_id, warmup)
        r.t_start = t_start if t_start is not None else _clock()
        r.queue = queue
        if payload is None:
            order = self.spec.request_order
            k = (order[index - self.spec.warmup] if order is not None and not warmup and
                 index - self.spec.warmup < len(order) else index) % len(self.payloads)
            payload = self.payloads[k]
            planned = self.planned[k]
        r.planned_input, r.planned_output = planned or (None, None)
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
        fut = conn.send(payload, sink)
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
            r.error = http_error_message(sink.status, body)
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
        r.cached_tokens = _cached(usage)
        if r.completion_tokens is not None:
            r.token_source = "usage"
            if self.keep_text:
                r.text = sink.texts()
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
        r.cached_tokens = _cached(usage)
        if self.keep_text:
            r.text = text
        if not self.api.generates_tokens:
            r.completion_tokens = 0
            r.token_source = "usage" if usage else None
        elif r.completion_tokens is not None:
            r.token_source = "usage"
        elif not self.keep_text:
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
            if spec.conversations is not None:
                await self.conversation_loop()
            elif spec.rate is None:
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
        delay = self.spec.t0 - _clock()
        if delay > 0:
            await asyncio.sleep(delay)

    async def closed_loop(self):
        spec = self.spec
        conc = spec.concurrency
        warm = spec.warmup
        n = spec.requests
        duration = spec.duration
        ramp = spec.ramp_up
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

    async def conversation_loop(self):
        """Multi-turn: each slot takes the next conversation and sends its turns one after the
        other, each with the whole history (the user turns and the server's answers so far).
        The first ``warmup`` conversations are warm-up. A failed turn ends its conversation (the
        rest of it is not sent: its history would be wrong)."""
        spec = self.spec
        convs = spec.conversations
        conc = max(1, min(spec.concurrency, len(convs)))
        warm = spec.warmup
        build = spec.conv_builder
        conns = await self._preopen(conc)
        await self._wait_start()
        counter = [0]
        seq = [0]
        self.cpu_start = time.process_time()
        self.sched_start = _schedstat()

        async def slot(conn):
            while counter[0] < len(convs):
                ci = counter[0]
                counter[0] += 1
                is_warm = ci < warm
                if not is_warm and self.t_measure_start is None:
                    self.t_measure_start = _clock()
                history: list = []
                for ti, turn in enumerate(convs[ci], 1):
                    history.append(turn.user)
                    payload, planned = build(history, turn)
                    r = Result(seq[0], self.worker_id, is_warm)
                    seq[0] += 1
                    r.conv, r.turn = (spec.conv_ids[ci] if spec.conv_ids is not None else ci), ti
                    conn = await self.request(r.index, is_warm, conn, payload=payload, planned=planned, result=r)
                    if not r.ok:
                        break
                    history.append({"role": "assistant", "content": r.text or ""})
                    r.text = None if r.token_source == "usage" else r.text
            if conn is not None:
                self.idle.append(conn)

        await asyncio.gather(*(slot(conns[j]) for j in range(conc)))
        self.cpu_end = time.process_time()
        self.sched_end = _schedstat()

    async def open_loop(self):
        spec = self.spec
        conc = spec.concurrency or 0
        warm = spec.warmup
        arrivals = spec.arrivals
        duration = spec.duration
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
        self.sent_offsets = array("d")  # when each arrival was dispatched, from t_base (trace replay)
        self.t_base = t_base

        async def fire(idx, t_sched):
            t0 = _clock()
            # how late the request was taken up against its schedule (the task runs an
            # event-loop iteration after the dispatcher woke: that wait counts too)
            self.sched_lags.append(max(0.0, t0 - t_sched))
            self.sent_offsets.append(t0 - t_base)
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
            if delay > _SPIN_S:
                # the loop's timer wakes up to ~1 ms late (epoll rounds its timeout up to whole
                # milliseconds): sleep to just before the arrival, then yield until it is due
                await asyncio.sleep(delay - _SPIN_S)
            while _clock() < when:
                await asyncio.sleep(0)
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
                "sent_offsets": getattr(self, "sent_offsets", array("d")), "t_base": getattr(self, "t_base", None),
                "cpu_wait": (None if self.sched_start is None or self.sched_end is None else
                             (self.sched_end[0] - self.sched_start[0], self.sched_end[1] - self.sched_start[1]))}


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


