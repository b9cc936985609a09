"""Find and load evs run folders: plain Python, no Streamlit, so that it is unit-tested directly.

Two kinds of run live under an outputs root, at any depth:

* **eval runs** (written by ``evs eval``): a folder holding ``reports/``, ``predictions/`` or
  ``reviews/`` (``<kind>/<model>/<dataset>.json[l]``) and usually ``configs/task_config.yaml``;
  see :mod:`evs_core.outputs`.
* **perf runs**: an ``evs perf`` summary says what it is (``"schema": "evs-perf/summary"`` and
  ``schema_version``, docs/perf.md); other tools' files are recognised by *content*: a JSON
  file whose keys follow ``vllm bench serve``'s result (``completed``, ``duration``,
  ``request_throughput``, ``mean_ttft_ms``…) is a perf summary. The folder that holds it is the
  run; summaries in sibling sub-folders of one folder (a sweep over concurrency or rate) make
  one run with several points. Percentile tables and raw per-request records next to a summary
  are found by their keys as well.

Nothing here raises on a bad file. A missing report, a truncated last JSONL line, invalid JSON
or a file that does not match the schema becomes a :class:`Note` on the run, and the run's
``status`` says ``partial`` or ``corrupt``. Every path is resolved and checked to lie inside
the outputs root (:func:`inside`); symbolic links that leave the root are ignored.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from evs_core.outputs import read_jsonl_tolerant

EVAL_SUBDIRS = ("reports", "predictions", "reviews")
PERF_SUMMARY_KEYS = frozenset({
    "completed", "failed", "duration", "request_throughput", "output_throughput",
    "total_token_throughput", "total_input_tokens", "total_output_tokens",
    "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "median_tpot_ms",
    "mean_itl_ms", "median_itl_ms", "mean_e2el_ms", "median_e2el_ms",
})
# A JSON object is a perf summary when it holds at least this many of the keys above.
PERF_MIN_KEYS = 4
SWEEP_KEYS = ("max_concurrency", "concurrency", "parallel", "request_rate", "rate")
PERF_METRICS = ("ttft", "tpot", "itl", "e2el")
MAX_JSON_BYTES = 50 * 1024 * 1024  # larger JSON files are not parsed while discovering
SKIP_DIRS = {".git", "__pycache__", ".venv", "node_modules", ".ipynb_checkpoints"}
JUDGE_KEYS = ("judge_explanation", "explanation", "judge", "rationale", "reason", "judge_response")
STATUS_ORDER = {"ok": 0, "partial": 1, "corrupt": 2}


class OutsideRootError(ValueError):
    """A path that resolves outside the outputs root was asked for."""


def inside(root: Path, path: str | Path) -> Path:
    """``path`` (absolute, or relative to ``root``) resolved, if it lies inside ``root``; else raise.

    Symbolic links are resolved first, so a link pointing out of the root is refused too.
    """
    root = Path(root).resolve()
    p = Path(path)
    if not p.is_absolute():
        p = root / p
    p = p.resolve()
    if p != root and root not in p.parents:
        raise OutsideRootError(f"{path} is outside the outputs root")
    return p


_SECRET_LINE = re.compile(
    r"^(\s*-?\s*[\"']?(?:[A-Za-z0-9_\-]*[_\-])?(?:api[_-]?key|apikey|token|secret|password|authorization)[\"']?\s*:\s*)(.+?)(,?)\s*$",
    re.I | re.M,
)


def redact(text: str) -> str:
    """Config text with the values of secret-looking keys (api_key, token, password…) masked."""

    def mask(m: re.Match) -> str:
        value = m.group(2).strip()
        if value.lower() in ("null", "none", "~", "''", '""', "empty", "'empty'", '"empty"'):
            return m.group(0)
        return f"{m.group(1)}'***'{m.group(3)}"

    try:
        data = json.loads(text)
    except ValueError:
        return _SECRET_LINE.sub(mask, text)
    return json.dumps(_redact_obj(data), indent=2, ensure_ascii=False)


_SECRET_KEY = re.compile(r"(?:^|[_\-])(?:api[_\-]?key|apikey|token|secret|password|authorization)$", re.I)


def _redact_obj(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: ("***" if _SECRET_KEY.search(str(k)) and v not in (None, "", "EMPTY") and not isinstance(v, (dict, list))
                    else _redact_obj(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_redact_obj(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------
# Data classes


@dataclass
class Note:
    level: str  # "warning" (partial, still usable) or "error" (corrupt file)
    message: str


@dataclass
class EvalEntry:
    """One model on one dataset inside an eval run."""

    model: str  # the folder name under reports/ (a safe name)
    dataset: str
    report: dict[str, Any] | None = None
    predictions: Path | None = None
    reviews: Path | None = None
    report_path: Path | None = None
    notes: list[Note] = field(default_factory=list)

    @property
    def model_name(self) -> str:
        """The model as written in the report (falls back to the folder name)."""
        return str((self.report or {}).get("model") or self.model)

    @property
    def score(self) -> float | None:
        s = (self.report or {}).get("score")
        return float(s) if isinstance(s, (int, float)) else None

    @property
    def metric(self) -> str:
        return str((self.report or {}).get("metric") or "score")


@dataclass
class PerfPoint:
    """One perf summary: a single load level of a perf run."""

    summary_path: Path
    summary: dict[str, Any]
    label: str  # e.g. "concurrency=8" or the file's relative path
    sweep_key: str | None = None  # "concurrency" or "rate"
    sweep_value: float | None = None
    percentiles: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # metric -> [(p, ms)]
    records_path: Path | None = None
    num_records: int = 0


@dataclass
class Run:
    kind: str  # "eval" or "perf"
    root: Path
    path: Path
    rel: str  # path relative to the outputs root (posix); the run's id
    created: float = 0.0
    notes: list[Note] = field(default_factory=list)
    entries: list[EvalEntry] = field(default_factory=list)
    points: list[PerfPoint] = field(default_factory=list)
    config: dict[str, Any] | None = None
    config_text: str | None = None

    @property
    def all_notes(self) -> list[Note]:
        out = list(self.notes)
        for e in self.entries:
            out.extend(e.notes)
        return out

    @property
    def status(self) -> str:
        levels = {n.level for n in self.all_notes}
        if "error" in levels:
            return "corrupt"
        if "warning" in levels:
            return "partial"
        return "ok"

    @property
    def models(self) -> list[str]:
        return sorted({e.model_name for e in self.entries})

    @property
    def datasets(self) -> list[str]:
        return sorted({e.dataset for e in self.entries})

    @property
    def created_str(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created)) if self.created else "?"

    def entry(self, model: str, dataset: str) -> EvalEntry | None:
        for e in self.entries:
            if e.dataset == dataset and model in (e.model, e.model_name):
                return e
        return None


# ---------------------------------------------------------------------------------------------
# Small tolerant readers


def read_json(path: Path) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, reason)``; never raises."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None, f"{path.name} is larger than {MAX_JSON_BYTES // 2**20} MiB; not read"
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except json.JSONDecodeError as exc:
        return None, f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno})"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path.name} cannot be read ({exc.__class__.__name__})"


def last_line_ok(path: Path) -> bool:
    """Whether the last non-empty line of a JSONL file parses (a crash can cut it)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            tail = f.read()
    except OSError:
        return False
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if not lines:
        return True
    try:
        json.loads(lines[-1])
        return True
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for ln in f if ln.strip())
    except OSError:
        return 0


