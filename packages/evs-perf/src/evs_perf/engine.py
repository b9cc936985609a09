"""The load generator, as one import: the pieces live in their own modules.

* :mod:`evs_perf.sse` — reading responses (SSE streams as they arrive, whole bodies);
* :mod:`evs_perf.workers` — request records, workers and load patterns (closed loop, open
  loop, trace replay, multi-turn conversations), client-lag probes;
* :mod:`evs_perf.fanout` — event-loop choice and the fan-out of a point over worker processes;
* :mod:`evs_perf.probe` — the unmeasured first request and ``GET /v1/models``.
"""

from __future__ import annotations

from evs_perf.fanout import loop_factory, run_in_loop, run_point, split_spec
from evs_perf.probe import get_json, probe
from evs_perf.sse import StreamSink, WholeSink, http_error_message
from evs_perf.workers import Result, Worker, arrivals

__all__ = ["Result", "StreamSink", "WholeSink", "Worker", "arrivals", "get_json", "http_error_message",
           "loop_factory", "probe", "run_in_loop", "run_point", "split_spec"]
