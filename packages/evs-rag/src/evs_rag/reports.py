"""Results as evs reports: ``reports/<model>/<task>.json`` (``evs_core.schema.Report``)."""

from __future__ import annotations

import math
import time
from importlib import metadata as md
from pathlib import Path
from typing import Any

from evs_core.outputs import atomic_write_text, safe_name
from evs_core.schema import Report, Stat, SubsetScore

_NOT_METRICS = {"main_score", "hf_subset", "languages", "mteb_version", "evaluation_time"}


def package_versions(*extra: str) -> dict[str, str]:
    out = {}
    for name in ("evs-rag", "evs-core", *extra):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def finite_metrics(scores: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every finite number in an MTEB score dict, nested dicts flattened with ``.``."""
    out: dict[str, float] = {}
    for k, v in scores.items():
        if k in _NOT_METRICS:
            continue
        if isinstance(v, dict):
            out.update(finite_metrics(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            f = float(v)
            if math.isfinite(f):
                out[f"{prefix}{k}"] = f
    return out


def report_from_mteb(task_result, *, model: str, main_metric: str, counts: dict[str, int],
                     config: dict[str, Any], usage: dict[str, float] | None = None,
                     packages: dict[str, str] | None = None) -> Report:
    """One report per task: the main score and every metric, averaged over splits and subsets as
    MTEB does, with one subset row per (split, subset/language)."""
    rows: list[SubsetScore] = []
    sums: dict[str, list[float]] = {}
    splits = list(task_result.scores)
    total_num = 0
    for split in splits:
        n = int(counts.get(split, 0))
        total_num += n
        for entry in task_result.scores[split]:
            metrics = finite_metrics(entry)
            main = float(entry.get("main_score", metrics.get(main_metric, float("nan"))))
            if not math.isfinite(main):
                main = 0.0
            metrics.setdefault(main_metric, main)
            for k, v in metrics.items():
                sums.setdefault(k, []).append(v)
            name = entry.get("hf_subset", "default")
            if len(splits) > 1:
                name = f"{split}/{name}"
            rows.append(SubsetScore(name=name, num=n, score=main,
                                    metrics={k: Stat(score=v, num=n) for k, v in metrics.items()}))
    num = total_num
    metrics = {k: Stat(score=sum(v) / len(v), num=num) for k, v in sorted(sums.items())}
    score = metrics[main_metric].score if main_metric in metrics else 0.0
    return Report(
        model=model, dataset=task_result.task_name, benchmark_version=f"mteb {task_result.mteb_version}",
        metric=main_metric, score=score, num=num, num_samples=num, num_errors=0,
        metrics=metrics, subsets=rows, usage=usage or {},
        config=config, packages=packages or package_versions("mteb", "sentence-transformers"),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def write_report(run_dir: Path, report: Report) -> Path:
    path = run_dir / "reports" / safe_name(report.model) / f"{safe_name(report.dataset)}.json"
    atomic_write_text(path, report.model_dump_json(indent=2))
    return path
