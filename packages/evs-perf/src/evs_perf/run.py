"""``evs perf``: turn a :class:`~evs_perf.config.PerfConfig` into load points, run them, write
and print the results.

Order of a run: parse and check every option (:meth:`PerfConfig.from_options`), load the API,
dataset and tokenizer, build and serialise every request body, check the output folder and the
machine's limits (open files, local ports) — all before any request. Then one probe request,
then the run folder (created exclusively: two runs never share one), then the points.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError, EvsError

from evs_perf import __version__
from evs_perf.config import PerfConfig
from evs_perf.metrics import compute, parse_goodput

#: version of the summary.json / sweep.json layout (docs/perf.md, "Summary schema")
SUMMARY_SCHEMA = "evs-perf/summary"
SUMMARY_SCHEMA_VERSION = 2


class RunError(EvsError):
    """A run that cannot go on or whose every request failed (exit status 1). ``result``: the
    run's outcome when files were written."""

    exit_code = 1
    result: dict | None = None


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

    input_len: int | None = None  # speed benchmark: the point's input length
    trace = False  # trace replay: one point

    @property
    def label(self) -> str:
        if self.input_len is not None:
            return f"in{self.input_len}"
        if self.trace:
            return "trace"
        if self.rate is None:
            return f"c{self.concurrency}"
        r = "inf" if self.rate == float("inf") else f"{self.rate:g}"
        return f"r{r}" + (f"_c{self.concurrency}" if self.concurrency else "")

    @property
    def load(self):
        return self.concurrency if self.rate is None else self.rate


def build_points(cfg: PerfConfig) -> list[Point]:
    concs, rates, reqs = cfg.concurrency, cfg.rate, cfg.requests
    sweep = rates or concs
    points = []
    for i, load in enumerate(sweep):
        if rates:
            conc = concs[i] if len(concs) > 1 else concs[0]
            if not cfg.concurrency_given or cfg.open_loop:  # no cap in open loop unless asked
                conc = 0
            rate = load
        else:
            conc, rate = load, None
        if reqs:
            n = reqs[i] if len(reqs) > 1 else reqs[0]
        elif cfg.duration:
            n = None
        elif rate is None:
            n = max(10, 4 * conc)
        elif rate == float("inf"):
            n = max(10, 4 * conc) if conc else 100
        else:
            n = max(10, int(rate * 10))
        if n is not None and conc > n:  # never more connections than requests
            conc = n
        points.append(Point(conc, n, rate))
    return points


# -- building requests --------------------------------------------------------------------------
def request_headers(cfg: PerfConfig, api, stream: bool) -> dict[str, str]:
    from evs_perf.redact import strip_userinfo

    headers = {"Content-Type": "application/json", "User-Agent": f"evs-perf/{__version__}"}
    if stream:
        headers["Accept"] = "text/event-stream"
    _, userinfo = strip_userinfo(cfg.url)
    if userinfo is not None:
        import base64

        headers["Authorization"] = "Basic " + base64.b64encode(f"{userinfo[0]}:{userinfo[1]}".encode()).decode()
    if cfg.api_key:
        headers["Authorization"] = f"Bearer {cfg.api_key}"
    headers.update(cfg.headers)
    return headers


def extra_body(cfg: PerfConfig) -> dict[str, Any]:
    extra = dict(cfg.extra_body)
    if cfg.ignore_eos:
        extra.setdefault("ignore_eos", True)
    return extra


