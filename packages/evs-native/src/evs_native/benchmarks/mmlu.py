"""MMLU and MMLU-Pro: English exam-style multiple choice over many subjects."""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import Benchmark
from evs_core.schema import Sample

from evs_native.benchmarks._knowledge_mcq import LetterMCQ, letter_of
from evs_native.benchmarks._mcq import LETTERS

# subject -> category (STEM, Humanities, Social Science, Other), as in MMLU's paper and EvalScope.
MMLU_CATEGORIES = {
    "abstract_algebra": "STEM", "anatomy": "Other", "astronomy": "STEM", "business_ethics": "Other",
    "clinical_knowledge": "Other", "college_biology": "STEM", "college_chemistry": "STEM",
    "college_computer_science": "STEM", "college_mathematics": "STEM", "college_medicine": "Other",
    "college_physics": "STEM", "computer_security": "STEM", "conceptual_physics": "STEM",
    "econometrics": "Social Science", "electrical_engineering": "STEM", "elementary_mathematics": "STEM",
    "formal_logic": "Humanities", "global_facts": "Other", "high_school_biology": "STEM",
    "high_school_chemistry": "STEM", "high_school_computer_science": "STEM",
    "high_school_european_history": "Humanities", "high_school_geography": "Social Science",
    "high_school_government_and_politics": "Social Science", "high_school_macroeconomics": "Social Science",
    "high_school_mathematics": "STEM", "high_school_microeconomics": "Social Science",
    "high_school_physics": "STEM", "high_school_psychology": "Social Science", "high_school_statistics": "STEM",
    "high_school_us_history": "Humanities", "high_school_world_history": "Humanities", "human_aging": "Other",
    "human_sexuality": "Social Science", "international_law": "Humanities", "jurisprudence": "Humanities",
    "logical_fallacies": "Humanities", "machine_learning": "STEM", "management": "Other", "marketing": "Other",
    "medical_genetics": "Other", "miscellaneous": "Other", "moral_disputes": "Humanities",
    "moral_scenarios": "Humanities", "nutrition": "Other", "philosophy": "Humanities", "prehistory": "Humanities",
    "professional_accounting": "Other", "professional_law": "Humanities", "professional_medicine": "Other",
    "professional_psychology": "Social Science", "public_relations": "Social Science",
    "security_studies": "Social Science", "sociology": "Social Science", "us_foreign_policy": "Social Science",
    "virology": "Other", "world_religions": "Humanities",
}


class _FilteredByField(Benchmark):
    """Data stored as one table per split with a field naming each row's subset.

    Local files (``mmlu/test.jsonl`` with a ``subject`` field) are read once per split and
    filtered; on the Hub each subset is its own config (MMLU) or a filter (MMLU-Pro).
    """

    subset_field: ClassVar[str] = "subject"
    hub_per_subset: ClassVar[bool] = True

    def _norm(self, value: Any) -> str:
        return str(value)

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is None and self.hub_per_subset:
            return super().load_rows(split, subset)
        cache = self.__dict__.setdefault("_split_cache", {})
        if split not in cache:
            if root is not None:
                cache[split] = self.load_local(root, split, None)
            else:
                cache[split] = super().load_rows(split, "default")
        return [r for r in cache[split] if self._norm(r.get(self.subset_field)) == subset]


class MMLU(_FilteredByField, LetterMCQ):
    name = "mmlu"
    num_samples = 14042
    version = "1"
    description = (
        "MMLU (Hendrycks et al., 2021): 14,042 four-option questions over 57 subjects; subsets are the "
        "subjects, reported per subject and per category (STEM, Humanities, Social Science, Other). "
        "5-shot from the subject's dev split, as EvalScope. mode=generate: EvalScope's single-answer "
        "chain-of-thought template ('ANSWER: [LETTER]'), the last explicit answer letter extracted; "
        "mode=loglikelihood: lm-evaluation-harness's MMLU form ('The following are multiple choice "
        "questions (with answers) about <subject>.', lettered options, 'Answer:'), scored on the "
        "letters. Metric: acc."
    )
    tags = ["knowledge", "multiple-choice"]
    hf_id = "cais/mmlu"
    ms_id = "cais/mmlu"
    subsets = list(MMLU_CATEGORIES)
    eval_split = "test"
    fewshot_split = "dev"
    few_shot_num = 5
    categories = MMLU_CATEGORIES
    ll_header = "The following are multiple choice questions (with answers) about {subject}.\n\n"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = list(record["choices"])
        return Sample(id=f"{subset}_{index}", input=record["question"].strip(), choices=choices,
                      target=letter_of(int(record["answer"]), len(choices)), subset=subset,
                      metadata={"subject": subset})


MMLU_PRO_CATEGORIES = ["computer science", "math", "chemistry", "engineering", "law", "biology", "health",
                       "physics", "business", "philosophy", "economics", "other", "psychology", "history"]

MMLU_PRO_PROMPT = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. "
    "Think step by step before answering.\n\nQuestion:\n{question}\nOptions:\n{choices}"
)
MMLU_PRO_FEWSHOT_HEADER = (
    "The following are multiple choice questions (with answers) about {subject}. Think step by step and "
    "then finish your answer with 'ANSWER: [LETTER]' (without quotes) where [LETTER] is the correct "
    "letter choice.\n\n"
)


class MMLUPro(_FilteredByField, LetterMCQ):
    name = "mmlu_pro"
    num_samples = 12032
    version = "1"
    description = (
        "MMLU-Pro (Wang et al., 2024): 12,032 questions with up to ten options (A–J) over 14 categories "
        "(the subsets). 5-shot chain of thought from the validation split of the same category, the "
        "worked answers ('cot_content') ending in 'ANSWER: X', as EvalScope; the last explicit answer "
        "letter is extracted. mode=loglikelihood scores the option letters. Metric: acc."
    )
    tags = ["knowledge", "multiple-choice", "reasoning"]
    hf_id = "TIGER-Lab/MMLU-Pro"
    ms_id = "modelscope/MMLU-Pro"
    subsets = MMLU_PRO_CATEGORIES
    eval_split = "test"
    fewshot_split = "validation"
    few_shot_num = 5
    subset_field = "category"
    hub_per_subset = False
    prompt_template = MMLU_PRO_PROMPT
    ll_header = "The following are multiple choice questions (with answers) about {subject}.\n\n"

    def _norm(self, value: Any) -> str:
        return str(value).strip().lower()

    def subject_of(self, sample: Sample) -> str:
        return sample.subset

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = [str(c) for c in record["options"]]
        qid = record.get("question_id", f"{subset}_{index}")
        return Sample(id=str(qid), input=record["question"].strip(), choices=choices,
                      target=letter_of(str(record["answer"]), len(choices)), subset=subset,
                      metadata={"cot_content": record.get("cot_content") or ""})

    def _shot(self, s: Sample) -> str:
        cot = s.metadata.get("cot_content") or f"ANSWER: {s.target}"
        cot = cot.replace("The answer is", "ANSWER:")
        cot = cot.replace(f"ANSWER: ({s.target})", f"ANSWER: {s.target}")
        opts = "\n".join(f"{LETTERS[i]}) {c}" for i, c in enumerate(s.choices or []))
        return f"Question:\n{s.input}\nOptions:\n{opts}\n{cot.strip()}"

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        body = super().format_prompt(sample, [])
        if not fewshot:
            return body
        header = MMLU_PRO_FEWSHOT_HEADER.format(subject=sample.subset)
        return header + "\n\n".join(self._shot(s) for s in fewshot) + "\n\n" + body
