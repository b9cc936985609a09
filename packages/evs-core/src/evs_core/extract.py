"""Answer extraction: read from a model's reply what a careful human grader would read.

One layer for every benchmark family. Each extractor returns an :class:`Extraction`
``(answer, rule)``: ``answer`` is ``None`` when the reply gives no answer, ``rule`` names the
rule that found it (``"none"`` when nothing did), so reviews can record how each answer was read
and reports can count the replies with no answer.

Public functions (their names are stable; filters and benchmarks call them):

* :func:`answer_region` — the reply without ``<think>``/``<reasoning>`` blocks;
* :func:`extract_choice` — the chosen option letter of a multiple-choice reply;
* :func:`extract_choices` — a set of option letters (multiple-answer questions);
* :func:`extract_numeric` — the final number (GSM8K style), normalised;
* :func:`extract_math` — the final math expression (``\\boxed{}``, "Answer: …", last ``$…$``);
* :func:`extract_short_answer` — a short free-text answer ("ANSWER: Paris");
* :func:`extract_program` — the Python program of a code reply (entry point + helpers + imports);
* helpers: :func:`last_boxed`, :func:`normalize_number`, :func:`numbers_equal`,
  :func:`normalize_text`, :func:`clean_math_answer`;
* answer-only shortcuts kept for callers that need just the value: :func:`extract_letter`,
  :func:`extract_number`.

Principles, shared by all families: reasoning blocks are excluded; explicit statements
("the answer is", "Answer:", "答案是", "故选", ``\\boxed{}`` …) are found in any position and the
*last* one wins, so options or numbers mentioned while reasoning are not taken for the answer;
without an explicit statement the final answer region (the last line or paragraph) is read;
when the reply is truly ambiguous (two letters offered, a letter whose restated text is another
option's) there is no answer. A wrong answer is never credited to make the no-answer share look
better. Pure Python: no heavy imports.
"""

from __future__ import annotations

import ast
import builtins
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

NO_ANSWER = "none"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Extraction(NamedTuple):
    """An extracted answer and the name of the rule that found it (``"none"``: no answer)."""

    answer: Any
    rule: str

    @property
    def found(self) -> bool:
        return self.answer is not None


NONE = Extraction(None, NO_ANSWER)


# -- reasoning and markdown ---------------------------------------------------------------------
_TAGS = (("<think>", "</think>"), ("<thinking>", "</thinking>"), ("<reasoning>", "</reasoning>"))


def answer_region(text: str | None) -> str:
    """The reply without its reasoning blocks.

    ``<think>…</think>`` (also ``<thinking>``, ``<reasoning>``) blocks are removed; a closing tag
    without an opening one (the chat template opened it) drops everything before it; an
    unterminated opening tag (the model ran out of tokens while thinking) drops everything after it.
    """
    return _without_reasoning(text).strip()


def _without_reasoning(text: str | None) -> str:
    text = text or ""
    for open_tag, close_tag in _TAGS:
        pat = re.compile(re.escape(open_tag) + r".*?" + re.escape(close_tag), re.DOTALL | re.IGNORECASE)
        text = pat.sub("\n", text)
        lower = text.lower()
        end = lower.rfind(close_tag)
        if end != -1:
            text = text[end + len(close_tag):]
            lower = text.lower()
        start = lower.find(open_tag)
        if start != -1:
            text = text[:start]
    return text


_LATEX_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|emph)\s*\{([^{}]*)\}")


def _plain(text: str) -> str:
    """Text for pattern matching: NFKC (full-width letters and colons to ASCII), markdown emphasis,
    inline code marks, heading marks and LaTeX text wrappers removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = re.sub(r"\*+|__+|`+", "", text)
    text = re.sub(r"(?m)^\s{0,3}#{1,6}\s*", "", text)
    text = re.sub(r"(?m)^\s*>\s?", "", text)
    return text


def normalize_text(s: Any) -> str:
    """Text compared loosely: NFKC, lower case, markdown/LaTeX marks and punctuation removed,
    whitespace collapsed (``"**The Mitochondria.**"`` → ``"the mitochondria"``)."""
    s = _plain(str(s or "")).lower()
    s = re.sub(r"\\[,;:! ]|\$|\\\(|\\\)", " ", s)
    s = "".join(" " if unicodedata.category(ch)[0] in "PS" and ch not in "%+-<>=^/." else ch for ch in s)
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", s)
    return " ".join(s.split())


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def _last_paragraph(text: str) -> str:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paras[-1] if paras else ""


# -- numbers ------------------------------------------------------------------------------------
_NUM = r"[-+−]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+−]?\$?\s?\.\d+"
NUM_RE = re.compile(_NUM)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` (or ``\\fbox{…}``), with nested braces."""
    idx = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if idx < 0:
        return None
    i = text.find("{", idx)
    if i < 0 or text[idx:i].strip() not in ("\\boxed", "\\fbox"):
        m = re.match(r"\\(?:boxed|fbox)\s+([^\s$]+)", text[idx:])
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


