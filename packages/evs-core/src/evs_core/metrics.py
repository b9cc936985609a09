"""Built-in metrics: ``(prediction, reference) -> float``."""

from __future__ import annotations

import re
import string


def exact_match(prediction, reference) -> float:
    return float(str(prediction).strip() == str(reference).strip())


def normalize_text(s: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces."""
    s = str(s).lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match_normalized(prediction, reference) -> float:
    return float(normalize_text(prediction) == normalize_text(reference))
