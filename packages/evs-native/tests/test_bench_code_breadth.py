"""mbpp, mbpp_plus, humaneval_plus, multiple_humaneval, multiple_mbpp: end to end through a fake
server that answers each task with its reference solution or a broken one (decided by a hash of
the task id, so the expected pass@1 is known without evs's extraction), extraction on realistic
replies, and hostile programs in the new languages staying contained."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
from evs_core.errors import ConfigError
from evs_core.stats import pass_at_k
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native import sandbox
from evs_native.benchmarks.code_breadth import (
    MBPP,
    MultipleHumanEval,
    mbpp_code,
    multiple_program,
    names_used,
)
from evs_native.engine import run_task


def right(key: str) -> bool:
    """A reproducible 2-in-3 choice of the tasks the fake model answers right."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 3 != 0


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _run(srv, tmp_path, datasets, **kw):
    cfg = {"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": datasets,
           "dataset_dir": str(tmp_path / "data"), "work_dir": str(tmp_path / "out"), "concurrency": 4,
           "no_progress": True, "retries": 0}
    cfg.update(kw)
    return run_task(cfg)


@pytest.fixture(autouse=True, scope="module")
def _sandbox_here():
    why = sandbox.availability("bwrap")
    if why:
        pytest.skip(f"the code sandbox cannot start here: {why}")


# -- MBPP ------------------------------------------------------------------------------------------
# Rows in the hub schema of google-research-datasets/mbpp (config full): task_id, text, code,
# test_list, test_setup_code, challenge_test_list.
MBPP_ROWS = [
    {"task_id": 11, "text": "Write a python function to remove first and last occurrence of a given character "
     "from the string.",
     "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n        if (s[i] == ch): \r\n"
             "            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    for i in range(len(s) - 1,-1,-1):  \r\n"
             "        if (s[i] == ch): \r\n            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    return s ",
     "test_list": ['assert remove_Occ("hello","l") == "heo"', 'assert remove_Occ("abcda","a") == "bcd"',
                   'assert remove_Occ("PHP","P") == "H"'],
     "test_setup_code": "", "challenge_test_list": []},
    {"task_id": 12, "text": "Write a function to sort a given matrix in ascending order according to the sum of its rows.",
     "code": "def sort_matrix(M):\r\n    result = sorted(M, key=sum)\r\n    return result",
     "test_list": ["assert sort_matrix([[1, 2, 3], [2, 4, 5], [1, 1, 1]])==[[1, 1, 1], [1, 2, 3], [2, 4, 5]]",
                   "assert sort_matrix([[1, 2, 3], [-2, 4, -5], [1, -1, 1]])==[[-2, 4, -5], [1, -1, 1], [1, 2, 3]]",
                   "assert sort_matrix([[5,8,9],[6,4,3],[2,1,4]])==[[2, 1, 4], [6, 4, 3], [5, 8, 9]]"],
     "test_setup_code": "", "challenge_test_list": []},
    # The tests use math without importing it: the program's own import serves them, as in one process.
    {"task_id": 14, "text": "Write a python function to find the volume of a triangular prism.",
     "code": "def find_Volume(l,b,h) : \r\n    return ((l * b * h) / 2) ",
     "test_list": ["assert math.isclose(find_Volume(10,8,6), 240)", "assert find_Volume(3,2,2) == 6",
                   "assert find_Volume(1,2,1) == 1"],
     "test_setup_code": "", "challenge_test_list": []},
    {"task_id": 17, "text": "Write a function to find the perimeter of a square.",
     "code": "def square_perimeter(a):\r\n  perimeter=4*a\r\n  return perimeter",
     "test_list": ["assert square_perimeter(10)==40", "assert square_perimeter(5)==20", "assert square_perimeter(4)==16"],
     "test_setup_code": "", "challenge_test_list": []},
    # A setup line that the tests need (MBPP's test_setup_code).
    {"task_id": 19, "text": "Write a function to find whether a given array of integers contains any duplicate element.",
     "code": "def test_duplicate(arraynums):\r\n    nums_set = set(arraynums)    \r\n"
             "    return len(arraynums) != len(nums_set)     ",
     "test_list": ["assert test_duplicate(([1,2,3,4,5]))==False", "assert test_duplicate(SAMPLE)==True",
                   "assert test_duplicate([1,1,2,2,3,3,4,4,5])==True"],
     "test_setup_code": "SAMPLE = [1,2,3,4, 4]", "challenge_test_list": []},
    # The tests build objects of a class the solution defines: they run in the program's process.
    {"task_id": 601, "text": "Write a function to find the longest chain which can be formed from the given set of "
     "pairs.",
     "code": "class Pair(object): \r\n\tdef __init__(self, a, b): \r\n\t\tself.a = a \r\n\t\tself.b = b \r\n"
             "def max_chain_length(arr, n): \r\n\tmax = 0\r\n\tmcl = [1 for i in range(n)] \r\n"
             "\tfor i in range(1, n): \r\n\t\tfor j in range(0, i): \r\n"
             "\t\t\tif (arr[i].a > arr[j].b and mcl[i] < mcl[j] + 1): \r\n\t\t\t\tmcl[i] = mcl[j] + 1\r\n"
             "\tfor i in range(n): \r\n\t\tif (max < mcl[i]): \r\n\t\t\tmax = mcl[i] \r\n\treturn max",
     "test_list": ["assert max_chain_length([Pair(5, 24), Pair(15, 25),Pair(27, 40), Pair(50, 60)], 4) == 3",
                   "assert max_chain_length([Pair(1, 2), Pair(3, 4),Pair(5, 6), Pair(7, 8)], 4) == 4",
                   "assert max_chain_length([Pair(19, 10), Pair(11, 12),Pair(13, 14), Pair(15, 16), Pair(31, 54)], 5) == 5"],
     "test_setup_code": "", "challenge_test_list": []},
]


def _mbpp_code(row: dict) -> str:
    code = row["code"].replace("\r\n", "\n")
    if row["task_id"] == 14:
        code = "import math\n" + code
    return code


def _mbpp_broken(row: dict) -> str:
    name = row["test_list"][0].split("(")[0].split()[-1]
    broken = f"def {name}(*args):\n    return None\n"
    if row["task_id"] == 601:
        broken = "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n" + broken
    return broken


