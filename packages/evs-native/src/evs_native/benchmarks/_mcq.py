"""Multiple-choice benchmarks: one base class for generation and log-likelihood scoring.

``mode`` (in ``dataset_args``):

* ``generate`` (default): the model sees the question and lettered options and answers in
  text; the letter is extracted with :func:`evs_core.extract.extract_choice`. Metric ``acc``.
* ``loglikelihood``: each option text is scored as a continuation of the question (as
  lm-evaluation-harness does); metrics ``acc`` (highest sum of log-probabilities) and
  ``acc_norm`` (highest log-probability per character of the option, as lm-evaluation-harness).
"""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import extract_choice
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

MCQ_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{choices}"
)


class MultipleChoiceBenchmark(Benchmark):
    prompt_template: ClassVar[str] = MCQ_TEMPLATE
    fewshot_header: ClassVar[str] = "Here are some examples:\n\n"
    ll_template: ClassVar[str] = "Question: {question}\nAnswer:"
    extra_args: ClassVar[dict[str, Any]] = {"mode": "generate", "prompt_template": None}
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}

    def _check_args(self) -> None:
        super()._check_args()
        if self.args["mode"] not in ("generate", "loglikelihood"):
            raise ConfigError(f"dataset_args.{self.name}.mode must be 'generate' or 'loglikelihood', "
                              f"not {self.args['mode']!r}")

    @property
    def metrics_for_mode(self) -> list[str]:
        return ["acc", "acc_norm"] if self.args["mode"] == "loglikelihood" else ["acc"]

    @staticmethod
    def format_choices(choices: list[str]) -> str:
        return "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(choices))

    def question_text(self, sample: Sample) -> str:
        return sample.input or ""

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        template = self.args.get("prompt_template") or self.prompt_template
        letters = LETTERS[: len(sample.choices or [])]
        body = template.format(question=self.question_text(sample), choices=self.format_choices(sample.choices or []),
                               letters=",".join(letters))
        if not fewshot:
            return body
        shots = "\n\n".join(
            f"{self.question_text(s)}\n\n{self.format_choices(s.choices or [])}\n\nANSWER: {s.target}" for s in fewshot
        )
        return f"{self.fewshot_header}{shots}\n\n{body}"

    def build_request(self, sample: Sample) -> Request:
        if self.args["mode"] != "loglikelihood":
            return super().build_request(sample)
        shots = "".join(
            self.ll_template.format(question=self.question_text(s)) + " " + (s.choices or [])[LETTERS.index(s.target)]
            + "\n\n" for s in self.fewshot_samples(sample.subset)
        )
        context = shots + self.ll_template.format(question=self.question_text(sample))
        return Request(prompt=context, kind="loglikelihood", continuations=[" " + c for c in sample.choices or []])

    def extract(self, text: str, sample: Sample) -> Any:
        return extract_choice(text, sample.choices, LETTERS[: len(sample.choices or [])])

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted is not None and extracted == sample.target)}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error or output.logprobs is None:
            return await super().score(sample, output, ctx)
        lps = output.logprobs
        choices = sample.choices or []
        if len(lps) != len(choices):
            return failed_review(sample, output, ctx, f"ScoringError: {len(lps)} log-likelihoods for {len(choices)} choices")
        best = max(range(len(lps)), key=lambda i: lps[i])
        # lm-evaluation-harness's acc_norm: log-likelihood divided by the option's length in characters
        norm = [lp / max(1, len(c)) for lp, c in zip(lps, choices, strict=True)]
        best_norm = max(range(len(norm)), key=lambda i: norm[i])
        gold = LETTERS.index(sample.target)
        return make_review(sample, output, ctx, prediction=LETTERS[best], extracted=LETTERS[best],
                           scores={"acc": float(best == gold), "acc_norm": float(best_norm == gold)},
                           metadata={"logprobs": lps})
