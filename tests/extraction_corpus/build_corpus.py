"""Writes the generated part of the extraction corpus (``generated_*.jsonl`` next to this file).

Each line is one model reply and the answer a careful human grader reads in it (``null``: the
reply gives no answer). The replies are written in the styles of several model families: terse,
verbose step-by-step, markdown-heavy, Chinese, with ``<think>`` blocks, self-corrections,
restated option texts, text-only answers, helper code blocks. A style is a template whose label
is fixed when the template is written: it says which option, number or text the reply commits
to, never what an extractor returns. Hand-written lines go in the other ``*.jsonl`` files; both
kinds are read by ``tests/test_extraction_corpus.py``.

Run: ``python tests/extraction_corpus/build_corpus.py`` (deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
L = "ABCDEFGHIJ"

# -- multiple choice, English ----------------------------------------------------------------------
EN_QUESTIONS = [
    ("mmlu", "Which organelle produces most of the cell's ATP?",
     ["Ribosome", "Mitochondrion", "Nucleus", "Golgi apparatus"]),
    ("mmlu", "What is the derivative of sin(x)?", ["cos(x)", "-cos(x)", "sin(x)", "-sin(x)"]),
    ("gpqa_diamond", "Which particle mediates the electromagnetic force?",
     ["Gluon", "W boson", "Photon", "Graviton"]),
    ("arc", "Which of these is a renewable energy source?", ["Coal", "Natural gas", "Petroleum", "Wind"]),
    ("arc", "What happens to water when it freezes?",
     ["It contracts", "It expands", "Its mass increases", "It becomes a gas"]),
    ("race", "According to the passage, why did Tom go to the market?",
     ["To buy fruit", "To meet his friend", "To sell his bike", "To find his dog"]),
    ("hellaswag", "A man is seen holding a violin. He",
     ["begins playing a song on the violin.", "throws the violin into a lake.",
      "eats the violin slowly.", "paints the wall with the bow."]),
    ("general_mcq", "Which planet is known as the Red Planet?", ["Venus", "Jupiter", "Mars", "Saturn"]),
    ("winogrande", "The trophy doesn't fit into the brown suitcase because the _ is too large.",
     ["trophy", "suitcase"]),
    ("mmlu_pro", "What is the time complexity of binary search on a sorted array?",
     ["O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(2^n)", "O(n!)", "O(sqrt n)", "O(n^3)",
      "O(log log n)"]),
    ("truthful_qa", "What happens if you crack your knuckles a lot?",
     ["You will get arthritis.", "Nothing in particular happens.", "Your fingers will become weak.",
      "Your joints will swell permanently."]),
    ("gpqa_diamond", "What is the hybridization of the central carbon in CO2?", ["sp", "sp2", "sp3", "dsp2"]),
]


def en_styles(q: str, ch: list[str], a: int, b: int, c: int) -> list[tuple[str, str, int | None]]:
    """(style, reply, index of the option the reply commits to or None)."""
    A, B, C = L[a], L[b], L[c]
    ta, tb = ch[a], ch[b]
    n = len(ch)
    other_letters = ", ".join(L[i] for i in range(n) if i != a)
    return [
        ("terse", f"ANSWER: {A}", a),
        ("terse_letter", f"{A}", a),
        ("terse_paren", f"({A})", a),
        ("verbose_mentions_others",
         f"Let's think step by step.\n\nOption {B} looks tempting at first, but it ignores a key detail. "
         f"Option {C} is a common misconception. Considering {ta.rstrip('.')}, everything fits.\n\nANSWER: {A}", a),
        ("correct_option_is_with_text",
         f"Let me analyse each option.\n{B}) {tb} - this does not match the question.\n{C}) {ch[c]} - also unlikely.\n\n"
         f"The correct option is {A}, {ta}", a),
        ("markdown_bold_answer",
         f"## Analysis\n\n- **{B}** is wrong: it contradicts the definition.\n- **{C}** is wrong as well.\n\n"
         f"**Answer: {A}) {ta}**", a),
        ("i_choose", f"I can eliminate {B} and {C} right away. Between the remaining options, I choose {A}.", a),
        ("answer_is_paren_text",
         f"First, {B} is too narrow, and {C} confuses cause and effect.\nThe answer is ({A}) {ta}", a),
        ("text_only", f"{ta}", a),
        ("text_after_reasoning",
         f"Thinking about it, the other options do not fit the facts.\n\nSo the answer is {ta}", a),
        ("boxed", f"Reasoning briefly: {B} and {C} fail.\n\n$\\boxed{{{A}}}$", a),
        ("boxed_text", f"Final: $\\boxed{{\\text{{{A}}}}}$", a),
        ("think_block_other_letter",
         f"<think>Hmm, maybe the answer is {B}. Wait, no, that is wrong; {C}? No.</think>\nANSWER: {A}", a),
        ("final_answer_heading",
         f"### Step-by-step\n1. Recall the definition.\n2. Compare with options {B} and {C}.\n\n### Final Answer\n\n**{A}**", a),
        ("letter_paren_text_last_line", f"Checking each choice against the question.\n\n{A}) {ta}", a),
        ("self_correction",
         f"The answer is {B}. Wait, let me double-check that. Actually, {tb.rstrip('.')} does not fit, so the answer is {A}.", a),
        ("is_the_correct_answer", f"Option {A} is the correct answer because it matches the definition exactly.", a),
        ("answer_then_explanation",
         f"The answer is {A}.\n\nExplanation: option {B} is wrong because it reverses the relation, and option {C} "
         f"is wrong because it is not supported.", a),
        ("my_final_answer", f"Weighing everything, my final answer is {A}.", a),
        ("best_choice", f"{B} is partly true but incomplete. So the best choice is {A}.", a),
        ("correct_among_incorrect",
         f"{B} is incorrect. {C} is incorrect. {A} is correct.", a),
        ("answer_colon_newline", f"After reviewing the options:\n\nAnswer:\n{A}", a),
        # hard negatives: a careful grader reads no answer here
        ("neg_two_letters", f"The answer is either {A} or {B}; I cannot decide between them.", None),
        ("neg_hedge_two", f"I'm not sure. It could be {A}, but {B} is also possible.", None),
        ("neg_refusal", "I cannot answer this question without more information.", None),
        ("neg_truncated",
         f"Let's analyse each option carefully.\n{B}) {tb} - this seems unlikely because", None),
        ("neg_question_only", f"Is the answer {A}? Let me look at the options again and", None),
        ("neg_conflicting_text", f"ANSWER: {A}) {tb}", None),
        ("neg_invalid_letter", "ANSWER: " + (L + "K")[n], None),
        ("neg_think_only", f"<think>The answer is {A}, since the others ({other_letters}) fail.</think>", None),
        ("neg_unclosed_think", f"<think>Let me consider {A} first. It seems right, but", None),
        ("neg_both_texts", f"Both {ta.rstrip('.')} and {tb.rstrip('.')} seem plausible here.", None),
    ]


# -- multiple choice, Chinese ----------------------------------------------------------------------
ZH_QUESTIONS = [
    ("ceval", "细胞中产生能量的主要场所是", ["核糖体", "线粒体", "细胞核", "高尔基体"]),
    ("ceval", "下列属于可再生能源的是", ["煤炭", "石油", "风能", "天然气"]),
    ("cmmlu", "中国的首都是", ["上海", "广州", "深圳", "北京"]),
    ("cmmlu", "水在标准大气压下的沸点是", ["50摄氏度", "100摄氏度", "150摄氏度", "200摄氏度"]),
    ("ceval", "《红楼梦》的作者是", ["罗贯中", "施耐庵", "曹雪芹", "吴承恩"]),
]


def zh_styles(q: str, ch: list[str], a: int, b: int, c: int) -> list[tuple[str, str, int | None]]:
    A, B, C = L[a], L[b], L[c]
    ta, tb = ch[a], ch[b]
    return [
        ("zh_terse", f"答案：{A}", a),
        ("zh_reasoning_gu_xuan", f"分析：{B}项错误，{C}项与题意不符。{A}项符合题意。故选{A}。", a),
        ("zh_correct_option_text", f"逐项分析：\n{B}. {tb}，不正确。\n{C}. {ch[c]}，不正确。\n\n正确选项为{A}：{ta}", a),
        ("zh_suoyi_xuan", f"根据所学知识，{B}和{C}都不对，所以选{A}", a),
        ("zh_benti_xuan", f"解析：本题考查基础知识。{B}说法错误。因此，本题选{A}。", a),
        ("zh_think", f"<think>嗯，答案可能是{B}……不对，再想想。</think>\n答案：{A}", a),
        ("zh_answer_is_text", f"经过分析，正确答案是：{ta}", a),
        ("zh_text_only", f"{ta}", a),
        ("zh_is_correct_answer", f"我认为{A}是正确答案。", a),
        ("zh_ying_xuan", f"{B}项错误，{C}项错误。综上所述，应选{A}项。", a),
        ("zh_letter_only", f"{A}", a),
        ("zh_answer_should", f"答案应该是{A}", a),
        ("zh_markdown", f"**解析**：{B}、{C}均不符合题意。\n\n**答案：{A}**", a),
        ("zh_mixed_english", f"The answer is {A}（{ta}）", a),
        ("zh_xuanxiang_paren", f"综合来看，正确的选项是（{A}）。", a),
        ("zh_neg_two", f"{A}和{B}都有可能，无法确定。", None),
        ("zh_neg_not_choose", f"不选{B}，也不选{C}，还需要进一步", None),
        ("zh_neg_refuse", "这道题我不确定，无法给出答案。", None),
        ("zh_neg_conflict", f"答案：{A}. {tb}", None),
    ]


def mcq_lines() -> list[dict]:
    out = []
    for qi, (bench, q, ch) in enumerate(EN_QUESTIONS):
        n = len(ch)
        for style, reply, pick in en_styles(q, ch, (qi + 1) % n, (qi + 2) % n, (qi + 3) % n):
            out.append({"id": f"en-{qi}-{style}", "family": "mcq", "benchmark": bench, "style": style, "lang": "en",
                        "question": q, "choices": ch, "reply": reply, "answer": None if pick is None else L[pick]})
    for qi, (bench, q, ch) in enumerate(ZH_QUESTIONS):
        for style, reply, pick in zh_styles(q, ch, (qi + 2) % 4, (qi + 3) % 4, qi % 4):
            out.append({"id": f"zh-{qi}-{style}", "family": "mcq", "benchmark": bench, "style": style, "lang": "zh",
                        "question": q, "choices": ch, "reply": reply, "answer": None if pick is None else L[pick]})
    return out


# -- numbers (GSM8K) -------------------------------------------------------------------------------
def number_lines() -> list[dict]:
    rows = [
        ("boxed", "She has 3 + 4 = 7 apples, then buys 11 more, so 7 + 11 = 18.\nThe answer is \\boxed{18}.", "18"),
        ("hashes", "Total cost: 12 * 3 = 36 dollars.\n#### 36", "36"),
        ("answer_is", "He runs 5 miles a day for 6 days: 5 * 6 = 30. The answer is 30.", "30"),
        ("thousands", "Revenue is 1,200 * 2 = 2,400 dollars.\nFinal answer: $2,400", "2400"),
        ("decimal_zero", "Each share is 54 / 3 = 18.00 dollars.\nAnswer: 18.00", "18"),
        ("last_line_sentence", "First, 20 - 8 = 12 cookies remain.\nThen she gives away 4, so she has 8 cookies left.", "8"),
        ("markdown", "**Step 1:** 4 boxes × 6 pens = 24 pens.\n**Step 2:** 24 − 9 = 15.\n\n**Final Answer:** 15 pens", "15"),
        ("chinese", "每天读 15 页，7 天共读 15 × 7 = 105 页。\n答案是 105", "105"),
        ("think", "<think>Maybe 40? No: 8 * 6 = 48.</think>\nShe needs 48 eggs.\n\nThe answer is \\boxed{48}", "48"),
        ("boxed_in_dollars", "The total is $\\boxed{\\$1,050}$.", "1050"),
        ("negative", "The temperature dropped from 5 to -7, a change of -12 degrees.\nAnswer: -12", "-12"),
        ("fraction_boxed", "Half of three halves: \\boxed{\\frac{3}{4}}", "0.75"),
        ("self_correction", "I first got 56, but I double counted.\nThe correct total is 7 * 7 = 49.\n#### 49", "49"),
        ("final_answer_newline", "Adding the two groups, 13 + 29 = 42.\n\nFinal answer:\n42", "42"),
        ("units_after", "So the train travels 150 km in total.", "150"),
        ("hope_this_helps", "The farmer ends up with 64 sheep.\n\nI hope this helps!", "64"),
        ("percent", "The discount is 25% of 80, i.e. 20, so the price is 60.\nANSWER: 60", "60"),
        ("terse", "72", "72"),
        ("zh_final", "所以小明一共有 27 个苹果。\n最终答案：27", "27"),
        ("answer_bold_number", "**Answer: 1,000,000**", "1000000"),
        ("neg_refusal", "I cannot determine this from the information given.", None),
        ("neg_truncated", "First, 12 * 4 = 48. Then we add the 15 extra ones: 48 + 15 =", None),
        ("neg_think_only", "<think>3 + 4 = 7, so 7 apples.</think>", None),
        ("neg_unclosed_think", "<think>Let me count: 4 groups of 5 is 20, then", None),
        ("neg_not_enough", "There are 3 unknowns but only 2 equations, so there is not enough information to answer.", None),
        ("neg_empty", "", None),
    ]
    return [{"id": f"num-{s}", "family": "number", "benchmark": "gsm8k", "style": s, "reply": r, "answer": a}
            for s, r, a in rows]


# -- math expressions ------------------------------------------------------------------------------
def math_lines() -> list[dict]:
    rows = [
        ("math_500", "boxed_frac", "We get $x = \\frac{14}{3}$, so the answer is $\\boxed{\\dfrac{14}{3}}$.", "\\frac{14}{3}"),
        ("math_500", "boxed_degree", "The interior angle is $180 - 150 = 30$ degrees.\n\n$\\boxed{30^\\circ}$", "30"),
        ("math_500", "boxed_degree_braces", "Therefore the angle measures $\\boxed{45^{\\circ}}$.", "45"),
        ("math_500", "boxed_degree_sign", "So $\\angle ABC = \\boxed{120°}$.", "120"),
        ("math_500", "answer_plain_fraction", "Simplifying, the probability is 3 out of 4.\nAnswer: 3/4", "\\frac{3}{4}"),
        ("math_500", "answer_plain_x_equals", "Solving the linear equation gives a single root.\nAnswer: x = 5", "5"),
        ("math_500", "answer_plain_sqrt", "Final answer: 2*sqrt(3)", "2\\sqrt{3}"),
        ("math_500", "answer_latex", "The final answer is $\\frac{\\sqrt{3}}{2}$.", "\\frac{\\sqrt{3}}{2}"),
        ("math_500", "last_dollar", "Combining the two regions, the area is $12\\pi$.", "12\\pi"),
        ("math_500", "interval", "The solution set is \\boxed{(-\\infty, 2]}", "(-\\infty, 2]"),
        ("math_500", "tuple", "So the point is $\\boxed{(3, \\frac{\\pi}{2})}$", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("math_500", "last_boxed_wins", "I first thought \\boxed{205}, but I made an error. The final answer is \\boxed{204}.", "204"),
        ("math_500", "think", "<think>maybe \\boxed{7}?</think>\nAfter checking: $\\boxed{9}$", "9"),
        ("math_500", "chinese", "因此所求的值为 $\\frac{1}{2}$。\n答案：$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("math_500", "answer_bold", "**Answer:** $\\dfrac{5}{8}$", "\\frac{5}{8}"),
        ("math_500", "text_degrees", "Answer: 60 degrees", "60"),
        ("math_500", "markdown_final", "## Solution\n\nThe roots sum to $-b/a = 7$.\n\n**Final Answer:** $7$", "7"),
        ("math_500", "boxed_text_unit", "The length is \\boxed{5\\text{ cm}}.", "5"),
        ("math_500", "answer_is_plain", "Therefore, the answer is 1/2.", "\\frac{1}{2}"),
        ("aime24", "aime_boxed", "Summing the cases gives 204 + 12 = 216. Hence the answer is $\\boxed{216}$.", "216"),
        ("aime24", "aime_answer_plain", "So m + n = 113.\n\nAnswer: 113", "113"),
        ("aime24", "aime_leading_zeros", "The remainder is 33.\n\nFinal answer: \\boxed{033}", "33"),
        ("aime24", "aime_hashes_not_math", "Computing, we find $N = 540$.\n\nThe answer is $\\boxed{540}$.", "540"),
        ("math_500", "neg_truncated", "Let $x = 3$. Then we compute $x^2 + 2x =", None),
        ("math_500", "neg_refusal", "I'm unable to solve this problem.", None),
        ("math_500", "neg_think_only", "<think>\\boxed{12}</think>", None),
        ("math_500", "neg_unclosed_boxed", "So the answer is \\boxed{\\frac{3", None),
        ("math_500", "neg_reasoning_no_answer", "We set $a = 2$ and try to bound $b$, but this approach does not lead anywhere, "
         "and I am not sure how to finish.", None),
        ("aime24", "neg_aime_truncated", "Consider the 12 cases. Case 1: $n = 4$, giving", None),
    ]
    return [{"id": f"math-{s}", "family": "math", "benchmark": b, "style": s, "reply": r, "answer": a}
            for b, s, r, a in rows]


# -- short text answers ----------------------------------------------------------------------------
def short_lines() -> list[dict]:
    rows = [
        ("trivia_qa", "marker", "The Battle of Hastings was fought in 1066.\n\nANSWER: 1066", "1066"),
        ("trivia_qa", "marker_bold", "Reading the passage, the leader in 1940 was Churchill.\n\n**ANSWER: Winston Churchill**",
         "Winston Churchill"),
        ("trivia_qa", "marker_markdown_colon", "**Answer:** Paris.", "Paris"),
        ("trivia_qa", "answer_is", "The capital of Australia is often confused with Sydney. The answer is Canberra.", "Canberra"),
        ("trivia_qa", "terse", "Mount Everest", "Mount Everest"),
        ("trivia_qa", "last_line", "Let me recall the periodic table.\nGold has the symbol Au.\n\nAu", "Au"),
        ("trivia_qa", "think", "<think>Is it Lisbon? No, Madrid.</think>\nANSWER: Madrid", "Madrid"),
        ("trivia_qa", "marker_newline", "I considered several painters.\n\nFinal answer:\nLeonardo da Vinci", "Leonardo da Vinci"),
        ("trivia_qa", "chinese", "这个问题的答案很简单。\n答案：长城", "长城"),
        ("trivia_qa", "quoted", "ANSWER: \"The Great Gatsby\"", "The Great Gatsby"),
        ("trivia_qa", "self_correction", "ANSWER: Neptune\nWait, that is the eighth planet. The question asks for the "
         "largest.\nANSWER: Jupiter", "Jupiter"),
        ("drop", "drop_number", "The first touchdown was 12 yards and the second was 5 yards, so 12 - 5 = 7.\nAnswer: 7", "7"),
        ("drop", "drop_span", "Looking at the passage, the kicker was Rob Bironas.\nAnswer: Rob Bironas", "Rob Bironas"),
        ("drop", "drop_bold", "Counting the field goals in the second half: 2.\n\n**Answer: 2**", "2"),
        ("drop", "drop_answer_is", "The Ottomans lost more soldiers. The answer is Ottomans.", "Ottomans"),
        ("drop", "drop_think", "<think>Answer: 3? Recount: 4.</think>Answer: 4", "4"),
        ("trivia_qa", "neg_dont_know", "I don't know.", None),
        ("trivia_qa", "neg_marker_dont_know", "I searched my memory but could not recall it.\nANSWER: I don't know", None),
        ("trivia_qa", "neg_long_no_marker", "This question concerns a historical figure whose identity has been debated "
         "by scholars for many years, and the evidence in the passage points in several directions at once without "
         "settling the matter.", None),
        ("trivia_qa", "neg_think_only", "<think>ANSWER: Rome</think>", None),
        ("drop", "neg_truncated", "First, count the touchdowns in the first quarter: there were two, and then the", None),
        ("drop", "neg_empty", "", None),
    ]
    return [{"id": f"short-{s}", "family": "short", "benchmark": b, "style": s, "reply": r, "answer": a}
            for b, s, r, a in rows]


# -- code ------------------------------------------------------------------------------------------
HE_PROMPT = ('def sum_of_primes(xs: list) -> int:\n    """Return the sum of the prime numbers in xs.\n'
             '    >>> sum_of_primes([1, 2, 3, 4, 5])\n    10\n    """\n')