class CodeResponder:
    """Finds the task a prompt asks (its key found last in the prompt, so few-shot examples do not
    count) and answers with the reference code or a broken one, in varied reply styles."""

    def __init__(self, table: dict[str, tuple], styles, per_call: bool = False):
        self.table = table  # key text -> (task id, right code, wrong code[, fence language])
        self.styles = styles
        self.per_call = per_call
        self.calls: dict[str, int] = {}
        self.outcomes: dict[str, list[bool]] = {}

    def __call__(self, body: dict) -> str:
        prompt = last_user_text(body)
        hits = [(prompt.rfind(k), k) for k in self.table if k in prompt]
        assert hits, "unknown prompt: " + prompt[-300:]
        tid, good, bad, *fence = self.table[max(hits)[1]]
        n = self.calls[tid] = self.calls.get(tid, 0) + 1
        ok = right(f"{tid}#{n}" if self.per_call else tid)
        self.outcomes.setdefault(tid, []).append(ok)
        style = self.styles[(len(self.outcomes) + n) % len(self.styles)]
        return style.format(code=good if ok else bad, other=bad if ok else good, lang=(fence or ["python"])[0])

    def expected(self) -> float:
        return sum(o[0] for o in self.outcomes.values()) / len(self.outcomes)


PY_STYLES = [
    "[BEGIN]\n```python\n{code}\n```\n[DONE]",
    "Here is the function:\n\n```python\n{code}\n```\n\nIt passes the three tests.",
    "<think>A first idea:\n```python\n{other}\n```\nno, better the other way.</think>\n```python\n{code}\n```",
    "```python\n{code}\n\nassert True\n```",
]


def test_mbpp_end_to_end_three_shot_and_exact_pass_rate(tmp_path):
    _write_jsonl(tmp_path / "data" / "mbpp" / "full" / "test.jsonl", MBPP_ROWS)
    table = {r["text"]: (str(r["task_id"]), _mbpp_code(r), _mbpp_broken(r)) for r in MBPP_ROWS}
    resp = CodeResponder(table, PY_STYLES)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mbpp"])["mbpp"]
        prompt = last_user_text(srv.requests[0])
    assert rep.num == len(MBPP_ROWS) and rep.num_errors == 0
    assert 0 < resp.expected() < 1
    assert rep.score == pytest.approx(resp.expected())
    reviews = [json.loads(x) for x in next((tmp_path / "out").rglob("reviews/m/mbpp.jsonl")).read_text().splitlines()]
    assert [r["sample_id"] for r in reviews if r["metadata"].get("in_process")] == ["601"]
    # EvalScope's fixed 3-shot prompt, ending in the task, its tests and [BEGIN]
    assert prompt.startswith("You are an expert Python programmer, and here is your task: Write a function to find "
                             "the similar elements")
    assert prompt.count("[DONE]") == 3 and prompt.endswith("\n[BEGIN]\n")
    assert "\r\n  res = tuple(set(test_tup1) & set(test_tup2))" in prompt


def test_mbpp_pass_at_k_over_repeats(tmp_path):
    _write_jsonl(tmp_path / "data" / "mbpp" / "test.jsonl", MBPP_ROWS)  # without the config folder
    table = {r["text"]: (str(r["task_id"]), _mbpp_code(r), _mbpp_broken(r)) for r in MBPP_ROWS}
    resp = CodeResponder(table, PY_STYLES, per_call=True)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mbpp"], repeats=2, dataset_args={"mbpp": {"few_shot_num": 0}})["mbpp"]
        prompt = last_user_text(srv.requests[0])
    assert "[BEGIN]" not in prompt and prompt.startswith("You are an expert Python programmer")
    outcomes = list(resp.outcomes.values())
    assert all(len(o) == 2 for o in outcomes)
    n = len(outcomes)
    assert rep.metrics["pass@1"].score == pytest.approx(sum(pass_at_k(2, sum(o), 1) for o in outcomes) / n)
    assert rep.metrics["pass@2"].score == pytest.approx(sum(any(o) for o in outcomes) / n)


def test_evalscope_review_timeout_sets_the_timeout():
    from evs_native.benchmarks.code_breadth import HumanEvalPlus

    assert MBPP({"review_timeout": 7}).args["timeout"] == 7
    assert HumanEvalPlus({"review_timeout": 9}).args["timeout"] == 9


def test_mbpp_bad_arguments_stop_before_any_request(tmp_path):
    with pytest.raises(ConfigError, match="few_shot_num must be 0 or 3"):
        MBPP({"few_shot_num": 2})
    with pytest.raises(ConfigError, match="timeout must be a positive number"):
        MBPP({"timeout": "fast"})


def test_mbpp_extraction_on_realistic_replies():
    code = "def f(x):\n    return x + 1"
    assert mbpp_code(f"[BEGIN]\n{code}\n[DONE]\nExplanation follows.").answer.strip() == code
    assert mbpp_code(f"Sure!\n```python\n{code}\n```\nand\n```python\nprint(f(1))\n```").answer == code
    # tests the model repeats after its function are cut, as EvalScope's stop words do
    assert mbpp_code(f"```python\n{code}\nassert f(1) == 2\n```").answer == code
    assert mbpp_code(f"```python\n{code}\n\nif __name__ == \"__main__\":\n    print(f(2))\n```").answer.strip() == code
    # no fence: the definitions found in the prose (EvalScope's heuristic)
    assert "def f(x):" in mbpp_code(f"The function is\n{code}\nwhich adds one.").answer
    # EvalScope's heuristic keeps the first definition of unfenced code: a second one is lost
    two = "class Pair:\n    pass\ndef g(p):\n    return p"
    assert mbpp_code(f"[BEGIN]\n{two}\n[DONE]").answer == "class Pair:\n    pass\n"
    assert mbpp_code(f"[BEGIN]\n```python\n{two}\n```\n[DONE]").answer == two
    # an unterminated fence (out of tokens)
    assert mbpp_code(f"```python\n{code}\n").answer.startswith("def f(x):")
    # reasoning names other code; only the answer counts
    assert mbpp_code(f"<think>```python\ndef f(x):\n    return 0\n```</think>\n```python\n{code}\n```").answer == code
    assert mbpp_code("I cannot solve this.").answer is None
    assert mbpp_code("I cannot solve this.").rule == "none"
    assert names_used("assert math.isclose(f(2), 3)\nassert len(g([1])) == 1") == ["math", "f", "g"]


# -- MBPP+ -------------------------------------------------------------------------------------------
PLUS_HELPERS = '''import numpy as np
from math import inf

def is_floats(x) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    if isinstance(x, np.ndarray):
        return x.dtype == np.float64 or x.dtype == np.float32
    return False


def assertion(out, exp, atol):
    exact_match = out == exp
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        assert np.allclose(out, exp, rtol=1e-07, atol=atol)
    else:
        assert exact_match
'''


def _plus_test(entry: str, inputs: list, results: list) -> str:
    return (PLUS_HELPERS + f"\n\ninputs = {inputs!r}\nresults = {results!r}\n"
            "for i, (inp, exp) in enumerate(zip(inputs, results)):\n"
            f"    assertion({entry}(*inp), exp, 0)\n")


