"""``report.html``: one self-contained file per eval run, for sharing.

Built from the run folder's files only (``reports/``, ``reviews/``, ``predictions/``), so
``evs report RUN_DIR`` makes the same file for an old run, and ``evs report A B`` puts several
runs side by side. The page has no script and no external resource (see
:mod:`evs_core.html_page`); every piece of model output is escaped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evs_core.errors import ConfigError
from evs_core.html_page import Raw, clip, esc, fmt, page, svg_bars, svg_radar, table
from evs_core.schema import Report

#: Samples shown per benchmark and kind (right, wrong, failed) and characters shown per text.
SAMPLES_PER_KIND = 3
MAX_CHARS = 1500

_SECRET_KEY = re.compile(r"(api[_-]?key|authorization|token|secret|password)", re.I)


@dataclass
class BenchmarkData:
    report: Report
    reviews: list[dict[str, Any]] = field(default_factory=list)
    prompts: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass
class RunData:
    path: Path
    model: str
    benchmarks: dict[str, BenchmarkData]

    @property
    def label(self) -> str:
        return f"{self.model} ({self.path.name})"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash: the report says what it has
    return rows


def _last_user_text(request: dict[str, Any]) -> str:
    if request.get("prompt"):
        return str(request["prompt"])
    for m in reversed(request.get("messages") or []):
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                return "\n".join(str(p.get("text", "[" + str(p.get("type", "part")) + "]"))
                                 for p in content if isinstance(p, dict))
            return str(content)
    return ""


def load_run(run_dir: str | Path) -> list[RunData]:
    """Every model's reports in one eval run folder (one RunData per model folder)."""
    root = Path(run_dir)
    reports_dir = root / "reports"
    if not reports_dir.is_dir():
        raise ConfigError(f"not an evs eval run folder (no reports/): {root}")
    runs = []
    for model_dir in sorted(p for p in reports_dir.iterdir() if p.is_dir()):
        benches: dict[str, BenchmarkData] = {}
        for rp in sorted(model_dir.glob("*.json")):
            try:
                report = Report.model_validate_json(rp.read_text(encoding="utf-8"))
            except Exception as exc:  # noqa: BLE001 - name the broken file, in one line
                raise ConfigError(f"cannot read report {rp}: {type(exc).__name__}") from None
            data = BenchmarkData(report=report)
            data.reviews = _read_jsonl(root / "reviews" / model_dir.name / f"{rp.stem}.jsonl")
            for p in _read_jsonl(root / "predictions" / model_dir.name / f"{rp.stem}.jsonl"):
                data.prompts[(str(p.get("sample_id")), int(p.get("repeat", 0)))] = _last_user_text(p.get("request") or {})
            benches[report.dataset] = data
        if benches:
            model = next(iter(benches.values())).report.model
            runs.append(RunData(path=root, model=model, benchmarks=benches))
    if not runs:
        raise ConfigError(f"no reports in run folder {root}")
    return runs


