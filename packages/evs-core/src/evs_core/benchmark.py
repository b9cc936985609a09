"""The benchmark contract.

A benchmark is data + prompt + extraction + metrics:

* class attributes declare where the data lives online (``hf_id``, ``ms_id``, ``subsets``,
  splits), the defaults (few-shot count, generation config) and the metrics;
* :meth:`Benchmark.record_to_sample` turns one raw row into a :class:`~evs_core.schema.Sample`;
* :meth:`Benchmark.build_request` turns a sample into a model request;
* :meth:`Benchmark.extract` and :meth:`Benchmark.score` turn the model output into scores.

Every sample is scored on its own, so samples can run in any order, on any worker.
Per-benchmark arguments (``--dataset-args '{"gsm8k": {"few_shot_num": 2}}'``) are checked
against :meth:`Benchmark.default_args`: an unknown key stops the run with a suggestion.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from evs_core.data import load_hub, load_local
from evs_core.errors import ConfigError, suggest
from evs_core.extract import Extraction
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import AGGREGATIONS, aggregate_values

DEFAULT = "default"

#: EvalScope's dataset_args keys evs accepts beyond its own. few_shot_random, dataset_id,
#: eval_split/train_split and extra_params act here; filters, metric_list, aggregation,
#: shuffle_choices and review_timeout are kept in ``Benchmark.args`` for the scoring code to read.
EVALSCOPE_DATASET_ARGS: dict[str, Any] = {
    "few_shot_random": False,
    "dataset_id": None,
    "train_split": None,
    "eval_split": None,
    "extra_params": {},
    "filters": None,
    "metric_list": None,
    "aggregation": None,
    "shuffle_choices": False,
    "review_timeout": None,
    "force_redownload": False,
}


@dataclass(frozen=True)
class RunContext:
    """What a benchmark's :meth:`Benchmark.score` may use besides the sample and the output.

    ``judge`` is the run's LLM judge for this dataset (an :class:`evs_core.judge.Judge` view), or
    None; ``run_dir`` the run folder (None outside a run); ``repeat`` the unit's repeat index.
    """

    registries: Any = None
    judge: Any = None
    run_dir: Path | None = None
    seed: int = 42
    dataset: str = ""
    repeat: int = 0

    def for_repeat(self, repeat: int) -> RunContext:
        return replace(self, repeat=repeat)


class Benchmark:
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    tags: ClassVar[list[str]] = []
    hf_id: ClassVar[str | None] = None
    ms_id: ClassVar[str | None] = None
    subsets: ClassVar[list[str]] = [DEFAULT]
    #: The Hub config name for a subset when it differs from the subset name.
    hub_subset: ClassVar[dict[str, str | None]] = {}
    eval_split: ClassVar[str] = "test"
    fewshot_split: ClassVar[str | None] = None
    few_shot_num: ClassVar[int] = 0
    #: Samples in the eval split of the default subsets, where known (shown by `evs benchmarks`).
    num_samples: ClassVar[int | None] = None
    metrics: ClassVar[list[str]] = ["acc"]
    primary_metric: ClassVar[str] = "acc"
    generation: ClassVar[dict[str, Any]] = {}
    system_prompt: ClassVar[str | None] = None
    #: Extra arguments this benchmark accepts in ``dataset_args``, with their defaults.
    extra_args: ClassVar[dict[str, Any]] = {}
    #: True when the benchmark cannot be scored without an LLM judge (``--judge-args``).
    requires_judge: ClassVar[bool] = False
    #: Names of registered filters applied, in order, to a reply before :meth:`extract`
    #: (``dataset_args.<name>.filters`` overrides them for a run).
    filters: ClassVar[list[Any]] = []
    #: Aggregation of each metric over samples (``mean`` when not named): mean, median, max, min, sum.
    metric_aggregations: ClassVar[dict[str, str]] = {}
    #: The prompt template shown by ``evs benchmarks show`` (a benchmark may build prompts otherwise).
    prompt_template: ClassVar[str | None] = None
    #: A multi-turn benchmark (an agent episode, a simulated user) drives the model itself: an
    #: ``async solve(sample, model, ctx) -> (ModelOutput, request dict)`` method replaces the one
    #: request of :meth:`build_request`. ``None``: one request per sample.
    solve: ClassVar[Any] = None

    def after_report(self, report: Any, report_path: Path) -> Any:
        """Called once after this benchmark's report is written (e.g. to draw a chart next to it)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _adapt_legacy(cls)

    def __init__(self, args: dict[str, Any] | None = None, dataset_dir: str | None = None,
                 hub: str = "huggingface", seed: int = 42, generation_config: dict[str, Any] | None = None,
                 registries: Any = None) -> None:
        defaults = self.default_args()
        args = dict(args or {})
        for key in args:
            if key not in defaults:
                raise ConfigError(
                    f"unknown key '{key}' in dataset_args.{self.name}{suggest(key, defaults)}"
                    f" (valid: {', '.join(sorted(defaults))})"
                )
        self.args = {**defaults, **args}
        self._evalscope_args()
        self.dataset_dir = dataset_dir
        self.hub = hub
        self.seed = seed
        #: The run's registries (filters, metrics, dataset loaders); the default plugins' when None.
        self.registries = registries
        #: The run's --generation-config: overrides the benchmark's defaults; dataset_args' overrides it.
        self.user_generation = dict(generation_config or {})
        self._check_args()
        self._resolve_pipeline()

    # -- description ---------------------------------------------------------------------------
    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The benchmark in the shape of a spec (what ``evs benchmarks show`` prints)."""
        return {
            "name": cls.name, "version": cls.version, "description": cls.description, "tags": list(cls.tags),
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "dataset": {"hf": cls.hf_id, "ms": cls.ms_id, "subsets": list(cls.subsets),
                        "eval_split": cls.eval_split, "fewshot_split": cls.fewshot_split,
                        "num_samples": cls.num_samples},
            "prompt": {"template": cls.prompt_template, "system": cls.system_prompt,
                       "fewshot": {"num": cls.few_shot_num}},
            "filters": list(cls.filters),
            "metrics": [{"name": m, "aggregation": cls.metric_aggregations.get(m, "mean")} for m in cls.metrics],
            "primary_metric": cls.primary_metric,
            "generation": dict(cls.generation),
            "requires_judge": cls.requires_judge,
            "dataset_args": cls.default_args(),
        }

    # -- arguments ---------------------------------------------------------------------------
    @classmethod
    def default_args(cls) -> dict[str, Any]:
        return {
            "few_shot_num": cls.few_shot_num,
            "subset_list": list(cls.subsets),
            "local_path": None,
            "split": cls.eval_split,
            "system_prompt": cls.system_prompt,
            "generation_config": {},
            "shuffle": False,
            **EVALSCOPE_DATASET_ARGS,
            "filters": None,
            "metric_list": None,
            "aggregation": None,
            **cls.extra_args,
        }

    def _evalscope_args(self) -> None:
        """EvalScope's names for evs's arguments (eval_split, train_split, extra_params)."""
        a = self.args
        if a.get("eval_split"):
            a["split"] = a["eval_split"]
        if a.get("train_split"):
            self.fewshot_split = a["train_split"]
        extra = a.get("extra_params") or {}
        if not isinstance(extra, dict):
            raise ConfigError(f"dataset_args.{self.name}.extra_params must be a mapping")
        for key, value in extra.items():
            if isinstance(value, dict) and {"value", "type"} <= set(value):  # EvalScope's spec form
                value = value["value"]
            if key not in type(self).extra_args:
                raise ConfigError(f"unknown key '{key}' in dataset_args.{self.name}.extra_params"
                                  f"{suggest(key, type(self).extra_args)}"
                                  f" (valid: {', '.join(sorted(type(self).extra_args)) or 'none'})")
            a[key] = value
        if not isinstance(a.get("few_shot_random"), bool):
            raise ConfigError(f"dataset_args.{self.name}.few_shot_random must be true or false")
        from evs_core.config import check_generation

        a["generation_config"] = check_generation(a.get("generation_config") or {},
                                                  f"dataset_args.{self.name}.generation_config", client=False)

    def _check_args(self) -> None:
        n = self.args["few_shot_num"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"dataset_args.{self.name}.few_shot_num must be a non-negative integer, not {n!r}")
        if n and not self.fewshot_split:
            raise ConfigError(f"dataset_args.{self.name}.few_shot_num: {self.name} has no few-shot split")
        subsets = self.args["subset_list"]
        if isinstance(subsets, str):
            subsets = self.args["subset_list"] = [subsets]
        if self.subsets != [DEFAULT]:
            for s in subsets:
                if s not in self.subsets:
                    raise ConfigError(f"unknown subset '{s}' of {self.name}{suggest(s, self.subsets)}")

    # -- data --------------------------------------------------------------------------------
    def local_root(self) -> Path | None:
        dataset_id = self.args.get("dataset_id")
        if dataset_id and not self.args.get("local_path") and (
                Path(dataset_id).expanduser().exists() or str(dataset_id).startswith((".", "/", "~"))):
            self.args["local_path"] = dataset_id  # EvalScope: dataset_id may be a local folder
        if self.args.get("local_path"):
            root = Path(self.args["local_path"]).expanduser()
            if not root.exists():
                raise ConfigError(f"dataset_args.{self.name}.local_path does not exist: {root}")
            return root
        if self.dataset_dir:
            base = Path(self.dataset_dir).expanduser()
            if not base.is_dir():
                raise ConfigError(f"--dataset-dir does not exist or is not a folder: {base}")
            root = base / self.name
            if not root.exists():
                raise ConfigError(f"no data for {self.name} under --dataset-dir: {root} does not exist")
            return root
        return None

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        """Raw rows of one split of one subset: local files when configured, else the Hub."""
        root = self.local_root()
        if root is not None:
            if subset == DEFAULT:
                return self.load_local(root, split, None)
            if len(self.subsets) == 1:  # a single-config dataset may be stored without its config folder
                try:
                    return self.load_local(root, split, subset)
                except ConfigError:
                    return self.load_local(root, split, None)
            return self.load_local(root, split, subset)
        dataset_id = self.ms_id if self.hub == "modelscope" and self.ms_id else self.hf_id
        if self.args.get("dataset_id"):  # EvalScope's override: a hub id (a local path is handled above)
            dataset_id = self.args["dataset_id"]
        if not dataset_id:
            raise ConfigError(f"{self.name} has no online source: give --dataset-dir or dataset_args.{self.name}.local_path")
        hub_subset = self.hub_subset.get(subset, None if subset == DEFAULT else subset)
        return load_hub(dataset_id, hub_subset, split, self.hub)

    def load_local(self, root: Path, split: str, subset: str | None) -> list[dict[str, Any]]:
        """Rows of a local split, read by the dataset loaders registered for the files' suffixes."""
        return load_local(root, split, subset, loaders=self.dataset_loaders())

    def dataset_loaders(self) -> Any:
        """The run's dataset-loader registry (the default plugins' when the benchmark has none)."""
        if self.registries is None:
            from evs_core.registry import get_registries

            self.registries = get_registries()
        return self.registries.dataset_loaders

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        raise NotImplementedError

    def selected_subsets(self) -> list[str]:
        """The subsets this run evaluates (``subset_list``)."""
        return list(self.args["subset_list"])

    def subset_samples(self, subset: str) -> list[Sample]:
        """Every sample of one subset's eval split, in file order."""
        rows = self.load_rows(self.args["split"], subset)
        out = []
        for i, r in enumerate(rows):
            try:
                s = self.record_to_sample(r, i, subset)
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
                raise ConfigError(self._row_error(r, i, subset, exc)) from None
            except ConfigError as exc:  # a declarative record mapping names the row and field: add the file
                raise ConfigError(f"{self._source(subset)}: {exc}") from None
            if s is not None:
                out.append(s)
        return out

    def _row_error(self, row: Any, index: int, subset: str, exc: Exception) -> str:
        """One line naming the data file (or hub dataset), the row and the missing/bad field."""
        if isinstance(exc, KeyError):
            what = f"has no field '{exc.args[0]}'" if exc.args else "lacks a field"
        else:
            what = f"cannot be read ({type(exc).__name__}: {exc})"
        fields = ", ".join(sorted(map(str, row))) if isinstance(row, dict) else type(row).__name__
        return f"{self.name}: {self._source(subset)}: row {index + 1} {what} (fields: {fields})"

    def _source(self, subset: str) -> str:
        """The data files (or the hub dataset) a subset's rows come from, for messages."""
        where = f"dataset {self.ms_id if self.hub == 'modelscope' and self.ms_id else self.hf_id}"
        try:
            root = self.local_root()
            if root is not None:
                from evs_core.data import find_split_files

                files = find_split_files(root, self.args["split"], None if subset == DEFAULT else subset)
                if not files and len(self.subsets) == 1:  # stored without its config folder
                    files = find_split_files(root, self.args["split"], None)
                where = ", ".join(str(f) for f in files[:3]) or str(root)
        except Exception:  # noqa: BLE001 - the message is best effort; the error is still one line
            pass
        return where

    def load_samples(self, limit: int | float | None = None) -> list[Sample]:
        """Samples of every selected subset; ``limit`` applies to each subset."""
        out: list[Sample] = []
        for subset in self.selected_subsets():
            samples = self.subset_samples(subset)
            if self.args["shuffle"]:
                random.Random(self.seed).shuffle(samples)
            if limit is not None:
                k = int(limit) if limit >= 1 else max(1, int(len(samples) * limit))
                samples = samples[:k]
            out.extend(samples)
        ids = set()
        for s in out:
            if s.id in ids:
                raise ConfigError(f"{self.name}: duplicate sample id '{s.id}' in the data")
            ids.add(s.id)
        return out

    def fewshot_samples(self, subset: str) -> list[Sample]:
        n = self.args["few_shot_num"]
        if not n:
            return []
        cache = self.__dict__.setdefault("_fewshot_cache", {})
        if subset not in cache:
            rows = self.load_rows(self.fewshot_split, subset)
            idx = list(range(len(rows)))
            if self.args.get("few_shot_random"):  # EvalScope: a seeded random draw, not the first n
                idx = sorted(random.Random(f"{self.seed}:{subset}").sample(idx, min(n, len(idx))))
            cache[subset] = [self.record_to_sample(rows[i], i, subset) for i in idx[:n]]
        return cache[subset]

    # -- prompting ---------------------------------------------------------------------------
    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        return sample.input or ""

    def build_request(self, sample: Sample) -> Request:
        if sample.messages:
            messages = [m.model_dump() for m in sample.messages]
        else:
            messages = [{"role": "user", "content": self.format_prompt(sample, self.fewshot_samples(sample.subset))}]
        system = self.args.get("system_prompt")
        if system and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": system}, *messages]
        generation = {**self.generation, **self.user_generation, **self.args.get("generation_config", {})}
        return Request(messages=messages, generation=generation)

    # -- scoring: one path -------------------------------------------------------------------
    def extract(self, text: str, sample: Sample) -> Any:
        """The answer read from a reply: a plain value, or an :class:`~evs_core.extract.Extraction`
        ``(answer, rule)`` whose rule the review records (``"none"``: no answer)."""
        return text.strip()

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        """The benchmark's own scores of an extracted answer (the metrics in :attr:`metrics`)."""
        return {"acc": float(extracted == sample.target)}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        """Score one model output: the one scoring contract the engine calls, once per unit.

        The default runs the filter chain on the reply, :meth:`extract`, :meth:`compare` and the
        registered metrics of ``metric_list``. Override it for scoring that needs more (a sandbox,
        a judge: ``ctx.judge``); build the result with :func:`make_review` / :func:`failed_review`.
        An exception raised here fails this sample only (the engine records it).
        """
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        extracted, rule = self.read_answer(output.text, sample)
        scores = self.compare(extracted, sample, output)
        return make_review(sample, output, ctx, extracted=extracted, extraction_rule=rule,
                           scores=self.select_scores(scores, extracted, sample))

    # -- filters and metrics named in the spec or in dataset_args --------------------------------
    def _resolve_pipeline(self) -> None:
        """Resolve ``filters`` and ``metric_list`` against the registries (unknown names stop the run)."""
        self._filter_chain: list[tuple[str, Any, dict[str, Any], bool]] = []
        self._metric_fns: dict[str, Any] = {}
        self._aggregations: dict[str, str] = dict(self.metric_aggregations)
        filters = self.args.get("filters")
        if filters is None:
            filters = self.filters
        metric_list = self.args.get("metric_list")
        aggregation = self.args.get("aggregation")
        self._metric_override: list[str] | None = None
        if not filters and metric_list is None and not aggregation:
            return
        regs = self.registries
        if regs is None:
            from evs_core.registry import get_registries

            regs = self.registries = get_registries()
        for item in filters or []:
            name, kwargs = _named(item, f"dataset_args.{self.name}.filters")
            fn = regs.filters.load(name) if name in regs.filters else None
            if fn is None:
                raise ConfigError(f"unknown filter '{name}' in {self.name}'s filters"
                                  f"{suggest(name, regs.filters.names())} (known: {', '.join(regs.filters.names())})")
            self._filter_chain.append((name, fn, kwargs, _accepts(fn, "sample")))
        default_agg = "mean"
        if isinstance(aggregation, str):
            default_agg = aggregation
        elif aggregation is not None and not isinstance(aggregation, dict):
            raise ConfigError(f"dataset_args.{self.name}.aggregation must be a name or a mapping metric -> name")
        if metric_list is None:
            names = list(self.metrics)
            entries = [(n, {}) for n in names]
        else:
            if not isinstance(metric_list, list) or not metric_list:
                raise ConfigError(f"dataset_args.{self.name}.metric_list must be a non-empty list of metric names")
            entries = [_named(m, f"dataset_args.{self.name}.metric_list", key="metric") for m in metric_list]
        names = []
        for name, opts in entries:
            if name in regs.metrics and name not in self.metrics:
                self._metric_fns[name] = regs.metrics.load(name)
            elif name not in self.metrics:
                known = sorted({*self.metrics, *regs.metrics.names()})
                raise ConfigError(f"unknown metric '{name}' for {self.name}{suggest(name, known)}"
                                  f" (known: {', '.join(known)})")
            agg = opts.get("aggregation") or (aggregation.get(name) if isinstance(aggregation, dict) else None) \
                or (default_agg if isinstance(aggregation, str) else self.metric_aggregations.get(name, "mean"))
            if agg not in AGGREGATIONS:
                raise ConfigError(f"unknown aggregation '{agg}' for metric '{name}' of {self.name}"
                                  f"{suggest(agg, AGGREGATIONS)} (known: {', '.join(AGGREGATIONS)})")
            self._aggregations[name] = agg
            names.append(name)
        if isinstance(aggregation, dict):
            for k in aggregation:
                if k not in names:
                    raise ConfigError(f"dataset_args.{self.name}.aggregation names '{k}', not among the metrics"
                                      f"{suggest(k, names)}")
        if metric_list is not None:
            self._metric_override = names

    @property
    def primary(self) -> str:
        """The report's primary metric: ``primary_metric``, or the first of a ``metric_list`` without it."""
        names = getattr(self, "_metric_override", None)
        if names and self.primary_metric not in names:
            return names[0]
        return self.primary_metric

    def read_answer(self, text: str, sample: Sample) -> tuple[Any, str | None]:
        """``(answer, extraction rule)`` of a reply: the filter chain, then :meth:`extract`."""
        value, rule = self.apply_filters_with_rule(text, sample)
        if value is None:
            return None, rule
        answer, own_rule = unpack_extraction(self.extract(value, sample))
        return answer, own_rule or rule

    def apply_filters(self, text: str, sample: Sample) -> str | None:
        """Run the filter chain on a reply; None when a filter finds nothing (no answer)."""
        return self.apply_filters_with_rule(text, sample)[0]

    def apply_filters_with_rule(self, text: str, sample: Sample) -> tuple[Any, str | None]:
        """The filter chain's result and the extraction rule of the last filter that named one.

        A filter returns a value, None (no answer) or an :class:`~evs_core.extract.Extraction`
        whose rule the review records."""
        rule = None
        for _name, fn, kwargs, wants_sample in self._filter_chain:
            if text is None:
                return None, rule or "none"
            out = fn(text, sample=sample, **kwargs) if wants_sample else fn(text, **kwargs)
            text, r = unpack_extraction(out)
            rule = r or rule
        return text, (rule or "none") if text is None else rule

    def select_scores(self, scores: dict[str, float], extracted: Any, sample: Sample) -> dict[str, float]:
        """The benchmark's scores plus the registered metrics of ``metric_list``, restricted to it."""
        out = {k: float(v) for k, v in scores.items()}
        for name, fn in self._metric_fns.items():
            out[name] = 0.0 if extracted is None else float(fn(extracted, sample.target))
        if self._metric_override is not None:
            out = {k: v for k, v in out.items() if k in self._metric_override}
        return out

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        """Overall and per-subset statistics of each metric over scored reviews.

        With repeats, a sample's score is the mean over its repeats before aggregation, so the
        standard error counts samples, not generations. Each metric uses its declared
        aggregation (``mean`` unless the spec or ``dataset_args.aggregation`` says otherwise).
        """
        by_sample: dict[str, dict[str, list[float]]] = {}
        subset_of: dict[str, str] = {}
        for r in reviews:
            if r.error is not None:
                continue
            d = by_sample.setdefault(r.sample_id, {})
            subset_of[r.sample_id] = r.subset
            for k, v in r.scores.items():
                d.setdefault(k, []).append(v)
        per_sample = {sid: {k: sum(v) / len(v) for k, v in m.items()} for sid, m in by_sample.items()}
        names = sorted({k for m in per_sample.values() for k in m})
        aggs = getattr(self, "_aggregations", {})

        def stat(k: str, vals: list[float]) -> Stat:
            return aggregate_values(vals, aggs.get(k, "mean"), seed)

        overall = {k: stat(k, [m[k] for m in per_sample.values() if k in m]) for k in names}
        subsets: list[SubsetScore] = []
        order = list(dict.fromkeys(subset_of[s] for s in per_sample))
        primary = self.primary
        for sub in order:
            ids = [s for s in per_sample if subset_of[s] == sub]
            stats = {k: stat(k, [per_sample[s][k] for s in ids if k in per_sample[s]]) for k in names}
            prim = stats.get(primary)
            subsets.append(SubsetScore(name=sub, num=len(ids), score=prim.score if prim else 0.0, metrics=stats))
        return overall, subsets


