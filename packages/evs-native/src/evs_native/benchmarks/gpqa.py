"""GPQA: graduate-level, "Google-proof" science questions (Diamond subset by default)."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from evs_core.schema import Sample

from evs_native.benchmarks._knowledge_mcq import LetterMCQ
from evs_native.benchmarks._mcq import LETTERS


def _clean(text: Any) -> str:
    """An option text, stripped. (lm-evaluation-harness also deletes every "[…]", which corrupts
    chemical names such as "triphenyleno[1,2-c:5,6-c']…"; we keep them.)"""
    return " " if text is None else str(text).strip()


def shuffled_options(record: dict[str, Any], key: str, seed: int) -> tuple[list[str], str]:
    """The four options in an order fixed by ``seed`` and the sample's ``key``, and the gold letter.

    The order depends only on (seed, key), never on which other samples are loaded, so a limit,
    a subset or a resumed run sees the same order for the same question.
    """
    correct = _clean(record["Correct Answer"])
    options = [correct] + [_clean(record[f"Incorrect Answer {i}"]) for i in (1, 2, 3)]
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    order = list(range(4))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    shuffled = [options[i] for i in order]
    return shuffled, LETTERS[order.index(0)]


class GPQADiamond(LetterMCQ):
    name = "gpqa_diamond"
    num_samples = 198
    version = "1"
    description = (
        "GPQA Diamond (Rein et al., 2023): 198 expert-written graduate-level questions in biology, physics "
        "and chemistry. Zero-shot with EvalScope's single-answer chain-of-thought template; the correct and "
        "three incorrect answers (whitespace-stripped; unlike lm-evaluation-harness, bracketed text such as chemical locants is kept) are shuffled in an order fixed by the "
        "run seed and the question's id (its 'Record ID', else its row number), so runs are reproducible. "
        "The last explicit answer letter is extracted. mode=loglikelihood scores the option letters. Metric: acc."
    )
    tags = ["knowledge", "multiple-choice", "reasoning"]
    hf_id = "Idavidrein/gpqa"
    ms_id = "modelscope/gpqa"
    subsets = ["gpqa_diamond"]
    eval_split = "train"
    fewshot_split = None
    few_shot_num = 0
    ll_header = "What is the correct answer to this question:"

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        key = str(record.get("Record ID") or index)
        choices, target = shuffled_options(record, key, self.seed)
        return Sample(id=key, input=str(record["Question"]).strip(), choices=choices, target=target, subset=subset,
                      metadata={"domain": record.get("High-level domain")} if record.get("High-level domain") else {})
