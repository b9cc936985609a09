"""Visual math: MathVista (testmini) and MathVision."""

from __future__ import annotations

from typing import Any

from evs_core.schema import ModelOutput, Sample

from evs_vlm.base import VisionBenchmark, format_mcq, images_of, letter_target
from evs_vlm.benchmarks.mcq import open_match, parse_list
from evs_vlm.extract import extract_math, extract_option, to_number

MATH_OPEN_PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}} without units."


class _VisualMath(VisionBenchmark):
    tags = ["multimodal", "math", "reasoning"]
    prompt_template = MATH_OPEN_PROMPT

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        if sample.choices:
            letter, rule = extract_option(text, sample.choices)
            if letter is None:  # a boxed letter or option text
                boxed, rule2 = extract_math(text)
                if rule2 == "boxed":
                    letter, rule = extract_option(f"ANSWER: {boxed}", sample.choices)
            return letter, rule
        return extract_math(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        if sample.choices:
            return {"acc": float(extracted is not None and extracted == sample.target)}
        precision = sample.metadata.get("precision")
        if precision is not None:
            a, b = to_number(extracted), to_number(str(sample.target))
            if a is not None and b is not None:
                return {"acc": float(round(a, int(precision)) == round(b, int(precision)))}
        return {"acc": float(open_match(extracted or "", sample.target))}


class MathVista(_VisualMath):
    name = "math_vista"
    version = "1"
    description = ("MathVista testmini: math reasoning over figures, plots and puzzles; multiple choice (letter) "
                   "and free-form (answer in \\boxed{}, compared as a number at the row's precision). Metric: acc.")
    hf_id = "AI4Math/MathVista"
    ms_id = "evalscope/MathVista"
    eval_split = "testmini"
    num_samples = 1000

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        sid = self.record_id(record, index, subset, "pid")
        meta = {"question_type": record.get("question_type"), "answer_type": record.get("answer_type")}
        images = images_of(record, "decoded_image") or images_of(record, "image")
        if record.get("question_type") == "multi_choice":
            choices = parse_list(record.get("choices"))
            return self.make_sample(sid, format_mcq(str(record["question"]), choices), images, subset,
                                    letter_target(record["answer"], choices, f"math_vista {sid}"), choices, meta)
        if record.get("precision") not in (None, ""):
            meta["precision"] = int(float(record["precision"]))
        return self.make_sample(sid, MATH_OPEN_PROMPT.format(question=record["question"]), images, subset,
                                str(record["answer"]), None, meta)


class MathVision(_VisualMath):
    name = "math_vision"
    version = "1"
    description = ("MathVision test: competition math with figures, five difficulty levels; multiple choice when "
                   "options are given, else the \\boxed{} answer. Metric: acc, per level.")
    hf_id = "MathLLMs/MathVision"
    ms_id = "evalscope/MathVision"
    subsets = ["level 1", "level 2", "level 3", "level 4", "level 5"]
    subset_field = "level"
    eval_split = "test"
    num_samples = 3040

    def subset_of(self, record: dict[str, Any]) -> str:
        return f"level {record.get('level')}"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        sid = self.record_id(record, index, subset, "id")
        images = images_of(record, "decoded_image")
        options = parse_list(record.get("options"))
        meta = {"subject": record.get("subject")}
        if options:
            return self.make_sample(sid, format_mcq(str(record["question"]), options), images, subset,
                                    letter_target(record["answer"], options, f"math_vision {sid}"), options, meta)
        return self.make_sample(sid, MATH_OPEN_PROMPT.format(question=record["question"]), images, subset,
                                str(record["answer"]), None, meta)
