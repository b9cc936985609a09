"""DROP: discrete reasoning over paragraphs, scored with the official EM and F1."""

from __future__ import annotations

import itertools
import re
import string
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark
from evs_core.extract import extract_short_answer
from evs_core.schema import ModelOutput, Sample

# -- the official DROP metric (allenai/allennlp-reading-comprehension drop_eval.py) ---------------
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _normalize_token(token: str) -> str:
    token = token.lower()
    if not _is_number(token):
        token = "".join(ch for ch in token if ch not in _PUNCT)
    if _is_number(token):
        token = str(float(token))
    token = _ARTICLES.sub(" ", token)
    return " ".join(token.split())


def normalize_answer(text: str) -> str:
    """Lower-case; split on spaces and hyphens; per token: drop punctuation (not from numbers),
    write numbers as floats ("2" → "2.0"), drop articles; rejoin."""
    parts = [_normalize_token(t) for t in re.split(" |-", text)]
    return " ".join(p for p in parts if p.strip()).strip()


def answer_to_bags(answer: str | list[str] | tuple[str, ...]) -> tuple[list[str], list[set[str]]]:
    spans = list(answer) if isinstance(answer, (list, tuple)) else [answer]
    normalized = [normalize_answer(s) for s in spans]
    return normalized, [set(n.split()) for n in normalized]


def _bag_f1(predicted: set[str], gold: set[str]) -> float:
    inter = len(gold & predicted)
    precision = 1.0 if not predicted else inter / len(predicted)
    recall = 1.0 if not gold else inter / len(gold)
    if precision == 0.0 and recall == 0.0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _numbers_match(gold: set[str], predicted: set[str]) -> bool:
    """A gold bag with numbers only matches a predicted bag sharing one of them."""
    gold_numbers = {w for w in gold if _is_number(w)}
    predicted_numbers = {w for w in predicted if _is_number(w)}
    return not gold_numbers or bool(gold_numbers & predicted_numbers)


def _best_assignment(scores: list[list[float]]) -> list[float]:
    """Per gold bag, its score under the one-to-one gold↔prediction pairing of largest total
    (the official script uses scipy's linear_sum_assignment; the bags are few, so an exhaustive
    search gives the same optimum when scipy is absent)."""
    n_gold = len(scores)
    n_pred = len(scores[0]) if scores else 0
    out = [0.0] * max(n_gold, n_pred)
    if not n_gold or not n_pred:
        return out
    try:
        import numpy as np
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(-np.asarray(scores))
        for r, c in zip(rows, cols, strict=True):
            out[r] = max(out[r], scores[r][c])
        return out
    except ImportError:
        pass
    best_total, best_pairs = -1.0, []
    if n_gold <= n_pred:
        for perm in itertools.permutations(range(n_pred), n_gold):
            total = sum(scores[g][p] for g, p in enumerate(perm))
            if total > best_total:
                best_total, best_pairs = total, list(enumerate(perm))
    else:
        for perm in itertools.permutations(range(n_gold), n_pred):
            total = sum(scores[g][p] for p, g in enumerate(perm))
            if total > best_total:
                best_total, best_pairs = total, [(g, p) for p, g in enumerate(perm)]
    for g, p in best_pairs:
        out[g] = max(out[g], scores[g][p])
    return out


def drop_metrics(predicted: str | list[str] | tuple[str, ...], gold: str | list[str] | tuple[str, ...]) -> tuple[float, float]:
    """(EM, F1) of one prediction against one gold answer, as the official ``get_metrics``."""
    pred_spans, pred_bags = answer_to_bags(predicted)
    gold_spans, gold_bags = answer_to_bags(gold)
    em = float(set(pred_spans) == set(gold_spans) and len(pred_spans) == len(gold_spans))
    scores = [[_bag_f1(p, g) if _numbers_match(g, p) else 0.0 for p in pred_bags] for g in gold_bags]
    per_bag = _best_assignment(scores)
    f1 = round(sum(per_bag) / len(per_bag), 2) if per_bag else 0.0
    return em, f1


