"""BIG-Bench Hard: 27 hard BIG-Bench tasks, 3-shot chain of thought."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark
from evs_core.data import read_records
from evs_core.errors import ConfigError, EvsError
from evs_core.extract import Extraction, answer_region, extract_choice, normalize_number
from evs_core.schema import ModelOutput, Sample

MULTIPLE_CHOICE_TASKS = [
    "temporal_sequences", "disambiguation_qa", "date_understanding", "tracking_shuffled_objects_three_objects",
    "penguins_in_a_table", "geometric_shapes", "snarks", "ruin_names", "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_five_objects", "logical_deduction_three_objects", "hyperbaton",
    "logical_deduction_five_objects", "logical_deduction_seven_objects", "movie_recommendation",
    "salient_translation_error_detection", "reasoning_about_colored_objects",
]
FREE_FORM_TASKS = [
    "multistep_arithmetic_two", "navigate", "dyck_languages", "word_sorting", "sports_understanding",
    "boolean_expressions", "object_counting", "formal_fallacies", "causal_judgement", "web_of_lies",
]
NUMERIC_TASKS = {"multistep_arithmetic_two", "object_counting"}
COT_URL = "https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/main/cot-prompts/{task}.txt"

PROMPT = ("Q: {question}\nA: Let's think step by step. Put your final answer in the format of "
          "\"So the answer is $ANSWER\" (without quotes and markdown) where $ANSWER is the answer to the problem.")

_ANSWER_RE = re.compile(r"(?i)the answer is\s*[:：]?\s*")


def _answer_part(text: str) -> str:
    """The text after the last 'the answer is' (the whole text when there is none)."""
    hits = list(_ANSWER_RE.finditer(text or ""))
    return text[hits[-1].end():] if hits else (text or "")


def extract_bbh(text: str, task: str) -> str | None:
    """Answer-only shortcut of :func:`extract_bbh_answer`."""
    return extract_bbh_answer(text, task).answer


def extract_bbh_answer(text: str, task: str) -> Extraction:
    """The answer of a BBH chain of thought, in the form of the task's targets.

    Multiple-choice tasks: ``"(B)"``, read by :func:`evs_core.extract.extract_choice` over the letters
    A–R ("So the answer is (B).", "B", "**(B)**", "I pick (D)"). Free-form tasks: the first line after the
    last "So the answer is" (rule ``answer_is``), else the last line (``last_line``), without markdown and
    the final period; numbers normalised for the arithmetic and counting tasks.
    """
    text = answer_region(text)
    if task in MULTIPLE_CHOICE_TASKS:
        found = extract_choice(text, None, "ABCDEFGHIJKLMNOPQR")
        return Extraction(f"({found.answer})", found.rule) if found.answer else found
    marked = _ANSWER_RE.search(text or "") is not None
    part = _answer_part(text).strip()
    lines = [ln for ln in part.split("\n") if ln.strip()]
    if not lines:
        return Extraction(None, "none")
    line = (lines[0] if marked else lines[-1]).strip().strip("*").strip()  # no marker: the last line
    line = re.sub(r"^\$+|\$+$", "", line).strip()
    line = line[:-1].strip() if line.endswith(".") else line
    if task in NUMERIC_TASKS:
        line = normalize_number(line)
    if not line:
        return Extraction(None, "none")
    return Extraction(line, "answer_is" if marked else "last_line")


def bbh_match(extracted: str | None, target: str, task: str) -> bool:
    if extracted is None:
        return False
    target = str(target).strip()
    if task in NUMERIC_TASKS:
        return extracted == normalize_number(target)
    if task in MULTIPLE_CHOICE_TASKS:
        return extracted == target
    if target.lower() in ("true", "false", "yes", "no", "valid", "invalid"):
        return extracted.lower() == target.lower()
    return " ".join(extracted.split()) == " ".join(target.split())


class BBH(Benchmark):
    name = "bbh"
    num_samples = 6511
    version = "1"
    description = (
        "BIG-Bench Hard (Suzgun et al., 2022): 27 tasks (the subsets), test split. 3-shot chain of thought "
        "with the official cot-prompts/<task>.txt of the BIG-Bench-Hard repository (read from "
        "<data>/bbh/cot-prompts/, dataset_args.bbh.cot_prompts_dir, or downloaded from the repository and "
        "cached); few_shot_num=0 asks zero-shot with 'Let's think step by step'. Extraction per task type: "
        "multiple-choice tasks take the last explicit option letter ('So the answer is (X)', shared with the "
        "other multiple-choice benchmarks); free-form tasks take the rest of "
        "that line (final period and markdown removed; numbers normalised for the arithmetic/counting tasks; "
        "True/False, Yes/No, valid/invalid compared case-insensitively; other answers exactly, whitespace "
        "collapsed). Metric: acc, reported per task."
    )
    tags = ["reasoning"]
    hf_id = "lukaemon/bbh"
    ms_id = "evalscope/bbh"
    subsets = MULTIPLE_CHOICE_TASKS + FREE_FORM_TASKS
    eval_split = "test"
    fewshot_split = None
    few_shot_num = 3
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}
    extra_args: ClassVar[dict[str, Any]] = {"cot_prompts_dir": None}

    def _check_args(self) -> None:
        n = self.args["few_shot_num"]
        if n not in (0, 3):
            raise ConfigError(f"dataset_args.bbh.few_shot_num must be 3 (the official CoT prompts) or 0, not {n!r}")
        self.args["few_shot_num"], saved = 0, n  # the base check wants a few-shot split; BBH's are prompt files
        try:
            super()._check_args()
        finally:
            self.args["few_shot_num"] = saved

    # -- data -----------------------------------------------------------------------------
    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is not None and root.is_dir():
            for cand in (root / f"{subset}.json", root / f"{subset}.jsonl", root / "bbh" / f"{subset}.json",
                         root / "bbh" / f"{subset}.jsonl"):
                if cand.is_file():  # the official repository's layout: bbh/<task>.json {"examples": [...]}
                    return read_records(cand, self.dataset_loaders())
        return super().load_rows(split, subset)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        return Sample(id=f"{subset}_{index}", input=str(record["input"]), target=str(record["target"]).strip(),
                      subset=subset)

    def cot_prompt(self, task: str) -> str:
        cache = self.__dict__.setdefault("_cot", {})
        if task in cache:
            return cache[task]
        dirs = []
        if self.args["cot_prompts_dir"]:
            d = Path(self.args["cot_prompts_dir"]).expanduser()
            if not d.is_dir():
                raise ConfigError(f"dataset_args.bbh.cot_prompts_dir is not a folder: {d}")
            dirs.append(d)
        root = self.local_root()
        if root is not None and root.is_dir():
            dirs.append(root / "cot-prompts")
        text = None
        for d in dirs:
            f = d / f"{task}.txt"
            if f.is_file():
                text = f.read_text(encoding="utf-8")
                break
        if text is None:
            if self.args["cot_prompts_dir"]:
                raise ConfigError(f"no {task}.txt in {dirs[0]}")
            text = self._download(task)
        if "-----" in text:  # the files may start with a canary header ending in a '-----' line
            text = text.split("-----")[-1]
        cache[task] = text.strip()
        return cache[task]

    def _download(self, task: str) -> str:
        from evs_core import cache_dir as evs_cache_dir

        cache_dir = evs_cache_dir() / "bbh-cot-prompts"
        f = cache_dir / f"{task}.txt"
        if f.is_file():
            return f.read_text(encoding="utf-8")
        import httpx

        url = COT_URL.format(task=task)
        try:
            resp = httpx.get(url, timeout=30.0, follow_redirects=True)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise EvsError(f"bbh: could not download the CoT prompt {url} ({type(exc).__name__}); put the "
                           f"official cot-prompts folder under <dataset-dir>/bbh/cot-prompts or set "
                           f"dataset_args.bbh.cot_prompts_dir, or use few_shot_num=0") from None
        cache_dir.mkdir(parents=True, exist_ok=True)
        f.write_text(resp.text, encoding="utf-8")
        return resp.text

    def fewshot_samples(self, subset: str) -> list[Sample]:
        return []  # the few-shot examples are the task's CoT prompt file (see cot_prompt)

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        body = PROMPT.format(question=sample.input)
        if not self.args["few_shot_num"]:
            return body
        return self.cot_prompt(sample.subset) + "\n\n" + body

    # -- scoring -----------------------------------------------------------------------------
    def extract(self, text: str, sample: Sample) -> Any:
        return extract_bbh_answer(text, sample.subset)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        return {"acc": float(bbh_match(extracted, sample.target, sample.subset))}
