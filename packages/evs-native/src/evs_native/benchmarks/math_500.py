"""Competition math with a boxed final answer: MATH-500 (AIME 2024 and 2025 are specs).

Answers are compared with ``math-verify`` (Hugging Face's equivalence checker: LaTeX and plain
expressions parsed to sympy, sets, intervals, matrices, units stripped), optionally backed by an
LLM judge (strategy ``rule``, ``llm`` or ``llm_when_rule_fails``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext
from evs_core.errors import ConfigError, require
from evs_core.extract import Extraction, extract_math
from evs_core.schema import ModelOutput, Review, Sample

from evs_native.benchmarks._judged import judged_review

PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."


def _math_verify():
    return require("math_verify", "math answer checking", "evs-native[math]")


def parse_gold(answer: str) -> list:
    mv = _math_verify()
    text = str(answer).strip()
    gold = mv.parse(text if "\\boxed" in text or text.startswith("$") else f"${text}$")
    return gold or mv.parse(text)


def parse_answer(answer: str) -> list:
    """An extracted answer parsed by math-verify: as the content of ``\\boxed{}``, else as an expression."""
    mv = _math_verify()
    return mv.parse(f"$\\boxed{{{answer}}}$") or mv.parse(f"${answer}$") or mv.parse(answer)


def math_check(prediction: str, answer: str) -> tuple[Extraction, float]:
    """(the extraction, 1.0/0.0): the final answer read by :func:`evs_core.extract.extract_math`
    (last ``\\boxed{}``, "Answer: …", last ``$…$``), then ``math_verify.verify(parse(gold), parse(it))``."""
    mv = _math_verify()
    found = extract_math(prediction)
    if found.answer is None:
        return found, 0.0
    gold = parse_gold(answer)
    pred = parse_answer(found.answer)
    if not pred or not gold:
        return found, 0.0
    return found, float(bool(mv.verify(gold, pred)))


def math_equal(prediction: str, answer: str) -> tuple[str | None, float]:
    """(the extracted answer, 1.0/0.0); see :func:`math_check`."""
    found, score = math_check(prediction, answer)
    return found.answer, score


class _MathBenchmark(Benchmark):
    version = "1"
    tags = ["math", "reasoning"]
    few_shot_num = 0
    metrics = ["acc"]
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 4096}
    question_field = "problem"
    answer_field = "answer"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _math_verify()  # a missing extra stops the run before any model call

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in (self.question_field, self.answer_field):
            if f not in record:
                raise ConfigError(f"{self.name}: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        rid = record.get("unique_id") or record.get("id")
        sid = f"{subset}/{rid if rid is not None else record.get('_row', index)}" if len(self.subsets) > 1 \
            else str(rid if rid is not None else index)
        meta = {k: record[k] for k in ("subject", "level", "url") if k in record}
        return Sample(id=sid, input=PROMPT.format(question=record[self.question_field]),
                      target=str(record[self.answer_field]).strip(), subset=subset,
                      metadata={**meta, "question": record[self.question_field]})

    def extract(self, text: str, sample: Sample) -> Any:
        return extract_math(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": math_check(output.text, sample.target)[1]}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        return await judged_review(sample, output, ctx, rule=lambda text: math_check(text, sample.target),
                                   question=sample.metadata["question"], reference=sample.target)


class Math500(_MathBenchmark):
    name = "math_500"
    num_samples = 500
    description = (
        "MATH-500 (Lightman et al., 2023): 500 problems of the MATH test set, subsets by difficulty "
        "Level 1–5 as EvalScope groups them. Zero-shot prompt '…Please reason step by step, and put your "
        "final answer within \\boxed{}.'; the answer is compared with math-verify (boxed answer first, "
        "then other final-answer forms) against the reference answer. With a judge configured, strategy "
        "rule / llm / llm_when_rule_fails. Metric: acc."
    )
    hf_id = "HuggingFaceH4/MATH-500"
    ms_id = "AI-ModelScope/MATH-500"
    subsets = ["Level 1", "Level 2", "Level 3", "Level 4", "Level 5"]
    eval_split = "test"

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        """MATH-500 has one config; a subset is the rows of one level."""
        cache = self.__dict__.setdefault("_rows_cache", {})
        if split not in cache:
            rows = self._load_all(split)
            cache[split] = [{**r, "_row": i} for i, r in enumerate(rows)]
        level = int(subset.split()[-1])
        return [r for r in cache[split] if str(r.get("level", "")).strip().split()[-1:] == [str(level)]]

    def _load_all(self, split: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is not None:
            return self.load_local(root, split, None)
        from evs_core.data import load_hub

        dataset_id = self.ms_id if self.hub == "modelscope" and self.ms_id else self.hf_id
        return load_hub(dataset_id, None, split, self.hub)


# AIME 2024 and 2025 are declarative benchmarks (specs/aime24.yaml, specs/aime25.yaml: the filter
# extract_math and the metric math_verify score as math_check does); these names are the classes
# that run them, for code that imported them from here.
def __getattr__(name: str):
    if name in ("AIME24", "AIME25"):
        from evs_native.benchmarks._specs import native_spec

        cls = globals()[name] = native_spec(name.lower())  # loaded on first use, then kept
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
