"""IFEval: instruction following with verifiable instructions (Zhou et al., 2023)."""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import summarize

METRICS = ["prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc"]


class IFEval(Benchmark):
    name = "ifeval"
    num_samples = 541
    version = "1"
    description = (
        "IFEval (Zhou et al., 2023): 541 prompts with 25 kinds of verifiable instructions (word and sentence "
        "counts, keywords, formats, case, language…). The prompt is sent as is; every instruction is checked "
        "as Google's reference checkers do, strict (the response as is) and loose (also with the first and/or "
        "last line removed and with '*' removed). Metrics as the reference: prompt-level accuracy (all "
        "instructions of a prompt followed) and instruction-level accuracy (over all instructions), strict and "
        "loose. Sentences are split with NLTK Punkt (English model), words with \\w+, languages with "
        "langdetect (seeded, so verdicts are reproducible). Deviation: instruction arguments that the "
        "reference would replace by random values are handled deterministically: a letter-frequency letter "
        "outside a-z (one prompt asks for '#') is counted as given; missing or out-of-range arguments are an error."
    )
    tags = ["instruction-following"]
    hf_id = "google/IFEval"
    ms_id = "opencompass/ifeval"
    subsets = ["default"]
    eval_split = "train"
    few_shot_num = 0
    metrics = METRICS
    primary_metric = "prompt_level_strict_acc"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1280}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from evs_native.benchmarks.ifeval import text

        text.check_available()  # a missing extra stops the run before any model call

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        from evs_native.benchmarks.ifeval import instructions

        for f in ("prompt", "instruction_id_list", "kwargs"):
            if f not in record:
                raise ConfigError(f"ifeval: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        ids, kwargs = list(record["instruction_id_list"]), list(record["kwargs"])
        if len(ids) != len(kwargs):
            raise ConfigError(f"ifeval: row {index} has {len(ids)} instruction ids but {len(kwargs)} kwargs")
        kwargs = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in kwargs]
        for iid, kw in zip(ids, kwargs, strict=True):
            instructions.build(iid, kw, record["prompt"])  # checks the arguments now
        return Sample(id=str(record.get("key", index)), input=record["prompt"], subset=subset, target=None,
                      metadata={"instruction_id_list": ids, "kwargs": kwargs})

    def evaluate(self, response: str, sample: Sample) -> tuple[list[bool], list[bool]]:
        from evs_native.benchmarks.ifeval import instructions

        checkers = [instructions.build(i, kw, sample.input or "")
                    for i, kw in zip(sample.metadata["instruction_id_list"], sample.metadata["kwargs"], strict=True)]
        return instructions.follow_strict(checkers, response), instructions.follow_loose(checkers, response)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        strict, loose = self.evaluate(output.text, sample)
        ids = sample.metadata["instruction_id_list"]
        scores = {"prompt_level_strict_acc": float(all(strict)), "inst_level_strict_acc": sum(strict) / len(strict),
                  "prompt_level_loose_acc": float(all(loose)), "inst_level_loose_acc": sum(loose) / len(loose)}
        return make_review(sample, output, ctx, extracted={"strict": dict(zip(ids, strict, strict=True)), "loose": dict(zip(ids, loose, strict=True))},
                      scores=scores, metadata={"inst_strict": strict, "inst_loose": loose})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        """As the reference: instruction-level accuracy pools all instructions of all prompts."""
        overall, subsets = super().aggregate(reviews, seed)
        ok = [r for r in reviews if r.error is None and "inst_strict" in r.metadata]

        def pooled(rs: list[Review], key: str) -> Stat | None:
            flat = [float(b) for r in rs for b in r.metadata[key]]
            return summarize(flat, seed) if flat else None

        for key, metric in (("inst_strict", "inst_level_strict_acc"), ("inst_loose", "inst_level_loose_acc")):
            stat = pooled(ok, key)
            if stat is not None:
                overall[metric] = stat
            for sub in subsets:
                s = pooled([r for r in ok if r.subset == sub.name], key)
                if s is not None:
                    sub.metrics[metric] = s
        return overall, subsets