def numbers_equal(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return abs(Decimal(a) - Decimal(b)) <= Decimal("1e-6") * max(Decimal(1), abs(Decimal(b)))
    except InvalidOperation:
        return a == b


# Statements that introduce a final answer (numbers, math, short text). Group 1 is what follows.
_ANSWER_INTRO = re.compile(
    r"(?:####|(?:\bfinal\s+answer|\bthe\s+answer|\banswer|\bresult)\b(?:\s+to\s+(?:this|the)\s+(?:question|problem))?"
    r"(?:\s*(?:is|would\s+be|will\s+be|should\s+be|=|:)\s*(?:therefore|thus|then|clearly|simply)?)"
    r"|最终答案|正确答案|答案(?:应该|应)?(?:是|为)?)\s*[:=]?[ \t]*(.*)",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(?:cannot|can't|can not|unable to|not able to|impossible to)\s+(?:be\s+)?(?:determine|determined|answer|solve|"
    r"find|compute|calculate|say|tell|know|give)|\b(?:i\s+(?:don't|do not)\s+know|not\s+enough\s+information|"
    r"insufficient\s+information|no\s+(?:definitive|single)\s+answer|not\s+sure)\b|无法|不确定|不知道",
    re.IGNORECASE,
)


def _truncated(text: str) -> bool:
    """True when the reply stops mid-sentence (the model ran out of tokens)."""
    t = text.rstrip()
    if not t:
        return True
    if t.count("```") % 2 == 1:
        return True
    t = re.sub(r"\*+|__+", "", t).rstrip()  # markdown emphasis closes nothing
    if t.count("$") % 2 == 1 and re.search(r"[\\^_{]", t[t.rfind("$"):]):
        return True  # an unclosed LaTeX expression (a "$10" amount is not one)
    if t.rfind("\\boxed{") > t.rfind("}"):
        return True
    return bool(re.search(r"(?:[=+\-*/×÷(,:，、]|\b(?:and|or|but|the|of|to|is|are|so|then|which|that|a|an|because|since|"
                          r"as|with|for|if|when|while|giving|gives|get|we|by|from|in|on))$", t))


def extract_numeric(text: str | None) -> Extraction:
    """The final numeric answer of a reply, normalised (see :func:`normalize_number`).

    Rules, in order: ``boxed`` (last ``\\boxed{}`` holding a number); ``answer_marker`` (the last
    "#### N", "the answer is N", "Answer: N", "答案是 N" …); ``money_amount`` (the one ``$`` amount
    among several numbers of the last line that has numbers); ``last_number`` (the last number of
    that line), unless the reply is cut off mid-sentence or its last lines
    decline to answer.
    """
    body = answer_region(text)
    if not body:
        return NONE
    boxed = last_boxed(body)
    if boxed is not None:
        n = normalize_number(boxed)
        if n is not None:
            return Extraction(n, "boxed")
    for m in reversed(list(_ANSWER_INTRO.finditer(body))):
        tail = m.group(1)[:80]
        if not tail.strip():  # "Final answer:" on its own line; the number is on the next one
            nxt = body[m.end():m.end() + 400].lstrip("\n")
            tail = nxt.split("\n", 1)[0][:80]
        n = normalize_number(tail)
        if n is not None:
            return Extraction(n, "answer_marker")
    if _truncated(body):
        return NONE
    lines = _lines(body)
    for i in range(len(lines) - 1, -1, -1):
        nums = NUM_RE.findall(lines[i])
        if nums:
            if any(_REFUSAL.search(ln) for ln in lines[i:]):
                return NONE
            money = [x for x in nums if "$" in x]
            if len(nums) > 1 and len(money) == 1:  # "earned $10 for 50 minutes": the amount of money
                return Extraction(normalize_number(money[0]), "money_amount")
            n = normalize_number(nums[-1])
            return Extraction(n, "last_number") if n is not None else NONE
    return NONE


def extract_number(text: str | None) -> str | None:
    """Answer-only shortcut of :func:`extract_numeric`."""
    return extract_numeric(text).answer


# -- math expressions ---------------------------------------------------------------------------
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}|"
                     r"\s*\\(?:text|mathrm)\{\s*(?:degrees?|deg)\s*\}|\s+degrees?\b")


def clean_math_answer(s: str) -> str:
    """A math answer ready for an equivalence check: degree signs, ``$``, ``\\displaystyle``,
    ``\\left``/``\\right``, trailing punctuation and a leading ``x =`` removed."""
    s = s.strip()
    s = re.sub(r"^\$+|\$+$", "", s).strip()
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s).strip()
    s = _DEGREE.sub("", s)
    s = s.replace("\\displaystyle", "").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = re.sub(r"\\left\s*|\\right\s*", "", s)
    s = re.sub(r"[\s.;,。]+$", "", s).strip()
    m = re.match(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?!.*=)(.+)$", s)  # "x = 5" → "5"
    if m:
        s = m.group(1).strip()
    return s


_MATH_INTRO = re.compile(
    r"(?:\bfinal\s+answer\b|\bthe\s+answer\b|\banswer\b|最终答案|答案)(?:\s*(?:is|:|：|=)\s*|\s*(?:是|为|:|：)\s*)(.*)",
    re.IGNORECASE)
_INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$]+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)


