"""Answer extraction on realistic model outputs (gsm8k numbers, multiple-choice letters)."""

import pytest
from evs_core.extract import extract_letter, extract_number, last_boxed, normalize_number, numbers_equal


@pytest.mark.parametrize("text,expected", [
    ("She has 3 + 4 = 7 apples, then buys 11 more.\nThe answer is \\boxed{18}.", "18"),
    ("Total: $1,234.50 after tax.\n#### 1,234.50", "1234.5"),
    ("First 12 x 3 = 36, minus 18 = 18.00\nThe answer is 18.00", "18"),
    ("I think it is 5... wait, 7 - 2 = 5? No: 9.\nFinal answer: 9", "9"),
    ("The answer is: $ 2,000", "2000"),
    ("\\boxed{\\frac{3}{4}}", "0.75"),
    ("so x = -3\nThe answer is −3.", "-3"),
    ("Step 1: 10 cookies. Step 2: 10 / 2 = 5 each", "5"),
    ("Answer: 1,000,000 dollars", "1000000"),
    ("The answer is \\boxed{42 \\text{ apples}}", "42"),
    ("I cannot determine this.", None),
    ("", None),
])
def test_extract_number(text, expected):
    assert extract_number(text) == expected


def test_numbers_equal_and_normalize():
    assert numbers_equal("18", normalize_number("18.000"))
    assert not numbers_equal("18", "18.5")
    assert not numbers_equal(None, "1")
    assert normalize_number("#### 72") == "72"
    assert last_boxed("a \\boxed{x^{2}} then \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"


@pytest.mark.parametrize("text,expected", [
    ("Let's see. A is wrong because ... B is also wrong.\nANSWER: C", "C"),
    ("The answer is (B).", "B"),
    ("Options A and D are distractors.\n**C**", "C"),
    ("C) photosynthesis", "C"),
    ("I eliminate (A) and (D). Between B and C, the correct one is\n\nAnswer: B", "B"),
    ("\\boxed{D}", "D"),
    ("答案：A", "A"),
    ("The correct answer is D because plants need light.", "D"),
    ("B", "B"),
    ("I am not sure.", None),
    ("Answer: E", None),  # not an option of a 4-choice question
])
def test_extract_letter(text, expected):
    assert extract_letter(text, "ABCD") == expected


# -- the Extraction(answer, rule) API ------------------------------------------------------------
from evs_core.extract import (  # noqa: E402
    Extraction,
    answer_region,
    extract_choice,
    extract_choices,
    extract_math,
    extract_numeric,
    extract_program,
    extract_short_answer,
)

CELL = ["Ribosome", "Mitochondrion", "Nucleus", "Golgi apparatus"]


@pytest.mark.parametrize("text,answer,rule", [
    ("A is tempting, C too.\nANSWER: B", "B", "explicit_statement"),
    ("分析：A项错误，C项错误。故选B。", "B", "explicit_statement"),
    ("正确选项为B：线粒体", "B", "explicit_statement"),
    ("The correct option is B, Mitochondrion", "B", "explicit_statement"),
    ("So the answer is Mitochondrion.", "B", "explicit_option_text"),
    ("Mitochondrion", "B", "option_text"),
    ("Compared with A and C:\n\n**B**", "B", "final_line_letter"),
    ("**B) Mitochondrion**\n\nIt makes ATP.", "B", "first_line_letter"),
    ("A is incorrect. C is incorrect. B is correct.", "B", "consistent_letter"),
    ("The answer is either A or B.", None, "none"),
    ("ANSWER: B) Nucleus", None, "none"),  # the restated text is option C's
    ("<think>the answer is A</think>", None, "none"),
    ("If the answer were A... Is it C? I'll go with B.", "B", "explicit_statement"),
    ("The answer is A. Wait, actually the answer is D.", "D", "explicit_statement"),
    ("A barometer measures pressure, and a ribosome makes proteins.", None, "none"),
])
def test_extract_choice_rules(text, answer, rule):
    assert extract_choice(text, CELL) == Extraction(answer, rule)


def test_a_lone_letter_is_a_letter_even_when_an_option_is_that_letter():
    assert extract_choice("ANSWER: A", ["b", "d", "a", "c"]).answer == "A"


def test_extract_choices_and_region():
    assert extract_choices("ANSWER: C, A", "ABCD") == Extraction("AC", "answer_statement")
    assert answer_region("</think>ANSWER: B") == "ANSWER: B"
    assert answer_region("<think>unfinished") == ""


@pytest.mark.parametrize("text,answer,rule", [
    ("\\boxed{30^\\circ}", "30", "boxed"),
    ("So $\\angle ABC = \\boxed{120°}$.", "120", "boxed"),
    ("Answer: 3/4", "3/4", "answer_marker"),
    ("Answer: x = 5", "5", "answer_marker"),
    ("Thus the area is $12\\pi$.", "12\\pi", "last_latex"),
    ("Let $x = 3$. Then $x^2 + 2x =", None, "none"),
    ("So the answer is \\boxed{\\frac{3", None, "none"),
    ("所以答案：18", "18", "answer_marker"),  # the full-width colon Chinese replies use
    ("答案是：$x=3$。", "3", "answer_marker"),
])
def test_extract_math_rules(text, answer, rule):
    assert extract_math(text) == Extraction(answer, rule)


def test_extract_numeric_rules():
    assert extract_numeric("#### 1,234") == Extraction("1234", "answer_marker")
    assert extract_numeric("The answer is \\boxed{18}.") == Extraction("18", "boxed")
    assert extract_numeric("So, Weng earned $10 for 50 minutes.") == Extraction("10", "money_amount")
    assert extract_numeric("First 12 * 4 = 48, then 48 + 15 =") == Extraction(None, "none")


def test_extract_short_answer_rules():
    assert extract_short_answer("Reasoning.\n\n**ANSWER: Winston Churchill**") == Extraction("Winston Churchill",
                                                                                          "answer_marker")
    assert extract_short_answer("The answer is Canberra.") == Extraction("Canberra", "answer_is")
    assert extract_short_answer("I don't know.").answer is None
    assert extract_short_answer("Final answer: Unknown").answer is None


def test_extract_program_assembles_helpers_and_imports():
    reply = ("Helper:\n```python\nimport math\n\ndef is_prime(n):\n    return n > 1 and all(n % d for d in "
             "range(2, math.isqrt(n) + 1))\n```\nNow:\n```python\ndef count(xs):\n    return sum(map(is_prime, xs))\n```"
             "\nUsage:\n```python\nprint(count([2, 3, 4]))\n```")
    found = extract_program(reply, "count")
    assert found.rule == "assembled"
    ns: dict = {}
    exec(found.answer, ns)  # the assembled program runs on its own
    assert ns["count"]([2, 3, 4, 9, 11]) == 3
    assert "print(" not in found.answer
    assert extract_program("I'm sorry, I can't help.", "count") == Extraction(None, "none")
    assert extract_program("```python\nassert count([2]) == 1\n```", "count").answer is None
