"""Math and logic breadth: competition_math, minerva_math, amc, hmmt25/hmmt26, aime26, cmath, mgsm,
poly_math, imo_answerbench, arxivmath, olympiad_bench (text-only), process_bench, coin_flip,
zebralogicbench, arc_agi_2.

Names, hub ids, prompts, subsets and metrics follow EvalScope's adapters. Every boxed-answer benchmark
is checked as ``math_500`` checks it (:func:`evs_native.benchmarks.math_500.math_check`: the final
answer read by :func:`evs_core.extract.extract_math`, then ``math_verify.verify``), where EvalScope
uses its own ``math_equal`` parser; with a judge configured the ``rule`` / ``llm`` /
``llm_when_rule_fails`` strategies apply as for ``math_500``.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, ClassVar

from evs_core.benchmark import DEFAULT, Benchmark, RunContext
from evs_core.errors import ConfigError
from evs_core.extract import Extraction, answer_region, extract_math, last_boxed
from evs_core.schema import ModelOutput, Review, Sample, Stat, SubsetScore
from evs_core.stats import summarize

from evs_native.benchmarks.math_500 import PROMPT as BOXED_PROMPT
from evs_native.benchmarks.math_500 import _MathBenchmark

#: EvalScope's "Problem: … Please reason step by step …" template (competition_math, hmmt, imo_answerbench, arxivmath).
PROBLEM_PROMPT = "Problem:\n{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}.\n"
#: EvalScope's AIME template (aime24/25/26 adapters).
AIME_PROMPT = ("\nSolve the following math problem step by step. Put your answer inside \\boxed{{}}.\n\n{question}\n\n"
               "Remember to put your answer inside \\boxed{{}}.")
FEWSHOT_INTRO = "Here are some examples of how to solve similar problems:\n\n{fewshot}\n"


def gold_of_solution(text: Any) -> str:
    """A reference answer from a worked solution: its last ``\\boxed{}``, else the text itself."""
    s = str(text if text is not None else "").strip()
    boxed = last_boxed(s)
    return boxed.strip() if boxed is not None and boxed.strip() else s


class BoxedMath(_MathBenchmark):
    """A zero/few-shot boxed-answer benchmark scored with math-verify as ``math_500``.

    ``subset_field``: the subsets are the values of that field in one split (EvalScope's
    ``reformat_subset``); ``split_as_subset``: each subset is a split of the default config.
    """

    template: ClassVar[str] = BOXED_PROMPT
    fewshot_template: ClassVar[str | None] = None
    fewshot_joiner: ClassVar[str] = "\n\n"
    subset_field: ClassVar[str | None] = None
    split_as_subset: ClassVar[bool] = False
    id_fields: ClassVar[tuple[str, ...]] = ("unique_id", "id", "problem_idx", "idx")
    meta_fields: ClassVar[tuple[str, ...]] = ()
    #: The hub split where it differs per hub (e.g. MathArena's copies have only "train").
    hub_split: ClassVar[dict[str, dict[str, str]]] = {}
    #: Strip the question text (EvalScope's adapters that call ``str(...).strip()``).
    strip_question: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "prompt_template" not in cls.__dict__:
            cls.prompt_template = cls.template  # what `evs benchmarks show` prints

    # -- data --------------------------------------------------------------------------------
    def _hub_rows(self, config: str | None, split: str) -> list[dict[str, Any]]:
        from evs_core.data import load_hub

        dataset_id = self.args.get("dataset_id")
        if not dataset_id:  # EvalScope's dataset_id override names its own split layout
            dataset_id = self.ms_id if self.hub == "modelscope" and self.ms_id else self.hf_id
            split = self.hub_split.get(self.hub, {}).get(split, split)
        return load_hub(dataset_id, config, split, self.hub)

    def row_subset(self, record: dict[str, Any]) -> str:
        return str(record.get(self.subset_field, "")).strip()

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if self.split_as_subset:  # each subset is a split of the one config (files <subset>.jsonl locally)
            return self.load_local(root, subset, None) if root is not None else self._hub_rows(None, subset)
        if self.subset_field:  # the subsets are the values of one field (EvalScope's reformat_subset)
            cache = self.__dict__.setdefault("_rows_cache", {})
            if split not in cache:
                rows = self.load_local(root, split, None) if root is not None else self._hub_rows(None, split)
                if rows and self.subset_field not in rows[0]:
                    raise ConfigError(f"{self.name}: {self._source(subset)}: row 1 has no field "
                                      f"'{self.subset_field}' (fields: {', '.join(sorted(map(str, rows[0])))})")
                cache[split] = [{**r, "_row": i} for i, r in enumerate(rows)]
            return [r for r in cache[split] if self.row_subset(r) == subset]
        if root is None:
            return self._hub_rows(self.hub_subset.get(subset, None if subset == DEFAULT else subset), split)
        return super().load_rows(split, subset)

    # -- samples -----------------------------------------------------------------------------
    def question_of(self, record: dict[str, Any]) -> str:
        return str(record[self.question_field]).strip() if self.strip_question else record[self.question_field]

    def gold_of(self, record: dict[str, Any]) -> str:
        return str(record[self.answer_field]).strip()

    def record_id(self, record: dict[str, Any], index: int, subset: str) -> str:
        rid = next((record[k] for k in self.id_fields if record.get(k) not in (None, "")), None)
        rid = rid if rid is not None else record.get("_row", index)
        return f"{subset}/{rid}" if len(self.subsets) > 1 else str(rid)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in (self.question_field, self.answer_field):
            if f not in record:
                raise ConfigError(f"{self.name}: row {index + 1} has no field '{f}' "
                                  f"(fields: {', '.join(sorted(map(str, record)))})")
        question = self.question_of(record)
        meta = {k: record[k] for k in self.meta_fields if k in record}
        return Sample(id=self.record_id(record, index, subset), input=self.template.format(question=question),
                      target=self.gold_of(record), subset=subset, metadata={**meta, "question": question})

    def shot_text(self, shot: Sample) -> str:
        return f"Problem:\n{shot.metadata['question']}\nSolution:\n{shot.target}"

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        if not fewshot or not self.fewshot_template:
            return sample.input or ""
        shots = self.fewshot_joiner.join(self.shot_text(s) for s in fewshot)
        return self.fewshot_template.format(fewshot=shots, question=sample.metadata["question"])


# -- competition math -----------------------------------------------------------------------------
class CompetitionMath(BoxedMath):
    name = "competition_math"
    version = "1"
    num_samples = 5000
    description = (
        "Competition-MATH (Hendrycks et al., 2021): the 5,000 test problems of MATH, subsets Level 1–5 "
        "(rows grouped by their 'level'). Prompt and 4-shot default as EvalScope's competition_math adapter "
        "('Problem: … Please reason step by step, and put your final answer within \\boxed{}.'; shots "
        "'Problem:/Solution:' from the same level's train rows, the solution reduced to its boxed answer). The "
        "reference is the last \\boxed{} of the solution. Deviation: answers compared with math-verify as "
        "math_500 (EvalScope: its own math_equal). Metric: acc."
    )
    tags = ["math", "reasoning"]
    hf_id = "SuperSecureHuman/competition_math_hf_dataset"
    ms_id = "evalscope/competition_math"
    subsets = ["Level 1", "Level 2", "Level 3", "Level 4", "Level 5"]
    eval_split = "test"
    fewshot_split = "train"
    few_shot_num = 4
    subset_field = "level"
    template = PROBLEM_PROMPT
    fewshot_template = FEWSHOT_INTRO + PROBLEM_PROMPT
    meta_fields = ("level", "type")

    def gold_of(self, record: dict[str, Any]) -> str:
        return gold_of_solution(record["solution"])

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        if "solution" not in record:
            raise ConfigError(f"{self.name}: row {index + 1} has no field 'solution' "
                              f"(fields: {', '.join(sorted(map(str, record)))})")
        return super().record_to_sample({**record, "answer": record["solution"]}, index, subset)

    def fewshot_samples(self, subset: str) -> list[Sample]:
        # EvalScope reformats the train split by level too: the shots are the first n train rows of
        # the same level (a seeded draw with few_shot_random).
        n = self.args["few_shot_num"]
        if not n:
            return []
        cache = self.__dict__.setdefault("_fewshot_cache", {})
        if subset not in cache:
            rows = self.load_rows(self.fewshot_split, subset)
            if self.args.get("few_shot_random"):
                rows = list(rows)
                random.Random(self.seed).shuffle(rows)
            cache[subset] = [self.record_to_sample(r, i, subset) for i, r in enumerate(rows[:n])]
        return cache[subset]


class MinervaMath(BoxedMath):
    name = "minerva_math"
    version = "1"
    num_samples = 272
    description = (
        "Minerva-Math (Lewkowycz et al., 2022): 272 undergraduate STEM problems from MIT OpenCourseWare. Prompt as "
        "EvalScope's minerva_math adapter ('…Please reason step by step, and put your final answer within "
        "\\boxed{}.'); the reference is the boxed answer of 'solution'. Deviations: math-verify equivalence as "
        "math_500; EvalScope grades with an LLM judge by default, evs with the rule unless --judge-args is given "
        "(then strategy rule / llm / llm_when_rule_fails). Metric: acc."
    )
    hf_id = "knoveleng/Minerva-Math"
    ms_id = "knoveleng/Minerva-Math"
    eval_split = "train"
    answer_field = "solution"
    meta_fields = ("type", "idx")

    def gold_of(self, record: dict[str, Any]) -> str:
        return gold_of_solution(record["solution"])


class AMC(BoxedMath):
    name = "amc"
    version = "1"
    num_samples = None
    description = (
        "AMC 10/12 2022–2024 with numeric answers; subsets amc22, amc23, amc24 (the splits of evalscope/amc_22-24). "
        "Prompt as EvalScope's amc adapter ('…Please reason step by step, and put your final answer within "
        "\\boxed{}.'); math-verify equivalence as math_500 (EvalScope: its own math_equal). Metric: acc."
    )
    hf_id = "evalscope/amc_22-24"
    ms_id = "evalscope/amc_22-24"
    subsets = ["amc22", "amc23", "amc24"]
    split_as_subset = True
    meta_fields = ("year", "url")


class HMMT25(BoxedMath):
    name = "hmmt25"
    version = "1"
    num_samples = 30
    description = (
        "HMMT February 2025 (MathArena's copy): 30 problems. Prompt as EvalScope's hmmt25 adapter ('Problem: … "
        "Please reason step by step, and put your final answer within \\boxed{}.'). Deviation: the answer is read "
        "by evs's math extraction (boxed, 'Answer:' line, closing $…$; EvalScope also falls back to the last "
        "line) and compared with math-verify as math_500. Metric: acc."
    )
    hf_id = "MathArena/hmmt_feb_2025"
    ms_id = "evalscope/hmmt_feb_2025"
    eval_split = "train"
    template = PROBLEM_PROMPT
    strip_question = True
    meta_fields = ("problem_idx", "problem_type")


class HMMT26(HMMT25):
    name = "hmmt26"
    num_samples = 33
    description = (
        "HMMT February 2026 (MathArena's copy): 33 problems. Prompt and scoring as hmmt25 (EvalScope's hmmt26 "
        "adapter), math-verify equivalence as math_500. Metric: acc."
    )
    hf_id = "MathArena/hmmt_feb_2026"
    ms_id = "evalscope/hmmt_feb_2026"


class AIME26(BoxedMath):
    name = "aime26"
    version = "1"
    num_samples = 30
    description = (
        "AIME 2026 I and II: 30 problems with integer answers (public: evalscope/aime26 on ModelScope, "
        "MathArena/aime_2026 on Hugging Face). Prompt as EvalScope's aime26 adapter ('Solve the following math "
        "problem step by step. Put your answer inside \\boxed{}. … Remember to put your answer inside "
        "\\boxed{}.'). Deviation: math-verify equivalence as math_500 and aime24/aime25 (EvalScope: its AIME "
        "grader). Metric: acc (use --repeats n for pass@k / maj@n)."
    )
    hf_id = "MathArena/aime_2026"
    ms_id = "evalscope/aime26"
    eval_split = "test"
    hub_split = {"huggingface": {"test": "train"}}  # MathArena's copy has one split, "train"
    template = AIME_PROMPT
    meta_fields = ("problem_idx",)


class CMath(BoxedMath):
    name = "cmath"
    version = "1"
    num_samples = 1098
    description = (
        "CMATH (Wei et al., 2023): Chinese elementary-school math word problems, subsets Grade 1–6 (rows grouped "
        "by 'grade'). Chinese prompt as EvalScope's cmath adapter ('…请一步一步推理，最后将答案放在\\boxed{}中。'); "
        "the reference is 'golden'. Deviation: math-verify equivalence as math_500 (EvalScope: its own "
        "math_equal). Metric: acc."
    )
    tags = ["math", "reasoning", "chinese"]
    hf_id = "weitianwen/cmath"
    ms_id = "evalscope/cmath"
    subsets = [f"Grade {i}" for i in range(1, 7)]
    eval_split = "test"
    question_field = "question"
    answer_field = "golden"
    subset_field = "grade"
    template = "{question}\n请一步一步推理，最后将答案放在\\boxed{{}}中。\n"
    strip_question = True
    meta_fields = ("reasoning_step", "num_digits")

    def row_subset(self, record: dict[str, Any]) -> str:
        return f"Grade {str(record.get('grade', '')).strip()}"


MGSM_LANGUAGES = ["en", "es", "fr", "de", "ru", "zh", "ja", "th", "sw", "bn", "te"]


class MGSM(BoxedMath):
    name = "mgsm"
    version = "1"
    num_samples = 2750
    description = (
        "MGSM (Shi et al., 2022): 250 GSM8K problems translated into 10 languages plus English, one subset per "
        "language. Prompt and 4-shot default as EvalScope's mgsm adapter (shots from the language's train split: "
        "question, 'Reasoning:' and 'ANSWER: n'; '…Please reason step by step, and put your final answer within "
        "\\boxed{}.'); reference 'answer_number'. Deviation: math-verify equivalence as math_500 (EvalScope: "
        "its own math_equal, which also takes the last number of an unboxed reply). Metric: acc."
    )
    tags = ["math", "reasoning", "multilingual"]
    hf_id = "juletxara/mgsm"
    ms_id = "evalscope/mgsm"
    subsets = MGSM_LANGUAGES
    eval_split = "test"
    fewshot_split = "train"
    few_shot_num = 4
    question_field = "question"
    answer_field = "answer_number"
    template = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}.\n\n"
    fewshot_template = ("Here are some examples of how to solve similar problems:\n\n{fewshot}\n\n"
                        "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}.\n\n")

    def gold_of(self, record: dict[str, Any]) -> str:
        v = record[self.answer_field]
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        s = super().record_to_sample(record, index, subset)
        s.metadata["reasoning"] = record.get("answer")
        return s

    def shot_text(self, shot: Sample) -> str:
        return f"{shot.metadata['question']}\n\nReasoning:\n{shot.metadata.get('reasoning')}\n\nANSWER: {shot.target}"


POLY_LANGUAGES = ["en", "zh", "ar", "bn", "de", "es", "fr", "id", "it", "ja", "ko", "ms", "pt", "ru", "sw", "te",
                  "th", "vi"]
POLY_LEVELS = ["low", "medium", "high", "top"]
#: PolyMath's per-language instruction appended to the question (EvalScope's poly_math/utils/instruction.py;
#: the braces are escaped as in the reference).
POLY_INSTRUCTION = {
    "en": "Note: Please put the final answer in the $\\boxed\\{\\}$.",
    "zh": "注意：请将最终答案放在 $\\boxed\\{\\}$ 中。",
    "ar": "ملاحظة: يُرجى وضع الإجابة النهائية في $\\boxed\\{\\}$.",
    "bn": "বিঃদ্রঃ: অনুগ্রহ করে চূড়ান্ত উত্তরটি $\\boxed\\{\\}$ এর মধ্যে রাখুন।",
    "de": "Hinweis: Bitte setzen Sie die endgültige Antwort in $\\boxed\\{\\}$.",
    "es": "Nota: Por favor, coloque la respuesta final en el $\\boxed\\{\\}$.",
    "fr": "Remarque : Veuillez mettre la réponse finale dans le $\\boxed\\{\\}$.",
    "id": "Catatan: Silakan letakkan jawaban akhir di dalam $\\boxed\\{\\}$.",
    "it": "Nota: Per favore, metti la risposta finale nel $\\boxed\\{\\}$.",
    "ja": "注意：最終的な答えを $\\boxed\\{\\}$ に入れてください。",
    "ko": "참고: 최종 답안을 $\\boxed\\{\\}$ 안에 넣어 주세요.",
    "ms": "Nota: Sila letakkan jawapan akhir dalam $\\boxed\\{\\}$.",
    "pt": "Nota: Por favor, coloque a resposta final no $\\boxed\\{\\}$.",
    "ru": "Примечание: Пожалуйста, поместите окончательный ответ в $\\boxed\\{\\}$.",
    "sw": "Kumbuka: Tafadhali weka jibu la mwisho katika $\\boxed\\{\\}$.",
    "te": "గమనిక: దయచేసి తుది జవాబును $\\boxed\\{\\}$ లో ఉంచండి.",
    "th": "หมายเหตุ: กรุณาใส่คำตอบสุดท้ายใน $\\boxed\\{\\}$.",
    "vi": "Lưu ý: Vui lòng đặt câu trả lời cuối cùng trong $\\boxed\\{\\}$.",
}


def difficulty_weighted(level_scores: dict[str, float]) -> float:
    """PolyMath's DW-ACC of one language: sum of 2^i * acc(level i) over low, medium, high, top, / 15
    (a missing level counts 0)."""
    return sum((2 ** i) * level_scores.get(lv, 0.0) for i, lv in enumerate(POLY_LEVELS)) / 15


class PolyMath(BoxedMath):
    name = "poly_math"
    version = "1"
    num_samples = 9000
    description = (
        "PolyMath (Wang et al., 2025): 500 problems per language in 18 languages, 125 at each difficulty level "
        "low/medium/high/top (the splits). As EvalScope's poly_math adapter: the question plus the language's "
        "'put the final answer in $\\boxed\\{\\}$' note, report subsets '<language>-<level>', and the difficulty-"
        "weighted accuracy (DW-ACC: (1·low + 2·medium + 4·high + 8·top) / 15 per language; OVERALL = mean over "
        "languages) as metric dw_acc with one category row per language. Deviation: math-verify equivalence as "
        "math_500. Metrics: acc (primary), dw_acc."
    )
    tags = ["math", "reasoning", "multilingual"]
    hf_id = "Qwen/PolyMath"
    ms_id = "evalscope/PolyMath"
    subsets = POLY_LANGUAGES
    eval_split = "test"
    question_field = "question"
    metrics = ["acc", "dw_acc"]

    prompt_template = "{question}\n" + POLY_INSTRUCTION["en"]

    def selected_subsets(self) -> list[str]:
        return [f"{lang}-{lv}" for lang in self.args["subset_list"] for lv in POLY_LEVELS]

    def subset_samples(self, subset: str) -> list[Sample]:
        lang, level = subset.rsplit("-", 1)
        self._level = level
        rows = self.load_rows(level, lang)
        out = []
        for i, r in enumerate(rows):
            try:
                out.append(self.record_to_sample(r, i, subset))
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
                raise ConfigError(self._row_error(r, i, lang, exc)) from None
        return out

    def _source(self, subset: str) -> str:
        lang = subset.rsplit("-", 1)[0] if "-" in subset else subset
        return f"{super()._source(lang)} ({getattr(self, '_level', '?')})"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        lang, level = subset.rsplit("-", 1)
        rid = str(record.get("id") or f"{level}-{lang}-{index}")
        parts = rid.split("-")
        if len(parts) == 3 and parts[1] in POLY_INSTRUCTION:  # e.g. 'high-en-1': the id names the language
            lang = parts[1]
        question = record["question"]
        return Sample(id=f"{subset}/{rid}", input=question + "\n" + POLY_INSTRUCTION[lang],
                      target=str(record["answer"]).strip(), subset=subset,
                      metadata={"question": question, "language": lang, "level": level})

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)
        by_name = {s.name: s for s in subsets}
        langs = list(dict.fromkeys(s.name.rsplit("-", 1)[0] for s in subsets))
        rows = []
        for lang in langs:
            levels = {lv: by_name[f"{lang}-{lv}"].score for lv in POLY_LEVELS if f"{lang}-{lv}" in by_name}
            num = sum(by_name[f"{lang}-{lv}"].num for lv in levels)
            dw = difficulty_weighted(levels)
            rows.append(SubsetScore(name=lang, num=num, score=dw, metrics={"dw_acc": Stat(score=dw, num=num)},
                                    kind="category"))
        if rows:
            overall["dw_acc"] = Stat(score=sum(r.score for r in rows) / len(rows), num=sum(r.num for r in rows))
        return overall, subsets + rows


class IMOAnswerBench(BoxedMath):
    name = "imo_answerbench"
    version = "1"
    num_samples = 400
    description = (
        "IMO-AnswerBench (Luong et al., 2025, Google DeepMind's IMO-Bench): 400 IMO-Shortlist-level problems with "
        "short answers, subsets by 'Category' (Algebra, Combinatorics, Geometry, Number theory). Prompt as "
        "EvalScope's imo_answerbench adapter ('Problem: … Please reason step by step, and put your final answer "
        "within \\boxed{}.'); reference 'Short Answer'. Deviations: math-verify equivalence as math_500; EvalScope "
        "grades with an LLM judge by default, evs with the rule unless --judge-args is given. Metric: acc."
    )
    hf_id = "evalscope/imo-answerbench"
    ms_id = "evalscope/imo-answerbench"
    subsets = ["Algebra", "Combinatorics", "Geometry", "Number theory"]
    eval_split = "train"
    question_field = "Problem"
    answer_field = "Short Answer"
    subset_field = "Category"
    id_fields = ("Problem ID",)
    template = PROBLEM_PROMPT
    strip_question = True
    meta_fields = ("Problem ID", "Subcategory", "Source")


class ArxivMath(BoxedMath):
    name = "arxivmath"
    version = "1"
    num_samples = 103
    description = (
        "ArXiv-Math (MathArena): 103 research-level problems from arXiv preprints (Dec 2024 – Mar 2025), subsets "
        "by 'competition' (arxiv/december, arxiv/february, arxiv/january, arxiv/march). Prompt as EvalScope's "
        "arxivmath adapter ('Problem: … Please reason step by step …'). Deviation: evs's math extraction (no "
        "last-line fallback) and math-verify equivalence as math_500. Metric: acc."
    )
    hf_id = "evalscope/arxivmath"
    ms_id = "evalscope/arxivmath"
    subsets = ["arxiv/december", "arxiv/february", "arxiv/january", "arxiv/march"]
    eval_split = "train"
    subset_field = "competition"
    template = PROBLEM_PROMPT
    strip_question = True
    meta_fields = ("problem_idx", "problem_type", "source")


# -- ProcessBench ---------------------------------------------------------------------------------
#: The critique template of ProcessBench's official code (EvalScope's copy has '\b' where '\\boxed' is meant).
CRITIQUE_TEMPLATE = (
    "The following is a math problem and a solution (split into paragraphs, enclosed with tags and indexed from "
    "0):\n\n[Math Problem]\n\n{problem}\n\n[Solution]\n\n{tagged_response}\n\nYour task is to review and critique "
    "the solution paragraph by paragraph. Once you identify an error in a paragraph, return the index of the "
    "paragraph where the earliest error occurs. Otherwise, return the index of -1 (which typically denotes "
    "\"not found\").\n\nPlease put your final answer (i.e., the index) in \\boxed{{}}.\n"
)


def tagged_steps(steps: list[str]) -> str:
    return "".join(f"<paragraph_{i}>\n{s}\n</paragraph_{i}>\n\n" for i, s in enumerate(steps)).strip()


def process_index(text: str) -> Extraction:
    """The paragraph index of a ProcessBench critique: the last ``\\boxed{…}`` (no nested braces) as an int."""
    found = re.findall(r"\\boxed\{([^}]*)\}", answer_region(text))
    if not found:
        return Extraction(None, "none")
    try:
        return Extraction(int(found[-1].strip()), "boxed")
    except ValueError:
        return Extraction(None, "none")


def harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b > 0 else 0.0


class ProcessBench(Benchmark):
    name = "process_bench"
    version = "1"
    num_samples = 3400
    description = (
        "ProcessBench (Zheng et al., 2024): find the earliest wrong paragraph of a step-by-step solution (-1 when "
        "all are right); subsets gsm8k, math, olympiadbench, omnimath (the splits). Critique prompt and scoring "
        "of the official code and EvalScope's process_bench adapter: the last \\boxed{} index; error_acc over "
        "erroneous solutions, correct_acc over correct ones, simple_f1_score = their harmonic mean (primary), "
        "per subset and overall. Deviation: the prompt says '\\boxed{}' as the official code does (EvalScope's "
        "template has a backspace there)."
    )
    tags = ["math", "reasoning"]
    hf_id = "Qwen/ProcessBench"
    ms_id = "Qwen/ProcessBench"
    subsets = ["gsm8k", "math", "olympiadbench", "omnimath"]
    eval_split = "test"
    metrics = ["error_acc", "correct_acc", "simple_f1_score"]
    primary_metric = "simple_f1_score"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 4096}
    prompt_template = CRITIQUE_TEMPLATE

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is not None:
            return self.load_local(root, subset, None)
        from evs_core.data import load_hub

        dataset_id = self.args.get("dataset_id") or (self.ms_id if self.hub == "modelscope" else self.hf_id)
        return load_hub(dataset_id, None, subset, self.hub)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        steps = record["steps"]
        if not isinstance(steps, list):
            raise ValueError(f"'steps' is {type(steps).__name__}, not a list")
        label = int(record["label"])
        return Sample(id=str(record.get("id") or f"{subset}-{index}"),
                      input=CRITIQUE_TEMPLATE.format(problem=record["problem"], tagged_response=tagged_steps(steps)),
                      target=label, subset=subset,
                      metadata={"final_answer_correct": record.get("final_answer_correct")})

    def extract(self, text: str, sample: Sample) -> Any:
        return process_index(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        key = "correct_acc" if int(sample.target) == -1 else "error_acc"
        return {key: float(extracted is not None and extracted == int(sample.target))}

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        overall, subsets = super().aggregate(reviews, seed)

        def with_f1(stats: dict[str, Stat]) -> dict[str, Stat]:
            if "correct_acc" in stats and "error_acc" in stats:
                stats["simple_f1_score"] = Stat(score=harmonic(stats["correct_acc"].score, stats["error_acc"].score),
                                                num=stats["correct_acc"].num + stats["error_acc"].num)
            return stats

        overall = with_f1(overall)
        out = []
        for s in subsets:
            st = with_f1(dict(s.metrics))
            prim = st.get("simple_f1_score")
            out.append(s.model_copy(update={"metrics": st, "score": prim.score if prim else 0.0}))
        return overall, out


# -- CoinFlip -------------------------------------------------------------------------------------
COIN_PROMPT = (
    "\nSolve the following coin flip problem step by step. The last line of your response should be of the form "
    "\"ANSWER: [ANSWER]\" (without quotes) where [ANSWER] is the answer to the problem.\n\n{question}\n\nRemember "
    "to put your answer on its own line at the end in the form \"ANSWER: [ANSWER]\" (without quotes) where "
    "[ANSWER] is the answer YES or NO to the problem.\n\nReasoning:\n"
)


def coin_answer(text: str) -> Extraction:
    """EvalScope's coin_flip extraction: the rest of the line after the last 'ANSWER:', else the whole reply."""
    body = answer_region(text)
    found = re.findall(r"ANSWER:\s*(.*)", body)
    return Extraction(found[-1].strip(), "answer_line") if found else Extraction(body, "whole_reply")


