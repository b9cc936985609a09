"""LiveCodeBench: rows in the real schema (compressed private tests), date filters, end to end."""

from __future__ import annotations

import base64
import json
import pickle
import zlib

import pytest
from evs_core.errors import ConfigError
from evs_core.testing import FakeOpenAIServer, last_user_text
from evs_native.benchmarks.live_code_bench import LiveCodeBench, decode_tests, extract_code
from evs_native.engine import run_task


def _compress(tests: list[dict]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def _row(qid, title, content, date, starter, public, private, func=None, platform="atcoder"):
    return {"question_title": title, "question_content": content, "platform": platform, "question_id": qid,
            "contest_id": "c1", "contest_date": date, "starter_code": starter, "difficulty": "easy",
            "public_test_cases": json.dumps(public), "private_test_cases": _compress(private),
            "metadata": json.dumps({"func_name": func} if func else {})}


ROWS = [
    _row("abc001_a", "Sum", "Read N and N integers; print their sum.", "2024-08-03T00:00:00", "",
         [{"input": "3\n1 2 3\n", "output": "6\n", "testtype": "stdin"}],
         [{"input": "2\n10 -4\n", "output": "6\n", "testtype": "stdin"},
          {"input": "1\n7\n", "output": "7\n", "testtype": "stdin"}]),
    _row("2999", "Double", "Return every number doubled.", "2024-09-10T00:00:00",
         "class Solution:\n    def double(self, nums: List[int]) -> List[int]:\n        ",
         [{"input": "[1, 2]", "output": "[2, 4]", "testtype": "functional"}],
         [{"input": "[]", "output": "[]", "testtype": "functional"}], func="double", platform="leetcode"),
    _row("abc002_b", "Max", "Read two integers a and b; print the larger one.", "2025-02-01T00:00:00", "",
         [{"input": "1 5\n", "output": "5\n", "testtype": "stdin"}],
         [{"input": "9 2\n", "output": "9\n", "testtype": "stdin"}]),
    _row("3001", "Concat", "Return a + b for two strings.", "2023-05-01T00:00:00",
         "class Solution:\n    def concat(self, a: str, b: str) -> str:\n        ",
         [{"input": "\"ab\"\n\"c\"", "output": "\"abc\"", "testtype": "functional"}],
         [{"input": "\"\"\n\"x\"", "output": "\"x\"", "testtype": "functional"}], func="concat", platform="leetcode"),
]

RIGHT = {
    "Read N and N integers": "import sys\n\ndef main():\n    data = sys.stdin.read().split()\n    n = int(data[0])\n"
                             "    print(sum(map(int, data[1:1 + n])))\n\nif __name__ == '__main__':\n    main()\n",
    "Return every number doubled": "class Solution:\n    def double(self, nums):\n        return [2 * x for x in nums]\n",
    "Read two integers a and b": "a, b = map(int, input().split())\nprint(max(a, b))\n",
    "Return a + b for two strings": "class Solution:\n    def concat(self, a, b):\n        return a + b\n",
}
WRONG = {
    "Read N and N integers": "print(6)\n",  # passes the public test only
    "Return every number doubled": "class Solution:\n    def double(self, nums):\n        return nums\n",
    "Read two integers a and b": "import time\ntime.sleep(60)\n",  # time limit
    "Return a + b for two strings": "class Solution:\n    def concat(self, a, b):\n        raise ValueError\n",
}


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data" / "live_code_bench"
    d.mkdir(parents=True)
    (d / "test.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    return tmp_path / "data"


def test_private_tests_decode_and_pickles_with_globals_are_refused():
    tests = [{"input": "1", "output": "2", "testtype": "stdin"}]
    assert decode_tests(_compress(tests)) == tests
    assert decode_tests(json.dumps(tests)) == tests
    evil = base64.b64encode(zlib.compress(pickle.dumps(ConfigError("x")))).decode()
    with pytest.raises(pickle.UnpicklingError):
        decode_tests(evil)


def test_prompt_and_extraction_follow_livecodebench(data_dir):
    bench = LiveCodeBench({}, dataset_dir=str(data_dir))
    samples = bench.load_samples()
    assert [s.id for s in samples] == ["abc001_a", "2999", "abc002_b", "3001"]
    req = bench.build_request(samples[1])
    assert req.messages[0]["role"] == "system" and "expert Python programmer" in req.messages[0]["content"]
    user = req.messages[1]["content"]
    assert user.startswith("### Question:\nReturn every number doubled.\n\n### Format: You will use the following "
                           "starter code")
    assert "```python\nclass Solution:" in user and user.endswith("### Answer: (use the provided format with backticks)\n\n")
    assert "# YOUR CODE HERE" in bench.build_request(samples[0]).messages[1]["content"]
    assert samples[0].metadata["tests"]["inputs"] == ["3\n1 2 3\n", "2\n10 -4\n", "1\n7\n"]
    assert extract_code("Plan first.\n```python\nprint(1)\n```\nthen\n```python\nprint(2)\n```") == "print(2)"
    assert extract_code("no code at all") == ""


def test_date_filters_and_bad_dates(data_dir):
    bench = LiveCodeBench({"start_date": "2024-08-01", "end_date": "2024-12-31"}, dataset_dir=str(data_dir))
    assert [s.id for s in bench.load_samples()] == ["abc001_a", "2999"]
    with pytest.raises(ConfigError, match="start_date"):
        LiveCodeBench({"start_date": "08/01/2024"}, dataset_dir=str(data_dir))
    with pytest.raises(ConfigError, match="unknown subset"):
        LiveCodeBench({"subset_list": ["release_v9"]}, dataset_dir=str(data_dir))


def test_end_to_end_against_a_fake_server(data_dir, tmp_path):
    right = {"Read N and N integers", "Return every number doubled"}  # the other two get wrong code

    def responder(body):
        text = last_user_text(body)
        key = next(k for k in RIGHT if k in text)
        code = RIGHT[key] if key in right else WRONG[key]
        return f"Let me think about it.\n```python\n{code}```\nDone."

    with FakeOpenAIServer(responder) as srv:
        reports = run_task({"model": "m", "api_url": srv.url, "api_key": "EMPTY", "datasets": ["live_code_bench"],
                            "dataset_dir": str(data_dir), "work_dir": str(tmp_path / "out"), "no_progress": True,
                            "dataset_args": {"live_code_bench": {"timeout": 2}}, "retries": 0})
    rep = reports["live_code_bench"]
    assert rep.num == 4 and rep.num_errors == 0
    assert rep.score == pytest.approx(0.5)
    reviews = [json.loads(x) for x in next((tmp_path / "out").rglob("reviews/m/live_code_bench.jsonl")).read_text().splitlines()]
    status = {r["sample_id"]: (r["scores"]["pass"], r["metadata"]["status"], r["metadata"]["tests_passed"]) for r in reviews}
    assert status == {"abc001_a": (1.0, "passed", 3), "2999": (1.0, "passed", 2), "abc002_b": (0.0, "timeout", 0),
                      "3001": (0.0, "failed", 0)}
