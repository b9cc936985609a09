"""TriviaQA: trivia questions, normalised exact match against every answer alias."""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark
from evs_core.extract import extract_short_answer
from evs_core.schema import ModelOutput, Sample

_EXCLUDE = set(string.punctuation + "‘’´`")


def normalize_answer(s: str) -> str:
    """The official TriviaQA normalisation: underscores to spaces, lower case, punctuation to spaces,
    articles removed, whitespace collapsed."""
    s = str(s).replace("_", " ").lower()
    s = "".join(" " if ch in _EXCLUDE else ch for ch in s)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split()).strip()


def exact_match(prediction: str, aliases: list[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(a) for a in aliases))


def token_f1(prediction: str, aliases: list[str]) -> float:
    """Max token-level F1 over the aliases, as the official evaluation script."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for a in aliases:
        gold = normalize_answer(a).split()
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if same == 0:
            continue
        precision, recall = same / len(pred), same / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


PROMPT = ("Read the content and answer the following question.\n\nContent: {content}\n\nQuestion: {question}\n\n"
          "The last line of your response should be of the form \"ANSWER: [ANSWER]\" (without quotes) where "
          "[ANSWER] is the answer to the problem.")
PROMPT_NO_CONTEXT = ("Answer the following question.\n\nQuestion: {question}\n\nThe last line of your response "
                     "should be of the form \"ANSWER: [ANSWER]\" (without quotes) where [ANSWER] is the answer to "
                     "the problem.")


class TriviaQA(Benchmark):
    name = "trivia_qa"
    version = "1"
    description = (
        "TriviaQA (Joshi et al., 2017), validation split. Subset rc.wikipedia (default, as EvalScope) shows the "
        "Wikipedia evidence; rc.nocontext asks the question alone. Zero-shot; the model ends with 'ANSWER: …' "
        "(the last such line is taken, else 'the answer is …', else a short last line; a reply that declines or "
        "is cut off has no answer). Scored with the official normalisation "
        "(lower case, punctuation and articles removed) against every alias: em (primary) is exact match with "
        "any alias, f1 the best token F1. EvalScope's 'inclusion' accuracy is not used: it credits answers "
        "that merely contain an alias."
    )
    tags = ["knowledge", "qa", "reading-comprehension"]
    hf_id = "mandarjoshi/trivia_qa"
    ms_id = "evalscope/trivia_qa"
    subsets = ["rc.wikipedia", "rc.nocontext"]
    eval_split = "validation"
    fewshot_split = None
    few_shot_num = 0
    metrics = ["em", "f1"]
    primary_metric = "em"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 512}

    @classmethod
    def default_args(cls):
        args = super().default_args()
        args["subset_list"] = ["rc.wikipedia"]
        return args

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        ans = record["answer"]
        aliases = list(dict.fromkeys([*ans.get("aliases", []), *ans.get("normalized_aliases", []),
                                      *([ans["value"]] if ans.get("value") else [])]))
        if not aliases:
            raise ValueError("TriviaQA row without answer aliases")
        content = ""
        pages = record.get("entity_pages") or {}
        ctx = pages.get("wiki_context") if isinstance(pages, dict) else None
        if ctx:
            content = "\n\n".join(ctx) if isinstance(ctx, list) else str(ctx)
        return Sample(id=f"{subset}:{record.get('question_id', index)}", input=str(record["question"]), target=aliases,
                      subset=subset, metadata={"content": content} if content else {})

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        content = sample.metadata.get("content")
        if sample.subset != "rc.nocontext" and content:
            return PROMPT.format(content=content, question=sample.input)
        return PROMPT_NO_CONTEXT.format(question=sample.input)

    def extract(self, text: str, sample: Sample) -> Any:
        return extract_short_answer(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        extracted = extracted or ""
        return {"em": exact_match(extracted, sample.target), "f1": token_f1(extracted, sample.target)}
