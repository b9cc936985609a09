"""LiveCodeBench code generation: contest problems, graded on public + private tests."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from datetime import datetime
from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import Extraction, extract_program
from evs_core.schema import ModelOutput, Review, Sample

SYSTEM_PROMPT = ("You are an expert Python programmer. You will be given a question (problem specification) and "
                 "will generate a correct Python program that matches the specification and passes all tests. "
                 "You will NOT return anything except for the program.")
FORMAT_WITH_STARTER = ("You will use the following starter code to write the solution to the problem and enclose "
                       "your code within delimiters.")
FORMAT_WITHOUT_STARTER = ("Read the inputs from stdin solve the problem and write the answer to stdout (do not "
                          "directly test on the sample inputs). Enclose your code within delimiters as follows.")
PROMPT = "### Question:\n{question}\n\n{format_prompt} ### Answer: (use the provided format with backticks)\n\n"
RELEASES = ["release_latest", "release_v1", "release_v2", "release_v3", "release_v4", "release_v5", "release_v6"]
FIELDS = ("question_content", "starter_code", "public_test_cases", "private_test_cases", "metadata", "contest_date")


class _StrOnlyUnpickler(pickle.Unpickler):
    """The private tests are a pickled JSON string; refuse anything that needs a global."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from test data")


def decode_tests(raw: Any) -> list[dict[str, Any]]:
    """Test cases from their stored form: JSON, or base64(zlib(pickle(JSON))) for private tests."""
    if isinstance(raw, list):
        return raw
    if not raw:
        return []
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        pass
    blob = zlib.decompress(base64.b64decode(raw.encode("utf-8")))
    return json.loads(_StrOnlyUnpickler(io.BytesIO(blob)).load())


def format_prompt(starter_code: str) -> str:
    if starter_code:
        return f"### Format: {FORMAT_WITH_STARTER}\n```python\n{starter_code}\n```\n\n"
    return f"### Format: {FORMAT_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The program of a reply ('' when it has none); see :func:`extract_program_of`."""
    return extract_program_of(text, entry_point).answer or ""


def extract_program_of(text: str, entry_point: str | None = None) -> Extraction:
    """The program of a reply, read by :func:`evs_core.extract.extract_program`: every fenced block
    is considered; the last one defining ``entry_point`` (``Solution`` for functional problems;
    the last parsable block for stdin programs), preceded by the helpers and imports it uses from
    the other blocks. A reply without a fenced block has no program."""
    if "```" not in (text or ""):
        return Extraction(None, "none")
    found = extract_program(text, entry_point)
    if found.answer is None:
        return found
    return Extraction(found.answer.rstrip("\n"), found.rule)


def _parse_date(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d")
    except ValueError:
        raise ConfigError(f"dataset_args.live_code_bench.{what} must be a date YYYY-MM-DD, not {value!r}") from None


class LiveCodeBench(Benchmark):
    name = "live_code_bench"
    version = "1"
    description = (
        "LiveCodeBench code generation (Jain et al., 2024): LeetCode, AtCoder and Codeforces problems "
        "published after model cut-offs; filter by release (subset release_v1…v6 / release_latest) and "
        "contest date (start_date / end_date, YYYY-MM-DD, inclusive). Prompt and system message as "
        "LiveCodeBench's generic chat template; the program is the last fenced block (defining class Solution "
        "for functional problems) with the helpers and imports it uses from earlier blocks. A "
        "problem passes when every public and private test passes: functional problems call the starter "
        "function (a Solution method) on JSON inputs and compare with ==; stdin problems compare the output "
        "line by line, exactly or as decimals, as LiveCodeBench's testing_util does. Each program runs in "
        "a contained subprocess (per-test timeout, memory/CPU/file limits, no network). Metric: pass "
        "(pass@1; pass@k over --repeats)."
    )
    tags = ["code", "python"]
    hf_id = "livecodebench/code_generation_lite"
    ms_id = "AI-ModelScope/code_generation_lite"
    subsets = RELEASES
    hub_subset: ClassVar[dict[str, str | None]] = {}
    eval_split = "test"
    few_shot_num = 0
    metrics = ["pass"]
    primary_metric = "pass"
    system_prompt = SYSTEM_PROMPT
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 2048}
    extra_args: ClassVar[dict[str, Any]] = {"start_date": None, "end_date": None, "timeout": 6.0,
                                            "memory_mb": 2048}

    @classmethod
    def default_args(cls) -> dict[str, Any]:
        d = super().default_args()
        d["subset_list"] = ["release_latest"]
        return d

    def _check_args(self) -> None:
        super()._check_args()
        self._start = _parse_date(self.args["start_date"], "start_date")
        self._end = _parse_date(self.args["end_date"], "end_date")
        if self._start and self._end and self._start > self._end:
            raise ConfigError("dataset_args.live_code_bench: start_date is after end_date")
        t = self.args["timeout"]
        if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
            raise ConfigError(f"dataset_args.live_code_bench.timeout must be a positive number, not {t!r}")

    def load_rows(self, split: str, subset: str) -> list[dict[str, Any]]:
        root = self.local_root()
        if root is not None and not (root / subset).exists():
            return self.load_local(root, split, None)  # local files of one release, without a release folder
        return super().load_rows(split, subset)

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample | None:
        for f in FIELDS:
            if f not in record:
                raise ConfigError(f"live_code_bench: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        date = datetime.fromisoformat(str(record["contest_date"]))
        if (self._start and date < self._start) or (self._end and date > self._end):
            return None
        meta = record["metadata"]
        meta = json.loads(meta) if isinstance(meta, str) and meta else (meta or {})
        tests = decode_tests(record["public_test_cases"]) + decode_tests(record["private_test_cases"])
        prompt = PROMPT.format(question=record["question_content"],
                               format_prompt=format_prompt(record.get("starter_code") or ""))
        sid = str(record.get("question_id") or index)
        return Sample(id=sid, input=prompt, subset=subset, target=None,
                      metadata={"tests": {"inputs": [t["input"] for t in tests], "outputs": [t["output"] for t in tests],
                                          "fn_name": meta.get("func_name")},
                                "platform": record.get("platform"), "difficulty": record.get("difficulty"),
                                "contest_date": str(record["contest_date"])})

    def extract(self, text: str, sample: Sample) -> Any:
        fn = (sample.metadata.get("tests") or {}).get("fn_name")
        return extract_program_of(text, "Solution" if fn and "class Solution" in (sample.input or "") else None)

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        from evs_native import sandbox

        if output.error:
            return failed_review(sample, output, ctx, output.error, target=None)
        found = self.extract(output.text, sample)
        code = found.answer or ""
        extraction_rule = found.rule
        tests = sample.metadata["tests"]
        mode = "call" if tests.get("fn_name") else "stdio"
        limits = sandbox.Limits(timeout=10.0, test_timeout=float(self.args["timeout"]),
                                memory_mb=int(self.args["memory_mb"]))
        if not code.strip():
            return make_review(sample, output, ctx, target=None, extracted=code, extraction_rule=extraction_rule, scores={"pass": 0.0},
                               metadata={"status": "no code"})
        result = await sandbox.arun(code, mode=mode, tests=tests, limits=limits)
        meta = {"status": result.status, "mode": mode,
                "tests_passed": sum(1 for r in result.details.get("results", []) if r is True),
                "tests": len(tests["inputs"])}
        if result.error:
            meta["detail"] = result.error
        return make_review(sample, output, ctx, target=None, extracted=code, extraction_rule=extraction_rule, scores={"pass": float(result.passed)},
                           metadata=meta)