def yes_no_metrics(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """accuracy, precision, recall, f1_score, yes_ratio over (gold, extracted) with YES as positive;
    an extraction that is not exactly YES/NO counts in the denominators of accuracy and yes_ratio only."""
    tp = fp = tn = fn = yes = 0
    for gold, pred in pairs:
        g, p = str(gold).strip().upper(), str(pred or "").strip().upper()
        yes += p == "YES"
        if p == "YES":
            tp += g == "YES"
            fp += g == "NO"
        elif p == "NO":
            tn += g == "NO"
            fn += g == "YES"
    n = len(pairs)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"accuracy": (tp + tn) / n if n else 0.0, "precision": precision, "recall": recall,
            "f1_score": harmonic(precision, recall), "yes_ratio": yes / n if n else 0.0}


class CoinFlip(Benchmark):
    name = "coin_flip"
    version = "1"
    num_samples = None
    description = (
        "CoinFlip: is the coin still heads up after people flip it or not (YES/NO). Prompt, extraction (the last "
        "'ANSWER:' line) and metrics as EvalScope's coin_flip adapter: accuracy (exact YES/NO, primary), "
        "precision, recall, f1_score (YES positive; other answers excluded from them), yes_ratio; the per-sample "
        "acc is the reference contained in the answer, as the reference's."
    )
    tags = ["reasoning", "yes-no"]
    hf_id = "extraordinarylab/coin-flip"
    ms_id = "extraordinarylab/coin-flip"
    eval_split = "test"
    metrics = ["accuracy", "precision", "recall", "f1_score", "yes_ratio", "acc"]
    primary_metric = "accuracy"
    prompt_template = COIN_PROMPT

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        answer = str(record["answer"]).strip().upper()
        if answer not in ("YES", "NO"):
            raise ValueError(f"answer {record['answer']!r} is not yes/no")
        return Sample(id=str(record.get("id", index)), input=COIN_PROMPT.format(question=record["question"]),
                      target=answer, subset=subset)

    def extract(self, text: str, sample: Sample) -> Any:
        return coin_answer(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(sample.target in (extracted or ""))}

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        ok = [r for r in reviews if r.error is None]

        def stats(rs: list[Review]) -> dict[str, Stat]:
            out = {k: Stat(score=v, num=len(rs)) for k, v in yes_no_metrics([(r.target, r.extracted) for r in rs]).items()}
            out["acc"] = summarize([r.scores.get("acc", 0.0) for r in rs], seed)
            return out

        subsets = []
        for sub in dict.fromkeys(r.subset for r in ok):
            st = stats([r for r in ok if r.subset == sub])
            subsets.append(SubsetScore(name=sub, num=st["acc"].num, score=st["accuracy"].score, metrics=st))
        return (stats(ok) if ok else {}), subsets


