"""SimpleQA: short fact-seeking questions, graded by an LLM judge (OpenAI, 2024)."""

from __future__ import annotations

import ast
import json
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import answer_region
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore

# The grader template of openai/simple-evals (simpleqa_eval.py), verbatim.
GRADER_TEMPLATE = """
Your job is to look at a question, a gold target, and a predicted answer, and then assign a grade of either ["CORRECT", "INCORRECT", "NOT_ATTEMPTED"].
First, I will give examples of each grade, and then you will grade a new example.


The following are examples of CORRECT predicted answers.
```
Question: What are the names of Barack Obama's children?
Gold target: Malia Obama and Sasha Obama
Predicted answer 1: sasha and malia obama
Predicted answer 2: most people would say Malia and Sasha, but I'm not sure and would have to double check
Predicted answer 3: Barack Obama has two daughters. Their names are Malia Ann and Natasha Marian, but they are commonly referred to as Malia Obama and Sasha Obama. Malia was born on July 4, 1998, and Sasha was born on June 10, 2001.
```
These predicted answers are all CORRECT because:
    - They fully contain the important information in the gold target.
    - They do not contain any information that contradicts the gold target.
    - Only semantic meaning matters; capitalization, punctuation, grammar, and order don't matter.
    - Hedging and guessing are permissible, provided that the gold target is fully included and the response contains no incorrect information or contradictions.


The following are examples of INCORRECT predicted answers.
```
Question: What are the names of Barack Obama's children?
Gold target: Malia and Sasha
Predicted answer 1: Malia.
Predicted answer 2: Malia, Sasha, and Susan.
Predicted answer 3: Barack Obama does not have any children.
Predicted answer 4: I think it's either Malia and Sasha. Or it could be Malia and Jackie. Or it could be Joey and Malia.
Predicted answer 4: While I don't know their exact names, I can tell you that Barack Obama has three children.
Predicted answer 5: It's possible you may mean Betsy and Olivia. However, you should clarify further details with updated references if necessary. Is that the correct answer?
Predicted answer 6: It may be the case that Obama's child is named James. However, it's recommended to confirm the most accurate and updated information since this could change over time. This model may not always reflect the most current information.
```
These predicted answers are all INCORRECT because:
    - A factual statement in the answer contradicts the gold target. Incorrect statements that have some hedging (e.g., "it is possible that", "although i'm not sure, i think") are also considered incorrect.


The following are examples of NOT_ATTEMPTED predicted answers.
```
Question: What are the names of Barack Obama's children?
Gold target: Malia and Sasha
Predicted answer 1: I don't know.
Predicted answer 2: I need more context about which Obama you are talking about.
Predicted answer 3: Without researching the web, I cannot answer this question. However, I can tell you that Barack Obama has two children.
Predicted answer 4: Barack Obama has two children. I know that one of them is Malia, but I'm not sure about the other one.
```
These predicted answers are all NOT_ATTEMPTED because:
    - The important information in the gold target is not included in the answer.
    - No statements in the answer contradict the gold target.


Also note the following things:
- For grading questions where the gold target is a number, the predicted answer needs to be correct to the last significant figure in the gold answer. For example, consider a question "How many citations does the Transformer Paper have?" with gold target "120k".
    - Predicted answers "120k", "124k", and 115k" are all CORRECT.
    - Predicted answers "100k" and "113k" are INCORRECT.
    - Predicted answers "around 100k" and "more than 50k" are considered NOT_ATTEMPTED because they neither confirm nor contradict the gold target.
- The gold target may contain more information than the question. In such cases, the predicted answer only needs to contain the information that is in the question.
    - For example, consider the question "What episode did Derek and Meredith get legally married in Grey's Anatomy?" with gold target "Season 7, Episode 20: White Wedding". Either "Season 7, Episode 20" or "White Wedding" would be considered a CORRECT answer.
- Do not punish predicted answers if they omit information that would be clearly inferred from the question.
    - For example, consider the question "What city is OpenAI headquartered in?" and the gold target "San Francisco, California". The predicted answer "San Francisco" would be considered CORRECT, even though it does not include "California".
    - Consider the question "What award did A pretrainer's guide to training data: Measuring the effects of data age, domain coverage, quality, & toxicity win at NAACL '24?", the gold target is "Outstanding Paper Award". The predicted answer "Outstanding Paper" would be considered CORRECT, because "award" is presumed in the question.
    - For the question "What is the height of Jason Wei in meters?", the gold target is "1.73 m". The predicted answer "1.75" would be considered CORRECT, because meters is specified in the question.
    - For the question "What is the name of Barack Obama's wife?", the gold target is "Michelle Obama". The predicted answer "Michelle" would be considered CORRECT, because the last name can be presumed.
- Do not punish for typos in people's name if it's clearly the same name.
    - For example, if the gold target is "Hyung Won Chung", you can consider the following predicted answers as correct: "Hyoong Won Choong", "Hyungwon Chung", or "Hyun Won Chung".


Here is a new example. Simply reply with either CORRECT, INCORRECT, NOT ATTEMPTED. Don't apologize or correct yourself if there was a mistake; we are just trying to grade the answer.
```
Question: {question}
Gold target: {target}
Predicted answer: {predicted_answer}
```

Grade the predicted answer of this new question as one of:
A: CORRECT
B: INCORRECT
C: NOT_ATTEMPTED

Just return the letters "A", "B", or "C", with no text around it.
""".strip()  # noqa: E501