def _stamp_from_name(name: str) -> float | None:
    m = re.match(r"(\d{8})_(\d{6})", name)
    if not m:
        return None
    try:
        return time.mktime(time.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S"))
    except ValueError:
        return None


def _iso_to_ts(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    try:  # vllm bench serve / evs perf: 20260102-030405
        return datetime.strptime(value, "%Y%m%d-%H%M%S").timestamp()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Eval runs


def is_eval_run(path: Path) -> bool:
    if (path / "configs" / "task_config.yaml").is_file():
        return True
    return sum((path / d).is_dir() for d in EVAL_SUBDIRS) >= 2 or (path / "reports").is_dir()


def from_evalscope_report(data: Any) -> dict[str, Any] | None:
    """An EvalScope report (``reports/<model>/<dataset>.json``: ``model_name``, ``dataset_name``,
    ``metrics[].categories[].subsets[]``; schema 1 or 2) in evs's report shape, or None."""
    if not isinstance(data, dict) or "model_name" not in data or "dataset_name" not in data:
        return None
    metrics = data.get("metrics")
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, dict) for m in metrics):
        return None

    def mname(m: dict) -> str:
        ident = m.get("identity") if isinstance(m.get("identity"), dict) else {}
        return str(m.get("name") or m.get("legacy_name") or ident.get("key") or ident.get("name") or "score")

    primary = metrics[0]
    pid = data.get("primary_metric_identity")
    if isinstance(pid, dict):
        primary = next((m for m in metrics if m.get("identity") == pid), primary)
    out_metrics, subsets = {}, []
    for m in metrics:
        sc = _num(m.get("score"))
        if sc is not None:
            out_metrics[mname(m)] = {"score": sc, "num": int(_num(m.get("num")) or 0)}
    for cat in primary.get("categories") or []:
        if not isinstance(cat, dict):
            continue
        cname = cat.get("name")
        cname = "/".join(map(str, cname)) if isinstance(cname, list) else str(cname or "")
        for sub in cat.get("subsets") or []:
            if isinstance(sub, dict) and _num(sub.get("score")) is not None:
                subsets.append({"name": str(sub.get("name", "default")), "num": int(_num(sub.get("num")) or 0),
                                "score": _num(sub.get("score")), "kind": "subset",
                                **({"category": cname} if cname and cname != "default" else {})})
    score = _num(data.get("score"))
    if score is None:
        score = _num(primary.get("score"))
    num = int(_num(primary.get("num")) or sum(x["num"] for x in subsets))
    return {"model": str(data["model_name"]), "dataset": str(data["dataset_name"]), "metric": mname(primary),
            "score": score if score is not None else 0.0, "num": num, "num_samples": num, "num_errors": 0,
            "metrics": out_metrics, "subsets": subsets, "source": "evalscope",
            "benchmark_version": str(data.get("schema_version", ""))}


def _validate_report(data: Any) -> tuple[dict | None, Note | None]:
    converted = from_evalscope_report(data)
    if converted is not None:
        return converted, None
    if not isinstance(data, dict):
        return None, Note("error", "is not a JSON object")
    missing = [k for k in ("model", "dataset", "score") if k not in data]
    if missing:
        return None, Note("error", f"lacks {', '.join(missing)}")
    if not isinstance(data["score"], (int, float)) or isinstance(data["score"], bool):
        return None, Note("error", "has a non-numeric score")
    from evs_core.schema import Report
    from pydantic import ValidationError

    try:
        Report.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        return data, Note("warning", f"does not match the report schema ({where}: {first.get('msg')})")
    return data, None


