"""HellaSwag, WinoGrande and RACE: commonsense completion and reading comprehension, multiple choice."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from evs_core.benchmark import RunContext, failed_review, make_review
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample

from evs_native.benchmarks._knowledge_mcq import SINGLE_ANSWER_COT, LetterMCQ, letter_of
from evs_native.benchmarks._mcq import LETTERS, MultipleChoiceBenchmark


def _hellaswag_clean(text: str) -> str:
    """lm-evaluation-harness's HellaSwag preprocessing (WikiHow markup removed)."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


class HellaSwag(MultipleChoiceBenchmark):
    name = "hellaswag"
    num_samples = 10042
    version = "1"
    description = (
        "HellaSwag (Zellers et al., 2019): pick the most plausible ending of an ActivityNet/WikiHow "
        "context; 10,042 validation items, zero-shot. The context is 'activity_label: ctx_a Ctx_b' and the "
        "endings are cleaned as lm-evaluation-harness does. mode=generate: lettered endings with "
        "EvalScope's single-answer chain-of-thought template, metric acc; mode=loglikelihood: each ending "
        "scored as a continuation of the context (acc, and acc_norm per character, lm-evaluation-harness's "
        "reported metric)."
    )
    tags = ["commonsense", "multiple-choice"]
    hf_id = "Rowan/hellaswag"
    ms_id = "evalscope/hellaswag"
    eval_split = "validation"
    fewshot_split = "train"
    few_shot_num = 0
    prompt_template = SINGLE_ANSWER_COT
    ll_template = "{question}"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        ctx = record["ctx_a"] + " " + str(record["ctx_b"]).capitalize()
        query = _hellaswag_clean(f"{record['activity_label']}: {ctx}")
        endings = [_hellaswag_clean(e) for e in record["endings"]]
        label = record.get("label")
        if label in (None, ""):
            raise ValueError("HellaSwag row without a label (the test split has none; use validation)")
        return Sample(id=str(record.get("ind", index)), input=query, choices=endings,
                      target=LETTERS[int(label)], subset=subset)


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


class RACE(LetterMCQ):
    name = "race"
    num_samples = 4934
    version = "1"
    description = (
        "RACE (Lai et al., 2017): reading comprehension from Chinese middle- and high-school English exams; "
        "subsets high and middle, test split. 3-shot from the train split (of the same subset), as EvalScope, "
        "with the article and question as 'Article:\\n…\\nQuestion:\\n…' under EvalScope's single-answer "
        "chain-of-thought template; the last explicit answer letter is extracted. mode=loglikelihood scores "
        "the option letters. Metric: acc."
    )
    tags = ["reading-comprehension", "multiple-choice"]
    hf_id = "ehovy/race"
    ms_id = "evalscope/race"
    subsets = ["high", "middle"]
    eval_split = "test"
    fewshot_split = "train"
    few_shot_num = 3
    extra_args: ClassVar[dict[str, Any]] = {"mode": "generate", "prompt_template": None}

    def _check_args(self) -> None:
        super()._check_args()
        if self.args["few_shot_num"] > 3:
            from evs_core.errors import ConfigError

            raise ConfigError(f"dataset_args.race.few_shot_num must be at most 3 (articles are long), "
                              f"not {self.args['few_shot_num']}")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        options = [str(o) for o in record["options"]]
        text = f"Article:\n{record['article']}\nQuestion:\n{record['question']}"
        return Sample(id=str(record.get("example_id", index)) + f"#{index}", input=text, choices=options,
                      target=letter_of(str(record["answer"]), len(options)), subset=subset)
