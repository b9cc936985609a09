"""ANLS, relaxed accuracy and answer extraction on hand-made cases, against the reference formulas
written out here."""

import pytest

from evs_vlm.extract import extract_letter, extract_math, extract_option, extract_yes_no
from evs_vlm.metrics import anls, levenshtein, relaxed_correctness, rouge_scores


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("flaw", "lawn", 2)])
def test_levenshtein(a, b, d):
    assert levenshtein(a, b) == d == levenshtein(b, a)


@pytest.mark.parametrize("pred,answers,expected", [
    ("Invoice", ["invoice"], 1.0),                     # case folded
    ("  the   total ", ["The Total"], 1.0),            # whitespace collapsed
    ("decembr", ["december"], 1 - 1 / 8),              # NL = 1/8
    ("1990", ["1980", "1990s"], 0.8),                  # best of the answers: 1 - 1/5 beats 1 - 1/4
    ("199", ["1990s"], 0.6),                           # 2 edits / 5 -> 0.6, above the threshold
    ("19", ["1990s"], 0.0),                            # 3 / 5 -> 0.4 < 0.5 -> 0
    ("abcd", ["abef"], 0.5),                           # exactly the threshold is kept
    ("x", [], 0.0),
    ("yes", '["yes", "y"]', 1.0),                      # a JSON list string, as EvalScope stores it
])
def test_anls(pred, answers, expected):
    assert anls(pred, answers) == pytest.approx(expected)


@pytest.mark.parametrize("pred,target,ok", [
    ("10.4", "10", True), ("10.6", "10", False), ("9.5", "10", True),  # 5% of the gold value
    ("45%", "0.45", True), ("0.47", "45%", True), ("50%", "45%", False),
    ("Yes", "yes", True), ("No", "yes", False),
    ("0", "0", True), ("0.01", "0", False),  # a zero gold value needs an exact match
    ("1,000", "1000", False),  # the reference parses with float(): thousands separators are not numbers
])
def test_relaxed_correctness(pred, target, ok):
    assert relaxed_correctness(pred, target) is ok


def test_rouge_l():
    r = rouge_scores("the cat sat on the mat", "the cat on the mat")
    assert r["rouge-l-r"] == 1.0 and r["rouge-l-p"] == pytest.approx(5 / 6)
    assert rouge_scores("红色方块", "红色")["rouge-l-r"] == 1.0  # CJK per character


@pytest.mark.parametrize("text,letter,rule", [
    ("Thinking about B... ANSWER: C", "C", "answer_marker"),
    ("ANSWER: A\nwait, ANSWER: (D)", "D", "answer_marker"),
    ("The answer is B.", "B", "answer_is"),
    ("C", "C", "bare_letter"),
    ("(B)", "B", "bare_letter"),
    ("I think it is red.\nB) green", "B", "leading_letter"),
    ("ANSWER: E", None, "none"),  # not an option
    ("A or B, hard to say", None, "none"),
])
def test_extract_letter(text, letter, rule):
    assert extract_letter(text, 4) == (letter, rule)


def test_extract_option_text_and_math():
    assert extract_option("ANSWER: blue", ["red", "green", "blue"]) == ("C", "option_text")
    assert extract_math("so \\boxed{\\frac{1}{2}} is it") == ("\\frac{1}{2}", "boxed")
    assert extract_math("x = 3 then 4") == ("4", "last_number")
    assert extract_yes_no("No, there is no dog. Yes?") == ("NO", "yes_no_word")
    assert extract_yes_no("I know it") == (None, "none")  # 'no' inside a word is not an answer
