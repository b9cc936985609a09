"""Scoring with a rule, an LLM judge, or the judge only when the rule fails.

A benchmark opts in by overriding ``score`` and calling :func:`judged_review` with its rule.
Strategies (``judge.strategy``; without a judge the rule alone is used):

``rule``                 the benchmark's own extraction and comparison only;
``llm``                  the judge only;
``llm_when_rule_fails``  the rule first; the judge only when the rule scores 0 or finds nothing.

A judge reply that cannot be parsed (or a failed judge call) makes the review an error
(``JudgeUnparsable``/``JudgeError``): excluded from the scores and counted, never scored 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evs_core.extract import Extraction
from evs_core.benchmark import RunContext, failed_review, make_review
from evs_core.schema import ModelOutput, Review, Sample


async def judged_review(sample: Sample, output: ModelOutput, ctx: RunContext | None, *,
                        rule: Callable[[str], tuple[Any, float]] | None, question: str, reference: str,
                        metric: str = "acc", template: str | None = None,
                        labels: dict[str, tuple[str, float]] | None = None) -> Review:
    """A review scored by ``rule(text) -> (extracted, score)`` and/or ``ctx.judge``, per its strategy.

    ``extracted`` may be an :class:`~evs_core.extract.Extraction`; its rule is recorded on the review."""
    if output.error:
        return failed_review(sample, output, ctx, output.error)
    judge = ctx.judge if ctx is not None else None
    strategy = getattr(judge, "strategy", "rule") if judge is not None else "rule"
    if rule is None:
        strategy = "llm"
    extracted, rule_score, how = None, None, None
    if strategy != "llm":
        extracted, rule_score = rule(output.text)
        if isinstance(extracted, Extraction):
            extracted, how = extracted.answer, extracted.rule
        if strategy == "rule" or judge is None or rule_score > 0:
            return make_review(sample, output, ctx, extracted=extracted, extraction_rule=how,
                               scores={metric: float(rule_score)}, metadata={"scored_by": "rule"})
    if judge is None:
        from evs_core.errors import ConfigError

        raise ConfigError("this benchmark needs an LLM judge: give --judge-args '{\"model\": …, \"api_url\": …}'")
    verdict = await judge.grade(question=question, reference=reference, prediction=output.text, template=template,
                                labels=labels)
    meta = {"scored_by": "llm", "judge_label": verdict.label, "judge_explanation": verdict.explanation[:2000]}
    if rule_score is not None:
        meta["rule_score"] = rule_score
    if verdict.score is None:
        return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", extracted=extracted,
                             extraction_rule=how, metadata=meta)
    return make_review(sample, output, ctx, extracted=extracted if extracted is not None else verdict.label,
                       extraction_rule=how, scores={metric: float(verdict.score)}, metadata=meta)
