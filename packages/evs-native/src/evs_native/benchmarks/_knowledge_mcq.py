"""Shared pieces of the knowledge multiple-choice benchmarks (MMLU, C-Eval, CMMLU, GPQA, …).

:class:`LetterMCQ` extends :class:`MultipleChoiceBenchmark` with the log-likelihood form that
lm-evaluation-harness uses for exam-style tasks: the question and lettered options form the
context and the candidate continuations are the letters (``" A"``, ``" B"``, …), so ``acc`` is
the letter with the highest log-likelihood. ``acc_norm`` is not reported for this form (every
continuation has the same length). Benchmarks whose options are sentence endings (HellaSwag)
keep the base class's option-text continuations.

It also reports per-category rows when a benchmark defines ``categories``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import RunContext, failed_review, make_review
from evs_core.groups import add_categories
from evs_core.models import Request
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore

from evs_native.benchmarks._mcq import LETTERS, MultipleChoiceBenchmark

# The single-answer chain-of-thought templates of EvalScope's multiple-choice adapters
# (English and Chinese); {letters} is "A,B,C,D".
SINGLE_ANSWER_COT = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{choices}"
)
CHINESE_SINGLE_ANSWER_COT = (
    "回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式：\"答案：[LETTER]\"（不带引号），"
    "其中 [LETTER] 是 {letters} 中的一个。请在回答前进行一步步思考。\n\n问题：{question}\n选项：\n{choices}"
)


class LetterMCQ(MultipleChoiceBenchmark):
    prompt_template: ClassVar[str] = SINGLE_ANSWER_COT
    fewshot_header: ClassVar[str] = "Here are some examples of how to answer similar questions:\n\n"
    #: "letters": continuations are the option letters; "texts": the option texts (base class).
    ll_style: ClassVar[str] = "letters"
    #: Text before the few-shot examples in log-likelihood mode; may use {subject}.
    ll_header: ClassVar[str] = ""
    ll_answer: ClassVar[str] = "Answer:"
    ll_letter_prefix: ClassVar[str] = " "
    #: subset -> category, for per-category rows in the report.
    categories: ClassVar[dict[str, str]] = {}

    @property
    def metrics_for_mode(self) -> list[str]:
        if self.args["mode"] == "loglikelihood" and self.ll_style == "letters":
            return ["acc"]
        return super().metrics_for_mode

    def subject_of(self, sample: Sample) -> str:
        return sample.subset.replace("_", " ")

    def ll_block(self, sample: Sample, with_answer: bool) -> str:
        opts = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(sample.choices or []))
        text = f"{self.question_text(sample)}\n{opts}\n{self.ll_answer}"
        return text + f"{self.ll_letter_prefix}{sample.target}" if with_answer else text

    def build_request(self, sample: Sample) -> Request:
        if self.args["mode"] != "loglikelihood" or self.ll_style != "letters":
            return super().build_request(sample)
        header = self.ll_header.format(subject=self.subject_of(sample))
        shots = "".join(self.ll_block(s, True) + "\n\n" for s in self.fewshot_samples(sample.subset))
        letters = LETTERS[: len(sample.choices or [])]
        return Request(prompt=header + shots + self.ll_block(sample, False), kind="loglikelihood",
                       continuations=[self.ll_letter_prefix + x for x in letters])

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error or output.logprobs is None or self.ll_style != "letters":
            return await super().score(sample, output, ctx)
        lps = output.logprobs
        n = len(sample.choices or [])
        if len(lps) != n:
            return failed_review(sample, output, ctx, f"ScoringError: {len(lps)} log-likelihoods for {n} choices")
        best = LETTERS[max(range(n), key=lambda i: lps[i])]
        return make_review(sample, output, ctx, prediction=best, extracted=best,
                           scores={"acc": float(best == sample.target)}, metadata={"logprobs": lps})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        if self.categories:
            subsets = add_categories(subsets, reviews, self.categories, self.primary, seed)
        return overall, subsets


def letter_of(answer: Any, n: int) -> str:
    """A gold answer as a letter: ``"B"``, ``"(B)"``, ``"b"``, or a 0-based option index (an int)."""
    if isinstance(answer, bool):
        raise ValueError(f"bad answer {answer!r}")
    if isinstance(answer, int):
        if not 0 <= answer < n:
            raise ValueError(f"answer index {answer} out of range for {n} options")
        return LETTERS[answer]
    text = str(answer).strip().strip("()").strip().upper()
    if len(text) == 1 and text in LETTERS[:n]:
        return text
    raise ValueError(f"answer {answer!r} is not a letter among {LETTERS[:n]} or an option index")