def unpack_extraction(value: Any) -> tuple[Any, str | None]:
    """``(answer, rule)`` of what :meth:`Benchmark.extract` returned (rule ``None`` for a plain value)."""
    if isinstance(value, Extraction):
        return value.answer, value.rule
    return value, None


def make_review(sample: Sample, output: ModelOutput, ctx: RunContext | None, **fields: Any) -> Review:
    """A review of one output: the unit's identity filled in, ``fields`` on top."""
    base = dict(sample_id=sample.id, repeat=ctx.repeat if ctx is not None else 0, subset=sample.subset,
                target=sample.target, prediction=output.text,
                reasoning_chars=len(output.reasoning) if output.reasoning is not None else None)
    base.update(fields)
    return Review(**base)


def failed_review(sample: Sample, output: ModelOutput, ctx: RunContext | None, error: str, **fields: Any) -> Review:
    """A review excluded from the scores and counted under ``error`` (its kind: the text before ':')."""
    return make_review(sample, output, ctx, error=error, **fields)


def _named(item: Any, where: str, key: str = "name") -> tuple[str, dict[str, Any]]:
    """``"name"``, ``{"name": "x", ...}`` / ``{"metric": "x", ...}`` or ``{"x": {...}}`` -> (name, options)."""
    if isinstance(item, str) and item:
        return item, {}
    if isinstance(item, dict):
        if key in item or "name" in item:
            opts = dict(item)
            name = opts.pop(key, None) or opts.pop("name", None)
            if isinstance(name, str) and name:
                return name, opts
        elif len(item) == 1:
            (name, opts), = item.items()
            if isinstance(name, str) and (opts is None or isinstance(opts, dict)):
                return name, dict(opts or {})
    raise ConfigError(f"{where}: bad entry {item!r} (a name, or {{'{key}': NAME, ...}})")


