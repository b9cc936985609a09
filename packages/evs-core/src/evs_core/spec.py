"""Declarative benchmarks: a YAML (or TOML/JSON) spec run by one generic benchmark class.

A spec says where the data lives (a Hub id per hub, a local layout), how a raw row becomes a
:class:`~evs_core.schema.Sample` (``record``), the prompt and few-shot examples, the chain of
registered filters that turns a reply into an answer, the registered metrics with their
aggregation, an optional LLM judge, and the version. The format is documented in
``docs/writing-a-benchmark.md``; :func:`validate_spec` checks it strictly (an unknown key stops
the run with a suggestion).

Plugins ship specs as package data and register them with a lazy target that names the file,
``register("gsm8k", "evs_native:specs/gsm8k.yaml")``; users run one from a file
(``--benchmark-file my.yaml`` or a ``.yaml`` path in ``--datasets``). Reading a spec is cheap,
so ``evs benchmarks`` lists spec benchmarks from their files without importing any code.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review
from evs_core.errors import ConfigError, suggest
from evs_core.schema import ModelOutput, Review, Sample
from evs_core.specfile import (  # noqa: F401 - the spec API in one place
    LETTERS,
    SPEC_SUFFIXES,
    is_spec_target,
    listing_info,
    load_spec_target,
    parse_spec_text,
    read_spec_file,
    validate_spec,
)


# -- the generic benchmark -------------------------------------------------------------------------
def _get(row: dict[str, Any], path: str, where: str) -> Any:
    cur: Any = row
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            fields = ", ".join(sorted(row)) if isinstance(row, dict) else "?"
            raise ConfigError(f"{where}: the row has no field '{path}' (fields: {fields})")
    return cur


class _Fields(dict):
    def __init__(self, data: dict[str, Any], where: str) -> None:
        super().__init__(data)
        self.where = where

    def __missing__(self, key: str) -> Any:
        raise ConfigError(f"{self.where}: the template names '{{{key}}}', which is not a field "
                          f"(fields: {', '.join(sorted(self))})")


def fill(template: str, fields: dict[str, Any], where: str) -> str:
    """``template.format_map(fields)``, with a one-line error for an unknown or malformed field."""
    try:
        return string.Formatter().vformat(template, (), _Fields(fields, where))
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{where}: bad template {template[:60]!r}: {exc}") from None


class SpecBenchmark(Benchmark):
    """A benchmark defined by a spec (the ``spec`` class attribute); see :func:`spec_class`."""

    spec: ClassVar[dict[str, Any]] = {}
    #: subset_list when dataset_args gives none (``dataset.default_subsets``).
    default_subsets: ClassVar[list[str] | None] = None

    @classmethod
    def default_args(cls) -> dict[str, Any]:
        args = super().default_args()
        if cls.default_subsets:
            args["subset_list"] = list(cls.default_subsets)
        return args

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        regs = self.registries
        if regs is None:
            from evs_core.registry import get_registries

            regs = self.registries = get_registries()
        self._spec_metrics: dict[str, Any] = {}
        for m in self.spec["metrics"]:
            if m["metric"] not in regs.metrics:
                raise ConfigError(f"{self.name}: unknown metric '{m['metric']}'"
                                  f"{suggest(m['metric'], regs.metrics.names())} (known: {', '.join(regs.metrics.names())})")
            self._spec_metrics[m["name"]] = regs.metrics.load(m["metric"])
        self._value_filters: dict[str, Any] = {}

    # -- data --------------------------------------------------------------------------------
    def local_root(self) -> Path | None:
        root = super().local_root()
        if root is None and self.spec["dataset"].get("local"):
            origin = Path(self.spec.get("_origin") or ".")
            local = Path(self.spec["dataset"]["local"]).expanduser()
            root = local if local.is_absolute() else origin.parent / local
            if not root.exists():
                raise ConfigError(f"{self.name}: dataset.local does not exist: {root}")
        return root

    def _value(self, v: Any, row: dict[str, Any], where: str) -> Any:
        if isinstance(v, str):
            return fill(v, row, where)
        if "field" in v:
            try:
                out = _get(row, v["field"], where)
            except ConfigError:
                if "default" in v:
                    return v["default"]
                raise
        else:
            out = fill(v["template"], row, where)
        if v.get("index_in"):
            options = [str(x).strip() for x in _get(row, v["index_in"], where)]
            key = str(out).strip()
            if key not in options:
                raise ConfigError(f"{where}: '{key}' is not among {v['index_in']} {options}")
            out = options.index(key)
        if v.get("letter"):
            out = LETTERS[int(out)]
        for item in v.get("filters") or []:
            out = self._run_value_filter(item, out, where)
        return out

    def _run_value_filter(self, item: Any, value: Any, where: str) -> Any:
        from evs_core.benchmark import _named

        name, opts = _named(item, f"{where} filters")
        regs = self.registries
        if name not in regs.filters:
            raise ConfigError(f"{where}: unknown filter '{name}'{suggest(name, regs.filters.names())}")
        return regs.filters.load(name)(str(value), **opts) if value is not None else None

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        rec = self.spec["record"]
        where = f"{self.name} row {index}"
        sid = self._value(rec["id"], record, where) if "id" in rec else record.get("id", index)
        meta = {k: self._value(v, record, where) for k, v in (rec.get("metadata") or {}).items()}
        choices = self._value(rec["choices"], record, where) if "choices" in rec else None
        if choices is not None:
            choices = [str(c) for c in choices]
        target = self._value(rec["target"], record, where) if "target" in rec else None
        return Sample(id=str(sid), input=str(self._value(rec["input"], record, where)), choices=choices,
                      target=target, subset=subset, metadata=meta)

    # -- prompting ---------------------------------------------------------------------------
    def prompt_fields(self, sample: Sample) -> dict[str, Any]:
        """What templates may name: input (also question), target, choices, letters, subset, metadata."""
        fmt = self.spec["prompt"]["choice_format"]
        choices = sample.choices or []
        text = "\n".join(fmt.format(letter=LETTERS[i], text=c) for i, c in enumerate(choices))
        return {**sample.metadata, "input": sample.input or "", "question": sample.input or "",
                "target": sample.target, "choices": text, "letters": ",".join(LETTERS[: len(choices)]),
                "subset": sample.subset}

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        p = self.spec["prompt"]
        template = self.args.get("prompt_template") or p["template"]
        body = fill(template, self.prompt_fields(sample), f"{self.name} prompt")
        if not fewshot:
            return body
        fs = p["fewshot"]
        shots = fs["separator"].join(fill(fs["example"], self.prompt_fields(s), f"{self.name} few-shot example")
                                     for s in fewshot)
        return f"{fill(fs['header'], self.prompt_fields(sample), self.name)}{shots}{fs['separator']}{body}"

    # -- scoring -----------------------------------------------------------------------------
    def extract(self, text: str, sample: Sample) -> Any:
        """The filter chain has produced the answer already."""
        return text.strip() if isinstance(text, str) else text

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        if extracted is None:
            return {name: 0.0 for name in self._spec_metrics}
        return {name: float(fn(extracted, sample.target)) for name, fn in self._spec_metrics.items()}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        review = await super().score(sample, output, ctx)
        spec_judge = self.spec.get("judge")
        judge = ctx.judge if ctx is not None else None
        if spec_judge is None or review.error is not None:
            return review
        if judge is None:
            if spec_judge.get("required"):
                raise ConfigError(f"{self.name} is graded by an LLM judge: give --judge-args")
            return review
        strategy = getattr(judge, "strategy", "llm")
        primary = self.primary
        if strategy == "rule" or (strategy == "llm_when_rule_fails" and review.scores.get(primary, 0.0) > 0):
            return review.model_copy(update={"metadata": {**review.metadata, "scored_by": "rule"}})
        question = sample.input or ""
        if spec_judge.get("question"):
            question = fill(spec_judge["question"], self.prompt_fields(sample), f"{self.name} judge.question")
        verdict = await judge.grade(question=question, reference=str(sample.target), prediction=output.text,
                                    template=spec_judge.get("template"))
        meta = {**review.metadata, "scored_by": "llm", "judge_label": verdict.label,
                "judge_explanation": (verdict.explanation or "")[:2000], "rule_score": review.scores.get(primary)}
        if verdict.score is None:
            return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", extracted=review.extracted,
                                 metadata=meta)
        return review.model_copy(update={"scores": {**review.scores, primary: float(verdict.score)}, "metadata": meta})

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The resolved spec (defaults filled in), its file, and the dataset_args it accepts."""
        out = {k: v for k, v in cls.spec.items() if not k.startswith("_")}
        out["source"] = cls.spec.get("_origin")
        out["dataset_args"] = cls.default_args()
        return out