# -- ZebraLogicBench ------------------------------------------------------------------------------
ZEBRA_PROMPT = """# Example Puzzle

There are 3 houses, numbered 1 to 3 from left to right, as seen from across the street. Each house is occupied by \
a different person. Each house has a unique attribute for each of the following characteristics:
 - Each person has a unique name: `Peter`, `Eric`, `Arnold`.
 - Each person has a unique favorite drink: `tea`, `water`, `milk`

## Clues for the Example Puzzle

1. Peter is in the second house.
2. Arnold is directly left of the one who only drinks water.
3. The one who only drinks water is directly left of the person who likes milk.

## Answer to the Example Puzzle

{{
    "reasoning": "Given Clue 1, we know Peter is in House 2. According to Clue 2, Arnold is directly left of the \
one who only drinks water. The person in House 3 cannot be on the left of anyone, so Arnold must be in House 1. \
Thus, Peter drinks water, and Eric lives in House 3. Then, according to Clue 3, Eric drinks milk. Therefore, Arnold \
drinks tea.",
    "solution": {{
        "House 1": {{
            "Name": "Arnold",
            "Drink": "tea"
        }},
        "House 2": {{
            "Name": "Peter",
            "Drink": "water"
        }},
        "House 3": {{
            "Name": "Eric",
            "Drink": "milk"
        }}
    }}
}}

# Puzzle to Solve

{question}


# Instruction

Now please solve the above puzzle. Present your reasoning and solution in the following json format:

{json_template}

"""

