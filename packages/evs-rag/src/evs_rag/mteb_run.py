"""Embedding and reranker evaluation through MTEB, written as evs reports.

Order of work: read and check the config, load every custom data set, resolve every MTEB task
name, then load the models, then evaluate. Bad input therefore stops the run before any model
is loaded or any request is sent.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml
from evs_core.errors import ConfigError, suggest
from evs_core.outputs import atomic_write_text, new_run_dir, safe_name

from evs_rag.config import MTEBConfig, ModelSpec
from evs_rag.offline import is_local, offline, quiet_libraries, require_hub
from evs_rag.reports import package_versions, report_from_mteb, write_report

log = logging.getLogger("evs_rag")


def _named_tasks(cfg: MTEBConfig):
    import mteb

    if not cfg.eval.tasks:
        return []
    known = None
    tasks = []
    for name in cfg.eval.tasks:
        try:
            found = mteb.get_tasks(tasks=[name], languages=cfg.eval.languages, eval_splits=cfg.eval.eval_splits)
        except (KeyError, ValueError) as exc:
            if known is None:
                known = [t.metadata.name for t in mteb.get_tasks()]
            hint = suggest(name, known)
            raise ConfigError(f"unknown MTEB task '{name}'{hint}" if hint or name not in known
                              else f"MTEB task '{name}': {exc}") from None
        if not found:
            raise ConfigError(f"MTEB task '{name}' has no subset in languages {cfg.eval.languages}")
        tasks.extend(found)
    if cfg.eval.hub == "modelscope":
        raise ConfigError("eval.hub: modelscope is not supported for MTEB task data, which loads from the Hugging "
                          "Face Hub (set HF_ENDPOINT for a mirror); local data works with custom_tasks")
    require_hub("MTEB task data for", ", ".join(cfg.eval.tasks), "huggingface")
    return tasks


def _limit_hub_task(task, limits: int | None) -> None:
    """Keep the first ``limits`` queries (retrieval) or rows (other tasks) of a hub task."""
    if not limits:
        return
    task.load_data()
    if hasattr(task, "convert_v1_dataset_format_to_v2"):
        task.convert_v1_dataset_format_to_v2(num_proc=None)
    for subset, splits in list(task.dataset.items()):
        if not hasattr(splits, "items"):
            continue
        for split, data in list(splits.items()):
            if isinstance(data, dict) and "queries" in data:
                q = data["queries"].select(range(min(limits, len(data["queries"]))))
                keep = set(q["id"])
                data["queries"] = q
                data["relevant_docs"] = {k: v for k, v in data["relevant_docs"].items() if k in keep}
                if data.get("top_ranked"):
                    data["top_ranked"] = {k: v for k, v in data["top_ranked"].items() if k in keep}
            elif hasattr(data, "select"):
                splits[split] = data.select(range(min(limits, len(data))))


def _counts(task) -> dict[str, int]:
    counts = getattr(task, "evs_counts", None)
    if counts:
        return counts
    out = {}
    try:
        stats = task.metadata.descriptive_stats or {}
    except Exception:  # noqa: BLE001 - stats are informative only
        stats = {}
    for split in task.eval_splits:
        s = stats.get(split) or {}
        out[split] = int(s.get("num_queries") or s.get("num_samples") or 0)
    return out


def build_tasks(cfg: MTEBConfig):
    from evs_rag.custom_data import build_task

    tasks = [build_task(ct, cfg.eval.limits) for ct in cfg.eval.custom_tasks]
    names = [t.metadata.name for t in tasks]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"custom task name '{sorted(dup)[0]}' is used twice")
    return tasks, _named_tasks(cfg)


def _encode_kwargs(cfg: MTEBConfig, spec: ModelSpec) -> dict[str, Any]:
    kw = {"batch_size": 32, **cfg.eval.encode_kwargs, **spec.encode_kwargs}
    kw.setdefault("show_progress_bar", False)
    return kw


def _usage(model) -> dict[str, float]:
    api = getattr(model, "api", None)
    if api is None:
        return {}
    s = api.client.stats
    return {"requests": float(s.requests), "retries": float(s.retries), "failed_requests": float(s.failures)}


class _RunLog:
    def __init__(self, run_dir: Path):
        self.path = run_dir / "logs" / "eval_log.log"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.failures: list[str] = []

    def write(self, line: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line.rstrip() + "\n")

    def fail(self, what: str, exc: BaseException) -> None:
        msg = f"{what}: {exc.__class__.__name__}: {' '.join(str(exc).split())[:500]}"
        self.failures.append(msg)
        self.write("FAILED " + msg)


def _evaluate(model, tasks, *, spec: ModelSpec, cfg: MTEBConfig, run_dir: Path, runlog: _RunLog,
              prediction_folder: Path | None, local: bool, report_model: str, extra_config: dict[str, Any],
              written: list[Path]):
    import mteb

    for task in tasks:
        name = task.metadata.name
        try:
            with offline(local and task.metadata.dataset.get("path") == "local"):
                res = mteb.evaluate(model, task, cache=None, overwrite_strategy="always", raise_error=True,
                                    encode_kwargs=_encode_kwargs(cfg, spec), show_progress_bar=False,
                                    prediction_folder=prediction_folder)
        except Exception as exc:  # noqa: BLE001 - one task's failure is recorded, the run goes on
            runlog.fail(f"{report_model} on {name}", exc)
            continue
        tr = res.task_results[0]
        raw = run_dir / "mteb" / safe_name(report_model) / f"{safe_name(name)}.json"
        atomic_write_text(raw, json.dumps(tr.model_dump(mode="json"), indent=2, default=str))
        config = {"tool": "mteb", "model": spec.masked(), "task": name, **extra_config}
        rep = report_from_mteb(tr, model=report_model, main_metric=task.metadata.main_score,
                               counts=_counts(task), config=config, usage=_usage(model),
                               packages=package_versions("mteb", "sentence-transformers", "transformers", "torch"))
        written.append(write_report(run_dir, rep))
        runlog.write(f"{report_model} on {name}: {rep.metric} = {rep.score:.4f}")


def run_mteb(cfg: MTEBConfig, work_dir: str, *, ignored: list[str] | None = None, echo=print) -> tuple[Path, list[Path], list[str]]:
    """Evaluate every model on every task; returns (run folder, report paths, failures)."""
    quiet_libraries()
    all_local = all(s.is_api or is_local(s.model_name_or_path) for s in cfg.models) and not cfg.eval.tasks
    with offline(all_local):
        import mteb  # noqa: F401 - imported with the hub off when everything is local

        custom, named = build_tasks(cfg)
    if any(s.is_cross_encoder for s in cfg.models) and not cfg.two_stage:
        kinds = {t.metadata.type for t in [*custom, *named]}
        if kinds - {"Reranking"}:
            raise ConfigError("a reranker alone scores Reranking tasks; give an embedding model first "
                              "(two-stage retrieval) for Retrieval tasks")
    for t in named:
        _limit_hub_task(t, cfg.eval.limits)
    # models last: everything above is cheap and fails on bad input
    models = []
    for spec in cfg.models:
        from evs_rag.models import load_model

        models.append((spec, load_model(spec)))

    run_dir = new_run_dir(cfg.eval.output_folder or work_dir)
    masked = {"tool": "mteb", "models": [s.masked() for s in cfg.models], "eval": cfg.eval.model_dump(mode="json")}
    if ignored:
        masked["ignored_keys"] = ignored
    atomic_write_text(run_dir / "configs" / "task_config.yaml", yaml.safe_dump(masked, sort_keys=False))
    runlog = _RunLog(run_dir)
    written: list[Path] = []
    tasks = [*custom, *named]
    try:
        if cfg.two_stage:
            enc_spec, encoder = next((s, m) for s, m in models if not s.is_cross_encoder)
            enc_name = enc_spec.display_name
            pred = run_dir / "mteb_predictions" / safe_name(enc_name)
            _evaluate(encoder, tasks, spec=enc_spec, cfg=cfg, run_dir=run_dir, runlog=runlog, prediction_folder=pred,
                      local=enc_spec.is_api or is_local(enc_spec.model_name_or_path), report_model=enc_name,
                      extra_config={"stage": "retrieval"}, written=written)
            retrieval = [t for t in tasks if t.metadata.type in ("Retrieval", "Reranking")]
            for spec, reranker in models:
                if not spec.is_cross_encoder:
                    continue
                staged = []
                for t in retrieval:
                    try:
                        staged.append(t.convert_to_reranking(pred, top_k=cfg.eval.top_k))
                    except (FileNotFoundError, ValueError) as exc:
                        runlog.fail(f"{spec.display_name} on {t.metadata.name} (no first-stage results)", exc)
                _evaluate(reranker, staged, spec=spec, cfg=cfg, run_dir=run_dir, runlog=runlog, prediction_folder=None,
                          local=spec.is_api or is_local(spec.model_name_or_path), report_model=spec.display_name,
                          extra_config={"stage": "rerank", "first_stage": enc_name, "top_k": cfg.eval.top_k},
                          written=written)
        else:
            for spec, model in models:
                _evaluate(model, tasks, spec=spec, cfg=cfg, run_dir=run_dir, runlog=runlog, prediction_folder=None,
                          local=spec.is_api or is_local(spec.model_name_or_path), report_model=spec.display_name,
                          extra_config={}, written=written)
    finally:
        for _, model in models:  # API clients' keep-alive connections and threads
            api = getattr(model, "api", None)
            if api is not None:
                api.close()
    return run_dir, written, runlog.failures
