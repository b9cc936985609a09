"""Metrics of one load point, computed from request records (definitions in docs/perf.md).

* TTFT: request start -> first chunk with non-empty content or reasoning (a role-only chunk does
  not count). Request start is when a slot or the arrival dispatcher took the request up, so
  queue wait (open loop with a concurrency cap) and connection set-up are included; both are
  also reported on their own (``queue``, ``connect``).
* E2EL: request start -> last byte of the response.
* TPOT per request: (E2EL - TTFT) / (output_tokens - 1), for requests with at least 2 tokens.
* chunk_gap: the time between consecutive content chunks (what ``vllm bench serve`` calls ITL).
* ITL: per-token inter-token latency: each chunk gap divided by the tokens per chunk of its
  request (output_tokens / content_chunks). Equal to chunk_gap when each chunk holds one token.
* Throughput over the measured window (first measured start -> last measured end).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from itertools import repeat
from operator import mul, sub

LATENCY_METRICS = ("ttft", "tpot", "itl", "chunk_gap", "e2el", "connect", "queue")


try:  # the shared statistics module, where evs-core has perf's definition there
    from evs_core.stats import percentile
except ImportError:
    def percentile(sorted_xs, p: float) -> float | None:
        """Linear interpolation between closest ranks (numpy's default)."""
        n = len(sorted_xs)
        if n == 0:
            return None
        k = (n - 1) * p / 100.0
        lo = math.floor(k)
        hi = min(lo + 1, n - 1)
        return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (k - lo)


def pword(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else str(p)


def describe(xs, percentiles, scale=1.0) -> dict:
    xs = sorted(x * scale for x in xs)
    n = len(xs)
    if n == 0:
        return {"n": 0, "mean": None, "median": None, "std": None, "min": None, "max": None,
                **{f"p{pword(p)}": None for p in percentiles}}
    mean = math.fsum(xs) / n
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / n)
    return {"n": n, "mean": mean, "median": percentile(xs, 50), "std": std, "min": xs[0], "max": xs[-1],
            **{f"p{pword(p)}": percentile(xs, p) for p in percentiles}}


def _count_tokens(r, tokenizer):
    """Fill output token counts of a record without usage: tokenizer, else chunks (flagged)."""
    if r.completion_tokens is not None:
        return
    if tokenizer is not None and r.text is not None:
        r.completion_tokens = tokenizer.count(r.text)
        r.token_source = "tokenizer"
    elif r.chunk_times is not None:
        r.completion_tokens = len(r.chunk_times)
        r.token_source = "chunks"
    if r.prompt_tokens is None and r.planned_input is not None:
        r.prompt_tokens = r.planned_input


def per_request(r) -> dict:
    ttft = r.t_first - r.t_start
    e2el = r.t_end - r.t_start
    n = r.completion_tokens or 0
    tpot = (e2el - ttft) / (n - 1) if n > 1 else None
    return {"ttft": ttft, "e2el": e2el, "tpot": tpot}


def parse_goodput(spec: str | None) -> dict[str, float]:
    """``'ttft:500,tpot:50,e2el:2000'`` (ms) -> {metric: seconds}."""
    from evs_core.errors import ConfigError

    out = {}
    if not spec:
        return out
    for part in spec.replace(" ", ",").split(","):
        if not part:
            continue
        name, _, value = part.partition(":")
        if name not in ("ttft", "tpot", "e2el"):
            raise ConfigError(f"--goodput: unknown metric '{name}' (use ttft, tpot, e2el)")
        try:
            out[name] = float(value) / 1000.0
        except ValueError:
            raise ConfigError(f"--goodput: bad value for {name}: {value!r} (milliseconds)") from None
    return out


def _steady(measured, concurrency):
    """The window after the ramp (the first ``concurrency`` completions) and before the drain
    (the last request start): requests that started inside it."""
    if not measured or not concurrency:
        return None
    ends = sorted(r.t_end for r in measured)
    if len(ends) <= concurrency:
        return None
    t_a = ends[concurrency - 1]
    t_b = max(r.t_start for r in measured)
    if t_b <= t_a:
        return None
    inside = [r for r in measured if t_a <= r.t_start <= t_b]
    return t_a, t_b, inside


def compute(reports: list[dict], *, percentiles, concurrency, rate, tokenizer=None, goodput=None,
            wall_cpu=None) -> tuple[dict, list]:
    """Summary dict (vLLM-compatible keys plus evs fields) and the measured records."""
    records = [r for rep in reports for r in rep["results"]]
    measured = [r for r in records if not r.warmup]
    ok = [r for r in measured if r.ok]
    failed = [r for r in measured if not r.ok]
    for r in ok:
        _count_tokens(r, tokenizer)
    ttft, e2el, tpot, itl, gaps, connect, queue = [], [], [], array("d"), array("d"), [], []
    good = 0
    goodput = goodput or {}
    for r in ok:
        m = per_request(r)
        ttft.append(m["ttft"])
        e2el.append(m["e2el"])
        if m["tpot"] is not None:
            tpot.append(m["tpot"])
        times = r.chunk_times
        if times is not None and len(times) > 1:
            k = (r.completion_tokens or len(times)) / len(times)
            k = k if k > 0 else 1.0
            g = array("d", map(sub, times[1:], times[:-1]))  # C-level loops: this runs per request
            gaps.extend(g)
            itl.extend(map(mul, g, repeat(1.0 / k, len(g))))
        if goodput and all(m.get(name) is not None and m[name] <= lim for name, lim in goodput.items()):
            good += 1
    for r in measured:
        connect.append(r.connect)
        queue.append(r.queue)
    if measured:
        t_begin = min(r.t_start for r in measured)
        t_stop = max(r.t_end for r in measured)
        duration = max(t_stop - t_begin, 1e-9)
    else:
        t_begin = t_stop = 0.0
        duration = 0.0
    in_tokens = sum(r.prompt_tokens or 0 for r in ok)
    out_tokens = sum(r.completion_tokens or 0 for r in ok)
    sources = {"usage": 0, "tokenizer": 0, "chunks": 0, "none": 0}
    for r in ok:
        sources[r.token_source or "none"] += 1

    s: dict = {
        "date": None, "backend": None, "model_id": None, "tokenizer_id": None,
        "num_prompts": len(measured),
        "request_rate": rate if rate is not None else "inf",
        "max_concurrency": concurrency,
        "duration": duration,
        "completed": len(ok),
        "failed": len(failed),
        "total_input_tokens": in_tokens,
        "total_output_tokens": out_tokens,
        "request_throughput": len(ok) / duration if duration else 0.0,
        "request_goodput": good / duration if goodput and duration else None,
        "output_throughput": out_tokens / duration if duration else 0.0,
        "total_token_throughput": (in_tokens + out_tokens) / duration if duration else 0.0,
    }
    cached = [r for r in ok if r.cached_tokens is not None]
    s["total_cached_tokens"] = sum(r.cached_tokens for r in cached) if cached else None
    cached_in = sum(r.prompt_tokens or 0 for r in cached)
    # share of prompt tokens the server served from its prefix cache (usage.prompt_tokens_details)
    s["prefix_cache_hit_rate"] = s["total_cached_tokens"] / cached_in if cached and cached_in else None
    s["max_output_tokens_per_s"], s["max_concurrent_requests"] = _peaks(ok, measured)
    stats = {}
    for name, xs in (("ttft", ttft), ("tpot", tpot), ("itl", itl), ("chunk_gap", gaps), ("e2el", e2el),
                     ("connect", connect), ("queue", queue)):
        d = describe(xs, percentiles, 1000.0)
        stats[name] = d
        for key in ("mean", "median", "std", "min", "max"):
            s[f"{key}_{name}_ms"] = d[key]
        for p in percentiles:
            s[f"p{pword(p)}_{name}_ms"] = d[f"p{pword(p)}"]
    s["input_lens"] = describe([r.prompt_tokens or 0 for r in ok], percentiles)
    s["output_lens"] = describe([r.completion_tokens or 0 for r in ok], percentiles)
    errors: dict[str, int] = {}
    for r in failed:
        errors[r.error_kind] = errors.get(r.error_kind, 0) + 1
    s["errors_by_kind"] = errors
    s["error_examples"] = {k: next(r.error for r in failed if r.error_kind == k) for k in errors}
    s["token_source"] = sources
    s["tokens_from_usage"] = sources["usage"] == len(ok)
    s["warmup_requests"] = len(records) - len(measured)

    # steady state
    st = _steady(measured, concurrency if concurrency else None)
    if st is not None:
        t_a, t_b, inside = st
        inside_ok = [r for r in inside if r.ok]
        done_in = sum(1 for r in ok if t_a <= r.t_end <= t_b)
        toks_in = sum(r.completion_tokens or 0 for r in ok if t_a <= r.t_end <= t_b)
        s["steady"] = {"start_s": t_a - t_begin, "end_s": t_b - t_begin, "requests": len(inside_ok),
                       "request_throughput": done_in / (t_b - t_a), "output_throughput": toks_in / (t_b - t_a),
                       "median_ttft_ms": describe([per_request(r)["ttft"] for r in inside_ok], [], 1000.0)["median"],
                       "median_tpot_ms": describe([x for x in (per_request(r)["tpot"] for r in inside_ok)
                                                   if x is not None], [], 1000.0)["median"],
                       "median_e2el_ms": describe([per_request(r)["e2el"] for r in inside_ok], [], 1000.0)["median"]}
    else:
        s["steady"] = None

    # client health
    lags = array("d")
    sched = array("d")
    cpu = 0.0
    for rep in reports:
        lags.extend(rep["lags"])
        sched.extend(rep.get("sched_lags", ()))
        cpu += rep["cpu"]
    if wall_cpu is not None:
        cpu = max(cpu, wall_cpu)
    lag = describe(lags, [50, 90, 99], 1000.0)
    first = describe([x for rep in reports for x in rep.get("first_lags", ())], [90], 1000.0)
    client = {
        "workers": len(reports),
        "loop": reports[0].get("loop") if reports else None,
        "cpu_seconds": cpu,
        "cpu_ms_per_request": cpu * 1000.0 / len(measured) if measured else None,
        "cpu_cores": cpu / duration if duration else None,
        "loop_lag_median_ms": lag["median"], "loop_lag_p90_ms": lag["p90"], "loop_lag_p99_ms": lag["p99"],
        "loop_lag_max_ms": lag["max"],
        "first_token_read_lag_median_ms": first["median"], "first_token_read_lag_p90_ms": first["p90"],
        "dispatch_lag_median_ms": describe(sched, [], 1000.0)["median"] if sched else None,
        "cpu_wait_per_wakeup_ms": None, "cpu_wait_share": None,
    }
    waits = [rep["cpu_wait"] for rep in reports if rep.get("cpu_wait")]
    if waits and duration:
        # how long a worker waited for a CPU each time it became runnable (mean), and the share
        # of the window it spent waiting: time-slice contention that the loop probe cannot see
        client["cpu_wait_per_wakeup_ms"] = max(ns / max(1, runs) for ns, runs in waits) / 1e6
        client["cpu_wait_share"] = max(ns for ns, _ in waits) / 1e9 / duration
    reasons = []
    med_ttft = stats["ttft"]["median"]
    p90 = lag["p90"] or 0.0
    if p90 > 1.0:
        reasons.append(f"event-loop lag p90 {p90:.2f} ms > 1 ms")
    elif med_ttft and p90 > 0.05 * med_ttft and p90 > 0.2:
        reasons.append(f"event-loop lag p90 {p90:.2f} ms > 5% of median TTFT ({med_ttft:.2f} ms)")
    fl = first["median"] or 0.0
    if fl > 1.0 or (med_ttft and fl > 0.05 * med_ttft and fl > 0.2):
        reasons.append(f"first tokens were read {fl:.2f} ms (median) after the first read of their event-loop "
                       "iteration")
    wait = client["cpu_wait_per_wakeup_ms"] or 0.0
    if wait > 1.0 or (med_ttft and wait > 0.05 * med_ttft and wait > 0.2):
        reasons.append(f"a client worker waited {wait:.2f} ms for a CPU per wake-up (other processes on its cores)")
    per_worker_cores = (client["cpu_cores"] or 0.0) / max(1, len(reports))
    if per_worker_cores > 0.9:
        reasons.append(f"client worker CPU at {per_worker_cores:.0%} of a core")
    client["client_bound"] = bool(reasons)
    client["client_bound_reason"] = "; ".join(reasons) or None
    s["client"] = client
    s["client_bound"] = client["client_bound"]
    s["_stats"] = stats
    return s, measured


def _peaks(ok, measured):
    """Peak output tokens/s over 1-second bins and peak requests in flight."""
    bins: dict[int, float] = {}
    for r in ok:
        times = r.chunk_times
        if not times:
            continue
        k = (r.completion_tokens or len(times)) / len(times)
        for b, c in Counter(map(int, times)).items():
            bins[b] = bins.get(b, 0.0) + c * k
    peak_tokens = max(bins.values()) if bins else 0.0
    events = sorted([(r.t_start, 1) for r in measured] + [(r.t_end, -1) for r in measured])
    cur = peak = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak_tokens, peak
