"""Reference-based text metrics for free-form answers: BLEU and ROUGE (sentence level).

Small, dependency-free implementations, checked in the tests against ``nltk`` (BLEU) and Google's
``rouge-score`` (ROUGE) on English, where their tokenisations agree:

* tokens: lower-cased runs of letters/digits; every CJK character is a token of its own (so
  Chinese needs no segmenter; ``rouge-score`` would drop such text entirely);
* ``bleu-n``: cumulative BLEU with uniform weights up to n-grams, clipped n-gram precisions, the
  brevity penalty, and nltk's ``method1`` smoothing (a zero count becomes 0.1); 0 when no
  unigram matches (as nltk);
* ``rouge-1`` / ``rouge-2`` / ``rouge-l``: F-measures of clipped n-gram overlap and of the
  longest common subsequence (as ``rouge-score``'s ``fmeasure``, without stemming).
"""

from __future__ import annotations

import math
import re
from collections import Counter

_TOKEN_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(str(text or "").lower())


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(prediction: list[str], reference: list[str], max_n: int = 4) -> float:
    if not prediction:
        return 0.0
    logs = []
    for n in range(1, max_n + 1):
        pred, ref = _ngrams(prediction, n), _ngrams(reference, n)
        num = sum(min(c, ref[g]) for g, c in pred.items())
        den = max(1, sum(pred.values()))
        if n == 1 and num == 0:
            return 0.0
        logs.append(math.log((num if num else 0.1) / den))
    c, r = len(prediction), len(reference)
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(sum(logs) / max_n)


def _f(overlap: int, n_pred: int, n_ref: int) -> float:
    p = overlap / n_pred if n_pred else 0.0
    r = overlap / n_ref if n_ref else 0.0
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def rouge_n(prediction: list[str], reference: list[str], n: int) -> float:
    pred, ref = _ngrams(prediction, n), _ngrams(reference, n)
    overlap = sum(min(c, ref[g]) for g, c in pred.items())
    return _f(overlap, sum(pred.values()), sum(ref.values()))


def lcs_length(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: list[str], reference: list[str]) -> float:
    return _f(lcs_length(prediction, reference), len(prediction), len(reference))


def text_scores(prediction: str, reference: str) -> dict[str, float]:
    """BLEU-1, BLEU-4, ROUGE-1, ROUGE-2 and ROUGE-L F of one prediction against one reference."""
    p, r = tokenize(prediction), tokenize(reference)
    return {
        "bleu-1": bleu(p, r, 1),
        "bleu-4": bleu(p, r, 4),
        "rouge-1": rouge_n(p, r, 1),
        "rouge-2": rouge_n(p, r, 2),
        "rouge-l": rouge_l(p, r),
    }