# Hub schema of evalplus/mbppplus: task_id, code, prompt, source_file, test_imports, test_list, test.
MBPPPLUS_ROWS = [
    {"task_id": 2, "code": "def similar_elements(test_tup1, test_tup2):\n  return tuple(set(test_tup1) & set(test_tup2))",
     "prompt": "Write a function to find the shared elements from the given two lists.",
     "source_file": "Benchmark Questions Verification V2.ipynb", "test_imports": [],
     "test_list": ["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))"],
     "test": _plus_test("similar_elements", [[(3, 4, 5, 6), (5, 7, 4, 10)], [(1, 2, 3, 4), (5, 4, 3, 7)]],
                        [(4, 5), (3, 4)])},
    {"task_id": 4, "code": "import heapq as hq\ndef heap_queue_largest(nums: list,n: int) -> list:\n"
                           "  largest_nums = hq.nlargest(n, nums)\n  return largest_nums",
     "prompt": "Write a function to find the n largest integers from a given list of numbers, returned in "
               "descending order.",
     "source_file": "Benchmark Questions Verification V2.ipynb", "test_imports": [],
     "test_list": ["assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65]"],
     "test": _plus_test("heap_queue_largest", [[[25, 35, 22, 85, 14, 65, 75, 22, 58], 3], [[1, 2, 3], 2], [[9], 1]],
                        [[85, 75, 65], [3, 2], [9]])},
    {"task_id": 14, "code": "def find_Volume(l,b,h) : \n  return ((l * b * h) / 2)",
     "prompt": "Write a python function to find the volume of a triangular prism.",
     "source_file": "Benchmark Questions Verification V2.ipynb", "test_imports": [],
     "test_list": ["assert find_Volume(10,8,6) == 240"],
     "test": _plus_test("find_Volume", [[10, 8, 6], [1.5, 2.5, 3.0], [0.1, 0.2, 0.3]], [240.0, 5.625, 0.003])},
    {"task_id": 17, "code": "def square_perimeter(a):\n  return 4*a",
     "prompt": "Write a function that returns the perimeter of a square given its side length as input.",
     "source_file": "Benchmark Questions Verification V2.ipynb", "test_imports": ["import math"],
     "test_list": ["assert square_perimeter(10)==40"],
     "test": _plus_test("square_perimeter", [[10], [5], [3.5]], [40, 20, 14.0])},
]


def _plus_broken_but_passes_base(row: dict) -> str:
    """Right on the base asserts, wrong on some plus input: only the plus tests catch it."""
    entry = row["test_list"][0].split("(")[0].split()[-1]
    if entry == "square_perimeter":
        return "def square_perimeter(a):\n  return 4*int(a)"
    if entry == "heap_queue_largest":
        return "def heap_queue_largest(nums, n):\n  return sorted(nums, reverse=True)[:n] if len(nums) > 3 else nums[:n]"
    if entry == "find_Volume":
        return "def find_Volume(l,b,h):\n  return (l * b * h) // 2"
    return "def similar_elements(a, b):\n  return (4, 5)"


def test_mbpp_plus_runs_the_plus_tests_and_base_reproduces_evalscope(tmp_path):
    _write_jsonl(tmp_path / "data" / "mbpp_plus" / "test.jsonl", MBPPPLUS_ROWS)
    table = {r["prompt"]: (str(r["task_id"]), r["code"], _plus_broken_but_passes_base(r)) for r in MBPPPLUS_ROWS}
    resp = CodeResponder(table, PY_STYLES)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["mbpp_plus"])["mbpp_plus"]
        prompt = last_user_text(srv.requests[0])
    assert rep.num == 4 and rep.num_errors == 0
    assert 0 < resp.expected() < 1 and rep.score == pytest.approx(resp.expected())
    assert prompt.startswith("You are an expert Python programmer, and here is your task: Write a function")
    assert "Your code should pass these tests:\n\nassert " in prompt
    # tests=base (EvalScope's adapter appends only test_list): the broken answers pass there
    with FakeOpenAIServer(CodeResponder(table, PY_STYLES)) as srv:
        base = _run(srv, tmp_path, ["mbpp_plus"], work_dir=str(tmp_path / "out2"),
                    dataset_args={"mbpp_plus": {"tests": "base"}})["mbpp_plus"]
    assert base.score == 1.0
    with pytest.raises(ConfigError, match="tests must be 'plus' or 'base'"):
        from evs_native.benchmarks.code_breadth import MBPPPlus

        MBPPPlus({"tests": "all"})


def test_asserts_mode_values_cross_as_plain_data_only():
    """An object whose __eq__ always says yes stays in the candidate; the checker sees no plain value."""
    liar = "class Yes:\n    def __eq__(self, other):\n        return True\n\ndef f(x):\n    return Yes()\n"
    r = sandbox.run(liar, mode="asserts", tests={"prompt": "", "test": "assert f(1) == 2", "names": ["f"]},
                    limits=sandbox.Limits(timeout=10))
    assert not r.passed and "not plain data" in (r.error or "")
    # a program cannot make the tests run in its own process by defining a class under a tested name
    r = sandbox.run("class f:\n    def __init__(self, x):\n        pass\n    def __eq__(self, o):\n        return True\n",
                    mode="asserts", tests={"prompt": "", "test": "assert f(1) == 2", "names": ["f"]},
                    limits=sandbox.Limits(timeout=10))
    assert not r.passed and not r.details.get("in_process")
    # a program that rebinds a builtin cannot change the checker's
    cheat = "import builtins\nbuiltins.AssertionError = None\ndef f(x):\n    return 0\n"
    r = sandbox.run(cheat, mode="asserts", tests={"prompt": "", "test": "assert f(1) == 2", "names": ["f"]},
                    limits=sandbox.Limits(timeout=10))
    assert not r.passed and "AssertionError" in (r.error or "")


# -- HumanEval+ ------------------------------------------------------------------------------------
def _he_plus_test(inputs: list, results: list) -> str:
    return (PLUS_HELPERS + f"\n\ndef check(candidate):\n    inputs = {inputs!r}\n    results = {results!r}\n"
            "    for i, (inp, exp) in enumerate(zip(inputs, results)):\n        assertion(candidate(*inp), exp, 0)\n")


