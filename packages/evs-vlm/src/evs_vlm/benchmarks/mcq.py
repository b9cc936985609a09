"""Multiple-choice vision benchmarks: MMMU, MMBench, MMStar, AI2D, ScienceQA (image), SEED-Bench-2-Plus."""

from __future__ import annotations

import ast
import json
from typing import Any, ClassVar

from evs_core.schema import ModelOutput, Sample

from evs_vlm.base import MCQ_COT_PROMPT, VisionBenchmark, VisionMCQ, format_mcq, images_of, letter_target
from evs_vlm.extract import extract_marked, extract_option, norm_text, to_number

MMMU_SUBJECTS = [
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory", "Basic_Medical_Science",
    "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science", "Design", "Diagnostics_and_Laboratory_Medicine",
    "Economics", "Electronics", "Energy_and_Power", "Finance", "Geography", "History", "Literature", "Manage",
    "Marketing", "Materials", "Math", "Mechanical_Engineering", "Music", "Pharmacy", "Physics", "Psychology",
    "Public_Health", "Sociology",
]

MMMU_OPEN_PROMPT = (
    "Solve the following problem step by step. The last line of your response should be of the form "
    "\"ANSWER: [ANSWER]\" (without quotes) where [ANSWER] is the answer to the problem.\n\n{question}\n\n"
    "Remember to put your answer on its own line at the end in the form \"ANSWER: [ANSWER]\" (without quotes) "
    "where [ANSWER] is the answer to the problem, and you do not need to use a \\boxed command."
)