def extract_math(text: str | None) -> Extraction:
    """The final answer of a competition-math reply, as a string to check for equivalence.

    Rules, in order: ``boxed`` (the last ``\\boxed{}``/``\\fbox{}``, degree signs dropped);
    ``answer_marker`` (the rest of the line after the last "Answer:", "the final answer is",
    "答案是" …, with or without LaTeX); ``last_latex`` (the last ``$…$`` / ``\\(…\\)`` when it
    ends the reply). Nothing else: a reply cut off mid-derivation has no answer.
    """
    body = answer_region(text)
    if not body:
        return NONE
    boxed = last_boxed(body)
    if boxed is not None and clean_math_answer(boxed):
        return Extraction(clean_math_answer(boxed), "boxed")
    if boxed is None and re.search(r"\\(?:boxed|fbox)\s*\{", body):
        return NONE  # the boxed answer was cut off
    for m in reversed(list(_MATH_INTRO.finditer(body))):
        tail = m.group(1)
        if not tail.strip():
            tail = body[m.end():m.end() + 400].lstrip("\n").split("\n", 1)[0]
        tail = _plain(tail).strip()
        inline = _INLINE_MATH.findall(tail)
        if inline:
            tail = next(x for x in inline[-1] if x)
        else:
            tail = re.split(r"(?<!\d)\.(?:\s|$)|\s+(?:because|since|as)\s", tail, maxsplit=1)[0]
            words = re.split(r"\s+(?:is|equals|are|was)\s+", tail)
            if len(words) > 1 and re.search(r"[A-Za-z]{3,}", words[0]):  # "The sum is 42" → "42"
                tail = words[-1]
        ans = clean_math_answer(tail)
        if ans and not _REFUSAL.search(tail):
            return Extraction(ans, "answer_marker")
    if _truncated(body):
        return NONE
    tail_text = body.rstrip()
    hits = list(_INLINE_MATH.finditer(tail_text))
    if hits and re.fullmatch(r"[\s.,;!。]*", tail_text[hits[-1].end():]):
        last_line = _lines(tail_text)[-1]
        concludes = re.search(r"\b(?:so|thus|therefore|hence|answer|final|result|get|gives|obtain|equals|is|are)\b|"
                              r"所以|因此|答案|等于|为", last_line, re.IGNORECASE)
        if concludes and not _REFUSAL.search(last_line):
            inner = next(x for x in hits[-1].groups() if x)
            ans = clean_math_answer(inner)
            if ans:
                return Extraction(ans, "last_latex")
    return NONE


# -- multiple choice ------------------------------------------------------------------------------
class _Cand(NamedTuple):
    pos: int
    letter: str | None  # None: this statement is ambiguous (two letters, conflicting option text)
    rule: str


_LET = r"[\(\[]?\s*([A-Z])\s*[\)\]]?(?![A-Za-z0-9'’(\[{^_])"
_ADV = r"(?:\s*(?:therefore|thus|clearly|definitely|indeed|probably|likely|most\s+likely|then|simply|still))?"
_EN_EXPLICIT = [
    ("answer_statement", re.compile(
        r"\b(?:final\s+answer|answer|ans)\b(?:\s+to\s+(?:this|the)\s+question)?(?:\s+here)?"
        r"(?:\s*(?:is|would\s+be|will\s+be|should\s+be|must\s+be|shall\s+be)" + _ADV + r"\s*:?|\s*[:=\-–—]|\s*\n)"
        r"\s*(?:(?:option|choice|letter)\s*)?" + _LET, re.IGNORECASE)),
    ("correct_option", re.compile(
        r"\b(?:correct|right|best|true|final|most\s+appropriate|most\s+likely)\s+"
        r"(?:answer|option|choice|response|one|statement|selection)s?\s*(?:here\s*)?"
        r"(?:is|would\s+be|should\s+be|must\s+be|:|=)" + _ADV + r"\s*:?\s*(?:(?:option|choice)\s*)?" + _LET,
        re.IGNORECASE)),
    ("i_choose", re.compile(
        r"\b(?:I(?:'ll|'d|\s+will|\s+would|\s+shall)?\s+(?:choose|pick|select|go\s+with|go\s+for|opt\s+for)|"
        r"my\s+(?:final\s+)?(?:answer|choice|pick|selection)\s+(?:is|would\s+be)|going\s+with|"
        r"(?:so|therefore|thus|hence),?\s+(?:I\s+)?(?:choose|pick|select))\s*:?\s*(?:(?:option|choice)\s*)?" + _LET,
        re.IGNORECASE)),
    ("option_is_correct", re.compile(
        r"(?:\b(?:option|choice)\s+)?" + _LET.replace("(?![A-Za-z0-9'’])", "") +
        r"\s*(?:is|would\s+be)\s+(?:the\s+)?(?:correct|right|best|only\s+correct)\s+(?:answer|option|choice|one)\b",
        re.IGNORECASE)),
    ("its_letter", re.compile(
        r"\b(?:it's|it\s+is|it\s+must\s+be|that's|that\s+is|so,?|I'd\s+say|I\s+would\s+say|I\s+say)\s+"
        r"(?:option\s+|choice\s+)?" + _LET + r"(?=\s*(?:[.!]|$))",
        re.IGNORECASE | re.MULTILINE)),
    ("boxed_letter", re.compile(r"\\boxed\s*\{\s*\(?\s*([A-Z])\s*\)?\s*(?:[.:)\s][^{}]*)?\}")),
]
_ZH_EXPLICIT = [
    ("answer_statement", re.compile(
        r"(?:答案|(?:^|(?<=[\s。.]))答|结论|综上所述|综上)(?:应该|应当|应|就|即|选|为|是|:|,|\s)*" + _LET, re.MULTILINE)),
    ("correct_option", re.compile(
        r"正确(?:的)?(?:选项|答案|选择|答案选项|一项)?(?:应该|应|就|是|为|:|\s)+" + _LET)),
    ("choose", re.compile(
        r"(?<!不)(?<!不应)(?<!不能)(?<!排除)(?<!如果)(?<!若)(?<!假如)"
        r"(?:故|所以|因此|因而|则|应|应该|我|本题|此题|只能|综上|即)?选(?:择|出)?(?!项|择题|出题)(?:的是|为|:|\s)*" + _LET)),
    ("option_is_correct", re.compile(
        r"(?:选项)?" + _LET.replace("(?![A-Za-z0-9'’])", "") + r"\s*项?\s*(?:是|为)\s*(?:正确|最佳|最合适)(?:的)?\s*(?:答案|选项|选择)")),
]
_REJECTED_AFTER = re.compile(r"\s*(?:项|选项)?\s*(?:是|也)?(?:错误|不正确|不对|错|不符|排除)|"
                             r"\s+(?:is|was|seems)\s+(?:also\s+)?(?:wrong|incorrect|false|not\b|out\b)", re.IGNORECASE)