# Hub schema of evalplus/humanevalplus: task_id, prompt, canonical_solution, entry_point, test.
HE_PLUS_ROWS = [
    {"task_id": "HumanEval/2", "entry_point": "truncate_number",
     "prompt": "\n\ndef truncate_number(number: float) -> float:\n    \"\"\" Given a positive floating point number, "
               "return its decimal part.\n    >>> truncate_number(3.5)\n    0.5\n    \"\"\"\n",
     "canonical_solution": "\n    return number % 1.0\n",
     "test": _he_plus_test([[3.5], [1.25], [123.456]], [0.5, 0.25, 0.456])},
    {"task_id": "HumanEval/23", "entry_point": "strlen",
     "prompt": "\n\ndef strlen(string: str) -> int:\n    \"\"\" Return length of given string\n    >>> strlen('abc')\n"
               "    3\n    \"\"\"\n",
     "canonical_solution": "    return len(string)\n",
     "test": _he_plus_test([[""], ["x"], ["asdasnakj"]], [0, 1, 9])},
    {"task_id": "HumanEval/53", "entry_point": "add",
     "prompt": "\n\ndef add(x: int, y: int):\n    \"\"\"Add two numbers x and y\n    >>> add(2, 3)\n    5\n    \"\"\"\n",
     "canonical_solution": "    return x + y\n",
     "test": _he_plus_test([[0, 1], [1, 0], [2, 3], [-7, 7]], [1, 1, 5, 0])},
    {"task_id": "HumanEval/45", "entry_point": "triangle_area",
     "prompt": "\n\ndef triangle_area(a, h):\n    \"\"\"Given length of a side and high return area for a triangle.\n"
               "    >>> triangle_area(5, 3)\n    7.5\n    \"\"\"\n",
     "canonical_solution": "    return a * h / 2.0\n",
     "test": _he_plus_test([[5, 3], [2, 2], [10, 8], [0.3, 0.1]], [7.5, 2.0, 40.0, 0.015])},
]


def test_humaneval_plus_end_to_end(tmp_path):
    _write_jsonl(tmp_path / "data" / "humaneval_plus" / "test.jsonl", HE_PLUS_ROWS)
    table = {}
    for r in HE_PLUS_ROWS:
        full = r["prompt"].strip("\n") + "\n" + r["canonical_solution"].strip("\n")
        broken = r["prompt"].strip("\n") + "\n    return 1\n"
        table[r["prompt"]] = (r["task_id"], full, broken)
    styles = ["```python\n{code}\n```", "Here you go:\n```python\n{code}\n```\nDone.",
              "<think>maybe\n```python\n{other}\n```\n</think>\n```python\n{code}\n```"]
    resp = CodeResponder(table, styles)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["humaneval_plus"])["humaneval_plus"]
        prompt = last_user_text(srv.requests[0])
    assert rep.num == 4 and rep.num_errors == 0
    assert 0 < resp.expected() < 1 and rep.score == pytest.approx(resp.expected())
    assert prompt.startswith("Read the following function signature and docstring, and fully implement")


# -- MultiPL-E ---------------------------------------------------------------------------------------
# Hub schema of nuprl/MultiPL-E (config humaneval-<lang>): name, language, prompt, doctests,
# original, prompt_terminology, tests, stop_tokens. Two problems per language: add and strlen.
def _ml_row(lang: str, name: str, prompt: str, tests: str, stop: list[str]) -> dict:
    return {"name": name, "language": lang, "prompt": prompt, "doctests": "transform",
            "original": f"../datasets/originals-with-cleaned-doctests/{name}.py", "prompt_terminology": "reworded",
            "tests": tests, "stop_tokens": stop}


