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