_HYPOTHETICAL = re.compile(r"(?:\b(?:if|suppose|supposing|assuming|assume|whether|unless|wonder)\b|如果|假如|假设|若|是否)"
                           r"[^.!?。\n]*$", re.IGNORECASE)
_MULTI_AFTER = re.compile(r"^\s*(?:,|/|、|和|与|或|及|or|and|&|\+)\s*(?:option\s+)?[\(\[]?([A-Z])(?![A-Za-z0-9'’])",
                          re.IGNORECASE)
_CUE = re.compile(r"\b(?:so|therefore|thus|hence|answer|final|conclusion|overall|correct|best|choose|pick)\b|"
                  r"故|所以|因此|综上|答案|应选|正确", re.IGNORECASE)
_DOUBT = re.compile(r"\b(?:if|not|no|wrong|incorrect|false|unless|maybe|perhaps|could|might)\b|如果|若|假如|不|错|可能",
                    re.IGNORECASE)
_NEGATED = re.compile(r"(?:\bnot|\bnor|\brather\s+than|\binstead\s+of|\bexcept|\bnever|不是|而非|并非|不)\s*(?:the\s+)?$",
                      re.IGNORECASE)


def _norm_choices(choices: list[str] | None) -> list[str]:
    return [normalize_text(c) for c in (choices or [])]


_NEGATED_AFTER = re.compile(r"\s*(?:not|nor|rather\s+than|instead\s+of|而不是|而非|不是)\b", re.IGNORECASE)


def _option_in(fragment: str, norm_choices: list[str], at_end: bool = False) -> list[int]:
    """Options whose normalised text the fragment holds (whole words; negated mentions dropped;
    an option contained in another matched option is dropped)."""
    frag = normalize_text(fragment)
    if not frag or re.fullmatch(r"[\W_]*[A-Za-z][\W_]*", unicodedata.normalize("NFKC", fragment).strip()):
        return []
    spans: dict[int, list[tuple[int, int]]] = {}
    for i, c in enumerate(norm_choices):
        if c:
            spans[i] = [(m.start(), m.end()) for m in re.finditer(r"(?<![\w])" + re.escape(c) + r"(?![\w])", frag)
                        if not _NEGATED.search(frag[:m.start()])]
    if at_end:  # the option must close the fragment (what follows, if anything, is a negated mention)
        for i in spans:
            spans[i] = [s for s in spans[i] if not frag[s[1]:].strip() or _NEGATED_AFTER.match(frag[s[1]:])]
    hits = []
    for i, own in spans.items():
        # an occurrence inside a longer option's occurrence ("sin x" in "-sin x") is that option's
        free = [s for s in own if not any(j != i and len(norm_choices[j]) > len(norm_choices[i]) and a <= s[0] and s[1] <= b
                                          for j, other in spans.items() for a, b in other)]
        if free:
            hits.append(i)
    return hits