ML: dict[str, list[tuple[dict, str, str]]] = {
    "js": [
        (_ml_row("js", "HumanEval_53_add", "//Add two numbers x and y\n// >>> add(2, 3)\n// 5\nfunction add(x, y){\n",
                 "const assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = add;\n"
                 "  assert.deepEqual(candidate(0, 1),1);\n  assert.deepEqual(candidate(5, 7),12);\n}\n\ntest();",
                 ["\nfunction ", "\n/*", "\n//", "\nconsole.log"]),
         "function add(x, y){\n  return x + y;\n}", "function add(x, y){\n  return x - y;\n}"),
        (_ml_row("js", "HumanEval_23_strlen", "//Return length of given string\n// >>> strlen(\"abc\")\n// 3\n"
                 "function strlen(string){\n",
                 "const assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = strlen;\n"
                 "  assert.deepEqual(candidate(\"\"),0);\n  assert.deepEqual(candidate(\"asdasnakj\"),9);\n}\n\ntest();",
                 ["\nfunction ", "\n/*", "\n//", "\nconsole.log"]),
         "function strlen(string){\n  return string.length;\n}", "function strlen(string){\n  return 1;\n}"),
    ],
    "cpp": [
        (_ml_row("cpp", "HumanEval_53_add", "#include<assert.h>\n#include<bits/stdc++.h>\n// Add two numbers x and y\n"
                 "// >>> add((2), (3))\n// (5)\nlong add(long x, long y) {\n",
                 "}\nint main() {\n    auto candidate = add;\n    assert(candidate((0), (1)) == (1));\n"
                 "    assert(candidate((5), (7)) == (12));\n}\n", ["\n}"]),
         "#include<bits/stdc++.h>\nlong add(long x, long y) {\n    return x + y;\n}",
         "long add(long x, long y) {\n    return x * y;\n}"),
        (_ml_row("cpp", "HumanEval_23_strlen", "#include<assert.h>\n#include<bits/stdc++.h>\n// Return length of given "
                 "string\nlong string_length(std::string string) {\n",
                 "}\nint main() {\n    auto candidate = string_length;\n    assert(candidate((\"\")) == (0));\n"
                 "    assert(candidate((\"asdasnakj\")) == (9));\n}\n", ["\n}"]),
         "long string_length(std::string string) {\n    return string.size();\n}",
         "long string_length(std::string string) {\n    return string.size() + 1;\n}"),
    ],
    "sh": [
        (_ml_row("sh", "HumanEval_53_add", "#!/bin/bash\n# Add two numbers x and y\n# >>> $(add \"2\" \"3\")\n# \"5\"\n"
                 "#\n# $1 is an integer\n# $2 is an integer\nadd() {\n",
                 "}\n\ncandidate() {\n    add \"$@\"\n}\n\nset -e\nrun_test() {\n"
                 "    [[ $(candidate \"0\" \"1\") = \"1\" ]]\n    [[ $(candidate \"5\" \"7\") = \"12\" ]]\n}\n\nrun_test",
                 ["\n}"]),
         "add() {\n    echo $(( $1 + $2 ))\n}", "add() {\n    echo $(( $1 - $2 ))\n}"),
        (_ml_row("sh", "HumanEval_23_strlen", "#!/bin/bash\n# Return length of given string\n#\n# $1 is a string\n"
                 "strlen() {\n",
                 "}\n\ncandidate() {\n    strlen \"$@\"\n}\n\nset -e\nrun_test() {\n"
                 "    [[ $(candidate \"\") = \"0\" ]]\n    [[ $(candidate \"asdasnakj\") = \"9\" ]]\n}\n\nrun_test",
                 ["\n}"]),
         "strlen() {\n    echo ${#1}\n}", "strlen() {\n    echo 3\n}"),
    ],
    "lua": [
        (_ml_row("lua", "HumanEval_53_add", "-- Add two numbers x and y\n-- >>> add(2, 3)\n-- 5\nlocal function add(x, y)\n",
                 "lu = require('luaunit')\n\nfunction test_humaneval()\nlocal candidate = add\n"
                 "    lu.assertEquals(candidate(0, 1), 1)\n    lu.assertEquals(candidate(5, 7), 12)\nend\n\n"
                 "os.exit(lu.LuaUnit.run())", ["\nlocal", "\nfunction", "\n--", "\n\n"]),
         "local function add(x, y)\n    return x + y\nend", "local function add(x, y)\n    return x\nend"),
    ],
    "php": [
        (_ml_row("php", "HumanEval_53_add", "<?php\n// Add two numbers x and y\n// >>> add(2, 3)\n// 5\n"
                 "function add($x, $y) {\n",
                 "function candidate(...$args) {\n    return add(...$args);\n}\n\nfunction test(): void {\n"
                 "    if (candidate(0, 1) !== 1) { throw new Exception(\"Test failed!\"); }\n"
                 "    if (candidate(5, 7) !== 12) { throw new Exception(\"Test failed!\"); }\n}\n\ntest();",
                 ["\nfunction", "\n?>", "\n//", "\n#"]),
         "<?php\nfunction add($x, $y) {\n    return $x + $y;\n}", "function add($x, $y) {\n    return $x;\n}"),
    ],
    "rb": [
        (_ml_row("rb", "HumanEval_53_add", "# Add two numbers x and y\n# >>> add.call(2, 3)\n# 5\ndef add(x, y)\n",
                 "require 'test/unit'\nclass TestHumanEval < Test::Unit::TestCase\n  def test_add\n"
                 "    candidate = method(:add)\n    assert_equal(1, candidate.call(0, 1))\n"
                 "    assert_equal(12, candidate.call(5, 7))\n  end\nend\n", ["\nclass", "\ndef", "\n#", "\n\n"]),
         "def add(x, y)\n  x + y\nend", "def add(x, y)\n  x * y\nend"),
    ],
    "pl": [
        (_ml_row("pl", "HumanEval_53_add", "# Add two numbers x and y\n# >>> add(2, 3)\n# 5\nsub add {\n"
                 "    my($x, $y) = @_;\n",
                 "use Test::Deep;\n\n\nsub testhumaneval {\n    my $candidate = \\&add;\n"
                 "        if(eq_deeply($candidate->(0, 1),1)) {\n        print \"ok!\" }else{\n        exit 1;\n"
                 "        }\n        if(eq_deeply($candidate->(5, 7),12)) {\n        print \"ok!\" }else{\n"
                 "        exit 1;\n        }\n}\n\ntesthumaneval();", ["\nsub", "\n#", "\n\n"]),
         "sub add {\n    my($x, $y) = @_;\n    return $x + $y;\n}", "sub add {\n    my($x, $y) = @_;\n    return 0;\n}"),
    ],
}
# Languages run only by the per-language check (not the end-to-end run, to keep it short).
ML_MORE: dict[str, list[tuple[dict, str, str]]] = {
    "r": [
        (_ml_row("r", "HumanEval_53_add", "# Add two numbers x and y\n# >>> add(2, 3)\n# 5\nadd <- function(x, y) {\n",
                 "test_humaneval <- function() {\ncandidate <- add\n    if(!identical(candidate(0, 1), 1)){quit('no', 1)}\n"
                 "    if(!identical(candidate(5, 7), 12)){quit('no', 1)}\n}\ntest_humaneval()", ["\n#", "\n```"]),
         "add <- function(x, y) {\n  return(x + y)\n}", "add <- function(x, y) {\n  return(x * y)\n}"),
    ],
    "rs": [
        (_ml_row("rs", "HumanEval_53_add", "/// Add two numbers x and y\n/// >>> add(2, 3)\n/// 5\n"
                 "fn add(x: isize, y: isize) -> isize {\n",
                 "}\n\nfn main() {\n    let candidate = add;\n    assert_eq!(candidate(0, 1), 1);\n"
                 "    assert_eq!(candidate(5, 7), 12);\n}\n", ["\n}"]),
         "fn add(x: isize, y: isize) -> isize {\n    x + y\n}", "fn add(x: isize, y: isize) -> isize {\n    x - y\n}"),
    ],
}
TOOLS = {"js": ["node"], "cpp": ["g++"], "sh": ["bash"], "lua": ["lua5.4"], "php": ["php"], "rb": ["ruby"],
         "pl": ["perl"], "r": ["Rscript"], "rs": ["rustc"]}
ML_STYLES = ["```{lang}\n{code}\n```", "Here is the completed code:\n\n```{lang}\n{code}\n```\n\nIt handles all cases.",
             "<think>Try:\n```{lang}\n{other}\n```\nno.</think>\nFinal:\n```{lang}\n{code}\n```"]


def test_multiple_humaneval_end_to_end_per_language_and_absent_toolchains_skipped(tmp_path):
    missing = [lang for lang in ML if not all(shutil.which(t) for t in TOOLS[lang])]
    if missing:
        pytest.skip(f"toolchains for {', '.join(missing)} are not installed (tools/test.sh installs them)")
    table = {}
    fence = {"js": "javascript", "cpp": "cpp", "sh": "bash", "lua": "lua", "php": "php", "rb": "ruby", "pl": "perl"}
    for lang, items in ML.items():
        _write_jsonl(tmp_path / "data" / "multiple_humaneval" / f"humaneval-{lang}" / "test.jsonl",
                     [row for row, _, _ in items])
        for row, good, bad in items:
            table[row["prompt"]] = (f"humaneval-{lang}/{row['name']}", good, bad, fence[lang])
    # two languages nobody installs with Debian's toolchains here; their subsets have no data either
    absent = ["humaneval-swift", "humaneval-jl"]
    assert not shutil.which("swiftc") and not shutil.which("julia")
    subsets = [f"humaneval-{lang}" for lang in ML] + absent

    resp = CodeResponder(table, ML_STYLES)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["multiple_humaneval"],
                   dataset_args={"multiple_humaneval": {"subset_list": subsets}})["multiple_humaneval"]
        first = last_user_text(srv.requests[0])
    assert rep.num == len(table) and rep.num_errors == 0
    assert 0 < resp.expected() < 1
    assert rep.score == pytest.approx(resp.expected())
    for sub in rep.subsets:  # per language, the exact share of right answers
        outcomes = [o[0] for tid, o in resp.outcomes.items() if tid.startswith(sub.name + "/")]
        assert sub.score == pytest.approx(sum(outcomes) / len(outcomes)), sub.name
    assert first.startswith("```") and first.endswith("The code should not contain `Main` function.")
    data = json.loads(next((tmp_path / "out").rglob("multiple_humaneval.json")).read_text())
    assert sorted(data["config"]["skipped_subsets"]) == sorted(absent)
    assert "swiftc" in data["config"]["skipped_subsets"]["humaneval-swift"]