def spec_class(spec: dict[str, Any], where: str = "spec") -> type[Benchmark]:
    """The benchmark class that runs ``spec`` (validated here), on its ``base`` class when it names one."""
    spec = {**validate_spec(spec, where), **({"_origin": spec["_origin"]} if "_origin" in spec else {})}
    bases: tuple[type, ...] = (SpecBenchmark,)
    if spec.get("base"):
        from evs_core.plugins import load_target

        try:
            base = load_target(spec["base"])
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{where}: base {spec['base']} cannot be imported: {exc}") from None
        if not (isinstance(base, type) and issubclass(base, Benchmark)):
            raise ConfigError(f"{where}: base {spec['base']} is not a Benchmark subclass")
        bases = (SpecBenchmark, base)
    ds, prompt = spec["dataset"], spec["prompt"]
    attrs = {
        "spec": spec,
        "name": spec["name"],
        "version": spec["version"],
        "description": spec["description"],
        "tags": list(spec["tags"]),
        "hf_id": ds.get("hf"),
        "ms_id": ds.get("ms") or ds.get("hf"),
        "subsets": list(ds["subsets"]),
        "default_subsets": ds.get("default_subsets"),
        "hub_subset": dict(ds.get("hub_subsets") or {}),
        "eval_split": ds["eval_split"],
        "fewshot_split": ds.get("fewshot_split"),
        "few_shot_num": prompt["fewshot"]["num"],
        "num_samples": ds.get("num_samples"),
        "metrics": [m["name"] for m in spec["metrics"]],
        "metric_aggregations": {m["name"]: m["aggregation"] for m in spec["metrics"]},
        "primary_metric": spec["primary_metric"],
        "generation": dict(spec["generation"]),
        "system_prompt": prompt.get("system"),
        "filters": list(spec["filters"]),
        "prompt_template": prompt["template"],
        "requires_judge": bool((spec.get("judge") or {}).get("required")),
        "__module__": __name__,
    }
    attrs["extra_args"] = {"prompt_template": None, **getattr(bases[-1], "extra_args", {})}
    cls_name = "".join(p.capitalize() for p in spec["name"].replace("-", "_").split("_")) or "Spec"
    return type(cls_name, bases, attrs)