def _text_to_option(fragment: str, norm_choices: list[str], sentence_options: bool = False) -> int | None | str:
    """The option a fragment restates: exact normalised match first, then a fragment that begins
    with one option's text (with ``sentence_options``, only options of three words or more). ``"ambiguous"`` when two options fit; ``None`` when none does."""
    frag = normalize_text(fragment)
    if not frag or not norm_choices:
        return None
    if re.fullmatch(r"[\W_]*[A-Za-z][\W_]*", unicodedata.normalize("NFKC", fragment).strip()):
        return None  # a lone letter is read as a letter, never as an option whose text is that letter
    exact = [i for i, c in enumerate(norm_choices) if c and c == frag]
    if len(set(norm_choices[i] for i in exact)) == 1 and len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        return "ambiguous"
    prefix = [i for i, c in enumerate(norm_choices) if c and re.match(re.escape(c) + r"(?![\w])", frag)
              and (not sentence_options or len(c.split()) >= 3)]
    longest = [i for i in prefix if not any(len(norm_choices[j]) > len(norm_choices[i]) for j in prefix)]
    if len(longest) == 1:
        return longest[0]
    return "ambiguous" if longest else None


def _check_tail(letter: str, tail: str, letters: str, norm_choices: list[str]) -> str | None:
    """The letter, or None when the text restated after it is another option's text."""
    if not norm_choices or letters.find(letter) < 0:
        return letter
    tail = re.split(r"[\n]", tail, maxsplit=1)[0]
    if re.match(r"\s*[。!?！？;；]", tail):
        return letter  # a new sentence follows; nothing restated
    tail = re.sub(r"^[\s).:：,]*(?:[-–—]\s+)?", "", tail)
    tail = re.split(r"[。!?！？;；]|\.\s", tail, maxsplit=1)[0]
    tail = re.sub(r"^(?:which\s+is|i\.e\.|namely)\s+", "", tail, flags=re.IGNORECASE)
    if not tail.strip():
        return letter
    idx = letters.index(letter)
    which = _text_to_option(tail, norm_choices)
    if isinstance(which, int) and which != idx and norm_choices[which] != norm_choices[idx]:
        return None
    return letter


def _explicit_candidates(plain: str, letters: str, norm_choices: list[str]) -> list[_Cand]:
    cands: list[_Cand] = []
    for rule, pat in _EN_EXPLICIT + _ZH_EXPLICIT:
        for m in pat.finditer(plain):
            letter = m.group(1).upper() if rule != "boxed_letter" else m.group(1)
            if rule != "boxed_letter" and m.group(1) != letter:
                continue  # a lower-case letter is a word ("the answer is a bit…"), not an option
            before = plain[max(0, m.start() - 80):m.start()]
            after = plain[m.end():m.end() + 200]
            if _HYPOTHETICAL.search(before):
                continue
            sentence_rest = re.split(r"[.!。\n]", after, maxsplit=1)[0]
            if "?" in sentence_rest or "？" in sentence_rest or after.lstrip().startswith("?"):
                continue
            if letter == "I" and re.match(r"\s+[a-z]|'", after):
                continue  # the pronoun
            if _REJECTED_AFTER.match(after):
                continue  # "综上所述，A项错误", "so A is wrong": a letter rejected, not chosen
            if letter not in letters:
                cands.append(_Cand(m.start(), None, "invalid_letter"))
                continue
            multi = _MULTI_AFTER.match(after)
            if multi and multi.group(1).upper() in letters and multi.group(1).isupper():
                cands.append(_Cand(m.start(), None, "several_letters"))
                continue
            checked = _check_tail(letter, after, letters, norm_choices)
            cands.append(_Cand(m.start(), checked, "explicit_statement" if checked else "conflicting_text"))
    return cands


_TEXT_INTROS = [
    re.compile(r"\b(?:final\s+answer|the\s+answer|answer|correct\s+(?:answer|option|choice)|best\s+(?:answer|option))"
               r"\s*(?:is|would\s+be|should\s+be|:)\s*:?\s*(?:therefore|thus|clearly|probably)?\s*(.+)", re.IGNORECASE),
    re.compile(r"(?:答案|正确(?:的)?(?:选项|答案))(?:应该|应)?(?:是|为|:)\s*(.+)"),
]


def _text_candidates(plain: str, norm_choices: list[str]) -> list[_Cand]:
    """Explicit statements that give an option's text instead of its letter."""
    cands = []
    for pat in _TEXT_INTROS:
        for m in pat.finditer(plain):
            if _HYPOTHETICAL.search(plain[max(0, m.start() - 80):m.start()]):
                continue
            frag = m.group(1).split("\n", 1)[0]
            if "?" in frag:
                continue
            frag = re.split(r"(?<=[^\d])\.(?:\s|$)|。|\s+(?:because|since|as)\s", frag, maxsplit=1)[0]
            which = _text_to_option(frag, norm_choices)
            if isinstance(which, int):
                cands.append(_Cand(m.start(), LETTERS[which], "explicit_option_text"))
            elif which == "ambiguous":
                cands.append(_Cand(m.start(), None, "ambiguous_option_text"))
    return cands