MBPP_ML = [
    (_ml_row("js", "mbpp_3_is_not_prime", "//Write a jsthon function to identify non-prime numbers.\n"
             "function is_not_prime(n){\n",
             "const assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = is_not_prime;\n"
             "  assert.deepEqual(candidate(2),false);\n  assert.deepEqual(candidate(10),true);\n"
             "  assert.deepEqual(candidate(35),true);\n}\n\ntest();", ["\nfunction ", "\n/*", "\n//", "\nconsole.log"]),
     "function is_not_prime(n){\n  for (let i = 2; i * i <= n; i++) { if (n % i === 0) return true; }\n"
     "  return false;\n}", "function is_not_prime(n){\n  return n % 2 === 0;\n}", "javascript"),
    (_ml_row("js", "mbpp_17_square_perimeter", "//Write a function that returns the perimeter of a square given "
             "its side length as input.\nfunction square_perimeter(a){\n",
             "const assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = square_perimeter;\n"
             "  assert.deepEqual(candidate(10),40);\n  assert.deepEqual(candidate(5),20);\n}\n\ntest();",
             ["\nfunction ", "\n/*", "\n//", "\nconsole.log"]),
     "function square_perimeter(a){\n  return 4 * a;\n}", "function square_perimeter(a){\n  return a * a;\n}",
     "js"),
    (_ml_row("sh", "mbpp_17_square_perimeter", "#!/bin/bash\n# Write a function that returns the perimeter of a "
             "square given its side length as input.\n#\n# $1 is an integer\nsquare_perimeter() {\n",
             "}\n\ncandidate() {\n    square_perimeter \"$@\"\n}\n\nset -e\nrun_test() {\n"
             "    [[ $(candidate \"10\") = \"40\" ]]\n    [[ $(candidate \"5\") = \"20\" ]]\n}\n\nrun_test",
             ["\n}"]),
     "square_perimeter() {\n    echo $(( 4 * $1 ))\n}", "square_perimeter() {\n    echo $1\n}", "bash"),
]


def test_multiple_mbpp_end_to_end(tmp_path):
    if not shutil.which("node"):
        pytest.skip("Node.js is not installed (tools/test.sh installs it)")
    for lang in ("js", "sh"):
        _write_jsonl(tmp_path / "data" / "multiple_mbpp" / f"mbpp-{lang}" / "test.jsonl",
                     [row for row, *_ in MBPP_ML if row["language"] == lang])
    table = {row["prompt"]: (f"mbpp-{row['language']}/{row['name']}", good, bad, fence)
             for row, good, bad, fence in MBPP_ML}
    resp = CodeResponder(table, ML_STYLES)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, ["multiple_mbpp"],
                   dataset_args={"multiple_mbpp": {"subset_list": ["mbpp-js", "mbpp-sh"]}})["multiple_mbpp"]
    assert rep.num == 3 and rep.num_errors == 0
    assert 0 < resp.expected() < 1 and rep.score == pytest.approx(resp.expected())
    assert {s.name for s in rep.subsets} == {"mbpp-js", "mbpp-sh"}


def test_multiple_with_no_runnable_language_stops_with_one_line():
    with pytest.raises(ConfigError, match="no selected language can run here: humaneval-swift"):
        MultipleHumanEval({"subset_list": ["humaneval-swift"]})


def test_multiple_program_is_built_as_evalscope_builds_it():
    row, good, _ = ML["cpp"][0]
    reply = f"Sure:\n```cpp\n{good}\n```\nAnd a usage example:\n```cpp\nint main() {{ add(1, 2); }}\n```"
    full, code = multiple_program(reply, "cpp", row["stop_tokens"], row["tests"])
    # the first block, cut at the stop token "\n}" (the tests open with the closing brace)
    assert code == "#include<bits/stdc++.h>\nlong add(long x, long y) {\n    return x + y;"
    assert full.startswith("using namespace std;\n#include<optional>") and "#include<boost/any.hpp>" in full
    assert full.endswith(row["tests"])
    # Lua is read by EvalScope's block helper: no stop-token cut, the block tagged lua first
    row, good, _ = ML["lua"][0]
    reply = f"```python\nprint(1)\n```\n```lua\n{good}\n```"
    full, code = multiple_program(reply, "lua", row["stop_tokens"], row["tests"])
    assert code == good and full == "\n" + good + "\n" + row["tests"]
    # Go: one header with the package and every import
    full, _ = multiple_program("```go\npackage add_test\nimport \"testing\"\nfunc add(x int, y int) int {\n"
                               "    return x + y\n}\n```", "go_test.go", [], "func TestAdd(t *testing.T) {}")
    assert full.startswith('package add_test\n\nimport "fmt"\nimport "testing"')
    # PHP without its opening tag would print the tests and exit 0
    full, _ = multiple_program("```php\nfunction add($x, $y) { return $x + $y; }\n```", "php", [], "test();")
    assert full.startswith("<?php\n")
    assert multiple_program("No code, sorry.", "cpp", ["\n}"], "}")[1] == ""


# -- hostile programs in the new languages -----------------------------------------------------------
def _command(lang: str, text: str, timeout: float = 10.0, isolation: str = "bwrap"):
    from evs_native.benchmarks.code_breadth import language_plan

    plan, why = language_plan(lang, timeout)
    if plan is None:
        pytest.skip(f"{lang}: {why}")
    return sandbox.run("", mode="command", tests={"files": {plan["file"]: text}, "steps": plan["steps"]},
                       limits=sandbox.Limits(timeout=timeout, tmp_mb=64), isolation=isolation)


@pytest.mark.parametrize("lang,program", [
    ("js", "require('fs').writeFileSync('{target}', 'x');"),
    ("sh", "echo x > '{target}'"),
    ("rb", "File.write('{target}', 'x')"),
    ("php", "<?php\nif (file_put_contents('{target}', 'x') === false) exit(1);"),
    ("lua", "local f = assert(io.open('{target}', 'w'))\nf:write('x')\nf:close()"),
    ("cpp", "#include <cstdio>\nint main() {{ FILE *f = fopen(\"{target}\", \"w\"); return f ? 0 : 1; }}"),
    ("pl", "open(my $f, '>', '{target}') or exit 1;"),
])
def test_programs_cannot_write_outside_their_tmp(lang, program, tmp_path):
    # a host folder the program is not given, and the read-only system view
    for target in (tmp_path / f"escaped-{lang}", Path(f"/usr/local/evs-escaped-{lang}")):
        try:
            r = _command(lang, program.format(target=target))
            assert not r.passed
            assert not target.exists()
        finally:
            target.unlink(missing_ok=True)
    # control: the same program, run without namespaces, does write the host file
    control = tmp_path / f"control-{lang}"
    assert _command(lang, program.format(target=control), isolation="unsafe-none").passed
    assert control.exists()