def load_eval_run(root: Path, path: Path) -> Run:
    run = Run(kind="eval", root=root, path=path, rel=_rel(root, path))
    cfg = path / "configs" / "task_config.yaml"
    if not cfg.is_file():  # EvalScope: configs/task_config_<hash>.yaml
        cfg = next(iter(sorted((path / "configs").glob("task_config*.yaml"))), cfg) if (path / "configs").is_dir() \
            else cfg
    if cfg.is_file():
        try:
            run.config_text = cfg.read_text(encoding="utf-8")
            loaded = yaml.safe_load(run.config_text)
            run.config = loaded if isinstance(loaded, dict) else None
            if run.config is None:
                run.notes.append(Note("warning", "configs/task_config.yaml is not a mapping"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            run.notes.append(Note("error", f"configs/task_config.yaml cannot be parsed ({exc.__class__.__name__})"))
    else:
        run.notes.append(Note("warning", "no configs/task_config.yaml"))

    entries: dict[tuple[str, str], EvalEntry] = {}
    for kind, suffix in (("reports", ".json"), ("predictions", ".jsonl"), ("reviews", ".jsonl")):
        base = path / kind
        if not base.is_dir():
            continue
        for model_dir in sorted(base.iterdir()):
            if not model_dir.is_dir() or model_dir.is_symlink():
                continue
            for f in sorted(model_dir.iterdir()):
                if f.suffix != suffix or not f.is_file() or f.is_symlink():
                    continue
                e = entries.setdefault((model_dir.name, f.stem), EvalEntry(model_dir.name, f.stem))
                if kind == "reports":
                    e.report_path = f
                elif kind == "predictions":
                    e.predictions = f
                else:
                    e.reviews = f

    created: list[float] = []
    for (model, dataset), e in sorted(entries.items()):
        where = f"{model}/{dataset}"
        if e.report_path is not None:
            data, reason = read_json(e.report_path)
            if reason:
                e.notes.append(Note("error", f"report {where}: {reason}"))
            else:
                e.report, note = _validate_report(data)
                if note:
                    e.notes.append(Note(note.level, f"report {where} {note.message}"))
                if e.report:
                    ts = _iso_to_ts(e.report.get("created_at"))
                    if ts:
                        created.append(ts)
                    n_err = e.report.get("num_errors") or 0
                    if isinstance(n_err, int) and n_err > 0:
                        e.notes.append(Note("info", f"{where}: {n_err} sample(s) failed (excluded from the score)"))
        else:
            n = count_lines(e.predictions) if e.predictions else 0
            e.notes.append(Note("warning", f"{where}: no report yet ({n} prediction(s) written): partial run"))
        for label, p in (("predictions", e.predictions), ("reviews", e.reviews)):
            if p is not None and not last_line_ok(p):
                e.notes.append(Note("warning", f"{label} {where}: the last line is truncated or not JSON"))
    run.entries = list(entries.values())
    if not run.entries:
        run.notes.append(Note("warning", "no predictions, reviews or reports yet"))
    stamp = _stamp_from_name(path.name)
    run.created = max(created) if created else (stamp or _mtime(path))
    return run


# ---------------------------------------------------------------------------------------------
# Perf runs


#: EvalScope perf's benchmark_summary.json keys (current and older releases) -> (evs key, factor).
EVALSCOPE_PERF_KEYS: dict[str, tuple[str, float]] = {
    "Test Duration (s)": ("duration", 1), "Time taken for tests (s)": ("duration", 1),
    "Concurrency": ("max_concurrency", 1), "Number of concurrency": ("max_concurrency", 1),
    "Request Rate (req/s)": ("request_rate", 1), "Request rate (req/s)": ("request_rate", 1),
    "Total Requests": ("num_requests", 1), "Total requests": ("num_requests", 1),
    "Success Requests": ("completed", 1), "Succeed requests": ("completed", 1),
    "Failed Requests": ("failed", 1), "Failed requests": ("failed", 1),
    "Req Throughput (req/s)": ("request_throughput", 1), "Request throughput (req/s)": ("request_throughput", 1),
    "Avg Latency (s)": ("mean_e2el_ms", 1000), "Average latency (s)": ("mean_e2el_ms", 1000),
    "Output Throughput (tok/s)": ("output_throughput", 1), "Output token throughput (tok/s)": ("output_throughput", 1),
    "Total Throughput (tok/s)": ("total_token_throughput", 1),
    "Total token throughput (tok/s)": ("total_token_throughput", 1),
    "Avg TTFT (ms)": ("mean_ttft_ms", 1), "Average time to first token (s)": ("mean_ttft_ms", 1000),
    "Avg TPOT (ms)": ("mean_tpot_ms", 1), "Average time per output token (s)": ("mean_tpot_ms", 1000),
    "Avg ITL (ms)": ("mean_itl_ms", 1), "Average inter-token latency (s)": ("mean_itl_ms", 1000),
    "Avg Input Tokens": ("mean_input_tokens", 1), "Average input tokens per request": ("mean_input_tokens", 1),
    "Avg Output Tokens": ("mean_output_tokens", 1), "Average output tokens per request": ("mean_output_tokens", 1),
}
#: EvalScope perf's benchmark_percentile.json columns -> (evs metric, factor to ms).
EVALSCOPE_PERCENTILE_KEYS = {"TTFT (ms)": ("ttft", 1), "TTFT (s)": ("ttft", 1000), "TPOT (ms)": ("tpot", 1),
                             "TPOT (s)": ("tpot", 1000), "ITL (ms)": ("itl", 1), "ITL (s)": ("itl", 1000),
                             "Latency (s)": ("e2el", 1000), "Latency (ms)": ("e2el", 1)}


def from_evalscope_perf(data: Any) -> dict[str, Any] | None:
    """An EvalScope perf summary (``benchmark_summary.json``) in evs's summary keys, or None."""
    if not isinstance(data, dict):
        return None
    hits = [k for k in data if k in EVALSCOPE_PERF_KEYS]
    if len(hits) < PERF_MIN_KEYS:
        return None
    out: dict[str, Any] = {"source": "evalscope"}
    for k in hits:
        v = _num(data[k])
        if v is not None:
            key, factor = EVALSCOPE_PERF_KEYS[k]
            out[key] = v * factor
        elif str(data[k]).strip().upper() == "INF" and EVALSCOPE_PERF_KEYS[k][0] == "request_rate":
            out["request_rate"] = "inf"
    if out.get("request_rate") in (-1, -1.0):
        out["request_rate"] = "inf"
    return out


def from_evalscope_percentiles(data: Any) -> list[dict[str, Any]] | None:
    """EvalScope's ``benchmark_percentile.json`` rows (``{"Percentiles": "90%", "TTFT (ms)": …}``)
    as rows of ``{"percentile": 90, "ttft_ms": …}``, or None."""
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) and "Percentiles" in r for r in data):
        return None
    rows = []
    for r in data:
        row: dict[str, Any] = {"percentile": _num(r.get("Percentiles"))}
        for k, v in r.items():
            if k in EVALSCOPE_PERCENTILE_KEYS and _num(v) is not None:
                metric, factor = EVALSCOPE_PERCENTILE_KEYS[k]
                row[f"{metric}_ms"] = _num(v) * factor
        rows.append(row)
    return rows


