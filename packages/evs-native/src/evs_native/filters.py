"""evs-native's registered filters and metrics: answer extraction as named, chainable steps.

Each filter is ``(text, **options) -> str | None`` (None: no answer) and calls the extraction
functions of :mod:`evs_native.extract`; specs name them in their ``filters`` chain.
"""

from __future__ import annotations

from typing import Any

from evs_native import extract as _x

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def extract_number(text: str) -> str | None:
    """The final number of a reply, normalised (last \\boxed{}, '#### N', 'the answer is N', last number)."""
    return _x.extract_number(text)


def normalize_number(text: str) -> str | None:
    """A number's canonical text: no thousands separators, currency or trailing zeros."""
    return _x.normalize_number(text)


def extract_letter(text: str, sample: Any = None, letters: str | None = None) -> str | None:
    """The answer letter of a multiple-choice reply, among the sample's options (or ``letters``)."""
    if letters is None:
        n = len(sample.choices or []) if sample is not None and sample.choices else 4
        letters = LETTERS[:n]
    return _x.extract_letter(text, letters)


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{…}."""
    return _x.last_boxed(text)


def numeric_match(prediction: Any, reference: Any) -> float:
    """1.0 when two numbers (as text) are equal after normalisation."""
    return float(_x.numbers_equal(prediction, reference))
