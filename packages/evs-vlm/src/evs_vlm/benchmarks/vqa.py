"""Open-answer vision benchmarks: ChartQA, DocVQA, InfoVQA, OCRBench, RealWorldQA."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from evs_core.schema import ModelOutput, Sample

from evs_vlm.base import VisionBenchmark, images_of
from evs_vlm.extract import extract_marked, extract_marked_strict
from evs_vlm.metrics import anls, relaxed_correctness

CHARTQA_PROMPT = (
    "{question}\n\nThe last line of your response should be of the form \"ANSWER: [ANSWER]\" (without quotes) "
    "where [ANSWER] is the a single word answer or number to the problem."
)

DOC_PROMPT = (
    "Answer the question according to the image using a single word or phrase.\n{question}\nThe last line of "
    "your response should be of the form \"ANSWER: [ANSWER]\" (without quotes) where [ANSWER] is the answer to "
    "the question."
)

REALWORLD_PROMPT = (
    "Read the picture and solve the following problem step by step.The last line of your response should be of "
    "the form \"ANSWER: [ANSWER]\" (without quotes) where [ANSWER] is the answer to the problem.\n\n{question}\n\n"
    "Remember to put your answer on its own line at the end in the form \"ANSWER: [ANSWER]\" (without quotes) "
    "where [ANSWER] is the answer to the problem, and you do not need to use a \\boxed command."
)


class ChartQA(VisionBenchmark):
    name = "chartqa"
    version = "1"
    description = ("ChartQA test (human and augmented questions): the value after 'ANSWER:' scored by relaxed "
                   "accuracy (numbers within 5%, other answers exact). Metric: relaxed_acc.")
    tags = ["multimodal", "chart", "qa"]
    hf_id = "lmms-lab/ChartQA"
    ms_id = "lmms-lab/ChartQA"
    subsets = ["human_test", "augmented_test"]
    subset_field = "type"
    eval_split = "test"
    num_samples = 2500
    metrics = ["relaxed_acc"]
    primary_metric = "relaxed_acc"
    prompt_template = CHARTQA_PROMPT

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.make_sample(self.record_id(record, index, subset), CHARTQA_PROMPT.format(question=record["question"]),
                                images_of(record, "image"), subset, str(record["answer"]))

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return extract_marked_strict(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"relaxed_acc": float(relaxed_correctness(extracted, sample.target))}


def _answers(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
            return [str(v) for v in parsed] if isinstance(parsed, list) else [value]
        except json.JSONDecodeError:
            return [value]
    return [str(v) for v in (value or [])]


class DocVQA(VisionBenchmark):
    name = "docvqa"
    version = "1"
    description = "DocVQA validation: questions on scanned documents; the value after 'ANSWER:'. Metric: ANLS."
    tags = ["multimodal", "document", "qa"]
    hf_id = "lmms-lab/DocVQA"
    ms_id = "lmms-lab/DocVQA"
    subsets = ["DocVQA"]
    eval_split = "validation"
    num_samples = 5349
    metrics = ["anls"]
    primary_metric = "anls"
    prompt_template = DOC_PROMPT

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.make_sample(self.record_id(record, index, subset, "questionId"),
                                DOC_PROMPT.format(question=record["question"]), images_of(record, "image"), subset,
                                _answers(record.get("answers")),
                                metadata={"question_types": record.get("question_types")})

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return extract_marked(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"anls": anls(extracted, sample.target)}


class InfoVQA(DocVQA):
    name = "infovqa"
    description = "InfographicVQA validation: questions on infographics; the value after 'ANSWER:'. Metric: ANLS."
    subsets = ["InfographicVQA"]
    num_samples = 2801

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.make_sample(self.record_id(record, index, subset, "questionId"),
                                DOC_PROMPT.format(question=record["question"]), images_of(record, "image"), subset,
                                _answers(record.get("answers")), metadata={"answer_type": record.get("answer_type")})


class OCRBench(VisionBenchmark):
    name = "ocr_bench"
    version = "1"
    description = ("OCRBench: 1000 questions over ten OCR tasks, the image before the question; right when a gold "
                   "answer appears in the reply (case-folded; HME100k formulas compared without spaces). Metric: acc "
                   "(x1000 = the OCRBench score).")
    tags = ["multimodal", "ocr", "qa"]
    hf_id = "echo840/OCRBench"
    ms_id = "evalscope/OCRBench"
    subsets = ["Regular Text Recognition", "Irregular Text Recognition", "Artistic Text Recognition",
               "Handwriting Recognition", "Digit String Recognition", "Non-Semantic Text Recognition",
               "Scene Text-centric VQA", "Doc-oriented VQA", "Key Information Extraction",
               "Handwritten Mathematical Expression Recognition"]
    subset_field = "question_type"
    eval_split = "test"
    num_samples = 1000
    image_first = True
    prompt_template = "{question}"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.make_sample(self.record_id(record, index, subset), str(record["question"]),
                                images_of(record, "image"), subset, _answers(record.get("answer")),
                                metadata={"dataset": record.get("dataset")})

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        return text.strip(), "full_text"

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        pred = str(extracted)
        for gold in sample.target:
            if sample.metadata.get("dataset") == "HME100k":
                hit = gold.strip().replace("\n", " ").replace(" ", "") in pred.strip().replace("\n", " ").replace(" ", "")
            else:
                hit = gold.lower().strip().replace("\n", " ") in pred.lower().strip().replace("\n", " ")
            if hit:
                return {"acc": 1.0}
        return {"acc": 0.0}

    def review_metadata(self, sample: Sample) -> dict[str, Any]:
        return {"dataset": sample.metadata.get("dataset")}


class RealWorldQA(VisionBenchmark):
    name = "real_world_qa"
    version = "1"
    description = "RealWorldQA test: real-world spatial questions; the value after 'ANSWER:', case-folded. Metric: acc."
    tags = ["multimodal", "qa"]
    hf_id = "lmms-lab/RealWorldQA"
    ms_id = "lmms-lab/RealWorldQA"
    eval_split = "test"
    num_samples = 765
    prompt_template = REALWORLD_PROMPT
    extra_args: ClassVar[dict[str, Any]] = {}

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return self.make_sample(self.record_id(record, index, subset), REALWORLD_PROMPT.format(question=record["question"]),
                                images_of(record, "image"), subset, str(record["answer"]).strip().lower())

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        value, rule = extract_marked_strict(text)
        return value.lower(), rule

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted.rstrip(".") == sample.target.rstrip("."))}