def parse_list(value: Any) -> list[str]:
    """A list of option texts from a list, a JSON list or a Python-literal list string."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if value is None or value == "":
        return []
    try:
        parsed = json.loads(value)
    except (json.JSONDecodeError, TypeError):
        parsed = ast.literal_eval(str(value))
    if not isinstance(parsed, list):
        raise ValueError(f"options must be a list, not {type(parsed).__name__}")
    return [str(v) for v in parsed]


def open_match(extracted: str, target: Any) -> bool:
    """An open answer is right when it equals a gold answer as text, or as a number."""
    golds = target if isinstance(target, list) else [target]
    for g in golds:
        if norm_text(extracted) == norm_text(str(g)) and norm_text(str(g)):
            return True
        a, b = to_number(extracted), to_number(str(g))
        if a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b)):
            return True
    return False


class MMMU(VisionBenchmark):
    name = "mmmu"
    version = "1"
    description = ("MMMU validation: college-level questions over 30 subjects with up to 7 images placed at their "
                   "<image N> marks; multiple choice (letter after 'ANSWER:') and open questions. Metric: acc.")
    tags = ["multimodal", "knowledge", "multiple-choice"]
    hf_id = "MMMU/MMMU"
    ms_id = "AI-ModelScope/MMMU"
    subsets = MMMU_SUBJECTS
    eval_split = "validation"
    fewshot_split = "dev"
    num_samples = 900
    prompt_template = MCQ_COT_PROMPT

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        images = {i: record[f"image_{i}"] for i in range(1, 8) if images_of(record, f"image_{i}")}
        qtype = record.get("question_type", "multiple-choice")
        meta = {k: record.get(k) for k in ("question_type", "subfield", "img_type", "topic_difficulty")}
        sid = self.record_id(record, index, subset, "id")
        if qtype == "multiple-choice":
            choices = parse_list(record.get("options"))
            text = format_mcq(str(record["question"]), choices)
            target = letter_target(record["answer"], choices, f"mmmu {sid}")
            return self.make_sample(sid, text, [], subset, target, choices, meta, interleaved=images)
        text = MMMU_OPEN_PROMPT.format(question=record["question"])
        answer = record["answer"]
        if isinstance(answer, str) and answer.startswith("["):
            try:
                answer = parse_list(answer)
            except (ValueError, SyntaxError):
                pass
        return self.make_sample(sid, text, [], subset, answer, None, meta, interleaved=images)

    def extract_with_rule(self, text: str, sample: Sample) -> tuple[Any, str]:
        if sample.choices:
            return extract_option(text, sample.choices)
        return extract_marked(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        if sample.choices:
            return {"acc": float(extracted is not None and extracted == sample.target)}
        return {"acc": float(open_match(extracted or "", sample.target))}


def _valid_text(v: Any) -> bool:
    return v is not None and str(v).strip() != "" and str(v) != "nan"


class MMBench(VisionMCQ):
    name = "mm_bench"
    version = "1"
    description = ("MMBench dev (en and cn): 20 ability dimensions, 2-4 options with the hint before the question; "
                   "the letter after 'ANSWER:'. Metric: acc (single pass, not CircularEval).")
    tags = ["multimodal", "knowledge", "multiple-choice"]
    hf_id = "lmms-lab/MMBench"
    ms_id = "lmms-lab/MMBench"
    subsets = ["cn", "en"]
    eval_split = "dev"
    num_samples = 8658

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(record[k]) for k in "ABCD" if _valid_text(record.get(k))]
        hint = record.get("hint")
        question = (str(hint) + "\n" if _valid_text(hint) else "") + str(record["question"])
        sid = self.record_id(record, index, subset, "index")
        meta = {k: record.get(k) for k in ("category", "L2-category", "source")}
        return self.make_sample(sid, format_mcq(question, choices), images_of(record, "image"), subset,
                                letter_target(record["answer"], choices, f"mm_bench {sid}"), choices, meta)


MMSTAR_PROMPT = (
    "Answer the following multiple choice question.\nThe last line of your response should be of the following "
    "format:\n'ANSWER: [LETTER]' (without quotes)\nwhere [LETTER] is one of A,B,C,D. Think step by step before "
    "answering.\n\n{question}"
)


class MMStar(VisionMCQ):
    name = "mm_star"
    version = "1"
    description = ("MMStar val: 1500 vision-indispensable questions over six categories (the options are inside "
                   "the question); the letter after 'ANSWER:'. Metric: acc, per category.")
    tags = ["multimodal", "knowledge", "multiple-choice"]
    hf_id = "Lin-Chen/MMStar"
    ms_id = "evalscope/MMStar"
    subsets = ["coarse perception", "fine-grained perception", "instance reasoning", "logical reasoning", "math",
               "science & technology"]
    subset_field = "category"
    hub_config = "val"
    eval_split = "val"
    num_samples = 1500
    prompt_template = MMSTAR_PROMPT

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        sid = self.record_id(record, index, subset, "index")
        return self.make_sample(sid, MMSTAR_PROMPT.format(question=record["question"]), images_of(record, "image"),
                                subset, str(record["answer"]).strip().upper(), ["A", "B", "C", "D"],
                                {"l2_category": record.get("l2_category")})


class AI2D(VisionMCQ):
    name = "ai2d"
    version = "1"
    description = "AI2D test: science diagrams, 4 options (answer given as an index). Metric: acc."
    tags = ["multimodal", "knowledge", "multiple-choice"]
    hf_id = "lmms-lab/ai2d"
    ms_id = "lmms-lab/ai2d"
    eval_split = "test"
    num_samples = 3088

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = parse_list(record["options"])
        sid = self.record_id(record, index, subset, "id")
        return self.make_sample(sid, format_mcq(str(record["question"]), choices), images_of(record, "image"), subset,
                                letter_target(int(record["answer"]), choices, f"ai2d {sid}"), choices)


class ScienceQA(VisionMCQ):
    name = "science_qa"
    version = "1"
    description = ("ScienceQA test, the questions with an image (image_only=true, the default; false adds the "
                   "text-only ones). Metric: acc.")
    tags = ["multimodal", "knowledge", "multiple-choice"]
    hf_id = "derek-thomas/ScienceQA"
    ms_id = "AI-ModelScope/ScienceQA"
    eval_split = "test"
    fewshot_split = "train"
    num_samples = 2017
    extra_args: ClassVar[dict[str, Any]] = {"image_only": True}

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample | None:
        images = images_of(record, "image")
        if self.args["image_only"] and not images:
            return None
        choices = parse_list(record["choices"])
        sid = self.record_id(record, index, subset, "id")
        meta = {k: record.get(k) for k in ("subject", "topic", "category", "grade")}
        return self.make_sample(sid, format_mcq(str(record["question"]), choices), images, subset,
                                letter_target(int(record["answer"]), choices, f"science_qa {sid}"), choices, meta)


class SEEDBench2Plus(VisionMCQ):
    name = "seed_bench_2_plus"
    version = "1"
    description = "SEED-Bench-2-Plus: text-rich charts, maps and web pages, 4 options. Metric: acc, per image type."
    tags = ["multimodal", "reasoning", "multiple-choice"]
    hf_id = "doolayer/SEED-Bench-2-Plus"
    ms_id = "evalscope/SEED-Bench-2-Plus"
    subsets = ["chart", "web", "map"]
    subset_field = "question_image_type"
    eval_split = "test"
    num_samples = 2277

    def subset_of(self, record: dict[str, Any]) -> str:
        return str(record.get("question_image_type", "")).lower()

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(record[f"choice_{k}"]) for k in "ABCD"]
        sid = self.record_id(record, index, subset, "question_id")
        return self.make_sample(sid, format_mcq(str(record["question"]), choices), images_of(record, "image"), subset,
                                letter_target(record["answer"], choices, f"seed_bench_2_plus {sid}"), choices,
                                {"data_type": record.get("data_type"), "level": record.get("level")})


