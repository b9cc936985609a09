"""``evs perf``: turn options into load points, run them, write and print the results."""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError

from evs_perf import __version__
from evs_perf.metrics import compute, parse_goodput


class RunError(EvsError):
    exit_code = 1


# -- options ------------------------------------------------------------------------------------
def _num_list(value, name: str, kind=int, allow_inf=False) -> list:
    if value is None:
        return []
    out = []
    for part in str(value).replace(" ", ",").split(","):
        if not part:
            continue
        if allow_inf and part.lower() in ("inf", "infinity"):
            out.append(float("inf"))
            continue
        try:
            v = kind(part)
        except ValueError:
            raise ConfigError(f"{name}: '{part}' is not a number") from None
        if v < 0 or (kind is float and v == 0):
            raise ConfigError(f"{name}: values must be positive, not {part}")
        out.append(v)
    return out


def _headers(values) -> dict[str, str]:
    out = {}
    for v in values or ():
        v = v.strip()
        if v.startswith("{"):
            try:
                obj = json.loads(v)
            except ValueError as exc:
                raise ConfigError(f"--headers: invalid JSON: {exc}") from None
            out.update({str(k): str(x) for k, x in obj.items()})
        else:
            name, sep, value = v.partition(":")
            if not sep or not name.strip():
                raise ConfigError(f"--headers: expected 'Name: value', got {v!r}")
            out[name.strip()] = value.strip()
    return out