ZEBRA_SIZES = {
    "easy": ["2*2", "2*3", "2*4", "2*5", "2*6", "3*2", "3*3"],
    "hard": ["3*4", "3*5", "4*2", "3*6", "4*3", "4*4", "5*2", "6*2", "4*5", "4*6", "5*3", "5*4", "5*5", "5*6",
             "6*3", "6*4", "6*5", "6*6"],
    "small": ["2*2", "2*3", "2*4", "2*5", "2*6", "3*2", "3*3", "4*2"],
    "medium": ["3*4", "3*5", "3*6", "4*3", "4*4", "5*2", "6*2"],
    "large": ["4*5", "5*3", "4*6", "5*4", "6*3"],
    "xl": ["5*5", "6*4", "5*6", "6*5", "6*6"],
}


def last_json_object(text: str) -> dict | None:
    """The last complete top-level ``{…}`` of a reply, parsed; None when there is none or it is not JSON
    (braces counted without regard to strings, as ZebraLogic's reference extraction does)."""
    depth, start, last = 0, None, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                last, start = text[start:i + 1], None
    if last is None:
        return None
    try:
        obj = json.loads(last)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def zebra_grade(prediction: dict | None, solution: dict) -> dict[str, float]:
    """Per-puzzle counts of ZebraLogic's scorer: cells right, cells, solved, no answer, reasoning length, size."""
    header, rows = solution["header"], solution["rows"]
    houses, cols = len(rows), len(header) - 1
    total = cols * houses
    out = {"cells": float(total), "cells_right": 0.0, "solved": 0.0, "no_answer": 0.0, "reason_len": 0.0,
           "houses": float(houses), "attributes": float(len(rows[0]) - 1)}
    table = prediction.get("solution") if isinstance(prediction, dict) else None
    if not table:
        out["no_answer"] = 1.0
        return out
    out["reason_len"] = float(len(str(prediction.get("reasoning", ""))))
    right = 0
    for i in range(houses):
        house = table.get(f"House {i + 1}") if isinstance(table, dict) else None
        if not isinstance(house, dict):
            continue
        for j in range(1, len(header)):
            if header[j] not in house or house[header[j]] is None:
                continue
            val = house[header[j]]
            if isinstance(val, list):
                if not val:
                    continue
                val = val[0]
            if str(val).lower().strip() == str(rows[i][j]).lower().strip():
                right += 1
    out["cells_right"] = float(right)
    out["solved"] = float(right == total)
    return out