def encode_body(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def build_payloads(cfg: PerfConfig, api, prompts, endpoint, headers, stream):
    from evs_perf.shaping import shape_body

    extra = extra_body(cfg)
    payloads, planned = [], []
    for p in prompts:
        body = shape_body(cfg, api, p, stream, extra)
        payloads.append(endpoint.request_bytes("POST", endpoint.path, encode_body(body), headers))
        planned.append((p.input_tokens, p.max_tokens))
    exact = all(p.exact for p in prompts) if prompts and prompts[0].input_tokens is not None else None
    return payloads, planned, exact


def _workers(cfg: PerfConfig, point: Point) -> int:
    if cfg.workers is not None:
        return cfg.workers
    cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    if point.rate is None:
        return max(1, min(cpus, 8, point.concurrency // 128))
    if point.rate != float("inf") and point.rate >= 300:
        return max(1, min(cpus, 8, int(point.rate // 300)))
    return 1


def _warmup(cfg: PerfConfig, point: Point) -> int:
    if cfg.warmup_ratio is not None:
        return max(1, int(cfg.warmup_ratio * (point.requests or point.concurrency or 1)))
    if cfg.warmup is not None:
        return cfg.warmup
    return min(point.concurrency, 64) if point.concurrency else 8


# -- checks before any request --------------------------------------------------------------------
def check_output_dir(path: Path) -> None:
    """Refuse an output folder that cannot be created (a file on its path, no permission)."""
    p = path
    while True:
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"--output-dir: {p} is a file, not a folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise ConfigError(f"--output-dir: cannot write in {p}")
            return
        if p.parent == p:
            return
        p = p.parent


def check_limits(points: list[Point], warmups: list[int]) -> None:
    """Connections a point may open (its concurrency; every request at --rate inf without a
    cap) against the open-file limit and the local port range; raises the soft open-file limit
    up to the hard one when that is enough."""
    need = 0
    for p, w in zip(points, warmups, strict=False):
        if p.rate is None or p.concurrency:
            need = max(need, p.concurrency)
        elif p.rate == float("inf") and p.requests is not None:
            need = max(need, p.requests + w)
    if not need:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        soft = hard = None
    margin = 64
    if soft is not None and soft != resource.RLIM_INFINITY and need + margin > soft:
        if hard == resource.RLIM_INFINITY or need + margin <= hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need + margin if hard == resource.RLIM_INFINITY else hard,
                                                        hard))
        else:
            raise ConfigError(f"--concurrency {need} needs {need + margin} open files but the limit is {hard} "
                              "(raise it with ulimit -n, or lower --concurrency)")
    try:
        lo, hi = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        span = hi - lo + 1
    except (OSError, ValueError):
        span = None
    if span is not None and need > span // 2:
        raise ConfigError(f"--concurrency {need} would take more than half of the {span} local ports "
                          f"({lo}-{hi}); lower --concurrency or use more client machines")


def _run_folder(cfg: PerfConfig, model: str) -> tuple[Path, bool]:
    """(folder, explicit). An explicit --name that exists is refused; a generated name gets a
    suffix, so that two runs started in the same second never share a folder."""
    base = Path(cfg.output_dir).expanduser()
    if cfg.name:
        d = base / cfg.name
        if d.exists() and (not d.is_dir() or any(d.iterdir())):
            raise ConfigError(f"--name: {d} already exists; choose another name")
        return d, True
    safe = re.sub(r"[^\w.-]+", "_", model)[:80]
    stem = safe if cfg.no_timestamp else _dt.datetime.now().strftime("%Y%m%d_%H%M%S") + "_" + safe
    return base / stem, False


def _make_run_folder(d: Path, explicit: bool) -> Path:
    d.parent.mkdir(parents=True, exist_ok=True)
    if explicit:
        d.mkdir(exist_ok=True)
        return d
    for k in range(1, 10000):
        cand = d if k == 1 else d.with_name(f"{d.name}_{k}")
        try:
            cand.mkdir()
            return cand
        except FileExistsError:
            continue
    raise RunError(f"cannot create a run folder next to {d}")


# -- the run ------------------------------------------------------------------------------------
def run_perf(options: dict[str, Any] | PerfConfig, pm=None, console=None) -> dict:
    """Run every load point of a configuration (a :class:`PerfConfig`, or a dict of the CLI's
    option names); returns ``{"run_dir", "summaries", "slo"}``."""
    from evs_perf import fanout, outputs, probe, workloads
    from evs_perf.http import Endpoint, HTTPError
    from evs_perf.redact import redact, strip_userinfo
    from evs_perf.registry import perf_registries
    from evs_perf.tokenizer import load_tokenizer

    cfg = PerfConfig.from_options(options)
    secrets = cfg.secrets()
    datasets, apis = perf_registries(pm)
    api_cls = apis.load(cfg.api)
    ds_cls = datasets.load(cfg.dataset)
    slo = None
    if cfg.slo:
        from evs_perf.slo import SLO

        slo = SLO(cfg.slo, cfg.percentiles)
    goodput = parse_goodput(cfg.goodput) or (slo.per_request() if slo else {})
    points = build_points(cfg)
    fanout.loop_factory(cfg.loop)  # a missing uvloop stops the run here
    url, _ = strip_userinfo(cfg.url)
    endpoint_url = resolve_url(url, api_cls.path)
    endpoint = Endpoint(endpoint_url)
    tokenizer = load_tokenizer(cfg.tokenizer)
    say = console.print if console is not None else (lambda *a, **k: None)
    stream = bool(cfg.stream and api_cls.streaming)
    headers = request_headers(cfg, api_cls, stream)
    workload = workloads.plan(cfg, api_cls, ds_cls, tokenizer, points)
    points = workload.points
    workload.prepare(cfg.seed)  # every prompt read or generated now, before any request
    warmups = [_warmup(cfg, p) if workload.warmup is None else workload.warmup for p in points]
    check_limits(points, warmups)
    check_output_dir(Path(cfg.output_dir).expanduser())
    loggers_spec = outputs.check_loggers(cfg)

    model = cfg.model
    if not model:
        try:
            doc = asyncio.run(probe.get_json(models_url(endpoint_url), {k: v for k, v in headers.items()
                                                                         if k not in ("Content-Type", "Accept")},
                                             cfg.connect_timeout))
            model = doc["data"][0]["id"]
        except HTTPError as exc:
            if exc.kind == "connect":
                raise RunError(f"{exc} (--url {redact(cfg.url, secrets)})") from None
            raise ConfigError(redact(f"--model not given and GET {models_url(endpoint_url)} failed: {exc}",
                                     secrets)) from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise ConfigError(f"--model not given and {models_url(endpoint_url)} lists no model") from None
    api = api_cls({"model": model, "temperature": cfg.temperature, "top_p": cfg.top_p, "top_k": cfg.top_k,
                   "min_tokens": cfg.min_tokens, "stop": cfg.stop or None, "stop_token_ids": cfg.stop_token_ids or None,
                   "n_choices": cfg.n_choices, "logprobs": cfg.logprobs, "top_logprobs": cfg.top_logprobs,
                   "frequency_penalty": cfg.frequency_penalty, "presence_penalty": cfg.presence_penalty,
                   "repetition_penalty": cfg.repetition_penalty})
    built = workload.build(api, endpoint, headers, stream, cfg.seed)
    run_dir_planned, explicit = _run_folder(cfg, model)

    # one request first: a wrong URL, model or key stops here with the server's own message
    if cfg.test_connection:
        first = asyncio.run(probe.probe(endpoint_url, built.probe_payload, api, stream, cfg.timeout,
                                        cfg.connect_timeout, cfg.read_timeout))
        if not first.ok:
            err = redact(str(first.error), secrets)
            if first.error_kind == "connect":
                raise RunError(f"{err} (--url {redact(cfg.url, secrets)})")
            if first.error_kind == "timeout":
                raise RunError(f"the first request to {endpoint_url} failed: {err}")
            if first.error_kind == "http_status" and 400 <= first.status < 500:
                raise RunError(f"the first request to {endpoint_url} was refused: {err}")
            say(f"[yellow]warning:[/] the first request failed ({first.error_kind}: {err}); going on, "
                "failures are counted")

    from evs_perf.server_metrics import Scraper, delta

    scraper = Scraper(endpoint_url, headers, cfg.connect_timeout)
    ray = None
    if cfg.ray_address or cfg.ray_workers:  # connect and check the cluster before any file is written
        from evs_perf import ray_fanout

        ray = ray_fanout.connect(cfg.ray_address, cfg.ray_workers or 1)
    run_dir = _make_run_folder(run_dir_planned, explicit)
    name = run_dir.name
    (run_dir / "config.json").write_text(json.dumps(cfg.public(), indent=2, default=str), encoding="utf-8")
    db = outputs.RecordStore(run_dir / "records.sqlite", secrets)
    loggers = outputs.loggers(loggers_spec, name)

    base_meta = {"schema": SUMMARY_SCHEMA, "schema_version": SUMMARY_SCHEMA_VERSION, "backend": api.name,
                 "model_id": model, "tokenizer_id": tokenizer.name if tokenizer else None,
                 "endpoint": endpoint_url, "dataset": cfg.dataset, "stream": stream, "workload": workload.kind,
                 "input_length_exact": built.exact, "evs_perf_version": __version__,
                 "percentiles": cfg.percentiles}

    def run_one(point: Point) -> dict:
        spec = built.spec(point, endpoint_url=endpoint_url, cfg=cfg, warmup=_warmup(cfg, point)
                          if workload.warmup is None else workload.warmup)
        workers = 1 if workload.single_worker else (cfg.ray_workers or _workers(cfg, point))
        progress = outputs.Progress(console, point.label, point.requests, cfg.no_progress)
        before = scraper.scrape()
        cpu0 = time.process_time()
        try:
            if ray is not None:
                reports = ray_fanout.run_point(spec, workers, ray, progress.update)
            else:
                reports = fanout.run_point(spec, workers, progress.update)
        finally:
            progress.close()
        server_metrics = delta(before, scraper.scrape()) if before is not None else None
        parent_cpu = time.process_time() - cpu0 if workers > 1 else None
        summary, measured = compute(reports, percentiles=cfg.percentiles, concurrency=point.concurrency or None,
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
        summary["burstiness"] = 1.0 if cfg.arrival == "poisson" and point.rate is not None else None
        summary["arrival"] = workload.arrival_name(cfg, point)
        if cfg.duration:
            summary["requested_duration"] = cfg.duration
        if len(cfg.concurrency) == 1 and cfg.concurrency[0] > (point.concurrency or 0) and point.rate is None:
            summary["requested_concurrency"] = cfg.concurrency[0]
        summary["server_metrics"] = server_metrics  # vLLM /metrics over the point, warm-up included
        workload.annotate(summary, measured, reports)
        summary["error_examples"] = {k: redact(str(v), secrets) for k, v in summary["error_examples"].items()}
        db.add(point.label, measured, summary)
        outputs.print_point(console, summary)
        for lg in loggers:
            lg.log(summary)
        return summary

    results: dict[str, dict] = {}
    order: list[Point] = []
    slo_result = None
    try:
        for i, point in enumerate(points):
            if i and cfg.sleep_interval:
                time.sleep(cfg.sleep_interval)
            results[point.label] = run_one(point)
            order.append(point)
        if slo is not None and workload.slo_search:
            slo_result = _slo_search(slo, points, results, order, run_one, cfg)
    finally:
        db.close()
        summaries = [results[p.label] for p in order]
        if summaries:
            outputs.write_all(run_dir, summaries, slo_result,
                              html=not cfg.no_html, secrets=secrets, extra_html=workload.html(summaries))
    outputs.print_sweep(console, summaries, slo_result, run_dir)
    for lg in loggers:
        lg.finish()
    if summaries and all(s["completed"] == 0 for s in summaries):
        kinds = {}
        for s in summaries:
            for k, v in s["errors_by_kind"].items():
                kinds[k] = kinds.get(k, 0) + v
        example = next((v for s in summaries for v in s["error_examples"].values()), "")
        err = RunError(f"every request failed ({', '.join(f'{k} {v}' for k, v in kinds.items())}; e.g. {example}); "
                       f"results in {run_dir}")
        err.result = {"run_dir": str(run_dir), "summaries": summaries, "slo": slo_result}
        raise err
    return {"run_dir": str(run_dir), "summaries": summaries, "slo": slo_result}


def _slo_search(slo, points, results, order, run_one, cfg):
    """Check each point; bisect between the highest passing and the next failing load."""
    def verdict(p):
        return slo.check(results[p.label])

    checked = sorted(order, key=lambda p: p.load)
    for _ in range(max(0, cfg.slo_refine)):
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


#: Options of `evs perf` handled by the CLI itself (it starts the server, then calls run_perf).
SERVE_OPTIONS = ("serve_model", "backend", "serve_args", "serve_timeout")


def defaults() -> dict[str, Any]:
    """The CLI's default options, for programmatic use: ``run_perf({**defaults(), "url": ...})``."""
    from evs_perf._cli import perf

    ctx = perf.make_context("perf", [], resilient_parsing=True)
    out = dict(ctx.params)
    out["headers"] = tuple(out.get("headers") or ())
    for key in SERVE_OPTIONS:  # the CLI's --serve-model options start a server around run_perf
        out.pop(key, None)
    return out