def resolve_url(url: str, api_path: str) -> str:
    """A base URL gets the API's path; a URL that already names an endpoint is kept."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--url must be an http(s) URL, not {url!r}")
    path = parts.path.rstrip("/")
    if path in ("",):
        path = api_path
    elif path.endswith("/v1") or path == "/v1":
        path = path[: -len("/v1")] + api_path
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def models_url(endpoint_url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(endpoint_url)
    path = parts.path
    i = path.find("/v1/")
    base = path[:i] if i >= 0 else ""
    return urlunsplit((parts.scheme, parts.netloc, base + "/v1/models", "", ""))


class Point:
    def __init__(self, concurrency, requests, rate):
        self.concurrency = concurrency
        self.requests = requests
        self.rate = rate

    @property
    def label(self) -> str:
        if self.rate is None:
            return f"c{self.concurrency}"
        r = "inf" if self.rate == float("inf") else f"{self.rate:g}"
        return f"r{r}" + (f"_c{self.concurrency}" if self.concurrency else "")

    @property
    def load(self):
        return self.concurrency if self.rate is None else self.rate


def build_points(o) -> list[Point]:
    concs = _num_list(o["concurrency"], "--concurrency") or [1]
    rates = _num_list(o.get("rate"), "--rate", float, allow_inf=True)
    reqs = _num_list(o.get("requests"), "--requests")
    if any(c == 0 for c in concs) and not rates:
        raise ConfigError("--concurrency must be at least 1 in closed loop (0 means 'no cap' only with --rate)")
    sweep = rates or concs
    if rates and len(concs) > 1 and len(concs) != len(rates):
        raise ConfigError("--rate and --concurrency lists must have the same length")
    if reqs and len(reqs) not in (1, len(sweep)):
        raise ConfigError(f"--requests has {len(reqs)} values but the sweep has {len(sweep)} points")
    points = []
    for i, load in enumerate(sweep):
        if rates:
            conc = concs[i] if len(concs) > 1 else concs[0]
            if o["concurrency"] == "1":  # the default: no cap in open loop
                conc = 0
            rate = load
        else:
            conc, rate = load, None
        if reqs:
            n = reqs[i] if len(reqs) > 1 else reqs[0]
        elif o.get("duration"):
            n = None
        elif rate is None:
            n = max(10, 4 * conc)
        elif rate == float("inf"):
            n = max(10, 4 * conc) if conc else 100
        else:
            n = max(10, int(rate * 10))
        points.append(Point(conc, n, rate))
    return points


# -- building requests --------------------------------------------------------------------------
def build_payloads(o, api, dataset, endpoint, n_prompts, seed):
    rng = random.Random(seed)
    prompts = dataset.prompts(n_prompts, rng)
    headers = {"Content-Type": "application/json", "User-Agent": f"evs-perf/{__version__}"}
    if o["stream"] and api.streaming:
        headers["Accept"] = "text/event-stream"
    if o.get("api_key"):
        headers["Authorization"] = f"Bearer {o['api_key']}"
    headers.update(_headers(o.get("headers")))
    extra = {}
    if o.get("extra_body"):
        try:
            extra = json.loads(o["extra_body"])
        except ValueError as exc:
            raise ConfigError(f"--extra-body is not valid JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise ConfigError("--extra-body must be a JSON object")
    if o.get("ignore_eos"):
        extra.setdefault("ignore_eos", True)
    payloads, planned = [], []
    stream = bool(o["stream"] and api.streaming)
    for p in prompts:
        body = api.build_body(p, stream)
        body.update(extra)
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        payloads.append(endpoint.request_bytes("POST", endpoint.path, data, headers))
        planned.append((p.input_tokens, p.max_tokens))
    exact = all(p.exact for p in prompts) if prompts and prompts[0].input_tokens is not None else None
    return payloads, planned, exact, headers


def _workers(o, point: Point) -> int:
    w = o.get("workers") or "auto"
    if str(w) != "auto":
        try:
            n = int(w)
        except ValueError:
            raise ConfigError(f"--workers must be 'auto' or a number, not {w!r}") from None
        if n < 1:
            raise ConfigError("--workers must be at least 1")
        return n
    cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    if point.rate is None:
        return max(1, min(cpus, 8, point.concurrency // 128))
    if point.rate != float("inf") and point.rate >= 300:
        return max(1, min(cpus, 8, int(point.rate // 300)))
    return 1


# -- the run ------------------------------------------------------------------------------------
def run_perf(o: dict[str, Any], pm=None, console=None) -> dict:
    """Run every load point of the options ``o`` (the CLI's option names); returns
    ``{"run_dir", "summaries", "slo"}``."""
    from evs_perf import engine
    from evs_perf.http import Endpoint, HTTPError
    from evs_perf.registry import perf_registries
    from evs_perf.tokenizer import load_tokenizer

    datasets, apis = perf_registries(pm)
    api_cls = apis.load(o["api"])
    ds_cls = datasets.load(o["dataset"])
    percentiles = sorted(set(_num_list(o.get("percentiles") or "50,90,95,99,99.9", "--percentiles", float)))
    if any(p > 100 for p in percentiles):
        raise ConfigError("--percentiles must lie between 0 and 100")
    slo = None
    if o.get("slo"):
        from evs_perf.slo import SLO

        slo = SLO(o["slo"])
    goodput = parse_goodput(o.get("goodput")) or (slo.per_request() if slo else {})
    points = build_points(o)
    engine.loop_factory(o.get("loop"))  # a missing uvloop stops the run here
    for t in ("timeout", "connect_timeout"):
        if o.get(t) is not None and o[t] <= 0:
            raise ConfigError(f"--{t.replace('_', '-')} must be positive")
    endpoint_url = resolve_url(o["url"], api_cls.path)
    endpoint = Endpoint(endpoint_url)
    tokenizer = load_tokenizer(o.get("tokenizer"))
    say = console.print if console is not None else (lambda *a, **k: None)

    model = o.get("model")
    if not model:
        try:
            doc = asyncio.run(engine.get_json(models_url(endpoint_url), _headers(o.get("headers")) | (
                {"Authorization": f"Bearer {o['api_key']}"} if o.get("api_key") else {}), o["connect_timeout"]))
            model = doc["data"][0]["id"]
        except HTTPError as exc:
            if exc.kind == "connect":
                raise RunError(f"{exc} (--url {o['url']})") from None
            raise ConfigError(f"--model not given and GET {models_url(endpoint_url)} failed: {exc}") from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise ConfigError(f"--model not given and {models_url(endpoint_url)} lists no model") from None
    api = api_cls({"model": model, "temperature": o.get("temperature"), "top_p": o.get("top_p"),
                   "top_k": o.get("top_k")})
    ds_config = {k: o.get(k) for k in ("input_tokens", "max_tokens", "min_tokens", "prefix_tokens", "dataset_path",
                                       "image_count", "image_size")}
    dataset = ds_cls(ds_config, tokenizer)
    max_req = max((p.requests or 0) for p in points) or 2000
    n_prompts = o.get("num_prompts") or min(max(max_req, 1), 2000)
    payloads, planned, exact, _ = build_payloads(o, api, dataset, endpoint, n_prompts, o["seed"])
    stream = bool(o["stream"] and api.streaming)

    # one request first: a wrong URL, model or key stops here with the server's own message
    first = asyncio.run(engine.probe(endpoint_url, payloads[0], api, stream, o["timeout"], o["connect_timeout"],
                                     o.get("read_timeout")))
    if not first.ok:
        if first.error_kind == "connect":
            raise RunError(f"{first.error} (--url {o['url']})")
        if first.error_kind == "timeout":
            raise RunError(f"the first request to {endpoint_url} failed: {first.error}")
        if first.error_kind == "http_status" and 400 <= first.status < 500:
            raise RunError(f"the first request to {endpoint_url} was refused: {first.error}")
        say(f"[yellow]warning:[/] the first request failed ({first.error_kind}: {first.error}); going on, "
            "failures are counted")

    name = o.get("name") or (_dt.datetime.now().strftime("%Y%m%d_%H%M%S") + "_" + re.sub(r"[^\w.-]+", "_", model))
    run_dir = Path(o["output_dir"]).expanduser() / name
    run_dir.mkdir(parents=True, exist_ok=True)
    from evs_perf import outputs

    public = {k: v for k, v in o.items()}
    if public.get("api_key"):
        public["api_key"] = "***"
    (run_dir / "config.json").write_text(json.dumps(public, indent=2, default=str), encoding="utf-8")
    db = outputs.RecordStore(run_dir / "records.sqlite")
    loggers = outputs.loggers(o, name)

    base_meta = {"backend": api.name, "model_id": model, "tokenizer_id": tokenizer.name if tokenizer else None,
                 "endpoint": endpoint_url, "dataset": o["dataset"], "stream": stream,
                 "input_length_exact": exact, "evs_perf_version": __version__, "percentiles": percentiles}

    def run_one(point: Point) -> dict:
        spec = {"url": endpoint_url, "api": api, "stream": stream, "payloads": payloads, "planned": planned,
                "timeout": o["timeout"], "read_timeout": o.get("read_timeout"),
                "connect_timeout": o["connect_timeout"], "concurrency": point.concurrency,
                "requests": point.requests, "duration": o.get("duration"), "ramp_up": o.get("ramp_up") or 0.0,
                "rate": point.rate, "arrivals": None, "loop": o.get("loop")}
        warm = o.get("warmup")
        spec["warmup"] = warm if warm is not None else (min(point.concurrency, 64) if point.concurrency else 8)
        if point.rate is not None:
            n = point.requests if point.requests is not None else int(
                (point.rate if point.rate != float("inf") else 1000) * o["duration"] * 2 + 10)
            spec["arrivals"] = engine.arrivals(n, point.rate, o["arrival"], o["seed"])
        workers = _workers(o, point)
        total = point.requests
        progress = outputs.Progress(console, point.label, total, o.get("no_progress"))
        cpu0 = time.process_time()
        try:
            reports = engine.run_point(spec, workers, progress.update)
        finally:
            progress.close()
        parent_cpu = time.process_time() - cpu0 if workers > 1 else None
        summary, measured = compute(reports, percentiles=percentiles, concurrency=point.concurrency or None,
                                    rate=point.rate, tokenizer=tokenizer, goodput=goodput)
        if parent_cpu is not None:
            c = summary["client"]
            c["cpu_seconds"] += parent_cpu
            c["parent_cpu_seconds"] = parent_cpu
            if measured:
                c["cpu_ms_per_request"] = c["cpu_seconds"] * 1000 / len(measured)
            if summary["duration"]:
                c["cpu_cores"] = c["cpu_seconds"] / summary["duration"]
        summary.update(base_meta)
        summary["date"] = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        summary["label"] = point.label
        summary["burstiness"] = 1.0 if o.get("arrival") == "poisson" else None
        summary["arrival"] = o.get("arrival") if point.rate is not None else "closed-loop"
        if o.get("duration"):
            summary["requested_duration"] = o["duration"]
        db.add(point.label, measured, summary)
        outputs.print_point(console, summary)
        for lg in loggers:
            lg.log(summary)
        return summary

    results: dict[str, dict] = {}
    order: list[Point] = []
    for point in points:
        results[point.label] = run_one(point)
        order.append(point)
    slo_result = None
    if slo is not None:
        slo_result = _slo_search(slo, points, results, order, run_one, o)
    db.close()
    summaries = [results[p.label] for p in order]
    outputs.write_all(run_dir, summaries, slo_result, html=not o.get("no_html"))
    outputs.print_sweep(console, summaries, slo_result, run_dir)
    for lg in loggers:
        lg.finish()
    return {"run_dir": str(run_dir), "summaries": summaries, "slo": slo_result}


def _slo_search(slo, points, results, order, run_one, o):
    """Check each point; bisect between the highest passing and the next failing load."""
    def verdict(p):
        return slo.check(results[p.label])

    checked = sorted(order, key=lambda p: p.load)
    for _ in range(max(0, o.get("slo_refine") or 0)):
        passing = [p for p in checked if verdict(p)[0]]
        failing = [p for p in checked if not verdict(p)[0]]
        if not passing or not failing:
            break
        lo = max(passing, key=lambda p: p.load)
        above = [p for p in failing if p.load > lo.load]
        if not above:
            break
        hi = min(above, key=lambda p: p.load)
        if lo.rate is None:
            mid = (lo.concurrency + hi.concurrency) // 2
            if mid <= lo.concurrency:
                break
            n = max(lo.requests or 0, 4 * mid) if lo.requests is not None else None
            new = Point(mid, n, None)
        else:
            if hi.rate == float("inf"):
                break
            mid = round((lo.rate + hi.rate) / 2, 3)
            if hi.rate - lo.rate < 0.05 * hi.rate:
                break
            n = max(10, int(mid * 10)) if lo.requests is not None else None
            new = Point(lo.concurrency, n, mid)
        results[new.label] = run_one(new)
        order.append(new)
        checked = sorted(order, key=lambda p: p.load)
    rows = []
    best = None
    for p in checked:
        ok, why = verdict(p)
        rows.append({"label": p.label, "load": p.load if p.load != float("inf") else "inf", "met": ok,
                     "violations": why})
        if ok and (best is None or p.load > best.load):
            best = p
    key = "concurrency" if points[0].rate is None else "rate"
    return {"slo": slo.text, "load_key": key, "max_load": None if best is None else best.load,
            "max_load_label": None if best is None else best.label, "points": rows}


def run_cli(options: dict, pm=None) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    if pm is None:
        from evs_core.plugins import make_plugin_manager

        pm = make_plugin_manager()
    run_perf(options, pm, console)


def defaults() -> dict[str, Any]:
    """The CLI's default options, for programmatic use: ``run_perf({**defaults(), "url": ...})``."""
    from evs_perf._cli import perf

    ctx = perf.make_context("perf", [], resilient_parsing=True)
    out = dict(ctx.params)
    out["headers"] = tuple(out.get("headers") or ())
    return out


_ = (math, sys)
