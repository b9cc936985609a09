"""ARC (AI2 Reasoning Challenge): grade-school science multiple-choice questions."""

from __future__ import annotations

from typing import Any

from evs_core.schema import Sample

from evs_native.benchmarks._mcq import LETTERS, MultipleChoiceBenchmark


class ARC(MultipleChoiceBenchmark):
    name = "arc"
    num_samples = 1172
    version = "1"
    description = (
        "ARC (Clark et al., 2018), ARC-Challenge and ARC-Easy test splits. Zero-shot by default. "
        "mode=generate: lettered options, the letter extracted from the answer (ANSWER: X, (X), **X**, "
        "X) …); mode=loglikelihood: option texts scored as continuations of 'Question: …\\nAnswer:' "
        "(acc and acc_norm, as lm-evaluation-harness). Numeric answer keys (1–4) are mapped to letters."
    )
    tags = ["knowledge", "reasoning", "multiple-choice"]
    hf_id = "allenai/ai2_arc"
    ms_id = "allenai/ai2_arc"
    subsets = ["ARC-Challenge", "ARC-Easy"]
    eval_split = "test"
    fewshot_split = "train"
    few_shot_num = 0

    @classmethod
    def default_args(cls):
        args = super().default_args()
        args["subset_list"] = ["ARC-Challenge"]
        return args

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        choices = record["choices"]
        labels = [str(x) for x in choices["label"]]
        key = str(record["answerKey"]).strip()
        gold = labels.index(key)
        return Sample(id=str(record.get("id", index)), input=record["question"], choices=list(choices["text"]),
                      target=LETTERS[gold], subset=subset)
