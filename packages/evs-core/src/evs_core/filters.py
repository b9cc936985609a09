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


def capitalize(text: str) -> str:
    """``str.capitalize``: the first character upper case, the rest lower case."""
    return text.capitalize()


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def regex(text: str, pattern: str, group: int = 1, select: str = "last", flags: str = "",
          fallback: str | None = None) -> str | None:
    """The ``group`` of the ``select``-ed (``first``/``last``) match of ``pattern``; ``fallback`` when none.

    ``flags``: any of ``i`` (ignore case), ``s`` (dot matches newline), ``m`` (multi-line).
    """
    import re

    f = 0
    for ch in flags:
        f |= {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}[ch]
    matches = list(re.finditer(pattern, text, f))
    if not matches:
        return fallback
    m = matches[0] if select == "first" else matches[-1]
    return m.group(group) if m.re.groups >= group else m.group(0)


def sub(text: str, pattern: str, repl: str = "") -> str:
    """``re.sub(pattern, repl, text)``."""
    import re

    return re.sub(pattern, repl, text)
