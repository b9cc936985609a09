"""Result files, terminal tables, live progress and optional experiment loggers.

Files in the run folder:

* ``summary.json`` (one point) or ``summary_<label>.json`` per point, plus ``sweep.json``:
  keys follow ``vllm bench serve``'s result JSON (``completed``, ``mean_ttft_ms`` …) plus evs
  fields (``client``, ``steady``, ``errors_by_kind``, ``token_source`` …);
* ``percentiles.json``: per point, every latency metric at every ``--percentiles`` value;
* ``records.sqlite``: one row per measured request (table ``requests``) and the summaries
  (table ``points``);
* ``report.html``: plots of latency and throughput against load, and percentile curves;
* ``config.json``: the options of the run (API key masked).
"""

from __future__ import annotations

import html
import json
import sqlite3
import time
from array import array
from itertools import repeat
from operator import mul, sub
from pathlib import Path

from evs_core.errors import require

from evs_perf.redact import redact, redact_obj


def _public(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if not k.startswith("_")}


class RecordStore:
    def __init__(self, path: Path, secrets=()):
        self.secrets = list(secrets)
        self.db = sqlite3.connect(str(path))
        self.db.executescript("""
        CREATE TABLE IF NOT EXISTS requests (
            point TEXT, idx INTEGER, worker INTEGER, ok INTEGER, error_kind TEXT, error TEXT, status INTEGER,
            start_s REAL, queue_ms REAL, connect_ms REAL, ttft_ms REAL, e2el_ms REAL, tpot_ms REAL,
            prompt_tokens INTEGER, completion_tokens INTEGER, token_source TEXT, planned_input INTEGER,
            planned_output INTEGER, n_chunks INTEGER,
            chunk_ms BLOB,  -- float32 array: arrival of each content chunk, ms after the request start
            cached_tokens INTEGER, conv INTEGER, turn INTEGER
        );
        CREATE TABLE IF NOT EXISTS points (label TEXT PRIMARY KEY, summary TEXT);
        """)

    def add(self, label: str, measured, summary: dict):
        t0 = min((r.t_start for r in measured), default=0.0)
        rows = []
        for r in measured:
            ttft = (r.t_first - r.t_start) * 1000 if r.t_first is not None else None
            e2el = (r.t_end - r.t_start) * 1000 if r.t_end is not None else None
            n = r.completion_tokens or 0
            tpot = (e2el - ttft) / (n - 1) if r.ok and n > 1 else None
            chunks = None
            if r.chunk_times is not None:
                rel = map(sub, r.chunk_times, repeat(r.t_start, len(r.chunk_times)))
                chunks = array("f", map(mul, rel, repeat(1000.0, len(r.chunk_times)))).tobytes()
            err = redact(r.error, self.secrets) if r.error else r.error
            rows.append((label, r.index, r.worker, int(r.ok), r.error_kind, err, r.status,
                         r.t_start - t0, r.queue * 1000, r.connect * 1000, ttft, e2el, tpot, r.prompt_tokens,
                         r.completion_tokens, r.token_source, r.planned_input, r.planned_output,
                         len(r.chunk_times) if r.chunk_times is not None else None, chunks,
                         r.cached_tokens, r.conv, r.turn))
        self.db.executemany(f"INSERT INTO requests VALUES ({','.join('?' * 23)})", rows)
        self.db.execute("INSERT OR REPLACE INTO points VALUES (?, ?)",
                        (label, json.dumps(redact_obj(_public(summary), self.secrets))))
        self.db.commit()

    def close(self):
        self.db.close()


# -- files --------------------------------------------------------------------------------------
def write_all(run_dir: Path, summaries: list[dict], slo_result, html: bool = True, secrets=(), extra_html=""):
    run_dir = Path(run_dir)
    summaries = [{**redact_obj(_public(s), secrets), "_stats": s["_stats"]} for s in summaries]
    if len(summaries) == 1:
        (run_dir / "summary.json").write_text(json.dumps(_public(summaries[0]), indent=2), encoding="utf-8")
    else:
        for s in summaries:
            (run_dir / f"summary_{s['label']}.json").write_text(json.dumps(_public(s), indent=2), encoding="utf-8")
    from evs_perf.run import SUMMARY_SCHEMA, SUMMARY_SCHEMA_VERSION

    sweep = {"schema": "evs-perf/sweep", "schema_version": SUMMARY_SCHEMA_VERSION, "summary_schema": SUMMARY_SCHEMA,
             "points": [_public(s) for s in summaries], "slo": slo_result}
    (run_dir / "sweep.json").write_text(json.dumps(sweep, indent=2), encoding="utf-8")
    pct = {}
    for s in summaries:
        ps = s["percentiles"]
        pct[s["label"]] = {"percentiles": ps, **{
            f"{m}_ms": [s["_stats"][m][f"p{_pw(p)}"] for p in ps] for m in s["_stats"]},
            "input_tokens": [s["input_lens"][f"p{_pw(p)}"] for p in ps],
            "output_tokens": [s["output_lens"][f"p{_pw(p)}"] for p in ps]}
    (run_dir / "percentiles.json").write_text(json.dumps(pct, indent=2), encoding="utf-8")
    if html:
        text = render_html(summaries, slo_result, extra_html)
        (run_dir / "report.html").write_text(redact(text, secrets), encoding="utf-8")