@pytest.mark.parametrize("lang,program", [
    ("js", "const s = require('net').connect({port}, '{host}', () => process.exit(0));"
           "s.on('error', () => process.exit(1));"),
    ("sh", "exec 3<>/dev/tcp/{host}/{port}"),
    ("rb", "require 'socket'\nTCPSocket.new('{host}', {port})"),
    ("cpp", "#include <arpa/inet.h>\n#include <sys/socket.h>\nint main() {{ int s = socket(AF_INET, SOCK_STREAM, 0);"
            " sockaddr_in a{{}}; a.sin_family = AF_INET; a.sin_port = htons({port});"
            " inet_pton(AF_INET, \"{host}\", &a.sin_addr); return connect(s, (sockaddr*)&a, sizeof a) == 0 ? 0 : 1; }}"),
])
def test_programs_have_no_network(lang, program):
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    host, port = srv.getsockname()
    text = program.format(host=host, port=port)
    try:
        r = _command(lang, text)
        control = _command(lang, text, isolation="unsafe-none")  # the host's network: it connects
    finally:
        srv.close()
    assert not r.passed
    assert control.passed


def test_programs_cannot_reach_the_verdict_or_outlive_their_time():
    # the checker (PID 1 of the sandbox) is not dumpable: its files are out of the program's reach
    r = _command("sh", "ls /proc/1/fd > /dev/null && exit 0; exit 1")
    assert not r.passed
    # an endless program is stopped at its time limit, with what it started
    t0 = time.monotonic()
    r = _command("js", "(function spin() { for (;;) {} })();", timeout=2.0)
    assert r.status == "timeout" and time.monotonic() - t0 < 15
    r = _command("sh", "(sleep 100 &) ; sleep 100", timeout=2.0)
    assert r.status == "timeout"


@pytest.mark.parametrize("lang", list(ML) + list(ML_MORE))
def test_every_language_passes_right_code_and_fails_broken_code(lang):
    tools = TOOLS[lang]
    if not all(shutil.which(t, path="/usr/local/bin:/usr/bin:/bin") for t in tools):
        pytest.skip(f"{lang}: {', '.join(tools)} not installed (tools/test.sh installs them)")
    import asyncio

    from evs_core.benchmark import RunContext
    from evs_core.schema import ModelOutput

    bench = MultipleHumanEval({"subset_list": [f"humaneval-{lang}"]})
    fence = {"js": "javascript", "sh": "bash", "rb": "ruby", "pl": "perl", "rs": "rust", "r": "r"}.get(lang, lang)
    items = ML.get(lang) or ML_MORE[lang]

    async def main():
        out = []
        for row, good, bad in items:
            sample = bench.record_to_sample(row, 0, f"humaneval-{lang}")
            for code in (good, bad):
                out.append(await bench.score(sample, ModelOutput(text=f"```{fence}\n{code}\n```"), RunContext()))
        return out

    reviews = asyncio.run(main())
    assert [r.scores["pass"] for r in reviews] == [1.0, 0.0] * len(items), [r.metadata for r in reviews]


# -- parity with EvalPlus's own checker ---------------------------------------------------------------
def _plus_cases():
    """(dataset, entry point, inputs, results, program) for the right and broken answers above."""
    cases = []
    for r in HE_PLUS_ROWS:
        ns: dict = {}
        exec(r["test"].split("def check(candidate):")[1].replace("\n    ", "\n").split("for i,")[0], ns)
        for body in (r["canonical_solution"], "    return 1\n"):
            cases.append(("humaneval", r["entry_point"], ns["inputs"], ns["results"], r["prompt"] + body))
    for r in MBPPPLUS_ROWS:
        ns = {}
        exec(r["test"].split("inputs = ", 1)[1].join(["inputs = ", ""]).split("for i,")[0], ns)
        entry = r["test_list"][0].split("(")[0].split()[-1]
        for code in (r["code"], _plus_broken_but_passes_base(r)):
            cases.append(("mbpp", entry, ns["inputs"], ns["results"], code))
    return cases


def test_plus_verdicts_match_evalplus_untrusted_check():
    """The same programs, judged by the row's test code in evs's sandbox and by EvalPlus's own
    ``untrusted_check`` (the PyPI package ``evalplus``) on the same inputs and expected outputs."""
    try:
        from evalplus.eval import untrusted_check
    except ImportError:
        pytest.skip("evalplus is not installed (tools/dev-install.sh installs it)")
    limits = sandbox.Limits(timeout=20)
    ours, theirs = [], []
    for dataset, entry, inputs, results, program in _plus_cases():
        test = PLUS_HELPERS + (f"\ninputs = {inputs!r}\nresults = {results!r}\n"
                               "for i, (inp, exp) in enumerate(zip(inputs, results)):\n"
                               f"    assertion({entry}(*inp), exp, 0)\n")
        r = sandbox.run(program, mode="asserts", tests={"prompt": "", "test": test, "names": names_used(test)},
                        limits=limits)
        ours.append(r.passed)
        status, _ = untrusted_check(dataset, program, inputs, entry, results, 0, [0.01] * len(inputs),
                                    min_time_limit=5.0)
        theirs.append(status == "pass")
    assert ours == theirs
    assert any(ours) and not all(ours)


# -- BigCodeBench -------------------------------------------------------------------------------------
def _bcb_row(n: int, doc: str, signature: str, body: str, test: str, libs: list[str]) -> dict:
    code_prompt = signature
    return {"task_id": f"BigCodeBench/{n}",
            "complete_prompt": f"{signature}\n    \"\"\"\n    {doc}\n    \"\"\"\n",
            "instruct_prompt": f"{doc}\nYou should write self-contained code starting with:\n```\n{code_prompt}\n```",
            "canonical_solution": body, "code_prompt": code_prompt, "test": test, "entry_point": "task_func",
            "doc_struct": json.dumps({"description": [doc]}), "libs": repr(libs)}


