"""The judge's side of a battle: the prompt, the verdict scale and how a reply is read.

Defaults follow Arena-Hard and EvalScope's ``general_arena``: the judge sees the user prompt and
two answers in positions A and B and ends with one of ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``,
``[[B>A]]``, ``[[B>>A]]``. A strong verdict (``>>``) weighs 3 battles, a slight one 1, a tie 1
battle that counts as half a win for each side. A reply with no verdict, or with two different
ones, is unparsable: excluded from the ratings and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evs_core.errors import ConfigError, suggest

#: Arena-Hard's judge instruction (system message), the default of EvalScope's general_arena.
SYSTEM_PROMPT = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants "
    "to the user prompt displayed below. You will be given assistant A's answer and assistant B's answer. Your "
    "job is to evaluate which assistant's answer is better.\n\n"
    "Begin your evaluation by generating your own answer to the prompt. You must provide your answers before "
    "judging any answers.\n\n"
    "When evaluating the assistants' answers, compare both assistants' answers with your answer. You must "
    "identify and correct any mistakes or inaccurate information.\n\n"
    "Then consider if the assistant's answers are helpful, relevant, and concise. Helpful means the answer "
    "correctly responds to the prompt or follows the instructions. Note when user prompt has any ambiguity or "
    "more than one interpretation, it is more helpful and appropriate to ask for clarifications or more "
    "information from the user than providing an answer based on assumptions. Relevant means all parts of the "
    "response closely connect or are appropriate to what is being asked. Concise means the response is clear "
    "and not verbose or excessive.\n\n"
    "Then consider the creativity and novelty of the assistant's answers when needed. Finally, identify any "
    "missing important information in the assistants' answers that would be beneficial to include when "
    "responding to the user prompt.\n\n"
    "After providing your explanation, you must output only one of the following choices as your final "
    "verdict with a label:\n\n"
    "1. Assistant A is significantly better: [[A>>B]]\n"
    "2. Assistant A is slightly better: [[A>B]]\n"
    "3. Tie, relatively the same: [[A=B]]\n"
    "4. Assistant B is slightly better: [[B>A]]\n"
    "5. Assistant B is significantly better: [[B>>A]]\n\n"
    'Example output: "My final verdict is tie: [[A=B]]".'
)

#: The user message: the prompt and the two answers in positions A and B.
USER_TEMPLATE = (
    "<|User Prompt|>\n{question}\n\n"
    "<|The Start of Assistant A's Answer|>\n{answer_a}\n<|The End of Assistant A's Answer|>\n\n"
    "<|The Start of Assistant B's Answer|>\n{answer_b}\n<|The End of Assistant B's Answer|>"
)

LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
#: Other spellings a judge writes, mapped to the five labels.
ALIASES = {"A<<B": "B>>A", "A<B": "B>A", "B<A": "A>B", "B<<A": "A>>B", "B=A": "A=B"}
TIE_RULES = ("half", "drop")


@dataclass(frozen=True)
class Scale:
    """How a verdict label turns into a battle: winner position ('A', 'B', 'tie') and weight."""

    outcomes: dict[str, tuple[str, int]]
    tie_rule: str = "half"  # "half": a tie is half a win for each side (EvalScope); "drop": ties are ignored

    def outcome(self, label: str) -> tuple[str, int]:
        return self.outcomes[label]

    def as_dict(self) -> dict[str, Any]:
        return {"labels": {k: {"winner": w, "weight": n} for k, (w, n) in self.outcomes.items()},
                "tie_rule": self.tie_rule}


def default_outcomes(strong_weight: int = 3) -> dict[str, tuple[str, int]]:
    return {"A>>B": ("A", strong_weight), "A>B": ("A", 1), "A=B": ("tie", 1), "B>A": ("B", 1),
            "B>>A": ("B", strong_weight)}


def make_scale(spec: dict[str, Any] | None = None, tie_rule: str = "half", strong_weight: int | None = None) -> Scale:
    """Build the verdict scale; ``spec`` maps labels to ``[winner, weight]`` (winner A, B or tie)."""
    if tie_rule not in TIE_RULES:
        raise ConfigError(f"bad --tie-rule '{tie_rule}'{suggest(tie_rule, TIE_RULES)} (valid: {', '.join(TIE_RULES)})")
    if strong_weight is not None and (isinstance(strong_weight, bool) or not isinstance(strong_weight, int)
                                      or strong_weight < 1):
        raise ConfigError(f"--strong-weight must be a positive integer, not {strong_weight!r}")
    outcomes = default_outcomes(strong_weight if strong_weight is not None else 3)
    for label, value in (spec or {}).items():
        if label not in LABELS:
            raise ConfigError(f"unknown verdict label '{label}' in --scale{suggest(label, LABELS)} "
                              f"(labels: {', '.join(LABELS)})")
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ConfigError(f"--scale['{label}'] must be [winner, weight], e.g. [\"A\", 3]")
        winner, weight = value
        if winner not in ("A", "B", "tie"):
            raise ConfigError(f"--scale['{label}'] winner must be 'A', 'B' or 'tie', not {winner!r}")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ConfigError(f"--scale['{label}'] weight must be a non-negative integer, not {weight!r}")
        outcomes[label] = (winner, weight)
    return Scale(outcomes=outcomes, tie_rule=tie_rule)


_BRACKETED = re.compile(r"\[\[\s*([AB]\s*(?:>>|<<|>|<|=)\s*[AB])\s*\]\]")
_BARE = re.compile(r"(?<![\w<>=\[])([AB]\s?(?:>>|<<|>|<|=)\s?[AB])(?![\w<>=\]])")


def _normal(token: str) -> str | None:
    t = token.replace(" ", "")
    if t[0] == t[-1]:
        return None  # "A>A"
    t = ALIASES.get(t, t)
    return t if t in LABELS else None


def parse_verdict(text: str | None) -> str | None:
    """The verdict label of a judge reply, or None when it has none or several different ones.

    ``[[A>B]]`` markers are read first (Arena-Hard); without any, a bare ``A>B`` token is
    accepted when exactly one distinct one appears. ``B<A`` and the like are normalised.
    """
    if not text:
        return None
    for pattern in (_BRACKETED, _BARE):
        found = {v for v in (_normal(m) for m in pattern.findall(text)) if v}
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None


def fill_template(template: str, question: str, answer_a: str, answer_b: str) -> str:
    """Fill the placeholders in one pass, so text inside an answer is never substituted."""
    values = {"question": question, "answer_a": answer_a, "answer_b": answer_b}
    return re.sub(r"\{(question|answer_a|answer_b)\}", lambda m: values[m.group(1)], template)


def check_template(template: str) -> None:
    for key in ("{question}", "{answer_a}", "{answer_b}"):
        if key not in template:
            raise ConfigError(f"the judge template must contain {key} (placeholders: {{question}}, {{answer_a}}, "
                              "{answer_b})")