HE_TEST = "assert sum_of_primes([1, 2, 3, 4, 5]) == 10\nassert sum_of_primes([]) == 0\nassert sum_of_primes([9, 11]) == 11\n"
HELPER = "def is_prime(n):\n    if n < 2:\n        return False\n    return all(n % d for d in range(2, int(n ** 0.5) + 1))\n"
MAIN = "def sum_of_primes(xs):\n    return sum(x for x in xs if is_prime(x))\n"
SELF = ("def sum_of_primes(xs):\n    total = 0\n    for x in xs:\n        if x >= 2 and all(x % d for d in range(2, x)):\n"
        "            total += x\n    return total\n")
BUGGY = "def sum_of_primes(xs):\n    return sum(x for x in xs if x % 2)\n"
MATH_HELPER = "import math\n\ndef is_prime(n):\n    if n < 2:\n        return False\n    return all(n % d for d in range(2, math.isqrt(n) + 1))\n"

LCB_TEST_STDIO = {"stdin": "3\n1 2 3\n", "stdout": "6\n"}


def code_lines() -> list[dict]:
    f = "```python\n{}```"
    he = [
        ("single_block", "Here is the implementation:\n\n" + f.format(SELF), True),
        ("helper_then_function", "First, a helper that tests primality:\n\n" + f.format(HELPER) +
         "\n\nNow the function itself:\n\n" + f.format(MAIN), True),
        ("helper_with_import_then_function", "We need a primality test:\n" + f.format(MATH_HELPER) +
         "\nThen:\n" + f.format(MAIN), True),
        ("function_then_helper", "The main function:\n" + f.format(MAIN) + "\nIt relies on this helper:\n" + f.format(HELPER), True),
        ("function_then_usage", f.format(SELF) + "\nExample usage:\n" + f.format("print(sum_of_primes([2, 3, 4]))\n"), True),
        ("buggy_then_fixed", "A first attempt:\n" + f.format(BUGGY) + "\nThis counts odd numbers, not primes. Fixed:\n" +
         f.format(SELF), True),
        ("think_then_code", "<think>I could write " + BUGGY.replace("\n", " ") + " but that is wrong.</think>\n" + f.format(SELF), True),
        ("body_only", "```python\n    total = 0\n    for x in xs:\n        if x > 1 and all(x % d for d in range(2, x)):\n"
         "            total += x\n    return total\n```", True),
        ("unfenced_function", "Sure! Here it is:\n" + SELF, True),
        ("wrong_solution", "Here you go:\n" + f.format(BUGGY), False),
        ("unterminated_fence", "```python\n" + SELF, True),
        ("py_tag_no_lang", "```\n" + SELF + "```", True),
        ("neg_no_code", "I'm sorry, I can't help with writing this function.", None),
        ("neg_think_only", "<think>" + f.format(SELF) + "</think>", None),
    ]
    out = [{"id": f"code-he-{s}", "family": "code", "benchmark": "humaneval", "style": s, "entry_point": "sum_of_primes",
            "prompt": HE_PROMPT, "test": HE_TEST, "reply": r, "answer": a} for s, r, a in he]
    solve_helper = "def parse(line):\n    return [int(x) for x in line.split()]\n"
    solve_main = "import sys\n\ndata = sys.stdin.read().split('\\n')\nprint(sum(parse(data[1])))\n"
    full = "import sys\n\nn = int(input())\nprint(sum(map(int, input().split())))\n"
    lcb = [
        ("stdio_single", "Read n, then the numbers, and print their sum.\n" + f.format(full), True),
        ("stdio_helper_split", "A parser:\n" + f.format(solve_helper) + "\nThe program:\n" + f.format(solve_main), True),
        ("stdio_plan_then_code", "### Approach\nSum the values.\n\n### Code\n" + f.format(full) +
         "\n### Complexity\n```text\nO(n)\n```", True),
        ("stdio_wrong", f.format("print(0)\n"), False),
        ("neg_stdio_no_code", "The answer is the sum of the numbers, which is easy to compute.", None),
    ]
    out += [{"id": f"code-lcb-{s}", "family": "code", "benchmark": "live_code_bench", "style": s, "entry_point": None,
             "stdin": LCB_TEST_STDIO["stdin"], "stdout": LCB_TEST_STDIO["stdout"], "reply": r, "answer": a}
            for s, r, a in lcb]
    return out


def main() -> None:
    for name, rows in (("mcq", mcq_lines()), ("number", number_lines()), ("math", math_lines()),
                       ("short", short_lines()), ("code", code_lines())):
        path = HERE / f"generated_{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{path.name}: {len(rows)} lines")


if __name__ == "__main__":
    main()