def drop_score(prediction: str, golds: list[tuple[str, ...]]) -> tuple[float, float]:
    """Max EM and max F1 over the gold answers (empty golds skipped), as lm-evaluation-harness."""
    best_em = best_f1 = 0.0
    for gold in golds:
        em, f1 = drop_metrics(prediction, gold)
        if gold and gold[0].strip():
            best_em, best_f1 = max(best_em, em), max(best_f1, f1)
    return best_em, best_f1


def _parse_answer(answer: dict[str, Any]) -> tuple[str, ...]:
    if str(answer.get("number", "")).strip():
        return (str(answer["number"]),)
    if answer.get("spans"):
        return tuple(answer["spans"])
    date = answer.get("date") or {}
    return (" ".join([str(date.get("day", "")), str(date.get("month", "")), str(date.get("year", ""))]).strip(),)


def gold_answers(record: dict[str, Any]) -> list[tuple[str, ...]]:
    """Distinct gold answers of a DROP row: the answer and the validated answers (original / EleutherAI
    schema), or ``answers_spans.spans`` (the ucinlp/drop schema on the Hugging Face Hub)."""
    out: list[tuple[str, ...]] = []
    if "answer" in record and isinstance(record["answer"], dict):
        cands = [record["answer"]]
        va = record.get("validated_answers") or {}
        if isinstance(va, dict):
            for i in range(len(va.get("number", []))):
                cands.append({"number": va["number"][i], "date": va["date"][i], "spans": va["spans"][i]})
        elif isinstance(va, list):
            cands.extend(va)
        for c in cands:
            ans = _parse_answer(c)
            if ans not in out:
                out.append(ans)
        return out
    spans = (record.get("answers_spans") or {}).get("spans")
    if spans:
        return [tuple(spans)]
    raise ValueError("DROP row without 'answer' or 'answers_spans'")


PROMPT = ("You will be asked to read a passage and answer a question. {examples}\n# Your Task\n\n---\n{query}\n\n"
          "Think step by step, then write a line of the form \"Answer: [ANSWER]\" at the end of your response.")
EXAMPLES_HEADER = "Some examples of passages and Q&A are provided below.\n\n# Examples\n---\n"


class DROP(Benchmark):
    name = "drop"
    num_samples = 9536
    version = "1"
    description = (
        "DROP (Dua et al., 2019): questions needing counting, arithmetic and sorting over a passage; 9,536 "
        "validation questions. EvalScope's prompt ('Think step by step, then write a line of the form "
        "\"Answer: [ANSWER]\"'); 3-shot by default with examples from the train split (EvalScope hard-codes "
        "three examples; we take the first three train rows). The text after the last 'Answer:' (else after "
        "'the answer is', else a short last line) is scored "
        "with the official DROP metric: EM and F1 over bags of normalised tokens (numbers as floats, articles "
        "and punctuation removed), multi-span answers aligned one-to-one, a number in the gold bag required "
        "in the predicted bag, F1 rounded to 2 decimals; max over the gold and validated answers. Metrics: "
        "f1 (primary) and em."
    )
    tags = ["reasoning", "reading-comprehension"]
    hf_id = "ucinlp/drop"
    ms_id = "AI-ModelScope/DROP"
    eval_split = "validation"
    fewshot_split = "train"
    few_shot_num = 3
    metrics = ["f1", "em"]
    primary_metric = "f1"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        golds = gold_answers(record)
        sid = record.get("query_id") or index
        return Sample(id=str(sid), input=str(record["question"]), target=[list(g) for g in golds], subset=subset,
                      metadata={"passage": str(record["passage"])})

    @staticmethod
    def _query(s: Sample) -> str:
        return f"Passage: {s.metadata['passage']}\nQuestion: {s.input}"

    def format_prompt(self, sample: Sample, fewshot: list[Sample]) -> str:
        examples = ""
        if fewshot:
            shots = "\n\n---\n".join(f"{self._query(s)}\nAnswer: {' '.join(s.target[0])}" for s in fewshot)
            examples = EXAMPLES_HEADER + shots + "\n\n"
        return PROMPT.format(examples=examples, query=self._query(sample))

    def extract(self, text: str, sample: Sample) -> Any:
        return extract_short_answer(text)

    def compare(self, extracted: Any, sample: Sample, output: ModelOutput) -> dict[str, float]:
        em, f1 = drop_score(extracted or "", [tuple(g) for g in sample.target])
        return {"f1": f1, "em": em}