BCB_ROWS = [
    _bcb_row(0, "Count the words of a text, most common first.",
             "import collections\ndef task_func(text):", "    return collections.Counter(text.split()).most_common()\n",
             "import unittest\n\nclass TestCases(unittest.TestCase):\n    def test_basic(self):\n"
             "        self.assertEqual(task_func('a b a'), [('a', 2), ('b', 1)])\n"
             "    def test_empty(self):\n        self.assertEqual(task_func(''), [])\n", ["collections"]),
    # the tests patch a module the solution uses: they must share its process
    _bcb_row(1, "List the .txt files of a directory, sorted.",
             "import os\ndef task_func(directory):",
             "    return sorted(f for f in os.listdir(directory) if f.endswith('.txt'))\n",
             "import unittest\nfrom unittest.mock import patch\n\nclass TestCases(unittest.TestCase):\n"
             "    @patch('os.listdir', return_value=['b.txt', 'a.txt', 'c.csv'])\n"
             "    def test_mocked(self, m):\n        self.assertEqual(task_func('/nowhere'), ['a.txt', 'b.txt'])\n"
             "    def test_real(self):\n        os.makedirs('d', exist_ok=True)\n"
             "        open('d/x.txt', 'w').close()\n        self.assertEqual(task_func('d'), ['x.txt'])\n", ["os"]),
    _bcb_row(2, "Return the mean and standard deviation of a list of numbers as a tuple of floats.",
             "import numpy as np\ndef task_func(values):",
             "    a = np.asarray(values, dtype=float)\n    return float(a.mean()), float(a.std())\n",
             "import unittest\n\nclass TestCases(unittest.TestCase):\n    def test_values(self):\n"
             "        m, s = task_func([1, 2, 3, 4])\n        self.assertAlmostEqual(m, 2.5)\n"
             "        self.assertAlmostEqual(s, 1.118033988749895)\n", ["numpy"]),
    _bcb_row(3, "Serialize a dict to JSON with sorted keys.",
             "import json\ndef task_func(d):", "    return json.dumps(d, sort_keys=True)\n",
             "import unittest\n\nclass TestCases(unittest.TestCase):\n    def test_sorted(self):\n"
             "        self.assertEqual(task_func({'b': 1, 'a': 2}), '{\"a\": 2, \"b\": 1}')\n", ["json"]),
    # a library this Python does not have: recorded, not run, not scored
    _bcb_row(4, "Render a quantum circuit.", "import evs_no_such_library_xyz\ndef task_func(c):",
             "    return evs_no_such_library_xyz.render(c)\n",
             "import unittest\n\nclass TestCases(unittest.TestCase):\n    def test_a(self):\n        pass\n",
             ["evs_no_such_library_xyz"]),
]


@pytest.mark.parametrize("name", ["bigcodebench", "bigcodebench_hard"])
def test_bigcodebench_end_to_end_unittest_harness_and_missing_libraries(tmp_path, name):
    pytest.importorskip("numpy")
    _write_jsonl(tmp_path / "data" / name / "v0.1.4.jsonl", BCB_ROWS)
    table = {}
    for r in BCB_ROWS:
        good = r["code_prompt"] + "\n" + r["canonical_solution"]
        bad = r["code_prompt"] + "\n    return None\n"
        table[r["instruct_prompt"].split("\n")[0]] = (r["task_id"], good, bad)
    styles = ["```python\n{code}\n```", "Here is a self-contained solution:\n\n```python\n{code}\n```\n",
              "<think>\n```python\n{other}\n```\nhmm</think>\n```python\n{code}\n```"]
    resp = CodeResponder(table, styles)
    with FakeOpenAIServer(resp) as srv:
        rep = _run(srv, tmp_path, [name])[name]
        prompts = [last_user_text(b) for b in srv.requests]
    runnable = {tid: o for tid, o in resp.outcomes.items() if tid != "BigCodeBench/4"}
    assert rep.num_errors == 1 and rep.num == 4
    assert rep.errors == {"missing libraries": 1}
    review = next(json.loads(x) for x in next((tmp_path / "out").rglob(f"reviews/m/{name}.jsonl")).read_text()
                  .splitlines() if '"BigCodeBench/4"' in x)
    assert review["error"] == "missing libraries: evs_no_such_library_xyz"
    expected = sum(o[0] for o in runnable.values()) / len(runnable)
    assert 0 < expected < 1 and rep.score == pytest.approx(expected)
    assert any(p.startswith("Count the words of a text") and p.endswith("```") for p in prompts)


def test_bigcodebench_verdicts_of_right_and_broken_solutions():
    import asyncio

    from evs_core.benchmark import RunContext
    from evs_core.schema import ModelOutput
    from evs_native.benchmarks.code_breadth import BigCodeBench

    bench = BigCodeBench({"prompt_mode": "complete", "timeout": 60.0})
    cases = []
    for i, r in enumerate(BCB_ROWS[:4]):
        s = bench.record_to_sample(r, i, "default")
        assert s.input == r["complete_prompt"]
        cases += [(s, f"```python\n{r['code_prompt']}\n{r['canonical_solution']}```", 1.0),
                  (s, f"```python\n{r['code_prompt']}\n    return 0\n```", 0.0),
                  # body only: calibration puts the code prompt before it
                  (s, r["canonical_solution"], 1.0)]
    # a solution that exits early or kills its tests does not pass
    s0 = bench.record_to_sample(BCB_ROWS[0], 0, "default")
    cases += [(s0, "```python\nimport sys\nsys.exit(0)\n```", 0.0), (s0, "```python\nimport os\nos._exit(0)\n```", 0.0),
              (s0, "```python\nwhile True:\n    pass\n```", 0.0)]
    bench.args["timeout"] = 3.0

    async def main():
        return await asyncio.gather(*(bench.score(s, ModelOutput(text=t), RunContext()) for s, t, _ in cases))

    reviews = asyncio.run(main())
    assert [r.scores["pass"] for r in reviews] == [want for _, _, want in cases], [r.metadata for r in reviews]
    with pytest.raises(ConfigError, match="prompt_mode must be"):
        BigCodeBench({"prompt_mode": "chat"})
    # EvalScope's extra_params names
    b = BigCodeBench({"extra_params": {"split": "complete", "version": "v0.1.3"}})
    assert b.args["prompt_mode"] == "complete" and b.args["split"] == "v0.1.3"


def test_command_mode_fail_markers_and_environment():
    """A runner whose test framework exits 0 on failure (rackunit, Mono's Debug.Assert) names the
    markers of a failure in its output; the step's environment reaches the program."""
    bash = shutil.which("bash", path="/usr/bin:/bin")
    steps = [{"name": "run", "argv": [bash, "t.sh"], "fail_markers": ["FAILURE"]}]
    run = lambda text: sandbox.run("", mode="command", limits=sandbox.Limits(timeout=10),  # noqa: E731
                                   tests={"files": {"t.sh": text}, "steps": steps, "env": {"EVS_X": "42"}})
    assert run('[ "$EVS_X" = 42 ] && echo ok').passed
    r = run("echo FAILURE >&2; exit 0")
    assert not r.passed and "FAILURE" in (r.error or "")
    r = run("exit 3")
    assert not r.passed and "exit code 3" in (r.error or "")
    steps[0]["stderr_fails"] = True
    assert run("echo fine").passed
    r = run("echo 'check failed' >&2")
    assert not r.passed and "wrote to stderr: check failed" in (r.error or "")
