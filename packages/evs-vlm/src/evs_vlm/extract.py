"""Answer extraction for the vision-language benchmarks.

Each function returns ``(answer, rule)``: the answer read from the reply and the name of the rule
that found it (``"none"`` when nothing was found), recorded per sample in the reviews. Among
several explicit markers the *last* one wins, so options mentioned while reasoning are not taken
for the answer.
"""

from __future__ import annotations

import re

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_ANSWER_LINE = re.compile(r"ANSWER\s*[:：]\s*(.*)", re.IGNORECASE)
_LETTER_MARK = re.compile(r"(?:ANSWER|答案)\s*[:：]\s*\**\s*[\(\[]?\s*([A-Z])\s*[\)\]]?(?![A-Za-z])", re.IGNORECASE)
_ANSWER_IS = re.compile(r"(?:the\s+)?(?:correct\s+|final\s+)?answer\s+is\s*[:：]?\s*\**\s*[\(\[]?([A-Z])[\)\]]?(?![A-Za-z])",
                        re.IGNORECASE)
_BARE = re.compile(r"^\s*[\(\[]?([A-Z])[\)\]]?\s*[.)]?\s*$")
_LEADING = re.compile(r"^\s*[\(\[]?([A-Z])[\)\].:]\s")


def extract_letter(text: str, n_choices: int) -> tuple[str | None, str]:
    """The chosen option letter of a multiple-choice reply.

    Rules, in order: the last ``ANSWER: X`` marker (the prompt's format); the last "the answer
    is X"; a reply that is only a letter; a last line that starts with ``X)``/``X.``; a reply whose
    last line is exactly one option's text is handled by :func:`extract_option`.
    """
    allowed = set(LETTERS[:n_choices])
    text = text or ""
    marks = [m.group(1).upper() for m in _LETTER_MARK.finditer(text)]
    marks = [m for m in marks if m in allowed]
    if marks:
        return marks[-1], "answer_marker"
    marks = [m.group(1).upper() for m in _ANSWER_IS.finditer(text) if m.group(1).upper() in allowed]
    if marks:
        return marks[-1], "answer_is"
    m = _BARE.match(text)
    if m and m.group(1).upper() in allowed:
        return m.group(1).upper(), "bare_letter"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if lines:
        m = _LEADING.match(lines[-1] + " ")
        if m and m.group(1) in allowed:
            return m.group(1), "leading_letter"
    return None, "none"


def extract_option(text: str, choices: list[str]) -> tuple[str | None, str]:
    """:func:`extract_letter`, then a reply (or its ANSWER value) equal to one option's text."""
    letter, rule = extract_letter(text, len(choices))
    if letter is not None:
        return letter, rule
    value, _ = extract_marked(text)
    candidates = {norm_text(value)}
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    if lines:
        candidates.add(norm_text(lines[-1]))
    hits = [LETTERS[i] for i, c in enumerate(choices) if norm_text(str(c)) in candidates and norm_text(str(c))]
    if len(hits) == 1:
        return hits[0], "option_text"
    return None, "none"


def extract_marked(text: str) -> tuple[str, str]:
    """The value of the last ``ANSWER: …`` line, else the whole reply stripped (EvalScope's rule)."""
    matches = _ANSWER_LINE.findall(text or "")
    if matches:
        return matches[-1].strip(), "answer_marker"
    return (text or "").strip(), "full_text" if (text or "").strip() else "none"


def extract_marked_strict(text: str) -> tuple[str, str]:
    """The value of the last ``ANSWER: …`` line, else empty (ChartQA, RealWorldQA)."""
    matches = _ANSWER_LINE.findall(text or "")
    if matches:
        return matches[-1].strip(), "answer_marker"
    return "", "none"


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` (nested braces allowed)."""
    idx = text.rfind("\\boxed")
    if idx < 0:
        return None
    i = text.find("{", idx)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


_NUM = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")


def extract_math(text: str) -> tuple[str, str]:
    """A math answer: the last ``\\boxed{}``, else the last ``ANSWER:`` value, else the last number."""
    boxed = last_boxed(text or "")
    if boxed is not None:
        return boxed.strip(), "boxed"
    matches = _ANSWER_LINE.findall(text or "")
    if matches:
        return matches[-1].strip(), "answer_marker"
    nums = _NUM.findall(text or "")
    if nums:
        return nums[-1], "last_number"
    return "", "none"


def to_number(s: str | None) -> float | None:
    """A float from an answer string (``"1,234.5"``, ``"$3"``, ``"45%"``, ``"\\frac{1}{2}"``), or None."""
    if s is None:
        return None
    t = str(s).strip().replace("\\!", "").replace("$", "").replace("\\%", "%")
    t = re.sub(r"\\(?:text|mathrm)\{[^}]*\}", "", t).strip()
    frac = re.fullmatch(r"\\d?frac\{(-?\d+(?:\.\d+)?)\}\{(-?\d+(?:\.\d+)?)\}", t)
    if frac and float(frac.group(2)) != 0:
        return float(frac.group(1)) / float(frac.group(2))
    t = t.rstrip("%").replace(",", "").strip()
    try:
        return float(t)
    except ValueError:
        return None


def norm_text(s: str | None) -> str:
    """Lower case, whitespace collapsed, surrounding punctuation and quotes dropped."""
    t = " ".join(str(s or "").lower().split())
    return t.strip(" .。,;:!?\"'`*")


def extract_yes_no(text: str) -> tuple[str | None, str]:
    """``"YES"`` or ``"NO"``: the first standalone yes/no word of the reply."""
    m = re.search(r"\b(yes|no)\b", text or "", re.IGNORECASE)
    if m:
        return m.group(1).upper(), "yes_no_word"
    return None, "none"
