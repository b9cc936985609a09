"""Built-in output filters: ``(text) -> text`` functions applied before answer extraction."""

from __future__ import annotations

from evs_core.models import split_reasoning


def strip_think(text: str) -> str:
    """Drop ``<think>…</think>`` reasoning, keeping the answer."""
    return split_reasoning(text)[0]


def strip(text: str) -> str:
    return text.strip()


def lower(text: str) -> str:
    return text.lower()


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""