def _accepts(fn: Any, param: str) -> bool:
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return param in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _adapt_legacy(cls: type) -> None:
    """Keep benchmarks written against the first contract working.

    ``score(extracted, sample, output) -> dict`` was renamed :meth:`Benchmark.compare`;
    ``review``/``areview(sample, output, repeat, judge)`` became ``async score(sample, output, ctx)``.
    A subclass that still defines them is adapted once, when the class is created.
    """
    import inspect
    import warnings

    own = cls.__dict__
    fn = own.get("score")
    if fn is not None and not inspect.iscoroutinefunction(fn):
        params = list(inspect.signature(fn).parameters)
        if len(params) >= 2 and params[1] != "sample":
            warnings.warn(f"{cls.__qualname__}.score(extracted, sample, output) is the old contract: "
                          "name it compare()", DeprecationWarning, stacklevel=3)
            cls.compare = fn
            del cls.score
    legacy_async, legacy_sync = own.get("areview"), own.get("review")
    if legacy_async is not None or legacy_sync is not None:
        warnings.warn(f"{cls.__qualname__}.review/areview is the old contract: define async score(sample, output, ctx)",
                      DeprecationWarning, stacklevel=3)

        async def score(self, sample, output, ctx, _a=legacy_async, _s=legacy_sync):
            repeat = ctx.repeat if ctx is not None else 0
            if _a is not None:
                return await _a(self, sample, output, repeat, judge=ctx.judge if ctx is not None else None)
            return _s(self, sample, output, repeat)

        cls.score = score
