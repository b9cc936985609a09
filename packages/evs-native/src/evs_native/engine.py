"""The eval engine behind ``evs eval`` and :func:`run_task`.

Work is cut into independent units, one (sample, repeat) each: build the request, ask the
model, score the answer. Units run concurrently on a pool of asyncio workers; each finished
unit's prediction and review are appended (and flushed) to JSONL at once, so a crash loses
only the units in flight. ``use_cache`` resumes a run folder by (sample id, repeat): completed
units are never asked again, failed ones are retried. Because a unit needs nothing but its
sample, the same units can later be spread over many model replicas (e.g. Ray tasks).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from evs_core.benchmark import Benchmark, RunContext, failed_review
from evs_core.config import TaskConfig, load_config_file, make_config
from evs_core.errors import ConfigError, suggest
from evs_core.models import ModelAdapter
from evs_core.outputs import (
    JsonlAppender,
    atomic_write_jsonl,
    atomic_write_text,
    new_run_dir,
    safe_name,
)
from evs_core.registry import get_registries
from evs_core.schema import Prediction, Report, Review, Sample, Stat

log = logging.getLogger("evs.eval")

PACKAGES = ("evs-core", "evs-native", "evs-cli")


def to_config(config: TaskConfig | dict[str, Any] | str | Path | None = None, **kwargs: Any) -> TaskConfig:
    """A TaskConfig from a TaskConfig, a dict, or a YAML/JSON path, with ``kwargs`` on top."""
    if isinstance(config, TaskConfig):
        data = config.model_dump(exclude_unset=True)
    elif isinstance(config, (str, Path)):
        data = load_config_file(config)
    else:
        data = dict(config or {})
    data.update({k: v for k, v in kwargs.items() if v is not None})
    return make_config(data)


def run_task(config: TaskConfig | dict[str, Any] | str | Path | None = None, *, pm=None, console=None,
             **kwargs: Any) -> dict[str, Report]:
    """Run an evaluation and return ``{dataset: Report}``. Also writes the run folder."""
    cfg = to_config(config, **kwargs)
    from evs_core.errors import EvsError
    from evs_core.redact import redactor_for

    try:
        return asyncio.run(Evaluator(cfg, pm=pm, console=console).run())
    except EvsError as exc:  # a message may quote a URL or a server's reply: no secret reaches the terminal
        red = redactor_for(cfg)
        text = red.text(str(exc))
        if text != str(exc):
            exc.args = (text,)
        raise


@dataclass
class Unit:
    bench: str
    sample: Sample
    repeat: int


def _package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def check_writable_dir(option: str, path: str | Path) -> None:
    """One line when ``path`` cannot be a folder: it is a file, or a parent of it is."""
    p = Path(path).expanduser()
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                where = "is a file" if q == p else f"is under a file ({q})"
                raise ConfigError(f"{option} {path} {where}; give a folder")
            break


def check_resumable(cfg: TaskConfig) -> None:
    """``--use-cache`` must name an evs run folder of the same model and datasets."""
    import yaml

    run = Path(cfg.use_cache)
    if not run.is_dir():
        raise ConfigError(f"--use-cache folder does not exist: {cfg.use_cache}")
    saved_path = run / "configs" / "task_config.yaml"
    if not saved_path.is_file():
        raise ConfigError(f"--use-cache {cfg.use_cache} is not an evs run folder (no configs/task_config.yaml); "
                          "give the folder of an earlier run, e.g. outputs/20250101_120000")
    try:
        saved = yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ConfigError(f"--use-cache {cfg.use_cache}: configs/task_config.yaml is damaged") from None
    if not isinstance(saved, dict):
        raise ConfigError(f"--use-cache {cfg.use_cache}: configs/task_config.yaml is damaged")
    old_model = saved.get("model_id") or saved.get("model")
    if old_model != cfg.display_name:
        raise ConfigError(f"--use-cache {cfg.use_cache} is a run of model '{old_model}', not '{cfg.display_name}'; "
                          "resume with the same model or start a new run")
    old_sets = saved.get("datasets") or []
    if sorted(set(old_sets)) != sorted(set(cfg.datasets)):
        raise ConfigError(f"--use-cache {cfg.use_cache} is a run of datasets {', '.join(old_sets)}, not "
                          f"{', '.join(cfg.datasets)}; resume with the same datasets or start a new run")


def error_kind(error: str) -> str:
    head = error.split(":", 1)[0].strip()
    return head if head and len(head) <= 40 else "Error"


class Evaluator:
    def __init__(self, config: TaskConfig, pm=None, console=None) -> None:
        self.cfg = config
        self.registries = get_registries(pm)
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        self.console = console
        self.benchmarks: dict[str, Benchmark] = {}
        self.samples: dict[str, list[Sample]] = {}
        self.run_dir: Path | None = None
        self.model: ModelAdapter | None = None
        self.judge = None
        self.contexts: dict[str, RunContext] = {}
        from evs_core.redact import redactor_for

        #: Everything the run writes passes through it: no key, credential header or URL password.
        self.redact = redactor_for(config).text

    # -- preparation: everything that can fail on bad input happens before any model call ---
    def _register_spec_files(self) -> None:
        """Register the spec files of ``benchmark_file`` and ``.yaml`` entries of ``datasets`` under their names."""
        from evs_core.specfile import SPEC_SUFFIXES, load_spec_target

        cfg = self.cfg
        known = self.registries.benchmarks
        by_path: dict[str, str] = {}

        def register(path: str) -> str:
            p = str(Path(path).expanduser().resolve())
            if p in by_path:
                return by_path[p]
            if not Path(p).is_file():
                raise ConfigError(f"benchmark spec file not found: {path}")
            name = load_spec_target(p)["name"]
            if name in known and known.entry(name).target != p:
                raise ConfigError(f"benchmark spec {path} is named '{name}', which plugin "
                                  f"'{known.entry(name).plugin}' registers already: rename it")
            if name not in known:
                known.add(name, p, "file")
            by_path[p] = name
            return name

        names = [register(d) if d.lower().endswith(SPEC_SUFFIXES) else d for d in cfg.datasets]
        for f in cfg.benchmark_file:
            name = register(f)
            if name not in names:
                names.append(name)
        if names != cfg.datasets:
            cfg.datasets = names

    def prepare(self) -> None:
        cfg = self.cfg
        self._register_spec_files()
        known = self.registries.benchmarks
        for name in cfg.datasets:
            if name not in known:
                raise ConfigError(f"unknown dataset '{name}'{suggest(name, known.names())}; `evs benchmarks` lists them")
        for name in cfg.dataset_args:
            if name not in cfg.datasets:
                raise ConfigError(f"dataset_args names '{name}', which is not among the datasets to run"
                                  f"{suggest(name, cfg.datasets)}")
        if cfg.dataset_dir is not None and not Path(cfg.dataset_dir).expanduser().is_dir():
            raise ConfigError(f"--dataset-dir does not exist or is not a folder: {cfg.dataset_dir}")
        if cfg.use_cache is not None:
            check_resumable(cfg)
        else:
            check_writable_dir("--work-dir", cfg.work_dir)
            if cfg.no_timestamp and (Path(cfg.work_dir) / "configs" / "task_config.yaml").exists():
                raise ConfigError(f"--no-timestamp: {cfg.work_dir} already holds a run; resume it with "
                                  f"--use-cache {cfg.work_dir} or choose another --work-dir")
        if cfg.rescore and cfg.use_cache is None:
            raise ConfigError("--rescore needs --use-cache <run dir> holding the predictions to re-score")
        model_type = cfg.resolved_model_type()
        if model_type not in self.registries.models:
            raise ConfigError(f"unknown model_type '{model_type}'{suggest(model_type, self.registries.models.names())}")
        for name in dict.fromkeys(cfg.datasets):
            cls = known.load(name)
            if cls.requires_judge and not cfg.judge:
                raise ConfigError(f"{name} is graded by an LLM judge: give --judge-args "
                                  "'{\"model\": \"NAME\", \"api_url\": \"URL\"}' (config key 'judge')")
            bench = cls(cfg.dataset_args.get(name), dataset_dir=cfg.dataset_dir, hub=cfg.dataset_hub, seed=cfg.seed,
                        generation_config=cfg.generation_config, registries=self.registries)
            samples = bench.load_samples(cfg.limit)
            if not samples:
                raise ConfigError(f"{name}: no samples to evaluate")
            bench.build_request(samples[0])  # loads few-shot data and checks the template now
            self.benchmarks[name] = bench
            self.samples[name] = samples

    def _make_judge(self):
        """The run's LLM judge (``config.judge``), or None when no judge is configured."""
        if not self.cfg.judge:
            return None
        from evs_core.judge import make_judge

        return make_judge(self.cfg, self.registries)

    def _open_run_dir(self) -> Path:
        if self.cfg.use_cache:
            run = Path(self.cfg.use_cache)
            for sub in ("configs", "logs", "predictions", "reviews", "reports"):
                (run / sub).mkdir(parents=True, exist_ok=True)
        elif self.cfg.no_timestamp:
            run = Path(self.cfg.work_dir)
            for sub in ("configs", "logs", "predictions", "reviews", "reports"):
                (run / sub).mkdir(parents=True, exist_ok=True)
        else:
            run = new_run_dir(self.cfg.work_dir)
        import yaml

        atomic_write_text(run / "configs" / "task_config.yaml",
                          yaml.safe_dump(self.cfg.public_dict(), sort_keys=False, allow_unicode=True),
                          redact=self.redact)
        handler = logging.FileHandler(run / "logs" / "eval_log.log", encoding="utf-8")
        from evs_core.redact import redactor_for

        handler.addFilter(redactor_for(self.cfg).logging_filter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if self.cfg.debug else logging.INFO)
        self._log_handler = handler
        return run

    def _paths(self, bench: str) -> tuple[Path, Path, Path]:
        m = safe_name(self.cfg.display_name)
        assert self.run_dir is not None
        return (self.run_dir / "predictions" / m / f"{bench}.jsonl",
                self.run_dir / "reviews" / m / f"{bench}.jsonl",
                self.run_dir / "reports" / m / f"{bench}.json")

    # -- the run ------------------------------------------------------------------------------
    async def run(self) -> dict[str, Report]:
        self.prepare()
        self.judge = self._make_judge()
        try:
            return await self._run()
        finally:
            if self.judge is not None and hasattr(self.judge, "aclose"):
                await self.judge.aclose()

    def _make_contexts(self) -> None:
        for name in self.benchmarks:
            judge = self.judge.for_dataset(name) if self.judge is not None else None
            self.contexts[name] = RunContext(registries=self.registries, judge=judge, run_dir=self.run_dir,
                                             seed=self.cfg.seed, dataset=name)

    async def _run(self) -> dict[str, Report]:
        cached: dict[str, dict[tuple[str, int], Prediction]] = {}
        if self.cfg.rescore:
            self.run_dir = self._open_run_dir()
            self._make_contexts()
            for name in self.benchmarks:
                cached[name] = self._load_cached(name)
                await self._rescore(name, cached[name])
            return self._finish(cached)
        model_type = self.cfg.resolved_model_type()
        if self.cfg.executor == "ray":  # the same run, model calls on Ray actors (one per replica)
            from evs_native.ray_executor import RayModelPool

            self.model = RayModelPool(self.cfg, model_type)
        else:
            self.model = self.registries.models.load(model_type)(self.cfg)
        try:
            await self.model.preflight()
            self.run_dir = self._open_run_dir()
            self.model.bind_run_dir(self.run_dir)
            self._make_contexts()
            log.info("run %s: model %s (%s), datasets %s", self.run_dir, self.cfg.model, model_type, self.cfg.datasets)
            units: list[Unit] = []
            for name, samples in self.samples.items():
                cached[name] = self._load_cached(name) if self.cfg.use_cache else {}
                for s in samples:
                    for r in range(self.cfg.repeats):
                        if (s.id, r) not in cached[name]:
                            units.append(Unit(name, s, r))
            if self.cfg.use_cache:
                done = sum(len(c) for c in cached.values())
                self.console.print(f"Resuming {self.run_dir}: {done} completed, {len(units)} to run")
            await self._run_units(units, cached)
        finally:
            await self.model.aclose()
        return self._finish(cached)

    def _load_cached(self, name: str) -> dict[tuple[str, int], Prediction]:
        """Completed units of a run folder: a successful prediction with its review.

        Failed predictions, and predictions whose review was lost (a crash between the two
        appends), are dropped so that they run again; both files are rewritten clean before any
        append. Under ``--rescore`` every prediction is kept and the reviews are not read.
        """
        pred_path, review_path, _ = self._paths(name)
        wanted = {s.id for s in self.samples[name]}
        preds = _read_jsonl(pred_path, Prediction, name)
        out: dict[tuple[str, int], Prediction] = {}
        for p in preds:
            if self.cfg.rescore or p.output.error is None:
                out[(p.sample_id, p.repeat)] = p
        if not self.cfg.rescore:
            reviews = {(r.sample_id, r.repeat): r for r in _read_jsonl(review_path, Review, name)}
            out = {k: p for k, p in out.items() if k in reviews}
            # Rewrite without damaged/failed lines so appends start on a clean line.
            atomic_write_jsonl(pred_path, list(out.values()), redact=self.redact)
            atomic_write_jsonl(review_path, [reviews[k] for k in out], redact=self.redact)
        missing = [k for k in out if k[0] not in wanted]
        for k in missing:  # predictions of samples outside this run's selection are kept on disk only
            out.pop(k)
        return out

    async def _run_units(self, units: list[Unit], cached: dict[str, dict[tuple[str, int], Prediction]]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        assert self.model is not None
        writers = {}
        for name in self.benchmarks:
            pred_path, review_path, _ = self._paths(name)
            writers[name] = (JsonlAppender(pred_path, self.redact), JsonlAppender(review_path, self.redact))
        queue: asyncio.Queue[Unit] = asyncio.Queue()
        for u in units:
            queue.put_nowait(u)
        n_workers = min(self.model.max_concurrency or self.cfg.concurrency, max(1, len(units)))
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), console=self.console, disable=self.cfg.no_progress, transient=False)
        total_by = Counter(u.bench for u in units)
        tasks = {name: progress.add_task(name, total=total_by.get(name, 0), errors=0) for name in self.benchmarks}
        errors = Counter()

        async def worker() -> None:
            while True:
                try:
                    unit = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                bench = self.benchmarks[unit.bench]
                try:
                    solve = bench.solve
                    if solve is not None:  # a multi-turn benchmark (an agent episode) drives the model itself
                        output, req_dict = await solve(unit.sample, self.model,
                                                       self.contexts[unit.bench].for_repeat(unit.repeat))
                    else:
                        request = bench.build_request(unit.sample)
                        output = await self.model.agenerate(request)
                        req_dict = request.to_dict()
                except Exception as exc:  # noqa: BLE001 - recorded and counted, never fatal
                    from evs_core.schema import ModelOutput

                    output = ModelOutput(error=f"{type(exc).__name__}: {exc}")
                    req_dict = {}
                pred = Prediction(sample_id=unit.sample.id, repeat=unit.repeat, subset=unit.sample.subset,
                                  request=req_dict, output=output, time=time.time())
                review = await self.score_unit(bench, unit.sample, output, self.contexts[unit.bench].for_repeat(unit.repeat))
                pw, rw = writers[unit.bench]
                pw.write(pred)
                rw.write(review)
                cached[unit.bench][(pred.sample_id, pred.repeat)] = pred
                if review.error:  # the model call, the scorer or the judge failed: counted as the report counts
                    errors[unit.bench] += 1
                    log.warning("%s %s: %s", unit.bench, unit.sample.id, review.error)
                progress.update(tasks[unit.bench], advance=1, errors=errors[unit.bench])

        try:
            with progress:
                await asyncio.gather(*(worker() for _ in range(n_workers)))
        finally:
            for pw, rw in writers.values():
                pw.close()
                rw.close()

    # -- scoring and reports -------------------------------------------------------------------
    async def score_unit(self, bench: Benchmark, sample: Sample, output, ctx: RunContext) -> Review:
        """The one place a unit is scored; a scorer that raises fails this sample, not the run."""
        try:
            review = await bench.score(sample, output, ctx)
        except Exception as exc:  # noqa: BLE001 - a scorer bug fails one sample, not the run
            return failed_review(sample, output, ctx, f"ScoringError: {type(exc).__name__}: {exc}")
        if review.sample_id != sample.id or review.repeat != ctx.repeat:
            review = review.model_copy(update={"sample_id": sample.id, "repeat": ctx.repeat})
        return review

    async def _rescore(self, name: str, preds: dict[tuple[str, int], Prediction]) -> None:
        """``--rescore``: score every stored prediction again and replace the reviews file."""
        bench, ctx = self.benchmarks[name], self.contexts[name]
        units = [(s, r, preds[(s.id, r)]) for s in self.samples[name] for r in range(self.cfg.repeats)
                 if (s.id, r) in preds]
        sem = asyncio.Semaphore(max(1, self.cfg.concurrency))

        async def one(s, r, p):
            async with sem:
                return await self.score_unit(bench, s, p.output, ctx.for_repeat(r))

        reviews = list(await asyncio.gather(*(one(s, r, p) for s, r, p in units)))
        atomic_write_jsonl(self._paths(name)[1], reviews, redact=self.redact)

    def stored_reviews(self, name: str) -> list[Review]:
        """This run's reviews as written on disk, in sample order (the last line of a unit wins)."""
        _, review_path, _ = self._paths(name)
        by_key = {(r.sample_id, r.repeat): r for r in _read_jsonl(review_path, Review, name)}
        return [by_key[(s.id, r)] for s in self.samples[name] for r in range(self.cfg.repeats)
                if (s.id, r) in by_key]

    def _finish(self, cached: dict[str, dict[tuple[str, int], Prediction]]) -> dict[str, Report]:
        reports = {}
        for name, bench in self.benchmarks.items():
            reviews = self.stored_reviews(name)
            report = self.make_report(name, bench, reviews, cached[name])
            _, _, report_path = self._paths(name)
            atomic_write_text(report_path, report.model_dump_json(indent=2), redact=self.redact)
            try:  # e.g. a heatmap PNG next to the report
                bench.after_report(report, report_path)
            except Exception as exc:  # noqa: BLE001 - an extra never fails the run
                log.warning("%s: after_report failed: %s: %s", name, type(exc).__name__, exc)
            reports[name] = report
        if reports:
            from evs_native.html_report import write_report

            try:
                write_report(self.run_dir, redact=self.redact)
            except Exception as exc:  # noqa: BLE001 - the shareable page never fails the run
                log.warning("report.html could not be written: %s: %s", type(exc).__name__, exc)
        self.console.print(f"Run folder: {self.run_dir}")
        if getattr(self, "_log_handler", None) is not None:
            log.removeHandler(self._log_handler)
            self._log_handler.close()
        return reports

    def make_report(self, name: str, bench: Benchmark, reviews: list[Review],
                    preds: dict[tuple[str, int], Prediction]) -> Report:
        metrics, subsets = bench.aggregate(reviews, seed=self.cfg.seed)
        if self.cfg.repeats > 1:
            metrics.update(repeat_metrics(reviews, bench.primary, self.cfg.repeats, self.cfg.seed))
        primary = metrics.get(bench.primary)
        errors = Counter(error_kind(r.error) for r in reviews if r.error)
        missing = len(self.samples[name]) * self.cfg.repeats - len(reviews)
        if missing:
            errors["NotRun"] += missing
        lengths = [r.reasoning_chars for r in reviews if r.reasoning_chars is not None]
        reasoning = None
        if lengths:
            lengths.sort()
            reasoning = {"num": len(lengths), "mean_chars": sum(lengths) / len(lengths),
                         "median_chars": float(lengths[len(lengths) // 2]), "max_chars": float(lengths[-1])}
        usage: dict[str, float] = {}
        for p in preds.values():
            if p.output.usage:
                for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
                    usage[k] = usage.get(k, 0) + getattr(p.output.usage, k)
        lat = [p.output.latency_s for p in preds.values() if p.output.latency_s is not None]
        if lat:
            usage["mean_latency_s"] = sum(lat) / len(lat)
        num_units = len(self.samples[name]) * self.cfg.repeats
        return Report(
            model=self.cfg.display_name,
            dataset=name,
            benchmark_version=bench.version,
            metric=bench.primary,
            score=primary.score if primary else 0.0,
            num=primary.num if primary else 0,
            num_samples=num_units,
            num_errors=sum(errors.values()),
            stderr=primary.stderr if primary else None,
            ci95=primary.ci95 if primary else None,
            metrics=metrics,
            subsets=subsets,
            errors=dict(errors),
            reasoning=reasoning,
            usage=usage,
            no_answer_rate=no_answer_rate(reviews),
            judge=self.judge.summary(name) if self.judge is not None else None,
            config=self.cfg.public_dict(),
            packages=_package_versions(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )


#: A report whose share of replies without an extracted answer reaches this is flagged on the table.
NO_ANSWER_WARN = 0.10


def no_answer_rate(reviews: list[Review]) -> float | None:
    """Share of scored reviews whose extraction found no answer (``extraction_rule == "none"``),
    among those that record a rule; ``None`` when none does (e.g. log-likelihood scoring)."""
    ruled = [r for r in reviews if r.error is None and r.extraction_rule is not None]
    if not ruled:
        return None
    return sum(r.extraction_rule == "none" for r in ruled) / len(ruled)


def _read_jsonl(path: Path, model, name: str) -> list:
    """Valid lines of a predictions or reviews file; damaged lines (a crash mid-write) are skipped."""
    out, bad = [], 0
    if path.exists():
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    out.append(model.model_validate_json(line))
                except ValueError:  # a line cut by a crash, or a foreign one
                    bad += 1
    if bad:
        log.warning("%s: skipped %d damaged line(s) in %s", name, bad, path)
    return out


def repeat_metrics(reviews: list[Review], metric: str, n: int, seed: int = 0) -> dict[str, Stat]:
    """pass@k (unbiased estimator, k = 1, 2, 4, … ≤ n) and maj@n of a metric over repeats.

    A generation counts as correct when its score is ≥ 0.5 (scores are 0/1 for the benchmarks
    that use repeats). maj@n scores the most frequent extracted answer of a sample (ties: the
    one seen first), with the score that answer received.
    """
    import json as _json

    from evs_core.stats import pass_at_k, summarize

    by_sample: dict[str, list[Review]] = {}
    for r in reviews:
        if r.error is None and metric in r.scores:
            by_sample.setdefault(r.sample_id, []).append(r)
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= n]
    if n not in ks:
        ks.append(n)
    out: dict[str, Stat] = {}
    for k in ks:
        vals = [pass_at_k(len(rs), sum(1 for r in rs if r.scores[metric] >= 0.5), k)
                for rs in by_sample.values() if len(rs) >= k]
        if vals:
            out[f"pass@{k}"] = summarize(vals, seed)
    maj = []
    for rs in by_sample.values():
        keys = [_json.dumps(r.extracted, sort_keys=True, default=str) for r in rs]
        counts = Counter(keys)
        best = max(counts, key=lambda key: (counts[key], -keys.index(key)))
        maj.append(rs[keys.index(best)].scores[metric])
    if maj:
        out[f"maj@{n}"] = summarize(maj, seed)
    return out


def print_table(reports: dict[str, Report], console=None) -> None:
    """The terminal table: model, dataset, metric, subset, num, score (± CI), errors."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if Console().is_terminal else 140)
    table = Table(title="evs eval", show_lines=False)
    for col in ("Model", "Dataset", "Metric", "Subset", "Num", "Score", "95% CI", "Errors"):
        table.add_column(col, justify="right" if col in ("Num", "Score", "Errors") else "left")

    def ci(c):
        return f"{c[0]:.3f}–{c[1]:.3f}" if c else "-"

    for name, rep in reports.items():
        rows = rep.subsets if len(rep.subsets) > 1 else []
        table.add_row(rep.model, name, rep.metric, "OVERALL", str(rep.num), f"{rep.score:.4f}", ci(rep.ci95),
                      str(rep.num_errors))
        for sub in rows:
            stat = sub.metrics.get(rep.metric)
            table.add_row("", "", "", sub.name, str(sub.num), f"{sub.score:.4f}", ci(stat.ci95 if stat else None), "")
    console.print(table)
    for name, rep in reports.items():
        if rep.no_answer_rate is not None and rep.no_answer_rate >= NO_ANSWER_WARN:
            console.print(f"[yellow]Warning: {name}: no answer could be extracted from {rep.no_answer_rate:.0%} of "
                          f"the scored replies (scored 0); check the replies' format, e.g. `evs viz` → Samples → "
                          f"no answer, or configure a judge (strategy llm_when_rule_fails).[/yellow]")