def _pw(p):
    from evs_perf.metrics import pword

    return pword(p)


# -- HTML ---------------------------------------------------------------------------------------
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _svg_lines(title, xlabel, ylabel, series, w=460, h=280, logx=False):
    """A small line chart: series = [(name, [(x, y), ...])]."""
    pts = [(x, y) for _, xs in series for x, y in xs if x is not None and y is not None]
    if not pts:
        return f"<div class='chart'><b>{html.escape(title)}</b><p>no data</p></div>"
    import math

    fx = (lambda v: math.log10(v)) if logx and all(x > 0 for x, _ in pts) else (lambda v: v)
    x0, x1 = min(fx(x) for x, _ in pts), max(fx(x) for x, _ in pts)
    y0, y1 = 0.0, max(y for _, y in pts) * 1.05 or 1.0
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    L, R, T, B = 55, 10, 25, 40

    def sx(v):
        return L + (fx(v) - x0) / (x1 - x0) * (w - L - R)

    def sy(v):
        return h - B - (v - y0) / (y1 - y0) * (h - T - B)

    out = [f"<svg width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg' font-size='11' font-family='sans-serif'>",
           f"<text x='{w / 2}' y='15' text-anchor='middle' font-weight='bold'>{html.escape(title)}</text>",
           f"<line x1='{L}' y1='{h - B}' x2='{w - R}' y2='{h - B}' stroke='#333'/>",
           f"<line x1='{L}' y1='{T}' x2='{L}' y2='{h - B}' stroke='#333'/>",
           f"<text x='{w / 2}' y='{h - 5}' text-anchor='middle'>{html.escape(xlabel)}</text>",
           f"<text x='12' y='{h / 2}' transform='rotate(-90 12 {h / 2})' text-anchor='middle'>{html.escape(ylabel)}</text>"]
    for i in range(5):
        yv = y0 + (y1 - y0) * i / 4
        out.append(f"<text x='{L - 4}' y='{sy(yv) + 4:.1f}' text-anchor='end'>{yv:.3g}</text>")
        out.append(f"<line x1='{L}' y1='{sy(yv):.1f}' x2='{w - R}' y2='{sy(yv):.1f}' stroke='#eee'/>")
    xs_all = sorted({x for x, _ in pts})
    for xv in xs_all if len(xs_all) <= 8 else xs_all[:: max(1, len(xs_all) // 6)]:
        out.append(f"<text x='{sx(xv):.1f}' y='{h - B + 14}' text-anchor='middle'>{xv:.3g}</text>")
    for k, (name, xy) in enumerate(series):
        xy = [(x, y) for x, y in xy if x is not None and y is not None]
        if not xy:
            continue
        c = _COLORS[k % len(_COLORS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in xy)
        out.append(f"<polyline fill='none' stroke='{c}' stroke-width='1.8' points='{path}'/>")
        if len(xy) < 30:
            out += [f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='2.5' fill='{c}'/>" for x, y in xy]
        out.append(f"<text x='{w - R - 4}' y='{T + 12 + 13 * k}' text-anchor='end' fill='{c}'>{html.escape(name)}</text>")
    out.append("</svg>")
    return "<div class='chart'>" + "".join(out) + "</div>"


def render_html(summaries: list[dict], slo_result, extra_html: str = "") -> str:
    def load(s):
        r = s["request_rate"]
        return s["max_concurrency"] if r == "inf" or r is None else r

    xlabel = "concurrency" if summaries[0]["request_rate"] in ("inf", None) else "request rate (req/s)"
    charts = []
    for metric, title in (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL (per token)"), ("e2el", "E2E latency")):
        charts.append(_svg_lines(f"{title} vs load", xlabel, "ms", [
            (stat, [(load(s), s.get(f"{stat}_{metric}_ms")) for s in summaries])
            for stat in ("median", "p90", "p99") if f"{stat}_{metric}_ms" in summaries[0]]))
    charts.append(_svg_lines("Throughput vs load", xlabel, "per second", [
        ("requests/s x100", [(load(s), s["request_throughput"] * 100) for s in summaries]),
        ("output tokens/s", [(load(s), s["output_throughput"]) for s in summaries])]))
    for metric, title in (("ttft", "TTFT"), ("tpot", "TPOT"), ("e2el", "E2E latency")):
        series = []
        for s in summaries:
            ps = s["percentiles"]
            series.append((s["label"], [(p, s["_stats"][metric][f"p{_pw(p)}"]) for p in ps]))
        charts.append(_svg_lines(f"{title} percentiles", "percentile", "ms", series))
    keys = ["label", "completed", "failed", "request_throughput", "output_throughput", "median_ttft_ms",
            "p99_ttft_ms", "median_tpot_ms", "p99_tpot_ms", "median_itl_ms", "median_e2el_ms", "client_bound"]
    rows = "".join("<tr>" + "".join(f"<td>{_fmt(s.get(k))}</td>" for k in keys) + "</tr>" for s in summaries)
    slo_html = ""
    if slo_result:
        slo_html = (f"<h2>SLO {html.escape(slo_result['slo'])}</h2><p>highest load that meets it: "
                    f"<b>{html.escape(str(slo_result['max_load_label']))}</b></p>")
    s0 = summaries[0]
    from evs_core.html_page import page  # the look every evs report shares (inline, no script)

    subtitle = (f"endpoint {html.escape(str(s0.get('endpoint')))} · api {html.escape(str(s0.get('backend')))} · "
                f"dataset {html.escape(str(s0.get('dataset')))} · evs-perf "
                f"{html.escape(str(s0.get('evs_perf_version')))} · {html.escape(str(s0.get('date')))}")
    body = (f"<table><tr>{''.join(f'<th>{html.escape(str(k))}</th>' for k in keys)}</tr>{rows}</table>{slo_html}"
            f"{extra_html}<h2>Against load</h2>{''.join(charts[:5])}<h2>Percentile curves</h2>{''.join(charts[5:])}")
    return page(f"evs perf: {s0.get('model_id')}", body, subtitle=subtitle)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.2f}"
    return html.escape(str(v))


# -- terminal -----------------------------------------------------------------------------------
class Progress:
    """A live progress line (rich), refreshed at most twice a second from the run's callback."""

    def __init__(self, console, label, total, disabled):
        self.bar = None
        if console is None or disabled or not console.is_terminal:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RP

        self.bar = RP(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                      TimeElapsedColumn(), console=console, auto_refresh=False, transient=True)
        self.task = self.bar.add_task(label, total=total, rate="")
        self.t0 = time.perf_counter()
        self.bar.start()

    def update(self, done):
        if self.bar is None:
            return
        dt = time.perf_counter() - self.t0
        self.bar.update(self.task, completed=done, rate=f"{done / dt:.1f} req/s" if dt > 0 else "")
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.stop()


def _f(v, nd=2):
    return "-" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))


def print_point(console, s: dict):
    if console is None:
        return
    from rich.table import Table

    t = Table(title=f"evs perf · {s['label']} · {s['model_id']}", title_justify="left", show_edge=False)
    t.add_column("metric (ms)")
    for col in ["mean", "median", "min", "max"] + [f"p{_pw(p)}" for p in s["percentiles"]]:
        t.add_column(col, justify="right")
    for m, name in (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL (per token)"), ("chunk_gap", "chunk gap"),
                    ("e2el", "E2E latency"), ("connect", "connect"), ("queue", "queue wait")):
        st = s["_stats"][m]
        if not st["n"]:
            continue
        t.add_row(name, *[_f(st[c]) for c in ["mean", "median", "min", "max"] + [f"p{_pw(p)}" for p in s["percentiles"]]])
    console.print(t)
    c = s["client"]
    line = (f"completed {s['completed']}  failed {s['failed']}  duration {s['duration']:.2f}s  "
            f"req/s {s['request_throughput']:.2f}  out tok/s {s['output_throughput']:.1f}  "
            f"total tok/s {s['total_token_throughput']:.1f}")
    if s.get("request_goodput") is not None:
        line += f"  goodput {s['request_goodput']:.2f} req/s"
    console.print(line)
    console.print(f"in tokens mean {_f(s['input_lens']['mean'], 1)}  out tokens mean {_f(s['output_lens']['mean'], 1)}  "
                  f"client: {c['workers']} worker(s), {_f(c['cpu_ms_per_request'], 3)} ms CPU/request, "
                  f"{_f(c['cpu_cores'])} cores, loop lag p90 {_f(c['loop_lag_p90_ms'], 3)} ms")
    if s.get("steady"):
        st = s["steady"]
        console.print(f"steady state ({st['start_s']:.2f}-{st['end_s']:.2f}s, {st['requests']} requests): "
                      f"req/s {st['request_throughput']:.2f}  median TTFT {_f(st['median_ttft_ms'])} ms  "
                      f"median TPOT {_f(st['median_tpot_ms'])} ms")
    if s.get("prefix_cache_hit_rate") is not None:
        line = f"prefix cache: hit rate {s['prefix_cache_hit_rate']:.3f} ({s['total_cached_tokens']} cached tokens)"
        if s.get("history_token_share") is not None:
            line += f", ideal {s['history_token_share']:.3f}"
        console.print(line)
    for row in s.get("turns") or ():
        console.print(f"  turn {row['turn']}: {row['requests']} requests, median TTFT {_f(row['median_ttft_ms'])} ms, "
                      f"median TPOT {_f(row['median_tpot_ms'])} ms, mean input {_f(row['mean_input_tokens'], 1)} tokens, "
                      f"cache hit rate {_f(row['prefix_cache_hit_rate'], 3)}")
    if s.get("speed"):
        sp = s["speed"]
        console.print(f"speed: input {sp['input_tokens']} tokens, prefill {_f(sp['prefill_tokens_per_s'], 1)} tokens/s, "
                      f"decode {_f(sp['decode_tokens_per_s'], 1)} tokens/s")
    if s.get("trace"):
        tr = s["trace"]
        console.print(f"trace: {tr['rows']} rows over {tr['span_s']:.2f}s, send lag median "
                      f"{_f(tr['send_lag_median_ms'], 3)} ms, p99 {_f(tr['send_lag_p99_ms'], 3)} ms")
    if s.get("server_metrics"):
        sm = s["server_metrics"]
        parts = [f"{k.split(':', 1)[1].replace('_seconds', '')} {v['mean_ms']:.2f} ms" for k, v in sm.items()
                 if isinstance(v, dict)]
        console.print("server /metrics (mean): " + ", ".join(parts))
    if s["errors_by_kind"]:
        console.print("[red]failures:[/] " + ", ".join(f"{k} {v} (e.g. {s['error_examples'][k]})"
                                                      for k, v in s["errors_by_kind"].items()))
    if s["client_bound"]:
        console.print(f"[bold yellow]CLIENT-BOUND:[/] {c['client_bound_reason']}: latencies include client lag; "
                      "try --workers, or a client machine with more cores")
    src = s["token_source"]
    if s["completed"] and not s["tokens_from_usage"]:
        console.print(f"[yellow]note:[/] output tokens not all from the server's usage: {src} "
                      "(tokenizer = counted with --tokenizer; chunks = one token per content chunk, approximate)")
    if s.get("input_length_exact") is False:
        console.print("[yellow]note:[/] random input lengths are approximate (no --tokenizer); "
                      "usage.prompt_tokens is what the server counted")


def print_sweep(console, summaries, slo_result, run_dir):
    if console is None:
        return
    if len(summaries) > 1:
        from rich.table import Table

        t = Table(title="sweep", title_justify="left", show_edge=False)
        for col in ("point", "ok", "fail", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99",
                    "ITL p50", "E2E p50", "client"):
            t.add_column(col, justify="right")
        for s in summaries:
            t.add_row(s["label"], str(s["completed"]), str(s["failed"]), _f(s["request_throughput"]),
                      _f(s["output_throughput"], 1), _f(s["median_ttft_ms"]), _f(s.get("p99_ttft_ms")),
                      _f(s["median_tpot_ms"]), _f(s.get("p99_tpot_ms")), _f(s["median_itl_ms"]),
                      _f(s["median_e2el_ms"]), "BOUND" if s["client_bound"] else "ok")
        console.print(t)
    if slo_result:
        best = slo_result["max_load_label"]
        console.print(f"SLO {slo_result['slo']}: highest {slo_result['load_key']} that meets it: "
                      f"[bold]{slo_result['max_load'] if best else 'none'}[/]")
    console.print(f"results: {run_dir}")


# -- experiment loggers -------------------------------------------------------------------------
class _Logger:
    def __init__(self, module, project, name):
        self.mod = module
        self.run = module.init(project=project, name=name) if hasattr(module, "init") else None

    def log(self, s):
        data = {k: v for k, v in _public(s).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.mod.log(data)

    def finish(self):
        if hasattr(self.mod, "finish"):
            self.mod.finish()


def check_loggers(cfg):
    """The experiment loggers asked for, their modules imported now (a missing one stops the run
    before any request): ``[(module, project)]``."""
    out = []
    if cfg.wandb_project:
        out.append((require("wandb", "--wandb-project", "evs-perf[wandb]"), cfg.wandb_project))
    if cfg.swanlab_project:
        out.append((require("swanlab", "--swanlab-project", "evs-perf[swanlab]"), cfg.swanlab_project))
    return out


def loggers(spec, name):
    return [_Logger(mod, project, name) for mod, project in spec]