class ZebraLogicBench(Benchmark):
    name = "zebralogicbench"
    version = "1"
    num_samples = 1000
    description = (
        "ZebraLogic (Lin et al., 2025) grid mode: logic-grid puzzles answered as a JSON house table. Prompt "
        "(one worked example, the puzzle, a JSON template with the puzzle's columns), extraction (the last "
        "complete JSON object) and metrics as EvalScope's zebralogicbench adapter: puzzle_acc (primary), cell_acc "
        "(cells right / cells), easy/hard/small/medium/large/xl_puzzle_acc by grid size, avg_reason_lens, "
        "no_answer_num. Where EvalScope skips a reply without JSON entirely, evs counts it as the official "
        "ZeroEval scorer does (its cells and size in the denominators, one more no_answer). The dataset "
        "(allenai/ZebraLogicBench-private) is gated on the Hub: accept its terms online or give a local copy."
    )
    tags = ["reasoning", "logic"]
    hf_id = "allenai/ZebraLogicBench-private"
    ms_id = "allenai/ZebraLogicBench-private"
    subsets = ["grid_mode"]
    eval_split = "test"
    metrics = ["puzzle_acc", "cell_acc", "easy_puzzle_acc", "hard_puzzle_acc", "small_puzzle_acc",
               "medium_puzzle_acc", "large_puzzle_acc", "xl_puzzle_acc", "avg_reason_lens", "no_answer_num"]
    primary_metric = "puzzle_acc"
    prompt_template = ZEBRA_PROMPT

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        solution = record["solution"]
        if isinstance(solution, str):
            solution = json.loads(solution)
        header, rows = list(solution["header"]), [list(r) for r in solution["rows"]]
        if not header or header[0] != "House" or not rows:
            raise ValueError("'solution' must have header ['House', …] and rows")
        template = {"reasoning": "___", "solution": {
            f"House {i + 1}": {header[j]: "___" for j in range(1, len(header))} for i in range(len(rows))}}
        prompt = ZEBRA_PROMPT.format(question=record["puzzle"], json_template=json.dumps(template, indent=4))
        return Sample(id=str(record.get("id") or index), input=prompt, target={"header": header, "rows": rows},
                      subset=subset, metadata={"size": record.get("size"), "created_at": record.get("created_at")})

    def extract(self, text: str, sample: Sample) -> Any:
        obj = last_json_object(answer_region(text))
        return Extraction(obj, "last_json") if obj is not None else Extraction(None, "none")

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        g = zebra_grade(extracted, sample.target)
        return {"puzzle_acc": g["solved"], "cells": g["cells"], "cells_right": g["cells_right"],
                "no_answer": g["no_answer"], "reason_len": g["reason_len"],
                "houses": g["houses"], "attributes": g["attributes"]}

    @staticmethod
    def zebra_metrics(scores: list[dict[str, float]]) -> dict[str, Stat]:
        n = len(scores)
        cells = sum(s.get("cells", 0.0) for s in scores)
        out = {"puzzle_acc": Stat(score=sum(s.get("puzzle_acc", 0.0) for s in scores) / n if n else 0.0, num=n),
               "cell_acc": Stat(score=sum(s.get("cells_right", 0.0) for s in scores) / cells if cells else 0.0,
                                num=int(cells))}
        for group, sizes in ZEBRA_SIZES.items():
            mine = [s for s in scores if f"{int(s.get('houses', 0))}*{int(s.get('attributes', 0))}" in sizes]
            out[f"{group}_puzzle_acc"] = Stat(
                score=sum(s.get("puzzle_acc", 0.0) for s in mine) / len(mine) if mine else 0.0, num=len(mine))
        out["avg_reason_lens"] = Stat(score=sum(s.get("reason_len", 0.0) for s in scores) / n if n else 0.0, num=n)
        no = int(sum(s.get("no_answer", 0.0) for s in scores))
        out["no_answer_num"] = Stat(score=float(no), num=no)
        return out

    def aggregate(self, reviews: list[Review], seed: int = 0) -> tuple[dict[str, Stat], list[SubsetScore]]:
        ok = [r for r in reviews if r.error is None]
        overall = self.zebra_metrics([r.scores for r in ok])
        if ok:
            overall["puzzle_acc"] = summarize([r.scores.get("puzzle_acc", 0.0) for r in ok], seed)
        subsets = []
        for sub in dict.fromkeys(r.subset for r in ok):
            st = self.zebra_metrics([r.scores for r in ok if r.subset == sub])
            subsets.append(SubsetScore(name=sub, num=st["puzzle_acc"].num, score=st["puzzle_acc"].score, metrics=st))
        return overall, subsets