EVS_PERF_SCHEMA = "evs-perf/summary"


def is_evs_perf_summary(d: Any) -> bool:
    """An ``evs perf`` summary (any schema version), by its declared schema."""
    return isinstance(d, dict) and d.get("schema") == EVS_PERF_SCHEMA and isinstance(d.get("schema_version"), int)


def perf_summaries_in(data: Any) -> list[dict[str, Any]]:
    """The perf summaries held by a parsed JSON value: the object itself, a list of them, or a
    list under one key (``{"results": [...]}``)."""

    def is_summary(d: Any) -> bool:
        if not isinstance(d, dict):
            return False
        if "schema" in d and "schema_version" in d:  # a versioned file says what it is
            return is_evs_perf_summary(d)
        return len(PERF_SUMMARY_KEYS.intersection(d)) >= PERF_MIN_KEYS

    if is_summary(data):
        return [data]
    if isinstance(data, list):
        return [d for d in data if is_summary(d)]
    if isinstance(data, dict):
        for v in data.values():
            if isinstance(v, list) and v and all(is_summary(d) for d in v):
                return list(v)
            if is_summary(v):
                return [v]
    return []


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    if isinstance(v, str):
        try:
            f = float(v.strip().rstrip("%"))
            return f if math.isfinite(f) else None
        except ValueError:
            return None
    return None


_LOAD_NAME = re.compile(
    r"(?:^|[_\-/ ])(max_concurrency|concurrency|parallel|conc|c|request_rate|rate|qps|r)[_\-=]?(\d+(?:\.\d+)?)(?=$|[_\-/. ])"
)


def load_levels(summary: dict[str, Any], *names: str) -> dict[str, float]:
    """The known load levels of a summary: ``{"concurrency": 8.0}``, ``{"rate": 4.0, "concurrency": 8.0}``.

    Looked up in the summary (``request_rate``, ``max_concurrency``…; ``"inf"`` and 0 mean
    none), in a nested ``config``/``args``, else in its ``label`` and in folder or file names
    such as ``concurrency_8``, ``parallel-8``, ``c8``, ``r4_c8`` or ``rate_4``.
    """
    out: dict[str, float] = {}
    scopes = [summary] + [summary[k] for k in ("config", "args", "params", "settings") if isinstance(summary.get(k), dict)]
    for scope in scopes:
        for key in SWEEP_KEYS:
            v = _num(scope.get(key))
            if v is not None and v > 0:
                out.setdefault("rate" if "rate" in key else "concurrency", v)
    if not out:
        label = summary.get("label")
        for name in ([label] if isinstance(label, str) else []) + list(names):
            for m in _LOAD_NAME.finditer(str(name)):
                kind = "rate" if m.group(1) in ("request_rate", "rate", "qps", "r") else "concurrency"
                out.setdefault(kind, float(m.group(2)))
            if out:
                break
    return out


def sweep_of(summary: dict[str, Any], *names: str) -> tuple[str | None, float | None]:
    """The load level of one summary: ``("rate", 4.0)`` when it has a finite rate, else
    ``("concurrency", 8.0)``, else ``(None, None)``."""
    lv = load_levels(summary, *names)
    for key in ("rate", "concurrency"):
        if key in lv:
            return key, lv[key]
    return None, None


_PCT_KEY = re.compile(r"^p(\d+(?:\.\d+)?)_([a-z0-9]+?)(?:_ms)?$")


def percentiles_from(data: Any) -> dict[str, list[tuple[float, float]]]:
    """Percentile curves ``{metric: [(percentile, value_ms), ...]}`` from any of these shapes:

    * flat keys ``p50_ttft_ms``, ``p99.9_tpot_ms`` (``vllm bench serve``; ``median_*`` is p50);
    * ``{"ttft_ms": {"p50": 12.0, "p90": 30.0}}`` or ``{"ttft_ms": {"50": ...}}``;
    * ``{"percentiles": [50, 90, 99], "ttft_ms": [..], "tpot_ms": [..]}`` (``evs perf``);
    * a list of rows ``[{"percentile": 50, "ttft_ms": .., ...}, ...]`` (``"50%"`` is accepted).
    """
    out: dict[str, dict[float, float]] = {}

    def put(metric: str, p: float | None, v: Any) -> None:
        val = _num(v)
        metric = metric.lower().removesuffix("_ms").removesuffix("_s")
        if p is None or val is None or not (0 <= p <= 100) or metric not in PERF_METRICS:
            return
        out.setdefault(metric, {})[p] = val

    if isinstance(data, list):
        for row in data:
            if not isinstance(row, dict):
                continue
            pkey = next((k for k in row if k.lower().startswith("percentile")), None)
            p = _num(row.get(pkey)) if pkey else None
            for k, v in row.items():
                if k != pkey:
                    put(k, p, v)
    elif isinstance(data, dict):
        plist = data.get("percentiles")
        if isinstance(plist, list):
            ps = [_num(x) for x in plist]
            for k, v in data.items():
                if isinstance(v, list) and len(v) == len(ps):
                    for p, x in zip(ps, v, strict=True):
                        put(k, p, x)
        for k, v in data.items():
            m = _PCT_KEY.match(k)
            if m:
                put(m.group(2), float(m.group(1)), v)
            elif k.startswith("median_"):
                put(k[len("median_"):], 50.0, v)
            elif isinstance(v, dict):
                for pk, pv in v.items():
                    pm = re.fullmatch(r"p?(\d+(?:\.\d+)?)%?", str(pk))
                    if pm:
                        put(k, float(pm.group(1)), pv)
    return {m: sorted(d.items()) for m, d in out.items() if d}