def _final_line_candidate(plain: str, raw: str, letters: str, norm_choices: list[str]) -> _Cand | None:
    lines = _lines(plain)
    if not lines:
        return None
    last = lines[-1]
    pos = plain.rfind(last)
    cls = f"[{re.escape(letters)}]"
    m = re.fullmatch(rf"(?:(?:option|choice|选项)\s*)?[\(\[]?\s*({cls})\s*[\)\]]?\s*项?[.。]?", last, re.IGNORECASE)
    if m and m.group(1).isupper():
        return _Cand(pos, m.group(1), "final_line_letter")
    m = re.match(rf"[\(\[]?({cls})(?:[\)\]]|[.:](?!\d))\s*(.*)$", last)
    if m and not _truncated(plain):
        tail = m.group(2).strip()
        which = _text_to_option(tail, norm_choices) if norm_choices else None
        if not tail or (not norm_choices and len(tail.split()) <= 8):
            return _Cand(pos, m.group(1), "final_line_letter")
        if isinstance(which, int):  # "B) <option text>": the text must be that option's
            ok = norm_choices[which] == norm_choices[letters.index(m.group(1))] if m.group(1) in letters else False
            return _Cand(pos, m.group(1) if ok else None, "final_line_letter")
    # bold letters in the last paragraph of the raw (markdown) text
    para = _last_paragraph(raw)
    bold = set(re.findall(rf"\*\*\s*(?:(?:option|choice|answer)\s*:?\s*)?[\(\[]?({cls})[\)\]]?[.:)]?\s*\*\*", para,
                          flags=re.IGNORECASE))
    bold = {b for b in bold if b.isupper()}
    if len(bold) == 1:
        return _Cand(pos, bold.pop(), "final_bold")
    return None


_ARTICLE_A = re.compile(r"\s+(?!(?:is|was|are|were|and|or|seems|would|could|can|has|looks|states|says|claims|"
                        r"describes|mentions|refers|suggests|only|also|alone|too|fits|matches|works)\b)[a-z]")


def _first_line_candidate(plain: str, letters: str, norm_choices: list[str]) -> _Cand | None:
    """A reply that opens with its answer ("**B) Carbon dioxide**", then an explanation): the first
    line is the letter alone or the letter with its own option's text, and no other letter is named."""
    lines = _lines(plain)
    if len(lines) < 2:
        return None
    cls = f"[{re.escape(letters)}]"
    m = re.fullmatch(rf"[\(\[]?({cls})(?:[\)\].:]\s*(.*))?", lines[0])
    if not m or set(_mentions(plain, letters)) != {m.group(1)}:
        return None
    tail = (m.group(2) or "").strip()
    if tail and (not norm_choices or _text_to_option(tail, norm_choices) != letters.index(m.group(1))):
        return None
    return _Cand(0, m.group(1), "first_line_letter")


def _mentions(text: str, letters: str) -> list[str]:
    """Standalone capital letters among ``letters`` (not the pronoun "I", not the article "A")."""
    out = []
    for m in re.finditer(rf"(?<![A-Za-z0-9'’])([{re.escape(letters)}])(?![A-Za-z0-9'’])", text):
        after = text[m.end():m.end() + 30]
        if m.group(1) == "I" and re.match(r"\s+[a-z]|'", after):
            continue
        if m.group(1) == "A" and _ARTICLE_A.match(after):
            continue
        out.append(m.group(1))
    return out


def extract_choice(text: str | None, choices: list[str] | None = None, letters: str | None = None) -> Extraction:
    """The chosen option letter of a multiple-choice reply.

    ``choices`` are the option texts (they let a restated or text-only answer be mapped to its
    letter); ``letters`` the valid letters (default: one per choice, else ``"ABCD"``).

    Rules: ``explicit_statement`` — the last of "ANSWER: B", "the answer is (B)", "the correct
    option is B", "I choose B", "B is the correct answer", ``\\boxed{B}``, "答案：B", "故选B",
    "正确选项为B", "B是正确答案"… anywhere in the reply (hypothetical and question forms ignored),
    unless the final line states a letter after it (``final_line_letter``, ``final_bold``); an
    explicit statement of an option's text (``explicit_option_text``). Without one: the last line
    restates exactly one option's text (``option_text``); "B is correct" statements that all name
    the same letter (``consistent_letter``); the reply refers to one letter only (``only_letter``). Ambiguity gives no answer: two letters in one statement, a letter followed
    by another option's text, a letter outside ``letters``.
    """
    body = answer_region(text)
    if not body:
        return NONE
    if letters is None:
        letters = LETTERS[: len(choices)] if choices else "ABCD"
    norm_choices = _norm_choices(choices)
    plain = _plain(body)
    cands = _explicit_candidates(plain, letters, norm_choices)
    if norm_choices:
        cands += _text_candidates(plain, norm_choices)
    final = _final_line_candidate(plain, body, letters, norm_choices)
    if final is not None:
        cands.append(final)
    if not cands:
        first = _first_line_candidate(plain, letters, norm_choices)
        if first is not None:
            cands.append(first)
    if cands:
        # the last statement wins; at one position a letter beats an option text read there
        best = max(cands, key=lambda c: (c.pos, not c.rule.endswith("option_text")))
        return Extraction(best.letter, best.rule) if best.letter else NONE
    lines = _lines(plain)
    last = lines[-1] if lines else ""
    if norm_choices and not _truncated(body):
        short = len(lines) <= 2 and len(plain) <= 2 * max(len(c) for c in norm_choices) + 60
        if short or _CUE.search(last):
            region = plain if short else last
            # the option's text must conclude the reply ("…is the mitochondria."), not be its subject
            # ("A barometer measures pressure.")
            hits = _option_in(region, norm_choices, at_end=True)
            if len({norm_choices[i] for i in hits}) == 1:
                return Extraction(LETTERS[hits[0]], "option_text")
            which = _text_to_option(region, norm_choices, sentence_options=True)
            if isinstance(which, int) and len(_option_in(region, norm_choices)) <= 1:
                return Extraction(LETTERS[which], "option_text")  # the reply opens with a sentence-like option
            if hits or len(_option_in(region, norm_choices)) > 1:
                return NONE
    cls = f"[{re.escape(letters)}]"
    weak = re.findall(rf"(?:(?:option|choice)\s+)?[\(\[]?({cls})[\)\]]?\s+is\s+(?:correct|right|true)\b(?!\s*\?)", plain)
    weak += re.findall(rf"[\(\[]?({cls})[\)\]]?\s*项?\s*(?:正确|对)(?![吗?])", plain)
    if weak and len(set(weak)) == 1 and not _truncated(body):
        return Extraction(weak[-1], "consistent_letter")
    if not _truncated(body) and not _REFUSAL.search(plain):
        seen = _mentions(plain, letters)
        one_line = len(lines) == 1 and len(last) <= 200
        if seen and len(set(seen)) == 1 and _mentions(last, letters) and (one_line or _CUE.search(last)) \
                and not _DOUBT.search(last):
            return Extraction(seen[-1], "only_letter")
    return NONE