# -- ARC-AGI-2 ------------------------------------------------------------------------------------
ARC_SYSTEM = ("You are an expert at abstract reasoning and pattern recognition. Given input-output grid pairs as "
              "examples, you must figure out the transformation rule and apply it to a new test input to produce "
              "the correct output grid.")


def arc_prompt(record: dict[str, Any]) -> str:
    lines = ["Each grid is a 2D array of integers (0-9). Study the pattern in the examples, then predict the output "
             "for the test input.", "", "Examples:"]
    for i, pair in enumerate(record["fewshots"], 1):
        lines += [f"Example {i}:", f"Input: {json.dumps(pair['input'])}", f"Output: {json.dumps(pair['output'])}", ""]
    lines += [f"Test Input: {json.dumps(record['question'][0]['input'])}", "",
              "Provide the output grid as a JSON 2D array. Only output the JSON array, nothing else."]
    return "\n".join(lines)


def _grid(value: Any) -> list | None:
    return value if isinstance(value, list) and all(isinstance(r, list) for r in value) else None


def arc_grid(text: str) -> Extraction:
    """A 2D grid from a reply, in EvalScope's order: the whole reply as JSON, a fenced block, a ``[[…]]`` span."""
    body = answer_region(text)
    try:
        g = _grid(json.loads(body))
        if g:
            return Extraction(g, "json")
    except (json.JSONDecodeError, TypeError):
        pass
    for block in re.findall(r"```(?:json)?\s*\n?(.*?)\n?```", body, re.DOTALL):
        try:
            g = _grid(json.loads(block.strip()))
            if g:
                return Extraction(g, "code_block")
        except (json.JSONDecodeError, TypeError):
            continue
    for span in re.findall(r"\[\s*\[.*?\]\s*\]", body, re.DOTALL):
        try:
            g = _grid(json.loads(span))
            if g:
                return Extraction(g, "grid_span")
        except (json.JSONDecodeError, TypeError):
            continue
    return Extraction(None, "none")


