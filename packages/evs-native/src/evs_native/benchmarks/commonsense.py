"""WinoGrande: pronoun/blank resolution with two options, multiple choice.

Its log-likelihood mode scores only the rest of the sentence after each option (lm-evaluation-harness's
partial scoring), which a spec cannot say, so it stays a Python class. HellaSwag and RACE are
declarative benchmarks (``specs/hellaswag.yaml``, ``specs/race.yaml``); ``HellaSwag`` and ``RACE``
here are the classes that run them, for code that imported them from here.
"""

from __future__ import annotations

from typing import Any

from evs_core.benchmark import RunContext, failed_review, make_review
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample

from evs_native.benchmarks._knowledge_mcq import SINGLE_ANSWER_COT
from evs_native.benchmarks._mcq import LETTERS, MultipleChoiceBenchmark
from evs_native.benchmarks._specs import native_spec


class WinoGrande(MultipleChoiceBenchmark):
    name = "winogrande"
    num_samples = 1267
    version = "1"
    description = (
        "WinoGrande (Sakaguchi et al., 2019): fill the blank of a sentence with one of two options; 1,267 "
        "validation items of winogrande_xl, zero-shot. mode=generate: the sentence and the two options with "
        "EvalScope's single-answer chain-of-thought template (acc). mode=loglikelihood: lm-evaluation-harness's "
        "partial scoring, log P(rest of the sentence | text before the blank + option), obtained in one request "
        "as LL(option + rest) − LL(option) after the shared text before the blank (identical up to tokenization "
        "at the option/rest boundary). Metric: acc."
    )
    tags = ["commonsense", "multiple-choice"]
    hf_id = "allenai/winogrande"
    ms_id = "AI-ModelScope/winogrande_val"
    subsets = ["winogrande_xl"]
    eval_split = "validation"
    fewshot_split = "train"
    few_shot_num = 0
    prompt_template = SINGLE_ANSWER_COT

    @property
    def metrics_for_mode(self) -> list[str]:
        return ["acc"]

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        sentence = str(record["sentence"])
        if "_" not in sentence:
            raise ValueError("WinoGrande sentence without a '_' blank")
        answer = str(record.get("answer", "")).strip()
        if answer not in ("1", "2"):
            raise ValueError(f"WinoGrande answer must be '1' or '2', not {answer!r}")
        return Sample(id=str(record.get("qID", index)), input=sentence,
                      choices=[str(record["option1"]), str(record["option2"])],
                      target=LETTERS[int(answer) - 1], subset=subset)

    @staticmethod
    def _parts(sentence: str) -> tuple[str, str]:
        idx = sentence.index("_")
        return sentence[:idx], sentence[idx + 1:].strip()

    def build_request(self, sample: Sample) -> Request:
        if self.args["mode"] != "loglikelihood":
            return super().build_request(sample)
        shots = ""
        for s in self.fewshot_samples(sample.subset):
            before, after = self._parts(s.input or "")
            shots += f"{before}{(s.choices or [])[LETTERS.index(s.target)]} {after}\n\n"
        before, after = self._parts(sample.input or "")
        opts = sample.choices or []
        return Request(prompt=shots + before, kind="loglikelihood",
                       continuations=[o + " " + after for o in opts] + list(opts))

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error or output.logprobs is None:
            return await super().score(sample, output, ctx)
        lps = output.logprobs
        n = len(sample.choices or [])
        if len(lps) != 2 * n:
            return failed_review(sample, output, ctx,
                                 f"ScoringError: {len(lps)} log-likelihoods for {2 * n} continuations")
        rest = [lps[i] - lps[n + i] for i in range(n)]
        best = LETTERS[max(range(n), key=lambda i: rest[i])]
        return make_review(sample, output, ctx, prediction=best, extracted=best,
                           scores={"acc": float(best == sample.target)}, metadata={"logprobs": lps})


HellaSwag = native_spec("hellaswag")
RACE = native_spec("race")