def extract_letter(text: str | None, letters: str = "ABCD", choices: list[str] | None = None) -> str | None:
    """Answer-only shortcut of :func:`extract_choice`."""
    return extract_choice(text, choices, letters).answer


def extract_choices(text: str | None, letters: str, choices: list[str] | None = None) -> Extraction:
    """The set of letters of a multiple-answer reply, as a sorted string (``"AC"``).

    ``answer_statement``: the letters after the last "ANSWER:" / "答案：" ("A, C", "AC", "A and C");
    else the single letter :func:`extract_choice` finds.
    """
    body = _plain(answer_region(text))
    hits = re.findall(r"(?:answer|答案)\s*(?:is|是|为)?\s*:?\s*([A-Z](?:\s*(?:,|and|&|和|、)?\s*[A-Z])*)(?![A-Za-z])",
                      body, flags=re.IGNORECASE)
    if hits:
        found = set(re.findall(r"[A-Z]", re.sub(r"\band\b", "", hits[-1])))
        if found and found <= set(letters):
            return Extraction("".join(sorted(found)), "answer_statement")
        return NONE
    one = extract_choice(text, choices, letters)
    return one if one.answer is None else Extraction(one.answer, one.rule)


# -- short text -----------------------------------------------------------------------------------
_NON_ANSWER = re.compile(r"(?:unknown|n/?a|none|no\s+answer|not\s+applicable|未知|无)", re.IGNORECASE)
_SHORT_INTRO = re.compile(
    r"(?:^|(?<=[\s>*_(\[]))(?:final\s+answer|short\s+answer|answer|答案|最终答案)\s*[:：]\s*(.*)", re.IGNORECASE)
_ANSWER_IS = re.compile(r"\b(?:the\s+)?(?:final\s+)?answer\s+(?:is|would\s+be)\s*:?\s*(.+)", re.IGNORECASE)


def _clean_short(s: str) -> str:
    s = _plain(s).strip()
    s = re.sub(r"^(?:it\s+(?:is|was)|it's|that\s+(?:is|was)|this\s+is|they\s+(?:are|were)|he\s+was|she\s+was)\s+", "",
               s, flags=re.IGNORECASE)
    s = re.sub(r"^\$+|\$+$", "", s).strip()
    s = s.strip("\"'“”‘’「」").strip()
    s = re.sub(r"[\s.。!！]+$", "", s).strip()
    return s.strip("\"'“”‘’「」").strip()


def extract_short_answer(text: str | None, max_words: int = 12) -> Extraction:
    """A short free-text answer (TriviaQA, DROP, SimpleQA style).

    Rules: ``answer_marker`` — the rest of the line after the last "ANSWER:", "Final answer:",
    "答案：" (the next line when the marker ends its line); ``answer_is`` — the rest of the sentence
    after the last "the answer is"; ``whole_reply`` — a reply of one short line; ``last_line`` — a
    short last line after longer reasoning. A reply that declines ("I don't know") has no answer.
    """
    body = answer_region(text)
    if not body:
        return NONE
    for m in reversed(list(_SHORT_INTRO.finditer(body))):
        tail = m.group(1)
        if not _clean_short(tail):
            tail = body[m.end():m.end() + 400].lstrip("\n").split("\n", 1)[0]
        ans = _clean_short(tail.split("\n", 1)[0])
        if ans:
            return NONE if _REFUSAL.search(ans) or _NON_ANSWER.fullmatch(ans) else Extraction(ans, "answer_marker")
    hits = list(_ANSWER_IS.finditer(body))
    if hits:
        frag = re.split(r"(?<=[^\d\s])\.(?:\s|$)|\n", hits[-1].group(1), maxsplit=1)[0]
        ans = _clean_short(frag)
        if ans and not _REFUSAL.search(ans):
            return Extraction(ans, "answer_is")
    lines = _lines(body)
    if _REFUSAL.search(lines[-1]) or _truncated(body):
        return NONE
    last = _clean_short(lines[-1])
    if len(last.split()) <= max_words and len(last) <= 120:
        return Extraction(last, "whole_reply" if len(lines) == 1 else "last_line")
    return NONE