def _mask(obj: Any) -> Any:
    """Configs in reports are already masked by evs; mask again anything that looks secret."""
    if isinstance(obj, dict):
        return {k: ("***" if _SECRET_KEY.search(str(k)) and v not in (None, "", "EMPTY") else _mask(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_mask(v) for v in obj]
    return obj


def _num(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else fmt(v, 3)
    return str(v)


def _ci(stat_ci) -> str:
    return f"[{stat_ci[0]:.3f}, {stat_ci[1]:.3f}]" if stat_ci else "–"


def _overview(runs: list[RunData]) -> str:
    if len(runs) == 1:
        rows = []
        for name, b in runs[0].benchmarks.items():
            r = b.report
            rows.append((name, r.metric, fmt(r.score), _ci(r.ci95), r.num, r.num_errors,
                         "–" if r.no_answer_rate is None else f"{r.no_answer_rate:.1%}", r.benchmark_version))
        return table(("benchmark", "metric", "score", "95% CI", "scored", "errors", "no answer", "version"),
                     rows, numeric=(2, 4, 5))
    names = list(dict.fromkeys(n for run in runs for n in run.benchmarks))
    rows = []
    for n in names:
        row: list[Any] = [n]
        for run in runs:
            b = run.benchmarks.get(n)
            row.append(f"{b.report.score:.4f} {_ci(b.report.ci95)}" if b else "–")
        rows.append(row)
    return table(("benchmark", *[r.label for r in runs]), rows)


def _chart(runs: list[RunData]) -> str:
    names = list(dict.fromkeys(n for run in runs for n in run.benchmarks))
    if len(names) >= 3:
        series = {run.label: [run.benchmarks[n].report.score if n in run.benchmarks else None for n in names]
                  for run in runs}
        return svg_radar(names, series, title="Scores by benchmark")
    items = []
    for run in runs:
        for n, b in run.benchmarks.items():
            label = n if len(runs) == 1 else f"{n} · {run.model}"
            lo, hi = b.report.ci95 or (None, None)
            items.append((label, b.report.score, lo, hi))
    return svg_bars(items, title="Scores with 95% intervals")


def _is_right(review: dict[str, Any], metric: str) -> bool | None:
    if review.get("error"):
        return None
    score = (review.get("scores") or {}).get(metric)
    if score is None:
        return None
    return score >= 0.5


def _sample_html(review: dict[str, Any], prompt: str, kind: str, metric: str) -> str:
    score = (review.get("scores") or {}).get(metric)
    head = (f"{esc(review.get('sample_id'))} · subset {esc(review.get('subset'))}"
            f"{' · repeat ' + esc(review.get('repeat')) if review.get('repeat') else ''}"
            f" · {esc(metric)} = {esc(fmt(score, 3) if score is not None else '–')}")
    parts = [f"<div class='sample {'ok' if kind == 'right' else 'bad'}'><div class='head'>{head}</div>"]
    if prompt:
        parts.append(f"<details><summary>prompt</summary><pre>{esc(clip(prompt, MAX_CHARS))}</pre></details>")
    parts.append(f"<div>answer</div><pre>{esc(clip(review.get('prediction'), MAX_CHARS))}</pre>")
    rule = review.get("extraction_rule")
    parts.append(f"<div>extracted: <code>{esc(clip(json.dumps(review.get('extracted'), ensure_ascii=False), 300))}</code>"
                 f"{' (rule ' + esc(rule) + ')' if rule else ''} · gold: "
                 f"<code>{esc(clip(json.dumps(review.get('target'), ensure_ascii=False), 300))}</code></div>")
    if review.get("error"):
        parts.append(f"<div class='warn'>error: {esc(clip(review['error'], 300))}</div>")
    judge = (review.get("metadata") or {}).get("judge")
    if judge:
        parts.append(f"<details><summary>judge</summary><pre>{esc(clip(json.dumps(judge, ensure_ascii=False), MAX_CHARS))}</pre></details>")
    parts.append("</div>")
    return "".join(parts)


def _samples(b: BenchmarkData) -> str:
    metric = b.report.metric
    groups: dict[str, list[dict[str, Any]]] = {"right": [], "wrong": [], "failed": []}
    for r in b.reviews:
        verdict = _is_right(r, metric)
        kind = "failed" if verdict is None else ("right" if verdict else "wrong")
        if len(groups[kind]) < SAMPLES_PER_KIND:
            groups[kind].append(r)
    out = []
    for kind, rows in groups.items():
        if not rows:
            continue
        out.append(f"<h4>{kind} ({len(rows)} shown)</h4>")
        for r in rows:
            prompt = b.prompts.get((str(r.get("sample_id")), int(r.get("repeat", 0))), "")
            out.append(_sample_html(r, prompt, kind, metric))
    return "".join(out) or "<p class='muted'>no reviews in the run folder</p>"


#: think_eval's per-sample statistics, in the order of EvalScope's ThinkEval charts.
THINKING_METRICS = ("reasoning_tokens", "first_correct_tokens", "reflection_tokens", "token_efficiency",
                    "thought_num", "think_accuracy")


def _thinking_section(name: str, r: Report) -> str:
    """A report with think_eval's metrics: a table of them overall and per subset, and two charts."""
    if not all(k in r.metrics for k in THINKING_METRICS):
        return ""
    subs = [s for s in r.subsets if s.kind == "subset"]
    rows = [("overall", r.num, *(_num(r.metrics[k].score) for k in THINKING_METRICS))]
    rows += [(s.name, s.num, *(_num(s.metrics[k].score) if k in s.metrics else "–" for k in THINKING_METRICS))
             for s in subs]
    out = ["<h3>Thinking efficiency</h3>",
           "<p class='muted'>Tokens of the reasoning; first_correct_tokens up to the step where the judge first "
           "finds the correct answer, reflection_tokens after it; token_efficiency their ratio; thought_num the "
           "approach-switch words.</p>",
           table(("subset", "n", *THINKING_METRICS), rows, numeric=tuple(range(1, 2 + len(THINKING_METRICS))))]
    items = [(s.name, s.metrics["token_efficiency"].score, None, None) for s in subs if "token_efficiency" in s.metrics]
    if items:
        out.append(svg_bars(items, title=f"{name}: token efficiency by subset"))
    tok = [(f"{s.name} · {k.split('_')[0]}", s.metrics[k].score, None, None) for s in subs
           for k in ("first_correct_tokens", "reflection_tokens") if k in s.metrics]
    if tok:
        out.append(svg_bars(tok, title=f"{name}: first-correct and reflection tokens by subset",
                            hi_bound=max(v for _, v, _, _ in tok) or 1.0))
    return "".join(out)


def _benchmark_section(name: str, b: BenchmarkData, anchor: str) -> str:
    r = b.report
    out = [f"<h2 id='{esc(anchor)}'>{esc(name)} <span class='muted'>· {esc(r.model)}</span></h2>",
           f"<p>{esc(r.metric)} <b>{fmt(r.score)}</b> (95% CI {_ci(r.ci95)}, stderr {fmt(r.stderr)}) over "
           f"{r.num} scored of {r.num_samples}; {r.num_errors} errors"
           f"{'' if r.no_answer_rate is None else f'; no answer extracted for {r.no_answer_rate:.1%}'}.</p>"]
    if r.no_answer_rate is not None and r.no_answer_rate >= 0.1:
        out.append("<p class='warn'>High share of replies with no extracted answer: check the samples below.</p>")
    if r.metrics:
        out.append(table(("metric", "score", "95% CI", "n"),
                         [(k, fmt(s.score), _ci(s.ci95), s.num) for k, s in r.metrics.items()], numeric=(1, 3)))
    if len(r.subsets) > 1 or (r.subsets and r.subsets[0].kind != "subset"):
        rows = []
        for s in r.subsets:
            prim = s.metrics.get(r.metric)
            rows.append((s.name, s.kind, s.num, fmt(s.score), _ci(prim.ci95 if prim else None)))
        out.append("<h3>Subsets and categories</h3>")
        out.append(table(("name", "kind", "n", r.metric, "95% CI"), rows, numeric=(2, 3)))
        items = [(s.name, s.score, *((s.metrics.get(r.metric).ci95 or (None, None)) if s.metrics.get(r.metric)
                                     else (None, None))) for s in r.subsets[:40]]
        out.append(svg_bars(items, title=f"{name}: {r.metric} by subset"))
    out.append(_thinking_section(name, r))
    if r.errors:
        out.append("<h3>Errors by kind</h3>" + table(("kind", "count"), sorted(r.errors.items()), numeric=(1,)))
    if r.judge:
        j = dict(r.judge)
        labels = j.pop("labels", {}) or {}
        out.append("<h3>Judge</h3>" + table(("key", "value"), [(k, v) for k, v in j.items()]
                                           + [(f"label {k}", v) for k, v in labels.items()]))
    if r.reasoning:
        out.append("<h3>Reasoning</h3>" + table(("statistic", "value"),
                                               [(k, _num(v)) for k, v in r.reasoning.items()]))
    if r.usage:
        out.append("<h3>Usage</h3>" + table(("statistic", "value"),
                                           [(k, _num(v)) for k, v in r.usage.items()]))
    out.append("<h3>Samples</h3>" + _samples(b))
    return "".join(out)


def render(run_dirs: list[str | Path]) -> str:
    """The report page of one run folder or several side by side."""
    runs = [run for d in run_dirs for run in load_run(d)]
    models = ", ".join(dict.fromkeys(r.model for r in runs))
    first = next(iter(runs[0].benchmarks.values())).report
    subtitle = esc(f"{models} · run {', '.join(dict.fromkeys(r.path.name for r in runs))} · {first.created_at}"
                   f" · " + ", ".join(f"{k} {v}" for k, v in sorted(first.packages.items())))
    nav = []
    sections = []
    for i, run in enumerate(runs):
        for name, b in run.benchmarks.items():
            anchor = f"b{i}-{re.sub(r'[^A-Za-z0-9_-]', '_', name)}"
            nav.append(f"<a href='#{anchor}'>{esc(name if len(runs) == 1 else name + ' · ' + run.model)}</a>")
            sections.append(_benchmark_section(name, b, anchor))
    config = _mask(first.config)
    import yaml

    body = ["<h2>Overview</h2>", _overview(runs), _chart(runs), "<nav>" + "".join(nav) + "</nav>", *sections,
            "<h2>Configuration</h2>",
            f"<pre>{esc(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))}</pre>"]
    return page("evs eval report", "".join(body), subtitle=Raw(subtitle))


def write_report(run_dir: str | Path, others: list[str | Path] = (), out: str | Path | None = None,
                 redact=None) -> Path:
    """Write ``report.html`` (into ``run_dir`` unless ``out`` is given) and return its path.

    ``redact`` (the run's :class:`evs_core.redact.Redactor` ``.text``) masks its secrets; without
    it, credential-shaped text (URL passwords, Bearer tokens) is still masked."""
    text = render([run_dir, *others])
    path = Path(out) if out else Path(run_dir) / "report.html"
    from evs_core.outputs import atomic_write_text
    from evs_core.redact import Redactor

    atomic_write_text(path, text, redact=redact or Redactor().text)
    return path
