"""``evs perf --ray-address ... --ray-workers N``: one load point over N load generators on Ray.

Each Ray worker runs evs-perf's own client (:class:`~evs_perf.workers.Worker`, the same engine
and the same definitions as a local run) on its share of the point (:func:`~evs_perf.fanout.split_spec`):
concurrency, requests, warm-up and open-loop arrivals are divided as among local processes. All
workers start at one wall-clock instant chosen by the driver a moment ahead; each converts it to
its own ``perf_counter`` and, when done, returns its raw report together with the offset between
its ``perf_counter`` and the wall clock. The driver moves every absolute time of every record onto
its own clock, so the merged records are measured on one timeline and the percentiles are
computed over all requests exactly (never averaged per worker); a worker whose event loop lagged
marks the point client-bound as a local worker does. Per-request metrics (TTFT, TPOT, ITL,
latency) are differences of times taken on one machine and do not depend on the clocks'
agreement; only the alignment of the workers' start does (as good as the nodes' NTP sync).

Ray is optional (``pip install "evs-perf[ray]"``) and imported only here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from array import array
from typing import Any

from evs_core.errors import ConfigError, EvsError

from evs_perf.config import PointSpec

#: Seconds between the driver choosing the start instant (all generators ready) and the start.
START_LEAD_S = 0.5
_ABSOLUTE = ("t_start", "t_first", "t_end", "t_sched")


def connect(address: str | None, workers: int) -> Any:
    """Connect (or start a local Ray), and check the cluster can hold ``workers`` generators."""
    from evs_core.ray_cluster import connect as connect_cluster

    ray, _ = connect_cluster(address, "evs-perf[ray]")
    cpus = ray.cluster_resources().get("CPU", 0)
    if workers > cpus:
        raise ConfigError(f"--ray-workers {workers}: the Ray cluster has {cpus:g} CPUs (one per load generator)")
    return ray


class _Generator:
    """A load generator on a Ray worker (wrapped by ``ray.remote`` at run time)."""

    def ready(self) -> bool:
        from evs_perf import fanout, workers  # noqa: F401 - imported before the shared start instant

        return True

    def run(self, spec: PointSpec, worker_id: int, start_wall: float) -> tuple[dict, float]:
        """Wait for the shared instant, run the share, report with this clock's offset."""
        from evs_perf.fanout import run_in_loop
        from evs_perf.workers import Worker

        offset = time.perf_counter() - time.time()  # this process's perf_counter minus the wall clock
        spec = dataclasses.replace(spec, t0=start_wall + offset)
        report = run_in_loop(Worker(spec, worker_id, None).run(), spec.loop)
        return report, offset


def _shift(report: dict, delta: float) -> dict:
    """Move a worker report's absolute perf_counter times by ``delta`` seconds."""
    if not delta:
        return report
    for r in report["results"]:
        for name in _ABSOLUTE:
            v = getattr(r, name, None)
            if v is not None:
                setattr(r, name, v + delta)
        if r.chunk_times is not None:
            r.chunk_times = array("d", (t + delta for t in r.chunk_times))
    for key in ("t_measure_start", "t_base"):
        if report.get(key) is not None:
            report[key] += delta
    return report


def run_point(spec: PointSpec, workers: int, ray, on_progress=None) -> list[dict]:
    """One load point over ``workers`` Ray load generators; the reports are on the driver's clock."""
    from evs_perf.fanout import split_spec

    specs = split_spec(spec, workers)
    gen = ray.remote(num_cpus=1, max_restarts=0)(_Generator)
    actors = [gen.remote() for _ in specs]
    try:
        ray.get([a.ready.remote() for a in actors])  # every generator is up before the clock starts
        start_wall = time.time() + START_LEAD_S
        results = ray.get([a.run.remote(s, w, start_wall) for w, (a, s) in enumerate(zip(actors, specs, strict=True))])
    except ray.exceptions.RayError as exc:
        text = [ln for ln in str(exc).splitlines() if ln.strip()]
        missing = next((ln.strip() for ln in text if "No module named" in ln), None)
        if missing:
            raise EvsError(f"evs-perf is not installed on the Ray workers ({missing})") from None
        raise EvsError(f"a Ray load generator failed: {text[-1] if text else exc}") from None
    finally:
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
    mine = time.perf_counter() - time.time()
    reports = [_shift(report, mine - offset) for report, offset in results]
    if on_progress is not None:
        on_progress(sum(1 for rep in reports for r in rep["results"] if not r.warmup))
    return reports