# -- code -------------------------------------------------------------------------------------------
_FENCE = re.compile(r"```[ \t]*([\w+.-]*)[^\n`]*\n(.*?)```", re.DOTALL)
_BUILTINS = set(dir(builtins))


def code_blocks(text: str | None) -> list[str]:
    """Every fenced code block of a reply, in order; an unterminated last fence yields what follows."""
    text = text or ""
    blocks = [b for lang, b in _FENCE.findall(text) if lang.lower() not in ("text", "bash", "sh", "console",
                                                                             "shell", "output", "plaintext")]
    rest = _FENCE.sub("", text)
    if "```" in rest:
        after = rest.split("```", 1)[1]
        if "\n" in after:
            blocks.append(after.split("\n", 1)[1])
    return blocks


def _parse(src: str) -> ast.Module | None:
    try:
        return ast.parse(src)
    except SyntaxError:
        try:
            import textwrap

            return ast.parse(textwrap.dedent(src))
        except SyntaxError:
            return None


def _defines(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _free_names(nodes: list[ast.stmt]) -> set[str]:
    """Names the statements read but never bind anywhere (a coarse, scope-blind estimate)."""
    loads, binds = set(), set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                (loads if isinstance(n.ctx, ast.Load) else binds).add(n.id)
            elif isinstance(n, ast.arg):
                binds.add(n.arg)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                binds.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                binds |= {(a.asname or a.name).split(".")[0] for a in n.names}
            elif isinstance(n, ast.ExceptHandler) and n.name:
                binds.add(n.name)
    return loads - binds - _BUILTINS


def extract_program(text: str | None, entry_point: str | None = None) -> Extraction:
    """The Python program of a code reply.

    Every fenced block is considered. The main block is the last one that defines
    ``entry_point`` (a function or class; any parsable block when no entry point is given). The
    program is that block preceded by what it needs from the other blocks: the helper functions,
    classes and constants it calls (recursively) and the imports they use, in reply order.
    Rules: ``assembled`` (helpers added), ``entry_point_block``, ``last_block``, ``first_block``
    (no block defines the entry point: HumanEval's body-only completion), ``unfenced`` (a reply
    that is code without fences). ``None`` when the reply has no code.
    """
    body = _without_reasoning(text)
    blocks = code_blocks(body)
    if not blocks:
        body = body.lstrip("\n").rstrip() + "\n"
        if not body.strip():
            return NONE
        codeish = re.search(r"\b(?:def|return|import|class|for|while|if|print|lambda)\b|=", body)
        if codeish and (_parse(body) is not None or _parse("def _f():\n" + body) is not None):
            return Extraction(body, "unfenced")  # code without fences
        if entry_point and re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(entry_point)}\b", body, re.M):
            start = re.search(r"^(?:from\s+\S+\s+import|import\s|@|(?:async\s+)?def\s|class\s)", body, re.M)
            return Extraction(body[start.start():] if start else body, "unfenced")  # prose, then the code
        return NONE
    trees = [_parse(b) for b in blocks]
    main = None
    for i in range(len(blocks) - 1, -1, -1):
        t = trees[i]
        if t is None:
            continue
        if entry_point is None or any(entry_point in _defines(s) for s in t.body):
            main = i
            break
    if main is None:  # a body-only completion continues the prompt's def: it is indented
        first = blocks[0]
        if entry_point and not re.match(r"(?:\s*\n)*[ \t]+\S", first):
            return NONE
        return Extraction(first, "first_block") if first.strip() else NONE
    if trees[main] is None:
        return Extraction(blocks[main], "last_block")
    own = set().union(*[_defines(s) for s in trees[main].body]) if trees[main].body else set()
    providers: dict[str, tuple[int, int]] = {}  # name -> (block, statement index); later blocks win
    for bi, t in enumerate(trees):
        if t is None or bi == main:
            continue
        for si, s in enumerate(t.body):
            for name in _defines(s):
                providers[name] = (bi, si)
    needed: set[tuple[int, int]] = set()
    todo = sorted(_free_names(trees[main].body) - own)
    seen = set(own)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        where = providers.get(name)
        if where is None or where in needed:
            continue
        needed.add(where)
        stmt = trees[where[0]].body[where[1]]
        todo.extend(sorted(_free_names([stmt]) - seen))
    rule = "entry_point_block" if entry_point else "last_block"
    if not needed:
        return Extraction(blocks[main], rule)
    parts = []
    for bi, si in sorted(needed):
        seg = ast.get_source_segment(blocks[bi], trees[bi].body[si]) or ast.unparse(trees[bi].body[si])
        parts.append(seg)
    return Extraction("\n\n".join(parts) + "\n\n\n" + blocks[main], "assembled")
