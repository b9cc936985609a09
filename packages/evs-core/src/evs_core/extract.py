"""Answer extraction shared by the built-in benchmarks.

Each extractor prefers the most explicit answer marker and, among several, the *last* one, so
that options or numbers mentioned while reasoning ("B looks tempting, but…") are not taken for
the answer.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NUM = r"[-+−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+−]?\$?\s?\.\d+"
NUM_RE = re.compile(_NUM)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` (or ``\\fbox{…}``), with nested braces."""
    idx = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if idx < 0:
        return None
    i = text.find("{", idx)
    if i < 0:
        m = re.match(r"\\boxed\s+(\S+)", text[idx:])
        return m.group(1) if m else None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


def normalize_number(s: str | None) -> str | None:
    """Canonical text of a number: no thousands separators, currency, units or trailing zeros.

    ``"1,234.50"`` → ``"1234.5"``, ``"18.00"`` → ``"18"``, ``"$-3"`` → ``"-3"``; ``None`` when
    no number is found.
    """
    if s is None:
        return None
    s = str(s).replace("−", "-").replace("\\!", "").replace("\\,", ",")
    s = re.sub(r"\\(?:text|mathrm)\{[^}]*\}", "", s)
    s = s.replace("\\$", "$").replace("\\%", "%")
    frac = re.search(r"\\d?frac\{(-?\d+)\}\{(-?\d+)\}", s)
    if frac and int(frac.group(2)) != 0:
        value = Decimal(frac.group(1)) / Decimal(frac.group(2))
        return _fmt(value)
    m = NUM_RE.search(s)
    if not m:
        return None
    raw = m.group(0).replace("$", "").replace(",", "").replace(" ", "").replace("−", "-").replace("+", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return _fmt(value)


def _fmt(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_ANSWER_MARKERS = [
    re.compile(r"####\s*(.+)"),
    re.compile(r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*[:\s]*(.+)", re.IGNORECASE),
]


def extract_number(text: str) -> str | None:
    """The final numeric answer of a response, normalised (see :func:`normalize_number`).

    Order: last ``\\boxed{}``; last ``#### N``; last "answer is N" / "ANSWER: N"; else the last
    number in the text.
    """
    if not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None:
        n = normalize_number(boxed)
        if n is not None:
            return n
    for marker in _ANSWER_MARKERS:
        hits = list(marker.finditer(text))
        for m in reversed(hits):
            n = normalize_number(m.group(1)[:80])
            if n is not None:
                return n
    nums = NUM_RE.findall(text)
    return normalize_number(nums[-1]) if nums else None


def numbers_equal(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return abs(Decimal(a) - Decimal(b)) <= Decimal("1e-6") * max(Decimal(1), abs(Decimal(b)))
    except InvalidOperation:
        return a == b


def extract_letter(text: str, letters: str = "ABCD") -> str | None:
    """The chosen option letter of a multiple-choice response, or ``None``.

    Explicit markers win, the last one first: ``ANSWER: C``, "the answer is (C)", ``\\boxed{C}``,
    "**C**" on the final line, ``(C)``, ``C)``/``C.``/``C:`` at a line start, a line that is just
    the letter. Letters outside ``letters`` are ignored.
    """
    if not text:
        return None
    L = re.escape(letters)
    cls = f"[{L}]"
    patterns = [
        rf"(?i:answer)\s*(?:is|:)?\s*[:：]?\s*(?:option\s*)?[\*\(\[\s]*({cls})(?![A-Za-z])",
        rf"(?i:答案)\s*(?:是|为|：|:)?\s*[\*\(\[\s]*({cls})(?![A-Za-z])",
        rf"\\boxed\{{\s*(?:\\text\{{)?\s*({cls})\s*\}}",
        rf"(?i:option|choice)\s+\(?({cls})\)?\s+(?i:is correct|is the correct|is right)",
    ]
    for pat in patterns:
        hits = re.findall(pat, text)
        if hits:
            return hits[-1]
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if lines:
        last = lines[-1]
        m = re.fullmatch(rf"[\*\(\[\s]*({cls})[\*\)\]\.\s:]*(?:.*)?", last)
        bold = re.findall(rf"\*\*\(?({cls})\)?[\.\):]?\*\*", last)
        if bold:
            return bold[-1]
        if m and (len(last) <= 3 or re.match(rf"^[\*\(\[\s]*{cls}[\)\.\:]", last)):
            return m.group(1)
    bold = re.findall(rf"\*\*\(?({cls})\)?[\.\):]?\*\*", text)
    if bold:
        return bold[-1]
    paren = re.findall(rf"\(({cls})\)", text)
    if paren:
        return paren[-1]
    start = re.findall(rf"(?m)^\s*({cls})[\)\.:](?:\s|$)", text)
    if start:
        return start[-1]
    alone = re.findall(rf"(?<![A-Za-z])({cls})(?![A-Za-z'])", text)
    if len(set(alone)) == 1:
        return alone[-1]
    return None
