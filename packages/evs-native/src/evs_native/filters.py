"""evs-native's registered filters and metrics: answer extraction as named, chainable steps.

Each filter is ``(text, **options) -> value | Extraction | None`` (None: no answer) and calls
the shared extraction layer :mod:`evs_core.extract`; an :class:`~evs_core.extract.Extraction`
carries the rule that found the answer, which the review records. Specs name them in their
``filters`` chain.
"""

from __future__ import annotations

from typing import Any

from evs_core import extract as _x
from evs_core.extract import Extraction

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def extract_number(text: str) -> Extraction:
    """The final number of a reply, normalised (last \\boxed{}, '#### N', 'the answer is N', last number)."""
    return _x.extract_numeric(text)


def normalize_number(text: str) -> str | None:
    """A number's canonical text: no thousands separators, currency or trailing zeros."""
    return _x.normalize_number(text)


def extract_letter(text: str, sample: Any = None, letters: str | None = None) -> Extraction:
    """The answer letter of a multiple-choice reply, among the sample's options (or ``letters``);
    an option's restated text maps to its letter."""
    choices = sample.choices if sample is not None and sample.choices else None
    if letters is None:
        letters = LETTERS[:len(choices) if choices else 4]
    return _x.extract_choice(text, choices, letters)


def extract_math(text: str) -> Extraction:
    """The final answer of a math reply (last \\boxed{}, "Answer: …", last $…$), as math-verify checks it."""
    return _x.extract_math(text)


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{…}."""
    return _x.last_boxed(text)


def numeric_match(prediction: Any, reference: Any) -> float:
    """1.0 when two numbers (as text) are equal after normalisation."""
    return float(_x.numbers_equal(prediction, reference))
