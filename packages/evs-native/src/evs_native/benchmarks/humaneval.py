"""HumanEval: 164 hand-written Python problems, scored by running their unit tests."""

from __future__ import annotations

from typing import Any, ClassVar

from evs_core.benchmark import Benchmark, RunContext, failed_review, make_review
from evs_core.errors import ConfigError
from evs_core.extract import extract_program
from evs_core.schema import ModelOutput, Review, Sample

PROMPT = ("Read the following function signature and docstring, and fully implement the function described. "
          "Your response should only contain the code for this function.\n{prompt}")

def extract_code(text: str, entry_point: str | None = None) -> str:
    """The program of a reply (see :func:`evs_core.extract.extract_program`): every fenced block is
    considered; the last one defining ``entry_point``, preceded by the helpers and imports it needs
    from the other blocks. Without an entry point, or when no block defines it: the first fenced
    block (a body-only completion), else the reply itself. An unterminated fence (the model ran out
    of tokens) yields what follows it."""
    found = extract_program(text, entry_point)
    if found.answer is not None:
        return found.answer
    return "" if "```" in (text or "") else (text or "")


def check_program(problem: dict[str, Any], completion: str) -> str:
    """The program the reference harness runs: prompt + completion + tests + ``check(entry_point)``.

    The prompt always comes first, as in openai/human-eval: a completion that is only the body
    continues the prompt's ``def``; a completion that repeats the whole function redefines it.
    """
    return (problem["prompt"] + completion + "\n" + problem["test"] + "\n"
            + f"check({problem['entry_point']})")


class HumanEval(Benchmark):
    name = "humaneval"
    num_samples = 164
    version = "1"
    description = (
        "HumanEval (Chen et al., 2021): 164 Python functions from signature and docstring. Prompt as "
        "EvalScope ('Read the following function signature and docstring, and fully implement the "
        "function described…'); every fenced block of the reply is considered and the program is the last "
        "block defining the entry point with the helpers and imports it uses from the other blocks; "
        "the program run is prompt + code + the problem's tests + check(entry_point), as openai/human-eval "
        "builds it, in a contained subprocess (timeout, CPU/memory/file limits, no network, temporary "
        "directory). Metric: pass (0/1); with --repeats n the report adds pass@k by the unbiased estimator. "
        "Deviation: programs run in a subprocess with limits instead of exec() in a forked worker; a "
        "program that forks, opens sockets or writes outside its directory fails."
    )
    tags = ["code", "python"]
    hf_id = "openai/openai_humaneval"
    ms_id = "opencompass/humaneval"
    subsets = ["openai_humaneval"]
    eval_split = "test"
    few_shot_num = 0
    metrics = ["pass"]
    primary_metric = "pass"
    generation: ClassVar[dict[str, Any]] = {"max_tokens": 1024}
    extra_args: ClassVar[dict[str, Any]] = {"timeout": 4.0, "memory_mb": 2048}

    FIELDS = ("task_id", "prompt", "test", "entry_point")

    def _check_args(self) -> None:
        super()._check_args()
        t = self.args["timeout"]
        if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
            raise ConfigError(f"dataset_args.{self.name}.timeout must be a positive number of seconds, not {t!r}")

    def record_to_sample(self, record: dict[str, Any], index: int, subset: str) -> Sample:
        for f in self.FIELDS:
            if f not in record:
                raise ConfigError(f"{self.name}: row {index} has no field '{f}' (fields: {', '.join(sorted(record))})")
        problem = {k: record[k] for k in self.FIELDS}
        return Sample(id=str(record["task_id"]), input=PROMPT.format(prompt=record["prompt"]),
                      target=record.get("canonical_solution", ""), subset=subset, metadata=problem)

    def extract(self, text: str, sample: Sample) -> Any:
        return extract_program(text, sample.metadata.get("entry_point"))

    async def score(self, sample: Sample, output: ModelOutput, ctx: RunContext) -> Review:
        from evs_native import sandbox

        if output.error:
            return failed_review(sample, output, ctx, output.error, target=None)
        found = self.extract(output.text, sample)
        code = found.answer or ""
        extraction_rule = found.rule
        program = check_program(sample.metadata, code)
        limits = sandbox.Limits(timeout=float(self.args["timeout"]), memory_mb=int(self.args["memory_mb"]))
        result = await sandbox.arun(program, mode="script", limits=limits)
        return make_review(sample, output, ctx, target=None, extracted=code, extraction_rule=extraction_rule, scores={"pass": float(result.passed)},
                           metadata={"status": result.status, **({"detail": result.error} if result.error else {})})