class ArcAGI2(Benchmark):
    name = "arc_agi_2"
    version = "1"
    num_samples = 120
    description = (
        "ARC-AGI-2 (Chollet et al., 2025): grid transformation tasks, a few demonstration pairs then a test input. "
        "System prompt, task prompt (grids as JSON arrays), extraction (the reply as JSON, a fenced block, or a "
        "[[…]] span) and exact-grid acc as EvalScope's arc_agi_2 adapter (first test input of each task). "
        "Deviation: no pass^k aggregation; use --repeats for several attempts. Metric: acc."
    )
    tags = ["reasoning"]
    hf_id = "evalscope/arc-agi-2"
    ms_id = "evalscope/arc-agi-2"
    eval_split = "test"
    system_prompt = ARC_SYSTEM
    prompt_template = "{question}"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        q = record["question"]
        if isinstance(q, str):
            q = json.loads(q)
        shots = record["fewshots"]
        if isinstance(shots, str):
            shots = json.loads(shots)
        rec = {"fewshots": shots, "question": q}
        return Sample(id=str(record.get("id") or index), input=arc_prompt(rec), target=q[0]["output"], subset=subset)

    def extract(self, text: str, sample: Sample) -> Any:
        return arc_grid(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(extracted is not None and extracted == sample.target)}


# -- OlympiadBench (text-only open-ended subsets) ---------------------------------------------------
OLYMPIAD_TEXT_SUBSETS = ["OE_TO_maths_en_COMP", "OE_TO_maths_zh_CEE", "OE_TO_maths_zh_COMP",
                         "OE_TO_physics_en_COMP", "OE_TO_physics_zh_CEE"]

_ANSWER_TYPE_EN = {"Numerical": "a numerical value", "Expression": "an expression", "Equation": "an equation",
                   "Interval": "an interval"}
_ANSWER_TYPE_ZH = {"Numerical": "数值", "Expression": "表达式", "Equation": "方程", "Interval": "区间"}


def _one_type(answer_type: str, zh: bool) -> str:
    if "-" in answer_type:
        answer_type = answer_type[:answer_type.find("-")]
    for t in ("Numerical", "Expression", "Equation", "Interval"):
        if t in answer_type:
            return (_ANSWER_TYPE_ZH if zh else _ANSWER_TYPE_EN)[t]
    raise ValueError(f"unknown answer type {answer_type!r}")


def _type_text(answer_type: str, zh: bool, multiple: bool) -> str:
    if "Need_human_evaluate" in answer_type or "Tuple" in answer_type:
        return ""
    if not multiple:
        t = _one_type(answer_type, zh)
        return f"，答案类型为{t}" if zh else f"The answer of The problem should be {t}. "
    types = [_one_type(t, zh) for t in answer_type.split(",")] if "," in answer_type else [_one_type(answer_type, zh)]
    if len(set(types)) == 1:
        return f"，题目有多个答案，答案类型均为{types[0]}" if zh else \
            f"The problem has multiple answers, each of them should be {types[0]}. "
    return f"，题目有多个答案，答案类型分别为{'、'.join(types)}" if zh else \
        f"The problem has multiple answers, with the answers in order being {', '.join(types)}. "


