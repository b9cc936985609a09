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
from pathlib import Path
from typing import Any, ClassVar

from evs_core.data import load_hub, load_local
from evs_core.errors import ConfigError, suggest
from evs_core.extract import Extraction
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import summarize

DEFAULT = "default"


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

    def after_report(self, report: Any, report_path: Path) -> Any:
        """Called once after this benchmark's report is written (e.g. to draw a chart next to it)."""

    def __init__(self, args: dict[str, Any] | None = None, dataset_dir: str | None = None,
                 hub: str = "huggingface", seed: int = 42, generation_config: dict[str, Any] | None = None) -> None:
        defaults = self.default_args()
        args = dict(args or {})
        for key in args:
            if key not in defaults:
                raise ConfigError(
                    f"unknown key '{key}' in dataset_args.{self.name}{suggest(key, defaults)}"
                    f" (valid: {', '.join(sorted(defaults))})"
                )
        self.args = {**defaults, **args}
        self.dataset_dir = dataset_dir
        self.hub = hub
        self.seed = seed
        #: The run's --generation-config: overrides the benchmark's defaults; dataset_args' overrides it.
        self.user_generation = dict(generation_config or {})
        self._check_args()

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
            **cls.extra_args,
        }

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
                return load_local(root, split, None)
            if len(self.subsets) == 1:  # a single-config dataset may be stored without its config folder
                try:
                    return load_local(root, split, subset)
                except ConfigError:
                    return load_local(root, split, None)
            return load_local(root, split, subset)
        dataset_id = self.ms_id if self.hub == "modelscope" and self.ms_id else self.hf_id
        if not dataset_id:
            raise ConfigError(f"{self.name} has no online source: give --dataset-dir or dataset_args.{self.name}.local_path")
        hub_subset = self.hub_subset.get(subset, None if subset == DEFAULT else subset)
        return load_hub(dataset_id, hub_subset, split, self.hub)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        raise NotImplementedError

    def selected_subsets(self) -> list[str]:
        """The subsets this run evaluates (``subset_list``)."""
        return list(self.args["subset_list"])

    def subset_samples(self, subset: str) -> list[Sample]:
        """Every sample of one subset's eval split, in file order."""
        rows = self.load_rows(self.args["split"], subset)
        samples = (self.record_to_sample(r, i, subset) for i, r in enumerate(rows))
        return [s for s in samples if s is not None]

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
            cache[subset] = [self.record_to_sample(r, i, subset) for i, r in enumerate(rows[:n])]
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

    # -- scoring -----------------------------------------------------------------------------
    def extract(self, text: str, sample: Sample) -> Any:
        """The answer read from a reply: a plain value, or an :class:`~evs_core.extract.Extraction`
        ``(answer, rule)`` whose rule the review records (``"none"``: no answer)."""
        return text.strip()

    def score(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted == sample.target)}

    def review(self, sample: Sample, output: ModelOutput, repeat: int = 0) -> Review:
        """Score one model output. Errors (of the model or the scorer) are recorded, not raised."""
        base = dict(sample_id=sample.id, repeat=repeat, subset=sample.subset, target=sample.target,
                    prediction=output.text,
                    reasoning_chars=len(output.reasoning) if output.reasoning is not None else None)
        if output.error:
            return Review(**base, error=output.error)
        try:
            extracted, rule = unpack_extraction(self.extract(output.text, sample))
            scores = self.score(extracted, sample, output)
        except Exception as exc:  # noqa: BLE001 - one bad sample never aborts a run
            return Review(**base, error=f"ScoringError: {type(exc).__name__}: {exc}")
        return Review(**base, extracted=extracted, extraction_rule=rule,
                      scores={k: float(v) for k, v in scores.items()})

    async def areview(self, sample: Sample, output: ModelOutput, repeat: int = 0, judge=None) -> Review:
        """Async scoring entry point used by the engine; ``judge`` is the run's LLM judge or None.

        Benchmarks scored by a judge override this; the default calls :meth:`review`.
        """
        return self.review(sample, output, repeat)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        """Overall and per-subset statistics of each metric over scored reviews.

        With repeats, a sample's score is the mean over its repeats before aggregation, so the
        standard error counts samples, not generations.
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
        overall = {k: summarize([m[k] for m in per_sample.values() if k in m], seed) for k in names}
        subsets: list[SubsetScore] = []
        order = list(dict.fromkeys(subset_of[s] for s in per_sample))
        for sub in order:
            ids = [s for s in per_sample if subset_of[s] == sub]
            stats = {k: summarize([per_sample[s][k] for s in ids if k in per_sample[s]], seed) for k in names}
            prim = stats.get(self.primary_metric)
            subsets.append(SubsetScore(name=sub, num=len(ids), score=prim.score if prim else 0.0, metrics=stats))
        return overall, subsets


def unpack_extraction(value: Any) -> tuple[Any, str | None]:
    """``(answer, rule)`` of what :meth:`Benchmark.extract` returned (rule ``None`` for a plain value)."""
    if isinstance(value, Extraction):
        return value.answer, value.rule
    return value, None
