"""Event-loop choice and process fan-out: a load point over one or more worker processes.

``run_point(spec, workers)`` runs one :class:`~evs_perf.config.PointSpec`: in this process with
one worker, else split (:func:`split_spec`) over forked worker processes that start together
at one ``perf_counter`` instant and send their reports back through pipes. Progress is shared
through a raw array of per-worker counters.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time

from evs_perf.config import PointSpec
from evs_perf.workers import Worker

_clock = time.perf_counter


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

        out = run_in_loop(Worker(spec, worker_id, progress).run(), spec.loop)
        pipe.send(("ok", out))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


def split_spec(spec: PointSpec, workers: int) -> list[PointSpec]:
    """Share concurrency, requests, warm-up and arrivals among worker processes."""
    out = []
    for w in range(workers):
        def share(total, w=w):
            return None if total is None else total // workers + (1 if w < total % workers else 0)

        out.append(dataclasses.replace(
            spec,
            concurrency=share(spec.concurrency) if spec.concurrency else spec.concurrency,
            requests=share(spec.requests), warmup=share(spec.warmup),
            arrivals=spec.arrivals[w::workers] if spec.arrivals is not None else None,
            request_order=spec.request_order[w::workers] if spec.request_order is not None else None,
            conversations=spec.conversations[w::workers] if spec.conversations is not None else None,
            conv_ids=(list(range(len(spec.conversations)))[w::workers] if spec.conversations is not None
                      else None)))
    return [s for s in out if (s.concurrency or s.arrivals) and (s.conversations is None or s.conversations)]


def run_point(spec: PointSpec, workers: int = 1, on_progress=None) -> list[dict]:
    """Run one load point; returns the worker reports. ``on_progress(done)`` is called about
    every 0.5 s with the number of measured requests finished."""
    if workers <= 1:
        return [run_in_loop(_run_single(spec, on_progress), spec.loop)]
    import multiprocessing as mp

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    specs = split_spec(spec, workers)
    progress_arr = ctx.RawArray("q", len(specs))
    procs, pipes = [], []
    t0 = _clock() + 0.3 + 0.05 * len(specs)
    for w, s in enumerate(specs):
        s.t0 = t0
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
    spec = dataclasses.replace(spec, t0=_clock())
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


