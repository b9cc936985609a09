"""Scoring formulas of the vision-language benchmarks (ANLS, relaxed accuracy, ROUGE-L)."""

from __future__ import annotations

import json
import re
from typing import Any


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def anls(prediction: str, answers: Any, threshold: float = 0.5) -> float:
    """Average Normalized Levenshtein Similarity of one prediction (DocVQA, InfoVQA).

    ``answers``: the gold answers (a list, or a JSON list string). Both sides are lower-cased
    with whitespace collapsed; the score is ``1 - min(dist / max(len(gold), len(pred)))`` over the
    answers, and 0 when that is under ``threshold`` (0.5), as in the ST-VQA/DocVQA definition.
    """
    if isinstance(answers, str):
        try:
            parsed = json.loads(answers)
            answers = parsed if isinstance(parsed, list) else [answers]
        except json.JSONDecodeError:
            answers = [answers]
    pred = " ".join(str(prediction).strip().lower().split())
    best = 1.0
    for ans in answers or []:
        gold = " ".join(str(ans).strip().lower().split())
        length = max(len(gold), len(pred))
        nl = 0.0 if length == 0 else levenshtein(gold, pred) / length
        best = min(best, nl)
    if not answers:
        return 0.0
    score = 1.0 - best
    return score if score >= threshold else 0.0


def _to_float(text: str) -> float | None:
    try:
        if text.endswith("%"):
            return float(text.rstrip("%")) / 100.0
        return float(text)
    except ValueError:
        return None


def relaxed_correctness(prediction: str, target: str, max_relative_change: float = 0.05) -> bool:
    """ChartQA's relaxed accuracy (Masry et al. 2022, section 5.1): a numeric answer is right within
    5% of the gold value (a percentage is read as a fraction); any other answer needs an exact,
    case-insensitive match."""
    prediction, target = str(prediction).strip(), str(target).strip()
    p, t = _to_float(prediction), _to_float(target)
    if p is not None and t:
        return abs(p - t) / abs(t) <= max_relative_change
    return prediction.lower() == target.lower()


def _tokens(text: str) -> list[str]:
    # CJK characters count one token each; other text splits on whitespace and punctuation.
    out = []
    for piece in re.findall(r"[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]|[^\s\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]+",
                            str(text).lower()):
        piece = piece.strip(".,;:!?\"'()[]")
        if piece:
            out.append(piece)
    return out


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_scores(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1 and ROUGE-L precision/recall/F1 over tokens (CJK per character)."""
    p, r = _tokens(prediction), _tokens(reference)
    out: dict[str, float] = {}
    from collections import Counter

    overlap = sum((Counter(p) & Counter(r)).values())
    lcs = _lcs(p, r)
    for name, hit in (("rouge-1", overlap), ("rouge-l", lcs)):
        prec = hit / len(p) if p else 0.0
        rec = hit / len(r) if r else 0.0
        f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[f"{name}-p"], out[f"{name}-r"], out[f"{name}-f"] = prec, rec, f
    return out