def olympiad_prompt(record: dict[str, Any]) -> str:
    """OlympiadBench's official instruction for an open-ended question (EvalScope's OlympiadBenchPrompter)."""
    zh = record.get("language", "English") == "Chinese"
    math_ = record.get("subject", "Math") == "Math"
    multiple = bool(record.get("is_multiple_answer"))
    unit = record.get("unit")
    type_text = _type_text(str(record.get("answer_type") or ""), zh, multiple)
    if zh:
        subj = "数学" if math_ else "物理"
        box = "\\boxed{用英文逗号连接的多个答案}" if multiple else "\\boxed{答案}"
        unit_text = ""
        if unit:
            box += "(单位)"
            unit_text = "，注意答案的单位不要放在\\boxed{}中"
        head = (f"以下是中国{subj}竞赛中的解答题{type_text}。请根据题目的要求和所提供的信息计算得出答案。解答过程和结果中使用的"
                f"变量和公式请使用LaTeX格式表示。请在最后以\"所以最终答案是{box}。\"显式给出结果{unit_text}。")
    else:
        subj = "Math" if math_ else "Physics"
        box = "\\boxed{multiple answers connected with commas}" if multiple else "\\boxed{answer}"
        unit_text = ""
        if unit:
            box += "(unit)"
            unit_text = ", note that the unit of the answer should not be included in \\boxed{}"
        head = (f"The following is an open-ended problem from an International {subj} competition. {type_text}"
                f"Please calculate the answer according to the given requirements and the information provided. "
                f"Please use LaTeX format to represent the variables and formulas used in the solution process and "
                f"results. Please end your solution with \"So the final answer is {box}.\" and give the result "
                f"explicitly{unit_text}.")
    tail = ("\n请通过逐步推理来解答问题，并把最终答案放置于\\boxed{}中。" if zh
            else "\nPlease reason step by step, and put your final answer within \\boxed{}.")
    return head + "\n" + str(record["question"]) + "\n" + tail


class OlympiadBench(BoxedMath):
    name = "olympiad_bench"
    version = "1"
    num_samples = None
    description = (
        "OlympiadBench (He et al., 2024), the text-only open-ended subsets (OE_TO_*: maths and physics, English "
        "and Chinese, competition and CEE). Prompt: the official instruction (EvalScope's OlympiadBenchPrompter), "
        "answer type and unit, 'So the final answer is \\boxed{…}'. Deviations: the final answer is read by evs's "
        "math extraction and compared with math-verify as math_500, each of several answers in order, a numeric "
        "answer within the row's 'error' tolerance when it has one (EvalScope: OlympiadBench's MathJudger); the "
        "image (OE_MM_*) and theorem-proving (TP_*) subsets are not scored here. Metric: acc."
    )
    hf_id = "Hothan/OlympiadBench"
    ms_id = "AI-ModelScope/OlympiadBench"
    subsets = OLYMPIAD_TEXT_SUBSETS
    eval_split = "train"
    question_field = "question"
    answer_field = "final_answer"

    prompt_template = "<OlympiadBench's instruction for the language, subject and answer type>\n{question}\n"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        finals = record.get("final_answer") or []
        if isinstance(finals, str):
            finals = [finals]
        meta = {k: record.get(k) for k in ("answer_type", "unit", "language", "subject", "error",
                                           "is_multiple_answer", "subfield")}
        return Sample(id=f"{subset}/{record.get('id', index)}", input=olympiad_prompt(record),
                      target=",".join(str(f) for f in finals), subset=subset,
                      metadata={**meta, "question": record["question"], "final_answer": list(finals)})

    def check(self, text: str, sample: Sample) -> tuple[Extraction, float]:
        return olympiad_check(text, sample.metadata["final_answer"], sample.metadata.get("error"))

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": self.check(output.text, sample)[1]}

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        from evs_native.benchmarks._judged import judged_review

        return await judged_review(sample, output, ctx, rule=lambda text: self.check(text, sample),
                                   question=sample.metadata["question"], reference=sample.target)


def _split_top(s: str) -> list[str]:
    """``s`` split at commas outside ``()``/``[]`` (OlympiadBench's split_by_comma)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(s[start:i].strip())
            start = i + 1
    if start < len(s):
        parts.append(s[start:].strip())
    return parts


def _plus_minus(items: list[str]) -> list[str]:
    out = []
    for x in items:
        out += [x.replace("\\pm", "+"), x.replace("\\pm", "-")] if "\\pm" in x else [x]
    return out


def _mv_equal(pred: str, ref: str) -> bool:
    from evs_native.benchmarks.math_500 import _math_verify, parse_answer, parse_gold

    gold, ans = parse_gold(ref), parse_answer(pred)
    return bool(gold and ans and _math_verify().verify(gold, ans))


def _number(s: str) -> float | None:
    try:
        return float(s.strip().strip("$").replace(",", ""))
    except ValueError:
        return None


def _within(pred: str, ref: str, tol: float) -> bool:
    """OlympiadBench's numerical_equal: |ref·{1/100, 1, 100} - pred| <= tol·1.01."""
    p, g = _number(pred), _number(ref)
    if p is None or g is None:
        from evs_native.benchmarks.math_500 import parse_answer, parse_gold

        pv = [x for x in parse_answer(pred) if _number(str(x)) is not None]
        gv = [x for x in parse_gold(ref) if _number(str(x)) is not None]
        if not pv or not gv:
            return False
        p, g = _number(str(pv[0])), _number(str(gv[0]))
    return any(abs(v - p) <= tol * 1.01 for v in (g / 100, g, g * 100))


def olympiad_check(text: str, finals: list[str], error: Any = None) -> tuple[Extraction, float]:
    """OlympiadBench's answer check with math-verify as the equality of two items: the extracted answer and
    the first reference split at top-level commas (``\\pm`` expanded), paired in any order; a numeric item
    within the row's ``error`` tolerance (one value, or one per item) also matches."""
    found = extract_math(text)
    if found.answer is None or not finals:
        return found, 0.0
    ref = str(finals[0])
    if _mv_equal(found.answer, ref):
        return found, 1.0
    refs = _plus_minus(_split_top(re.sub(r"[\u4e00-\u9fff]+", "", ref)))
    preds = _plus_minus(_split_top(re.sub(r"[\u4e00-\u9fff]+", "", found.answer)))
    if len(refs) != len(preds) or not refs:
        return found, 0.0
    tols: list[float | None] = [None]
    if error not in (None, ""):
        tols = [float(x) if x.strip() else 1e-8 for x in str(error).split(",")]
    if len(tols) <= 1:
        tols = tols * len(refs)
    left = list(preds)
    for item, tol in zip(refs, tols):
        hit = next((p for p in left if (tol is not None and _within(p, item, tol)) or _mv_equal(p, item)), None)
        if hit is None:
            return found, 0.0
        left.remove(hit)
    return found, 1.0
