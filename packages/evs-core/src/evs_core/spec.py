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

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError, suggest
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.specfile import (  # noqa: F401 - the spec API in one place
    DEFAULT,
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


def as_letter(value: Any) -> str:
    """An answer as an option letter: a 0-based option index (an int or digits) or a letter
    (``"B"``, ``"(b)"``)."""
    if isinstance(value, bool):
        raise ValueError(f"bad answer {value!r}")
    if isinstance(value, float) and value.is_integer():  # 1.0 from a table read with pandas
        value = int(value)
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        if int(text) >= len(LETTERS) or int(text) < 0:
            raise ValueError(f"answer index {value!r} out of range")
        return LETTERS[int(text)]
    text = text.strip("()").strip().upper()
    if len(text) == 1 and text in LETTERS:
        return text
    raise ValueError(f"answer {value!r} is not an option letter or index")


def shuffle_choices(choices: list[str], target: str, key: str, seed: int) -> tuple[list[str], str]:
    """``choices`` in an order fixed by the run's ``seed`` and the row's ``key`` (never by which
    other rows are loaded), and the gold letter in that order."""
    import hashlib
    import random

    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    order = list(range(len(choices)))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return [choices[i] for i in order], LETTERS[order.index(LETTERS.index(target))]


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

    def _check_args(self) -> None:
        super()._check_args()
        most = self.spec["prompt"]["fewshot"].get("max")
        if most is not None and self.args["few_shot_num"] > most:
            raise ConfigError(f"dataset_args.{self.name}.few_shot_num must be at most {most}, "
                              f"not {self.args['few_shot_num']}")
        if self.spec.get("loglikelihood") is not None and self.args.get("mode") not in ("generate", "loglikelihood"):
            raise ConfigError(f"dataset_args.{self.name}.mode must be 'generate' or 'loglikelihood', "
                              f"not {self.args.get('mode')!r}")

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

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        """With ``dataset.subset_field``: one table per split (read once), its rows whose field names
        the subset (compared stripped and case-insensitively); on the Hub only with ``subset_field_hub``
        (otherwise each subset is its own Hub config)."""
        ds = self.spec["dataset"]
        field = ds.get("subset_field")
        root = self.local_root() if field else None
        if not field or (root is None and not ds.get("subset_field_hub")):
            return super().load_rows(split, subset)
        cache = self.__dict__.setdefault("_split_cache", {})
        if split not in cache:
            cache[split] = self.load_local(root, split, None) if root is not None else super().load_rows(split, DEFAULT)
        want = subset.strip().lower()
        return [r for r in cache[split] if str(r.get(field)).strip().lower() == want]

    def _value(self, v: Any, row: dict[str, Any], where: str) -> Any:
        if isinstance(v, str):
            return fill(v, row, where)
        try:
            if "field" in v:
                try:
                    out = _get(row, v["field"], where)
                except ConfigError:
                    if "default" in v:
                        return v["default"]
                    raise
            elif "fields" in v:
                out = [_get(row, f, where) for f in v["fields"]]
            else:
                out = fill(v["template"], row, where)
        except ConfigError:
            if "fallback" not in v:
                raise
            return self._value(v["fallback"], row, where)
        if "fallback" in v and (out is None or out == ""):
            return self._value(v["fallback"], row, where)
        if v.get("index_in"):
            options = [str(x).strip() for x in _get(row, v["index_in"], where)]
            key = str(out).strip()
            if key not in options:
                raise ConfigError(f"{where}: '{key}' is not among {v['index_in']} {options}")
            out = options.index(key)
        if v.get("letter"):
            out = as_letter(out)
        for item in v.get("filters") or []:
            out = self._run_value_filter(item, out, where)
        return out

    def _run_value_filter(self, item: Any, value: Any, where: str) -> Any:
        from evs_core.benchmark import _named

        name, opts = _named(item, f"{where} filters")
        regs = self.registries
        if name not in regs.filters:
            raise ConfigError(f"{where}: unknown filter '{name}'{suggest(name, regs.filters.names())}")
        fn = regs.filters.load(name)
        if isinstance(value, list):  # a list (choices): each item
            return [fn(str(x), **opts) if x is not None else None for x in value]
        return fn(str(value), **opts) if value is not None else None

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        rec = self.spec["record"]
        where = f"{self.name} row {index}"
        # what record values may name: the row's fields, _subset, _index, then record.fields in order
        row = {**record, "_subset": subset, "_index": index}
        for key, v in (rec.get("fields") or {}).items():
            row[key] = self._value(v, row, where)
        sid = self._value(rec["id"], row, where) if "id" in rec else record.get("id", index)
        meta = {k: self._value(v, row, where) for k, v in (rec.get("metadata") or {}).items()}
        choices = self._value(rec["choices"], row, where) if "choices" in rec else None
        if choices is not None:
            choices = [str(c) for c in choices]
        target = self._value(rec["target"], row, where) if "target" in rec else None
        if choices is not None and isinstance(rec.get("target"), dict) and rec["target"].get("letter") \
                and target not in LETTERS[: len(choices)]:
            raise ValueError(f"answer {target} is out of range for {len(choices)} options")
        if "shuffle_choices" in rec:
            choices, target = shuffle_choices(choices, target, str(self._value(rec["shuffle_choices"], row, where)),
                                              self.seed)
        return Sample(id=str(sid), input=str(self._value(rec["input"], row, where)), choices=choices,
                      target=target, subset=subset, metadata=meta)

    # -- prompting ---------------------------------------------------------------------------
    def prompt_fields(self, sample: Sample, choice_format: str | None = None) -> dict[str, Any]:
        """What templates may name: input (also question), target, choices, letters, subset,
        subset_label and the sample's metadata."""
        fmt = choice_format or self.spec["prompt"]["choice_format"]
        choices = sample.choices or []
        text = "\n".join(fmt.format(letter=LETTERS[i], text=c) for i, c in enumerate(choices))
        labels = self.spec["prompt"].get("subset_labels") or {}
        return {**sample.metadata, "input": sample.input or "", "question": sample.input or "",
                "target": sample.target, "choices": text, "letters": ",".join(LETTERS[: len(choices)]),
                "subset": sample.subset, "subset_label": labels.get(sample.subset, sample.subset.replace("_", " "))}

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        p = self.spec["prompt"]
        template = self.args.get("prompt_template") or p["template"]
        body = fill(template, self.prompt_fields(sample), f"{self.name} prompt")
        if not fewshot:
            return body
        fs = p["fewshot"]
        shots = fs["separator"].join(fill(fs["example"], self.prompt_fields(s), f"{self.name} few-shot example")
                                     for s in fewshot)
        return f"{fill(fs['header'], self.prompt_fields(sample), self.name)}{shots}{fs['last_separator']}{body}"

    def build_request(self, sample: Sample) -> Request:
        """With a ``loglikelihood`` section and ``mode: loglikelihood``: a log-likelihood request
        (header, few-shot blocks each followed by its answer, the question's block; the letters or
        the option texts as continuations, each after ``prefix``), as lm-evaluation-harness."""
        ll = self.spec.get("loglikelihood")
        if ll is None or self.args.get("mode") != "loglikelihood":
            return super().build_request(sample)
        fmt, pre = ll["choice_format"], ll["prefix"]
        where = f"{self.name} loglikelihood"

        def block(s: Sample) -> str:
            return fill(ll["template"], self.prompt_fields(s, fmt), f"{where}.template")

        def answer(s: Sample) -> str:
            if ll["continuations"] == "letters":
                return str(s.target)
            return (s.choices or [])[LETTERS.index(s.target)]

        shots = "".join(block(s) + pre + answer(s) + ll["separator"] for s in self.fewshot_samples(sample.subset))
        header = fill(ll["header"], self.prompt_fields(sample, fmt), f"{where}.header")
        options = sample.choices or []
        conts = list(LETTERS[: len(options)]) if ll["continuations"] == "letters" else options
        return Request(prompt=header + shots + block(sample), kind="loglikelihood", continuations=[pre + c for c in conts])

    # -- scoring -----------------------------------------------------------------------------
    def extract(self, text: str, sample: Sample) -> Any:
        """The filter chain has produced the answer already."""
        return text.strip() if isinstance(text, str) else text

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        if extracted is None:
            return {name: 0.0 for name in self._spec_metrics}
        return {name: float(fn(extracted, sample.target)) for name, fn in self._spec_metrics.items()}

    def score_loglikelihood(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        """``acc``: the option with the highest log-likelihood is the gold one; with option texts as
        continuations also ``acc_norm`` (log-likelihood per character of the option, as lm-evaluation-harness)."""
        lps = output.logprobs or []
        choices = sample.choices or []
        if len(lps) != len(choices):
            return failed_review(sample, output, ctx, f"ScoringError: {len(lps)} log-likelihoods for {len(choices)} choices")
        best = max(range(len(lps)), key=lambda i: lps[i])
        gold = LETTERS.index(sample.target)
        scores = {"acc": float(best == gold)}
        if self.spec["loglikelihood"]["continuations"] == "choices":
            norm = [lp / max(1, len(c)) for lp, c in zip(lps, choices, strict=True)]
            scores["acc_norm"] = float(max(range(len(norm)), key=lambda i: norm[i]) == gold)
        return make_review(sample, output, ctx, prediction=LETTERS[best], extracted=LETTERS[best], scores=scores,
                           metadata={"logprobs": lps})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if self.spec.get("loglikelihood") is not None and not output.error and output.logprobs is not None:
            return self.score_loglikelihood(sample, output, ctx)
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

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        """The base statistics, then one row per category of ``report.categories`` (of the subsets present)."""
        overall, subsets = super().aggregate(reviews, seed)
        categories = (self.spec.get("report") or {}).get("categories")
        if categories:
            from evs_core.groups import add_categories

            subsets = add_categories(subsets, reviews, categories, self.primary, seed)
        return overall, subsets

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
    attrs["extra_args"] = {"prompt_template": None, **({"mode": "generate"} if spec.get("loglikelihood") else {}),
                           **getattr(bases[-1], "extra_args", {})}
    cls_name = "".join(p.capitalize() for p in spec["name"].replace("-", "_").split("_")) or "Spec"
    return type(cls_name, bases, attrs)
