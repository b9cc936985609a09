"""The verifiable instructions of IFEval, as Google's reference checks them.

Each checker is built from the instruction's keyword arguments (and, where needed, the prompt)
and answers ``check(response) -> bool``. The definitions follow google-research's
``instruction_following_eval/instructions.py`` (the same code lm-evaluation-harness ships);
``tests/test_bench_ifeval.py`` compares every checker with that reference on a fixed set of
responses. Strict and loose evaluation are in :func:`follow_strict` and :func:`follow_loose`.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable
from typing import Any

from evs_core.errors import ConfigError

from evs_native.benchmarks.ifeval import text as T

RELATIONS = ("less than", "at least")
CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def _relation(kwargs: dict[str, Any], key: str = "relation") -> str:
    rel = kwargs.get(key)
    if rel not in RELATIONS:
        raise ConfigError(f"ifeval: '{key}' must be one of {RELATIONS}, not {rel!r}")
    return rel


def _compare(count: int, relation: str, threshold: int) -> bool:
    return count < threshold if relation == "less than" else count >= threshold


def _langdetect(text: str) -> str | None:
    """The detected language code, or None when langdetect cannot decide (the reference then passes)."""
    import langdetect
    from langdetect import DetectorFactory

    # Seeded so that a response gets the same verdict on every run (langdetect samples at random).
    DetectorFactory.seed = 0
    try:
        return langdetect.detect(text)
    except langdetect.LangDetectException:
        return None


def _need(kwargs: dict[str, Any], *keys: str) -> list[Any]:
    out = []
    for k in keys:
        if kwargs.get(k) is None:
            raise ConfigError(f"ifeval: instruction argument '{k}' is missing")
        out.append(kwargs[k])
    return out


# -- checkers: (kwargs, prompt) -> check(response) -------------------------------------------------
def response_language(kw, prompt):
    (language,) = _need(kw, "language")

    def check(v):
        lang = _langdetect(v)
        return True if lang is None else lang == language
    return check


def number_sentences(kw, prompt):
    (n,) = _need(kw, "num_sentences")
    rel = _relation(kw)
    return lambda v: _compare(T.count_sentences(v), rel, n)


def number_placeholders(kw, prompt):
    (n,) = _need(kw, "num_placeholders")
    return lambda v: len(re.findall(r"\[.*?\]", v)) >= n


def number_bullet_lists(kw, prompt):
    (n,) = _need(kw, "num_bullets")

    def check(v):
        stars = re.findall(r"^\s*\*[^\*].*$", v, flags=re.MULTILINE)
        dashes = re.findall(r"^\s*-.*$", v, flags=re.MULTILINE)
        return len(stars) + len(dashes) == n
    return check


def constrained_response(kw, prompt):
    def check(v):
        v = v.strip()
        return any(option in v for option in CONSTRAINED_RESPONSES)
    return check


def number_highlighted_sections(kw, prompt):
    (n,) = _need(kw, "num_highlights")

    def check(v):
        count = sum(1 for h in re.findall(r"\*[^\n\*]*\*", v) if h.strip("*").strip())
        count += sum(1 for h in re.findall(r"\*\*[^\n\*]*\*\*", v) if h.removeprefix("**").removesuffix("**").strip())
        return count >= n
    return check


def multiple_sections(kw, prompt):
    splitter, n = _need(kw, "section_spliter", "num_sections")
    splitter = splitter.strip()
    pattern = r"\s?" + splitter + r"\s?\d+\s?"
    return lambda v: len(re.split(pattern, v)) - 1 >= n


def number_paragraphs(kw, prompt):
    (n,) = _need(kw, "num_paragraphs")

    def check(v):
        parts = re.split(r"\s?\*\*\*\s?", v)
        count = len(parts)
        for i, p in enumerate(parts):
            if not p.strip():
                if i == 0 or i == len(parts) - 1:
                    count -= 1
                else:
                    return False
        return count == n
    return check


def postscript(kw, prompt):
    (marker,) = _need(kw, "postscript_marker")
    marker = marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + marker.lower() + r".*$"
    return lambda v: bool(re.findall(pattern, v.lower(), flags=re.MULTILINE))


def keywords_existence(kw, prompt):
    (words,) = _need(kw, "keywords")
    words = sorted(words)
    return lambda v: all(re.search(w, v, flags=re.IGNORECASE) for w in words)


def keyword_frequency(kw, prompt):
    keyword, n = _need(kw, "keyword", "frequency")
    keyword = keyword.strip()
    rel = _relation(kw)
    return lambda v: _compare(len(re.findall(keyword, v, flags=re.IGNORECASE)), rel, n)


def number_words(kw, prompt):
    (n,) = _need(kw, "num_words")
    rel = _relation(kw)
    return lambda v: _compare(T.count_words(v), rel, n)


def json_format(kw, prompt):
    def check(v):
        v = (v.strip().removeprefix("```json").removeprefix("```Json").removeprefix("```JSON")
             .removeprefix("```").removesuffix("```").strip())
        try:
            json.loads(v)
        except ValueError:
            return False
        return True
    return check


def nth_paragraph_first_word(kw, prompt):
    num, nth, first = _need(kw, "num_paragraphs", "nth_paragraph", "first_word")
    first = first.lower()
    if nth <= 0 or nth > num:
        raise ConfigError(f"ifeval: nth_paragraph {nth} is outside 1..num_paragraphs ({num})")

    def check(v):
        paragraphs = re.split(r"\n\n", v)
        count = sum(1 for p in paragraphs if p.strip())
        if nth > count:
            return False
        paragraph = paragraphs[nth - 1].strip()
        if not paragraph:
            return False
        word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
        got = ""
        for ch in word:
            if ch in {".", ",", "?", "!", "'", '"'}:
                break
            got += ch.lower()
        return count == num and got == first
    return check


def forbidden_words(kw, prompt):
    (words,) = _need(kw, "forbidden_words")
    words = sorted(set(words))
    return lambda v: not any(re.search(r"\b" + w + r"\b", v, flags=re.IGNORECASE) for w in words)


def two_responses(kw, prompt):
    def check(v):
        valid = []
        parts = v.split("******")
        for i, p in enumerate(parts):
            if not p.strip():
                if i != 0 and i != len(parts) - 1:
                    return False
            else:
                valid.append(p)
        return len(valid) == 2 and valid[0].strip() != valid[1].strip()
    return check


def repeat_prompt(kw, prompt):
    (to_repeat,) = _need(kw, "prompt_to_repeat")
    return lambda v: v.strip().lower().startswith(to_repeat.strip().lower())


def end_checker(kw, prompt):
    (phrase,) = _need(kw, "end_phrase")
    phrase = phrase.strip().lower()
    return lambda v: v.strip().strip('"').lower().endswith(phrase)


def title(kw, prompt):
    return lambda v: any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", v))


def letter_frequency(kw, prompt):
    letter, n = _need(kw, "letter", "let_frequency")
    rel = _relation(kw, "let_relation")
    letter = letter.strip().lower()
    if len(letter) != 1:
        raise ConfigError(f"ifeval: letter must be one character, not {letter!r}")
    # The reference replaces a letter outside a–z (one IFEval prompt asks for '#') by a random
    # letter; we count the character the prompt names.
    return lambda v: _compare(collections.Counter(v.lower())[letter], rel, n)


def english_capital(kw, prompt):
    def check(v):
        if not v.isupper():
            return False
        lang = _langdetect(v)
        return True if lang is None else lang == "en"
    return check


def english_lowercase(kw, prompt):
    def check(v):
        if not v.islower():
            return False
        lang = _langdetect(v)
        return True if lang is None else lang == "en"
    return check


def no_comma(kw, prompt):
    return lambda v: not re.search(r"\,", v)


def capital_word_frequency(kw, prompt):
    (n,) = _need(kw, "capital_frequency")
    rel = _relation(kw, "capital_relation")
    return lambda v: _compare(sum(1 for w in T.word_tokenize(v) if w.isupper()), rel, n)


def quotation(kw, prompt):
    def check(v):
        v = v.strip()
        return len(v) > 1 and v[0] == '"' and v[-1] == '"'
    return check


CHECKERS: dict[str, Callable[[dict[str, Any], str], Callable[[str], bool]]] = {
    "keywords:existence": keywords_existence,
    "keywords:frequency": keyword_frequency,
    "keywords:forbidden_words": forbidden_words,
    "keywords:letter_frequency": letter_frequency,
    "language:response_language": response_language,
    "length_constraints:number_sentences": number_sentences,
    "length_constraints:number_paragraphs": number_paragraphs,
    "length_constraints:number_words": number_words,
    "length_constraints:nth_paragraph_first_word": nth_paragraph_first_word,
    "detectable_content:number_placeholders": number_placeholders,
    "detectable_content:postscript": postscript,
    "detectable_format:number_bullet_lists": number_bullet_lists,
    "detectable_format:constrained_response": constrained_response,
    "detectable_format:number_highlighted_sections": number_highlighted_sections,
    "detectable_format:multiple_sections": multiple_sections,
    "detectable_format:json_format": json_format,
    "detectable_format:title": title,
    "combination:two_responses": two_responses,
    "combination:repeat_prompt": repeat_prompt,
    "startend:end_checker": end_checker,
    "startend:quotation": quotation,
    "change_case:capital_word_frequency": capital_word_frequency,
    "change_case:english_capital": english_capital,
    "change_case:english_lowercase": english_lowercase,
    "punctuation:no_comma": no_comma,
}


def build(instruction_id: str, kwargs: dict[str, Any] | None, prompt: str) -> Callable[[str], bool]:
    """The checker of one instruction; ``None`` values in ``kwargs`` (the Hub's padding) are dropped."""
    if instruction_id not in CHECKERS:
        from evs_core.errors import suggest

        raise ConfigError(f"ifeval: unknown instruction id '{instruction_id}'{suggest(instruction_id, CHECKERS)}")
    kw = {k: v for k, v in (kwargs or {}).items() if v is not None}
    return CHECKERS[instruction_id](kw, prompt)


def loose_variants(response: str) -> list[str]:
    """The reference's loose variants: first/last line removed, both, and each with '*' removed."""
    lines = response.split("\n")
    first = "\n".join(lines[1:]).strip()
    last = "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    return [response, response.replace("*", ""), first, last, both,
            first.replace("*", ""), last.replace("*", ""), both.replace("*", "")]


def follow_strict(checkers: list[Callable[[str], bool]], response: str) -> list[bool]:
    return [bool(response.strip() and c(response)) for c in checkers]


def follow_loose(checkers: list[Callable[[str], bool]], response: str) -> list[bool]:
    variants = loose_variants(response)
    return [any(bool(r.strip() and c(r)) for r in variants) for c in checkers]