def _record_metric(key: str) -> str | None:
    k = key.lower()
    for m in PERF_METRICS:
        if k in (m, f"{m}_ms", f"{m}_s"):
            return m
    if k in ("latency", "latency_ms", "latency_s", "e2e_latency"):
        return "e2el"
    return None


def records_in(path: Path) -> list[dict[str, Any]]:
    """Per-request records from a JSONL file, a JSON list, or the ``requests`` table of an SQLite
    file (``evs perf``'s ``records.sqlite``, opened read-only), when they carry timing keys."""
    rows: list[Any]
    if path.suffix in (".sqlite", ".sqlite3", ".db"):
        import sqlite3

        try:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                con.row_factory = sqlite3.Row
                cols = [r[1] for r in con.execute("PRAGMA table_info(requests)")]
                keep = [c for c in cols if _record_metric(c) or c in ("point", "label", "ok", "success", "error")]
                if not any(_record_metric(c) for c in keep):
                    return []
                rows = [dict(r) for r in con.execute(f"SELECT {', '.join(keep)} FROM requests")]
            finally:
                con.close()
        except sqlite3.Error:
            return []
        for r in rows:
            if "ok" in r:
                r["success"] = bool(r.pop("ok"))
                if r["success"]:
                    r.pop("error", None)
        return rows
    if path.suffix == ".jsonl":
        rows, _bad = read_jsonl_tolerant(path)
    else:
        data, reason = read_json(path)
        rows = data if isinstance(data, list) and not reason else []
    rows = [r for r in rows if isinstance(r, dict)]
    if rows and any(_record_metric(k) for k in rows[0]):
        return rows
    return []


