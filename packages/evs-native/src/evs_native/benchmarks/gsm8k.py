"""GSM8K: grade-school math word problems, exact match on the final number."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark
from evs_core.extract import extract_numeric, normalize_number, numbers_equal
from evs_core.schema import ModelOutput, Sample

PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
FEWSHOT_HEADER = "Here are some examples of how to solve similar problems:\n\n"


def _reference_solution(answer: str) -> tuple[str, str]:
    """The worked solution (calculator annotations removed) and the number after ``####``."""
    body, _, final = answer.rpartition("####")
    body = re.sub(r"<<[^>]*>>", "", body).strip()
    return body, final.strip()


class GSM8K(Benchmark):
    name = "gsm8k"
    num_samples = 1319
    version = "1"
    description = (
        "GSM8K (Cobbe et al., 2021): 1,319 grade-school math word problems. 4-shot chain of thought "
        "from the train split; the final number is extracted (last \\boxed{}, then '#### N', then "
        "'the answer is N', then the last number unless the reply is cut off or declines), thousands separators and trailing zeros removed, and "
        "compared numerically. Metric: acc."
    )
    tags = ["math", "reasoning"]
    hf_id = "openai/gsm8k"
    ms_id = "AI-ModelScope/gsm8k"
    subsets = ["main"]
    eval_split = "test"
    fewshot_split = "train"
    few_shot_num = 4
    metrics = ["acc"]
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 512}

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        solution, final = _reference_solution(record["answer"])
        return Sample(id=str(record.get("id", index)), input=record["question"], target=normalize_number(final),
                      subset=subset, metadata={"solution": solution})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        body = PROMPT.format(question=sample.input)
        if not fewshot:
            return body
        shots = "\n\n".join(
            f"{s.input}\n{s.metadata['solution']}\nThe answer is \\boxed{{{s.target}}}." for s in fewshot
        )
        return f"{FEWSHOT_HEADER}{shots}\n\n{body}"

    def extract(self, text: str, sample: Sample) -> Any:
        return extract_numeric(text)

    def score(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(numbers_equal(extracted, sample.target))}