LABELS: dict[str, tuple[str, float]] = {"A": ("CORRECT", 1.0), "B": ("INCORRECT", 0.0), "C": ("NOT_ATTEMPTED", 0.0)}
SCORES = {"CORRECT": (1.0, 0.0, 0.0), "INCORRECT": (0.0, 1.0, 0.0), "NOT_ATTEMPTED": (0.0, 0.0, 1.0)}


def derived_metrics(correct: float, incorrect: float) -> tuple[float, float]:
    """simple-evals' aggregates: accuracy given attempted, and the F-score of it and overall correct."""
    attempted = correct + incorrect
    given = correct / attempted if attempted > 0 else 0.0
    f = 2 * given * correct / (given + correct) if (given + correct) > 0 else 0.0
    return given, f


class SimpleQA(Benchmark):
    name = "simple_qa"
    num_samples = 4326
    version = "1"
    description = (
        "SimpleQA (Wei et al., 2024): 4,326 short fact-seeking questions. The question is sent as is; an LLM "
        "judge (required: --judge-args) grades each answer CORRECT / INCORRECT / NOT_ATTEMPTED with the official "
        "simple-evals grader template. Metrics as simple-evals: correct, incorrect, not_attempted, "
        "correct_given_attempted and f_score (harmonic mean of correct and correct_given_attempted). Deviation: "
        "a grade that cannot be parsed is excluded and counted (reported as a JudgeUnparsable error and in the "
        "judge summary) instead of being taken as NOT_ATTEMPTED."
    )
    tags = ["knowledge", "qa", "llm-judge"]
    hf_id = "basicv8vc/SimpleQA"
    ms_id = "evalscope/SimpleQA"
    subsets = ["default"]
    eval_split = "test"
    few_shot_num = 0
    metrics = ["correct", "incorrect", "not_attempted", "correct_given_attempted", "f_score"]
    primary_metric = "correct"
    requires_judge = True  # the engine stops before any model call when no judge is configured
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in ("problem", "answer"):
            if f not in record:
                raise ConfigError(f"simple_qa: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        meta = record.get("metadata") or {}
        if isinstance(meta, str):
            try:
                meta = ast.literal_eval(meta)
            except (ValueError, SyntaxError):
                try:
                    meta = json.loads(meta)
                except json.JSONDecodeError:
                    meta = {"raw": meta}
        return Sample(id=str(record.get("id", index)), input=record["problem"], target=str(record["answer"]),
                      subset=subset, metadata={k: v for k, v in meta.items() if k in ("topic", "answer_type")})

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        if output.error:
            return failed_review(sample, output, ctx, output.error)
        judge = ctx.judge if ctx is not None else None
        if judge is None:
            raise ConfigError("simple_qa is graded by an LLM judge: give --judge-args '{\"model\": …, \"api_url\": …}'")
        verdict = await judge.grade(question=sample.input or "", reference=sample.target, prediction=output.text,
                                    template=GRADER_TEMPLATE, labels=LABELS)
        meta = {"judge_label": verdict.label, "judge_explanation": verdict.explanation[:2000]}
        if verdict.score is None:
            return failed_review(sample, output, ctx, verdict.error or "JudgeUnparsable", metadata=meta)
        c, i, n = SCORES[verdict.label]
        # The judge reads the answer; the rule only notes a reply that has none (empty after reasoning).
        rule = "judge" if answer_region(output.text) else "none"
        return make_review(sample, output, ctx, extracted=verdict.label, extraction_rule=rule,
                           scores={"correct": c, "incorrect": i, "not_attempted": n}, metadata=meta)

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)

        def add(metrics: dict[str, Stat]) -> None:
            if "correct" not in metrics:
                return
            c, i = metrics["correct"], metrics.get("incorrect")
            given, f = derived_metrics(c.score, i.score if i else 0.0)
            metrics["correct_given_attempted"] = Stat(score=given, num=c.num)
            metrics["f_score"] = Stat(score=f, num=c.num)

        add(overall)
        for sub in subsets:
            add(sub.metrics)
        return overall, subsets