def percentiles_from_records(rows: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Empirical percentile curves (1..99) in milliseconds from per-request records.

    Values under a key ending in ``_s`` are seconds; ``itl`` may be a list per request. Failed
    requests (``success`` false or an ``error``) are left out.
    """
    values: dict[str, list[float]] = {}
    for r in rows:
        if r.get("success") is False or r.get("error"):
            continue
        for k, v in r.items():
            m = _record_metric(k)
            if not m:
                continue
            scale = 1000.0 if k.lower().endswith("_s") else 1.0
            for x in v if isinstance(v, list) else [v]:
                f = _num(x)
                if f is not None:
                    values.setdefault(m, []).append(f * scale)
    out = {}
    for m, vs in values.items():
        vs.sort()
        out[m] = [(float(p), _quantile(vs, p / 100)) for p in range(1, 100)]
    return out


def _quantile(sorted_vals: list[float], q: float) -> float:
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    pos = q * (len(sorted_vals) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo)


def _summary_key(s: dict[str, Any]) -> str:
    label = s.get("label")
    return f"label:{label}" if isinstance(label, (str, int, float)) else json.dumps(s, sort_keys=True, default=str)


def load_perf_run(root: Path, path: Path, summary_files: list[tuple[Path, list[dict]]]) -> Run:
    """A perf run from its summary files (``(file, summaries)``), with the percentile tables and
    per-request records found beside them. A summary repeated in several files (``summary_c8.json``
    and ``sweep.json``) counts once; single-summary files win."""
    run = Run(kind="perf", root=root, path=path, rel=_rel(root, path))
    seen: set[tuple[Path, str]] = set()
    by_folder: dict[Path, list[PerfPoint]] = {}
    for f, summaries in sorted(summary_files, key=lambda x: (len(x[1]) > 1, str(x[0]))):
        for i, s in enumerate(summaries):
            key = (f.parent, _summary_key(s))
            if key in seen:
                continue
            seen.add(key)
            label = s.get("label")
            if not isinstance(label, str):
                k, v = sweep_of(s, f.parent.name, f.stem)
                label = f"{k}={v:g}" if k else (_rel(root, f) if len(summaries) == 1 else f"{_rel(root, f)}[{i}]")
            pt = PerfPoint(summary_path=f, summary=s, label=label, percentiles=percentiles_from(s))
            by_folder.setdefault(f.parent, []).append(pt)
            failed = _num(s.get("failed")) or 0
            if failed:
                run.notes.append(Note("info", f"{label}: {failed:g} request(s) failed"))
    for folder, points in by_folder.items():
        _attach_details(folder, points, {f for f, _ in summary_files})
        run.points.extend(points)

    # The swept variable: the one that varies between points (rate wins a tie).
    levels = [load_levels(p.summary, p.summary_path.parent.name, p.summary_path.stem) for p in run.points]
    varying = [k for k in ("rate", "concurrency") if len({lv.get(k) for lv in levels}) > 1]
    key = varying[0] if varying else next((k for k in ("rate", "concurrency") if any(k in lv for lv in levels)), None)
    for p, lv in zip(run.points, levels, strict=True):
        if key and key in lv:
            p.sweep_key, p.sweep_value = key, lv[key]
    run.points.sort(key=lambda p: (p.sweep_value if p.sweep_value is not None else math.inf, p.label))

    for cfg_name in ("config.json", "config.yaml", "perf_config.json", "perf_config.yaml", "args.json"):
        for cand in (path / cfg_name, path / "configs" / cfg_name):
            if cand.is_file() and not cand.is_symlink() and run.config_text is None:
                try:
                    run.config_text = cand.read_text(encoding="utf-8")
                    loaded = yaml.safe_load(run.config_text)
                    run.config = loaded if isinstance(loaded, dict) else None
                except (OSError, UnicodeDecodeError, yaml.YAMLError):
                    run.notes.append(Note("warning", f"{cand.name} cannot be parsed"))
    dates = [_iso_to_ts(p.summary.get("date")) for p in run.points]
    dates = [d for d in dates if d]
    run.created = max(dates) if dates else (_stamp_from_name(path.name) or max(
        (_mtime(f) for f, _ in summary_files), default=_mtime(path)))
    return run


def _attach_details(folder: Path, points: list[PerfPoint], summary_paths: set[Path]) -> None:
    """Percentile tables and per-request records in ``folder`` for its points: a file keyed by
    point label (``{"c8": {...}}``) or, when the folder holds one point, the file itself."""
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    except OSError:
        return
    by_label = {p.label: p for p in points}
    single = points[0] if len(points) == 1 else None
    for f in files:
        if f in summary_paths:
            continue
        if f.suffix == ".json":
            data, reason = read_json(f)
            if reason or perf_summaries_in(data) or from_evalscope_perf(data):
                continue
            data = from_evalscope_percentiles(data) or data
            targets: list[tuple[PerfPoint, Any]] = []
            if isinstance(data, dict) and any(isinstance(data.get(lb), dict) for lb in by_label):
                targets = [(by_label[lb], data[lb]) for lb in by_label if isinstance(data.get(lb), dict)]
            elif single is not None:
                targets = [(single, data)]
            found = False
            for pt, d in targets:
                curves = percentiles_from(d)
                found = found or bool(curves)
                for m, c in curves.items():
                    if len(c) >= len(pt.percentiles.get(m, [])):
                        pt.percentiles[m] = c
            if found or not isinstance(data, list):
                continue
        if f.suffix not in (".json", ".jsonl", ".sqlite", ".sqlite3", ".db"):
            continue
        rows = records_in(f)
        if not rows:
            continue
        label_key = next((k for k in ("point", "label") if k in rows[0]), None)
        for pt in points:
            if pt.records_path is not None:
                continue
            mine = [r for r in rows if r.get(label_key) == pt.label] if label_key else (rows if single else [])
            if not mine:
                continue
            pt.records_path, pt.num_records = f, len(mine)
            for m, c in percentiles_from_records(mine).items():
                if len(c) > len(pt.percentiles.get(m, [])):
                    pt.percentiles[m] = c


# ---------------------------------------------------------------------------------------------
# Discovery


def _rel(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return rel if rel != "." else "."


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def discover(root: str | Path) -> list[Run]:
    """Every eval and perf run under ``root`` (any depth), newest first. Never raises on bad files."""
    root = Path(root).resolve()
    if not root.is_dir():
        return []
    runs: list[Run] = []
    perf_files: dict[Path, list[tuple[Path, list[dict]]]] = {}
    broken_json: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if n not in SKIP_DIRS and not (d / n).is_symlink())
        if is_eval_run(d):
            try:
                runs.append(load_eval_run(root, d))
            except Exception as exc:  # noqa: BLE001 - a strange folder must never stop discovery
                run = Run(kind="eval", root=root, path=d, rel=_rel(root, d), created=_mtime(d))
                run.notes.append(Note("error", f"cannot be read: {exc.__class__.__name__}: {exc}"))
                runs.append(run)
            dirnames[:] = []  # an eval run's sub-folders are its own
            continue
        for name in sorted(filenames):
            f = d / name
            if f.suffix != ".json" or f.is_symlink():
                continue
            data, reason = read_json(f)
            if reason:
                if "perf" in name.lower() or "summary" in name.lower() or "bench" in name.lower():
                    broken_json.append((f, reason))
                continue
            es = from_evalscope_perf(data)
            summaries = [es] if es is not None else perf_summaries_in(data)
            if summaries:
                perf_files.setdefault(d, []).append((f, summaries))

    # Group perf summaries: sibling sub-folders named by load level (rate_4, c8…), each with one
    # summary, are the points of one sweep run; otherwise the folder of a summary is the run.
    groups: dict[Path, list[tuple[Path, list[dict]]]] = {}
    by_parent: dict[Path, list[Path]] = {}
    for d in perf_files:
        by_parent.setdefault(d.parent, []).append(d)
    for d, files in perf_files.items():
        parent = d.parent
        siblings = by_parent.get(parent, [])
        swept = (
            d != root
            and parent not in perf_files
            and len(siblings) > 1
            and all(len(perf_files[s]) == 1 and len(perf_files[s][0][1]) == 1 and load_levels({}, s.name) for s in siblings)
        )
        groups.setdefault(parent if swept else d, []).extend(files)
    for run_dir, files in groups.items():
        try:
            runs.append(load_perf_run(root, run_dir, files))
        except Exception as exc:  # noqa: BLE001
            run = Run(kind="perf", root=root, path=run_dir, rel=_rel(root, run_dir), created=_mtime(run_dir))
            run.notes.append(Note("error", f"cannot be read: {exc.__class__.__name__}: {exc}"))
            runs.append(run)
    for f, reason in broken_json:
        if f.parent in groups or any(f.parent == r.path for r in runs):
            target = next((r for r in runs if r.path == f.parent), None)
            if target:
                target.notes.append(Note("error", f"{f.name}: {reason}"))
                continue
        run = Run(kind="perf", root=root, path=f.parent, rel=_rel(root, f.parent), created=_mtime(f))
        run.notes.append(Note("error", f"{_rel(root, f)}: {reason}"))
        runs.append(run)
    runs.sort(key=lambda r: (-r.created, r.rel))
    return runs


# ---------------------------------------------------------------------------------------------
# Views over discovered runs


@dataclass
class ResultRow:
    run: Run
    entry: EvalEntry

    @property
    def key(self) -> tuple[str, str]:
        return self.entry.model_name, self.entry.dataset


def latest_results(runs: list[Run]) -> dict[tuple[str, str], ResultRow]:
    """The newest report for each (model, dataset) over all eval runs."""
    out: dict[tuple[str, str], ResultRow] = {}
    for run in sorted((r for r in runs if r.kind == "eval"), key=lambda r: r.created):
        for e in run.entries:
            if e.report is not None:
                out[(e.model_name, e.dataset)] = ResultRow(run, e)
    return out


def primary_score(review: dict[str, Any], metric: str | None) -> float | None:
    scores = review.get("scores") or {}
    if not isinstance(scores, dict) or not scores:
        return None
    v = scores.get(metric) if metric and metric in scores else next(iter(scores.values()))
    return _num(v)


def _messages_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = request.get("messages")
    if isinstance(msgs, list):
        return [m if isinstance(m, dict) else {"role": "?", "content": str(m)} for m in msgs]
    if request.get("prompt") is not None:
        return [{"role": "prompt", "content": str(request["prompt"])}]
    return []


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")


def image_urls(content: Any) -> list[str]:
    """The image URLs of one message content (OpenAI ``image_url`` parts), in order."""
    if not isinstance(content, list):
        return []
    out = []
    for p in content:
        if isinstance(p, dict) and p.get("type") == "image_url":
            inner = p.get("image_url")
            url = inner.get("url") if isinstance(inner, dict) else inner
            if isinstance(url, str):
                out.append(url)
    return out


def read_image(url: str, run_dir: Path | None) -> tuple[bytes | None, str]:
    """The bytes of an image referenced from a prediction, or None and why it is not shown.

    ``media/…`` references resolve inside the run folder (never outside it); data URLs are decoded;
    local paths are read only when they name an image file (by suffix and signature); remote URLs
    are never fetched.
    """
    import base64
    import binascii

    if url.startswith("data:"):
        try:
            return base64.b64decode(url.split(",", 1)[1]), ""
        except (IndexError, binascii.Error, ValueError):
            return None, "unreadable data URL"
    if url.startswith(("http://", "https://")):
        return None, f"remote image, not fetched: {url[:200]}"
    p = Path(url[len("file://"):] if url.startswith("file://") else url)
    try:
        if not p.is_absolute():
            if run_dir is None:
                return None, f"image {url} (no run folder)"
            p = inside(run_dir, p)
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            return None, f"image not found: {url}"
        data = p.read_bytes()
    except (OSError, OutsideRootError):
        return None, f"image not readable: {url}"
    if not data.startswith(_IMAGE_MAGIC):
        return None, f"not an image file: {url}"
    return data, ""


def _judge_of(review: dict[str, Any]) -> str | None:
    meta = review.get("metadata") or {}
    if not isinstance(meta, dict):
        return None
    for k in JUDGE_KEYS:
        v = meta.get(k)
        if isinstance(v, dict):
            for k2 in JUDGE_KEYS + ("text", "content"):
                if isinstance(v.get(k2), str):
                    return v[k2]
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, str) and v.strip():
            return v
    return None


@dataclass
class SampleSet:
    rows: list[dict[str, Any]]
    bad_lines: dict[str, int]  # "predictions"/"reviews" -> unreadable lines
    metric: str | None


def load_samples(entry: EvalEntry, root: Path) -> SampleSet:
    """Reviews joined with predictions by ``(sample_id, repeat)``: one row per scored answer.

    A prediction without a review yet (a run in progress) is kept with ``score`` None.
    """
    bad: dict[str, int] = {}
    reviews: list[dict] = []
    preds: list[dict] = []
    if entry.reviews is not None:
        reviews, bad["reviews"] = read_jsonl_tolerant(inside(root, entry.reviews))
    if entry.predictions is not None:
        preds, bad["predictions"] = read_jsonl_tolerant(inside(root, entry.predictions))
    metric = (entry.report or {}).get("metric")
    if not metric:
        for r in reviews:
            if isinstance(r, dict) and r.get("scores"):
                metric = next(iter(r["scores"]))
                break
    by_key: dict[tuple[str, int], dict] = {}
    for p in preds:
        if isinstance(p, dict) and "sample_id" in p:
            by_key[(str(p["sample_id"]), int(p.get("repeat") or 0))] = p
    rows: list[dict[str, Any]] = []
    seen = set()
    for r in reviews:
        if not isinstance(r, dict) or "sample_id" not in r:
            bad["reviews"] = bad.get("reviews", 0) + 1
            continue
        key = (str(r["sample_id"]), int(r.get("repeat") or 0))
        seen.add(key)
        rows.append(_row(key, r, by_key.get(key), metric))
    for key, p in by_key.items():
        if key not in seen:
            rows.append(_row(key, None, p, metric))
    run_dir = None
    if entry.predictions is not None:  # <run>/predictions/<model>/<dataset>.jsonl
        run_dir = inside(root, entry.predictions).parent.parent.parent
    for row in rows:
        row["run_dir"] = run_dir
    return SampleSet(rows=rows, bad_lines={k: v for k, v in bad.items() if v}, metric=metric)


def _row(key: tuple[str, int], review: dict | None, pred: dict | None, metric: str | None) -> dict[str, Any]:
    review = review or {}
    pred = pred or {}
    output = pred.get("output") if isinstance(pred.get("output"), dict) else {}
    request = pred.get("request") if isinstance(pred.get("request"), dict) else {}
    score = primary_score(review, metric) if review else None
    error = review.get("error") or output.get("error")
    return {
        "sample_id": key[0],
        "repeat": key[1],
        "subset": review.get("subset") or pred.get("subset") or "default",
        "messages": _messages_of(request),
        "output": output.get("text", review.get("prediction", "")) or review.get("prediction", ""),
        "reasoning": output.get("reasoning"),
        "target": review.get("target"),
        "extracted": review.get("extracted"),
        "extraction_rule": review.get("extraction_rule"),
        "scores": review.get("scores") or {},
        "score": score,
        "passed": None if score is None or error else score >= 1.0 if _is_binary(score) else score > 0,
        "error": error,
        "judge": _judge_of(review),
        "usage": output.get("usage"),
        "latency_s": output.get("latency_s"),
        "reviewed": bool(review),
        "kind": request.get("kind"),
        "prompt": request.get("prompt"),
    }


def _is_binary(x: float) -> bool:
    return x in (0.0, 1.0)


def search_rows(rows: list[dict[str, Any]], query: str = "", status: str = "all") -> list[dict[str, Any]]:
    """Filter sample rows by pass/fail/error/no answer and a case-insensitive text or id search.

    "no answer": scored rows whose extraction found no answer (``extraction_rule == "none"``)."""
    q = query.strip().lower()
    out = []
    for r in rows:
        if status == "pass" and r["passed"] is not True:
            continue
        if status == "fail" and r["passed"] is not False:
            continue
        if status == "error" and not r["error"]:
            continue
        if status == "no answer" and (r["error"] or r.get("extraction_rule") != "none"):
            continue
        if q:
            hay = " ".join([
                str(r["sample_id"]), str(r["output"]), str(r["reasoning"] or ""), str(r["target"]),
                str(r["extracted"]), " ".join(str(m.get("content")) for m in r["messages"]),
            ]).lower()
            if q not in hay:
                continue
        out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# Image gallery (text-to-image and image-edit runs)

#: Request kinds whose output is an image file in the run folder (``images/...``).
IMAGE_KINDS = ("text_to_image", "image_edit")


def is_image_entry(entry: EvalEntry, root: Path) -> bool:
    """Whether the entry's predictions are generated images (their request kind says so)."""
    if entry.predictions is None:
        return False
    try:
        with open(inside(root, entry.predictions), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    return isinstance(rec, dict) and (rec.get("request") or {}).get("kind") in IMAGE_KINDS
    except (OSError, ValueError, OutsideRootError):
        return False
    return False


def image_entries(runs: list[Run], root: Path) -> list[tuple[Run, EvalEntry]]:
    """Every (run, entry) of image benchmarks, newest run first."""
    out = []
    for run in runs:
        if run.kind != "eval":
            continue
        for e in run.entries:
            if is_image_entry(e, root):
                out.append((run, e))
    return out


def gallery_rows(columns: list[tuple[str, EvalEntry]], root: Path, query: str = "") -> list[dict[str, Any]]:
    """One row per sample (by id, in the first column's order), with one cell per column.

    A cell holds the image's run-relative path, its scores, the error and the prompt; the image
    bytes are read with :func:`read_image` (inside the run folder only) when shown.
    """
    order: list[str] = []
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    prompts: dict[str, str] = {}
    for label, entry in columns:
        ss = load_samples(entry, root)
        for r in ss.rows:
            if r["repeat"]:
                continue
            sid = r["sample_id"]
            if sid not in cells:
                cells[sid] = {}
                order.append(sid)
            if r.get("prompt"):
                prompts.setdefault(sid, str(r["prompt"]))
            cells[sid][label] = {"image": r["output"] if str(r["output"]).startswith("images/") else None,
                                 "scores": r["scores"], "error": r["error"], "run_dir": r["run_dir"],
                                 "subset": r["subset"]}
    q = query.strip().lower()
    rows = []
    for sid in order:
        prompt = prompts.get(sid, "")
        if q and q not in prompt.lower() and q not in sid.lower():
            continue
        rows.append({"sample_id": sid, "prompt": prompt, "cells": cells[sid]})
    return rows


#: think_eval's metrics, in the order of EvalScope's ThinkEval charts, with their chart titles.
THINKING_METRICS = [("reasoning_tokens", "Reasoning tokens"), ("first_correct_tokens", "First correct tokens"),
                    ("reflection_tokens", "Reflection tokens"), ("token_efficiency", "Token efficiency"),
                    ("thought_num", "Thought num"), ("think_accuracy", "Accuracy")]


def thinking_series(entry: EvalEntry) -> dict[str, list[tuple[str, float]]] | None:
    """``{metric: [(subset, value), …]}`` of a report with think_eval's metrics (None for other reports).

    Subsets are the report's plain subsets in order; a report with none gives the overall value."""
    rep = entry.report or {}
    metrics = rep.get("metrics") or {}
    names = [m for m, _ in THINKING_METRICS]
    if not isinstance(metrics, dict) or not all(isinstance(metrics.get(m), dict) for m in names):
        return None
    subs = [s for s in rep.get("subsets") or [] if isinstance(s, dict) and (s.get("kind") or "subset") == "subset"
            and isinstance(s.get("metrics"), dict)]
    out: dict[str, list[tuple[str, float]]] = {}
    for m in names:
        points = []
        for s in subs or [{"name": "overall", "metrics": metrics}]:
            v = (s["metrics"].get(m) or {}).get("score")
            if isinstance(v, (int, float)):
                points.append((str(s.get("name")), float(v)))
        out[m] = points
    return out
